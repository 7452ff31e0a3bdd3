"""HTML mail bodies turned into plain text, keeping what the reply parser needs.

Built on the standard library's `html.parser`: no markup survives, entities are decoded,
paragraphs and line breaks become new lines, `<blockquote>` becomes `> ` quoting (so quoted
history can be recognised and dropped), links keep their address, and nothing of `<head>`,
`<style>` or `<script>` remains. Outlook's one-paragraph-per-line (`class="MsoNormal"`) is
told apart from real paragraphs, which are followed by a blank line.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Content of these elements is never text of the message.
SKIPPED = frozenset({"head", "style", "script", "title", "template", "xml"})
# Elements that end the current line where they start and where they end.
BLOCKS = frozenset(
    {
        "address",
        "article",
        "div",
        "dl",
        "dt",
        "dd",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "ol",
        "section",
        "table",
        "tr",
        "ul",
    }
)
SPACES = re.compile(r"[ \t\r\n\f]+")


class _TextBuilder(HTMLParser):
    """Collect lines of text, each with the blockquote depth it was written at."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._line: list[str] = []
        self._depth = 0
        self._skip = 0
        self._pre = 0
        self._paragraphs: list[bool] = []
        self._links: list[str | None] = []
        self._link_text: list[str] = []

    # Lines -------------------------------------------------------------------------------

    def _break(self) -> None:
        """End the current line, if it has text; a line of only `&nbsp;` is a blank line."""
        content = "".join(self._line)
        self._line = []
        if content.strip():
            self.lines.append((self._depth, content.strip()))
        elif "\xa0" in content:
            self.lines.append((self._depth, ""))

    def _blank(self) -> None:
        """End the current line and leave one blank line after it."""
        self._break()
        if self.lines and self.lines[-1][1] != "":
            self.lines.append((self._depth, ""))

    def _write(self, data: str) -> None:
        if self._link_text and self._links:
            self._link_text[-1] += data
        self._line.append(data)

    # Parser callbacks ----------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self._skip += 1
            return
        if self._skip:
            return
        if tag == "br":
            self._newline_in_line()
        elif tag == "blockquote":
            self._break()
            self._depth += 1
        elif tag == "p":
            self._break()
            classes = (dict(attrs).get("class") or "").lower()
            self._paragraphs.append(classes.startswith("mso"))
        elif tag == "pre":
            self._break()
            self._pre += 1
        elif tag in BLOCKS:
            self._break()
            if tag == "li":
                self._write("- ")
        elif tag in ("td", "th"):
            self._write(" ")
        elif tag == "a":
            self._links.append(dict(attrs).get("href"))
            self._link_text.append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" and not self._skip:
            self._newline_in_line()
        elif tag == "hr" and not self._skip:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self._skip = max(0, self._skip - 1)
            return
        if self._skip:
            return
        if tag == "blockquote":
            self._break()
            self._depth = max(0, self._depth - 1)
        elif tag == "p":
            outlook_line = self._paragraphs.pop() if self._paragraphs else False
            if outlook_line:
                self._break()
            else:
                self._blank()
        elif tag == "pre":
            self._break()
            self._pre = max(0, self._pre - 1)
        elif tag in BLOCKS:
            self._break()
        elif tag == "a" and self._links:
            href = self._links.pop()
            label = self._link_text.pop().strip()
            if href and href.startswith(("http://", "https://")) and href != label:
                self._write(f" ({href})")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            for index, piece in enumerate(data.split("\n")):
                if index:
                    self._newline_in_line()
                self._write(piece)
            return
        self._write(SPACES.sub(" ", data))

    def _newline_in_line(self) -> None:
        """A `<br>`: end the line even when it is empty (blank lines count)."""
        content = "".join(self._line)
        self._line = []
        self.lines.append((self._depth, content.strip()))

    def close(self) -> None:
        super().close()
        self._break()


def html_to_text(html: str) -> str:
    """The text of an HTML body: one line per line, quoted parts prefixed with `> `."""
    builder = _TextBuilder()
    builder.feed(html)
    builder.close()
    out: list[str] = []
    for depth, line in builder.lines:
        line = line.replace("\xa0", " ").strip()
        prefix = "> " * depth
        out.append((prefix + line).rstrip())
    text = "\n".join(out)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")
