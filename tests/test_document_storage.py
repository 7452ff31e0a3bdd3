"""Documents' bytes in a folder or in an S3 bucket, against a real S3 server on loopback.

The S3 server is moto's (`ThreadedMotoServer`), spoken to over HTTP by boto3 exactly as AWS or
MinIO would be. Both storages keep the same contract (random keys, read back, removed, a missing
key told as a missing file); on S3 objects are private (an anonymous request is refused, no ACL
grants anyone else) and encrypted at rest; a bucket that cannot be reached or does not exist
makes an upload fail the way a folder's disk error does, with nothing half-stored.
"""

from __future__ import annotations

import itertools
import re
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select

from bot.portal import Portal
from bot.runner import running_bot
from bot.settings import Settings
from fake_telegram import FakeTelegram
from mail.inbound import inbound_service
from store.actors import AccessDenied, Actor
from store.document_storage import (
    DocumentFolder,
    DocumentStorage,
    S3Bucket,
    S3Location,
    StorageUnavailable,
    StoredFileMissing,
)
from store.documents import DocumentService
from store.models import Document, InboundMail
from store.models.enums import DocumentSource, DocumentType
from store.models.inbound import InboundStatus
from tests.chat_helpers import linked_parent
from tests.family_file_helpers import tiny_pdf, tiny_png
from tests.helpers import build_town
from tests.mail_helpers import MTA_AUTHSERV_ID, vouched

REGION = "eu-west-3"
# moto takes any credentials; passing them keeps boto3 from looking further (no metadata
# service, no shared files): the tests speak to loopback only.
KEY_ID, SECRET = "test-key-id", "test-secret"
PDF = tiny_pdf()
PNG = tiny_png()
ALL_USERS_GROUPS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
_buckets = itertools.count(1)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3 server (moto) on 127.0.0.1, on a free port, for the module."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def admin(endpoint: str) -> Any:
    """A client of our own to look at the bucket behind the storage's back."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )


def location(endpoint: str, bucket: str) -> S3Location:
    return S3Location(
        bucket=bucket,
        prefix="documents/",
        endpoint_url=endpoint,
        region=REGION,
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
    )


def create_bucket(endpoint: str, name: str) -> None:
    admin(endpoint).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )


@pytest.fixture
def bucket(s3_endpoint: str) -> S3Location:
    """A new, empty bucket on the S3 server (one per test: the server lives for the module)."""
    name = f"portail-documents-{next(_buckets)}"
    create_bucket(s3_endpoint, name)
    return location(s3_endpoint, name)


def objects(endpoint: str, bucket: str) -> list[str]:
    listed = admin(endpoint).list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def anonymous_get(url: str) -> int:
    """The HTTP status of a GET with no credentials at all (a browser given the URL)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(params=["folder", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> DocumentStorage:
    if request.param == "folder":
        return DocumentFolder(tmp_path / "documents")
    return S3Bucket(request.getfixturevalue("bucket"))


# The contract, on both storages -------------------------------------------------------------


def test_bytes_are_kept_under_random_keys_read_back_and_removed(storage: DocumentStorage):
    first = storage.write(PDF)
    second = storage.write(PDF)  # the same bytes twice: two keys, never derived from content
    assert re.fullmatch(r"[0-9a-f]{32}", first) and re.fullmatch(r"[0-9a-f]{32}", second)
    assert first != second
    assert storage.read(first) == PDF and storage.read(second) == PDF
    storage.remove(first)
    with pytest.raises(StoredFileMissing):
        storage.read(first)
    assert storage.read(second) == PDF  # only that one is gone
    storage.remove(first)  # gone already: no error


def test_a_missing_key_reads_as_a_missing_file(storage: DocumentStorage):
    storage.write(PNG)  # the storage exists, the key does not
    with pytest.raises(FileNotFoundError):  # what callers already handle for a folder
        storage.read("0" * 32)
    storage.remove("0" * 32)


def test_replace_puts_new_bytes_under_the_same_key_and_never_makes_one(storage: DocumentStorage):
    key = storage.write(PDF)
    storage.replace(key, PNG)  # the key rotation's re-encryption
    assert storage.read(key) == PNG
    with pytest.raises(StoredFileMissing):  # removed meanwhile: not brought back
        storage.replace("0" * 32, PDF)
    with pytest.raises(StoredFileMissing):
        storage.read("0" * 32)


# S3: where, private, encrypted -------------------------------------------------------------


def test_objects_are_under_the_prefix_encrypted_and_private(bucket: S3Location):
    storage = S3Bucket(bucket)
    key = storage.write(PDF)
    assert objects(bucket.endpoint_url, bucket.bucket) == [f"documents/{key}"]
    client = admin(bucket.endpoint_url)
    head = client.head_object(Bucket=bucket.bucket, Key=f"documents/{key}")
    assert head["ServerSideEncryption"] == "AES256"
    grants = client.get_object_acl(Bucket=bucket.bucket, Key=f"documents/{key}")["Grants"]
    assert grants and all(g["Grantee"].get("URI") not in ALL_USERS_GROUPS for g in grants)
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # the owner's, alone

    url = f"{bucket.endpoint_url}/{bucket.bucket}/documents/{key}"
    assert anonymous_get(url) == 403
    # The server does serve an object someone made public: the 403 above is the object's.
    client.put_object(Bucket=bucket.bucket, Key="public/x", Body=b"x", ACL="public-read")
    assert anonymous_get(f"{bucket.endpoint_url}/{bucket.bucket}/public/x") == 200


def test_a_missing_bucket_or_an_unreachable_store_is_storage_unavailable(
    s3_endpoint: str, bucket: S3Location
):
    missing = S3Bucket(location(s3_endpoint, "portail-no-such-bucket"))
    with pytest.raises(StorageUnavailable, match="NoSuchBucket") as raised:
        missing.write(PDF)
    assert isinstance(raised.value, OSError)  # as a folder's disk error
    with pytest.raises(StorageUnavailable):
        missing.read("0" * 32)
    key = S3Bucket(bucket).write(PDF)
    # Nothing listens on port 9 of loopback (discard): the connection is refused at once.
    unreachable = S3Bucket(location("http://127.0.0.1:9", bucket.bucket))
    for call in (lambda: unreachable.write(PDF), lambda: unreachable.read(key)):
        with pytest.raises(StorageUnavailable, match="EndpointConnectionError"):
            call()


def test_a_bucket_needs_a_name_and_both_credentials_or_none():
    with pytest.raises(ValueError):
        S3Location(bucket="")
    with pytest.raises(ValueError):
        S3Location(bucket="b", access_key_id="only-the-id")
    assert SECRET not in repr(location("http://127.0.0.1:1", "b"))  # never in a log line
    with pytest.raises(ValueError, match="DOCUMENTS_S3_BUCKET"):
        Settings(documents_storage="s3", _env_file=None)  # type: ignore[call-arg]


# Through the document service and the product ---------------------------------------------


async def document_rows(sessions: Any) -> list[Document]:
    async with sessions() as session:
        return list(await session.scalars(select(Document).order_by(Document.id)))


async def test_a_family_document_on_s3_is_stored_and_read_back_by_its_family_only(
    sessions, bucket: S3Location
):
    town = await build_town(sessions, [])
    service = DocumentService(sessions, S3Bucket(bucket), max_bytes=1_000_000)
    view = await service.add(
        town.guardian, town.family_id, DocumentType.INSURANCE, PDF, original_name="assurance.pdf"
    )
    [row] = await document_rows(sessions)
    assert objects(bucket.endpoint_url, bucket.bucket) == [f"documents/{row.storage_key}"]
    read_view, content = await service.read(town.guardian, view.id)
    assert content == PDF and read_view == view
    _, content = await service.read(Actor.staff(1), view.id)
    assert content == PDF
    with pytest.raises(AccessDenied):
        await service.read(town.other_guardian, view.id)
    assert (await service.view(town.guardian, view.id)).original_name == "assurance.pdf"

    # A child of another family: refused after the bytes were stored, and they are removed.
    with pytest.raises(AccessDenied):
        await service.add(
            town.guardian, town.family_id, DocumentType.OTHER, PNG, child_id=town.other_child_id
        )
    assert objects(bucket.endpoint_url, bucket.bucket) == [f"documents/{row.storage_key}"]

    # Bytes gone behind the service's back: a missing file, as on a folder.
    admin(bucket.endpoint_url).delete_object(
        Bucket=bucket.bucket, Key=f"documents/{row.storage_key}"
    )
    with pytest.raises(StoredFileMissing):
        await service.read(town.guardian, view.id)


async def test_held_files_on_s3_are_filed_later_or_discarded(sessions, bucket: S3Location):
    service = DocumentService(sessions, S3Bucket(bucket), max_bytes=1_000_000)
    kept = await service.hold(PDF)
    dropped = await service.hold(PNG)
    assert len(objects(bucket.endpoint_url, bucket.bucket)) == 2
    await service.discard_held([dropped.storage_key, "0" * 32])  # one never written: no error
    assert objects(bucket.endpoint_url, bucket.bucket) == [f"documents/{kept.storage_key}"]


async def test_a_missing_bucket_at_upload_stores_nothing(sessions, s3_endpoint: str):
    town = await build_town(sessions, [])
    storage = S3Bucket(location(s3_endpoint, "portail-not-yet-created"))
    service = DocumentService(sessions, storage, max_bytes=1_000_000)
    with pytest.raises(StorageUnavailable):
        await service.add(town.guardian, town.family_id, DocumentType.OTHER, PDF)
    with pytest.raises(StorageUnavailable):
        await service.hold(PDF)
    assert await document_rows(sessions) == []


@pytest.fixture
async def s3_portal(
    database_url: str, telegram: FakeTelegram, smtp_sink: Any, s3_endpoint: str, tmp_path: Path
) -> AsyncIterator[Portal]:
    """The portal as `portail bot` builds it with DOCUMENTS_STORAGE=s3, on a bucket that does
    not exist yet (the test creates it when it wants the store put right)."""
    settings = Settings(
        database_url=database_url,
        telegram_token=telegram.token,
        telegram_api_url=telegram.url,
        telegram_bot_username="MontclarBot",
        conversation_timeout_seconds=30,
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        documents_dir=tmp_path / "documents",
        documents_storage="s3",
        documents_s3_bucket=f"portail-chat-{next(_buckets)}",
        documents_s3_prefix="town/documents/",
        documents_s3_endpoint_url=s3_endpoint,
        documents_s3_region=REGION,
        documents_s3_access_key_id=KEY_ID,
        documents_s3_secret_access_key=SECRET,
        mail_authserv_id=MTA_AUTHSERV_ID,
        _env_file=None,
    )
    portal = Portal.from_settings(settings)
    yield portal
    await portal.close()


async def test_in_the_chat_a_bucket_down_says_try_again_then_the_document_is_kept(
    s3_portal: Portal, telegram: FakeTelegram, tmp_path: Path
):
    portal = s3_portal
    settings = portal.settings
    town = await build_town(portal.sessions, [])
    async with running_bot(portal, poll_timeout=1):
        parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
        await parent.send_command("/documents")
        await parent.next_message()
        await parent.tap("➕ Envoyer un document")
        await parent.next_message()
        await parent.tap("Justificatif de domicile")
        await parent.next_message()
        await parent.send_document(PDF, "domicile.pdf", "application/pdf")
        sorry = await parent.next_message()
        assert sorry.text == "Désolé, une erreur est survenue. Réessayez dans un instant."
        assert await document_rows(portal.sessions) == []

        create_bucket(settings.documents_s3_endpoint_url, settings.documents_s3_bucket)
        await parent.send_document(PDF, "domicile.pdf", "application/pdf")  # the same step
        done = await parent.next_message()
        assert "Bien reçu : justificatif de domicile" in (done.text or "")
    [row] = await document_rows(portal.sessions)
    assert row.family_id == town.family_id
    assert objects(settings.documents_s3_endpoint_url, settings.documents_s3_bucket) == [
        f"town/documents/{row.storage_key}"
    ]
    assert not (tmp_path / "documents").exists()  # nothing went to the folder
    _, content = await portal.documents.read(town.guardian, row.id)
    assert content == PDF
    with pytest.raises(AccessDenied):
        await portal.documents.read(town.other_guardian, row.id)


def parents_mail(*files: tuple[str, bytes, str]) -> bytes:
    message = EmailMessage()
    message["From"] = "Camille Dupont <parent.f1@exemple.fr>"
    message["To"] = "documents@portail-famille.example"
    message["Subject"] = "Attestation"
    message["Message-ID"] = make_msgid(domain="exemple.fr")
    message.set_content("Bonjour, voici le document.")
    for name, content, content_type in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return vouched(message.as_bytes())


async def test_a_parents_mail_waits_while_the_bucket_is_down_then_is_filed(
    s3_portal: Portal,
):
    portal = s3_portal
    settings = portal.settings
    town = await build_town(portal.sessions, [])
    service = inbound_service(portal)
    raw = parents_mail(("attestation.pdf", PDF, "application/pdf"))
    accepted = await service.accept_raw(
        "parent.f1@exemple.fr", ["documents@portail-famille.example"], raw, make_msgid()
    )
    mail_id = accepted.mail_id
    with pytest.raises(StorageUnavailable):  # the mail server logs it and tries again later
        await service.process(mail_id)
    async with portal.sessions() as session:
        mail = await session.get(InboundMail, mail_id)
        assert mail is not None and mail.status is InboundStatus.RECEIVED
        assert await session.scalar(select(func.count()).select_from(Document)) == 0

    create_bucket(settings.documents_s3_endpoint_url, settings.documents_s3_bucket)
    view = await service.process(mail_id)
    assert view.status is InboundStatus.FILED
    [row] = await document_rows(portal.sessions)
    assert (row.family_id, row.source) == (town.family_id, DocumentSource.EMAIL)
    _, content = await portal.documents.read(town.guardian, row.id)
    assert content == PDF
