"""The bot's HTTP transport to the Bot API, on aiohttp.

python-telegram-bot sends its requests through a `BaseRequest`; its default is built on httpx,
whose pure-Python stack (httpx, httpcore, h11, anyio) was the largest share of the bot's CPU per
update in `bench/` after SQLAlchemy. aiohttp (C-accelerated HTTP parsing, already a dependency
of the local Bot API) does the same work for less. The library documents this extension point:
a subclass of `BaseRequest` implementing `do_request`, `initialize` and `shutdown`.
"""

from __future__ import annotations

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# The same defaults as python-telegram-bot's own transport.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 20.0
POOL_TIMEOUT = 1.0


class AiohttpRequest(BaseRequest):
    """Bot API requests over one aiohttp session with a bounded connection pool."""

    def __init__(self, connection_pool_size: int = 256, read_timeout: float = READ_TIMEOUT):
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; answer (HTTP status, body). Errors become Telegram's errors."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        body: aiohttp.FormData | dict[str, str] | None = fields
        if files:
            # File names go as UTF-8, as Telegram reads them ("facture rectifiée.pdf"), not
            # percent-encoded; a line break could never reach a header.
            body = aiohttp.FormData(fields or {}, quote_fields=False)
            for name, (filename, content, mimetype) in files.items():
                if filename is not None:
                    filename = " ".join(filename.splitlines())
                body.add_field(name, content, filename=filename, content_type=mimetype)
        # aiohttp has no write timeout: sending the body counts in the time to the answer.
        write = _given(write_timeout, MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT)
        read = _given(read_timeout, self._read_timeout)
        connect = _given(connect_timeout, CONNECT_TIMEOUT)
        pool = _given(pool_timeout, POOL_TIMEOUT)
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=None if read is None or write is None else read + write,
        )
        try:
            async with self._session.request(method, url, data=body, timeout=timeout) as answer:
                return answer.status, await answer.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {error}") from error


def _given(value: ODVInput[float], default: float | None) -> float | None:
    """A timeout passed for one call, or the default (None means: wait as long as needed)."""
    return default if isinstance(value, DefaultValue) else value
