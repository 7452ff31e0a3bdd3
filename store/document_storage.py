"""Where documents' bytes are kept: a folder, or a bucket of an S3-compatible object store.

Both keep bytes under a random key (32 hex digits) and offer the same four calls, `write`,
`read`, `replace` (new bytes under an existing key: the key rotation's re-encryption) and
`remove`. What they keep is already encrypted by the document service (`store.encryption`).
The calls block (a disk's fsync, an HTTP request): the document service runs them in a worker
thread, never on the event loop.

- `DocumentFolder`: files with owner-only permissions (0600) in a 0700 folder, fsynced. Several
  workers on several machines may share it as a mounted volume (NFS...), at the same path.
- `S3Bucket`: objects under a prefix of one bucket, through boto3 (AWS, MinIO...). Objects are
  private: no ACL is ever given, no URL ever made (presigned or public), and each is written
  with server-side encryption (`AES256`). Only the services read them, with the credentials.

A missing file or object reads as `StoredFileMissing` (a `FileNotFoundError`); a store that
cannot be reached, or that refuses us, as `StorageUnavailable` (an `OSError`): callers handle
both as they handle a folder's errors.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

# Seconds to wait for the store to accept a connection, and for an answer; tries per call.
S3_CONNECT_TIMEOUT = 5.0
S3_READ_TIMEOUT = 30.0
S3_ATTEMPTS = 3
# What S3 (and MinIO) answer for an object that is not there.
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class StoredFileMissing(FileNotFoundError):
    """No bytes are stored under that key (removed, or never written to this storage)."""


class StorageUnavailable(OSError):
    """The storage could not be reached, or refused the call (a missing bucket, credentials
    that are wrong or lack a right): nothing was stored; try again once it is put right."""


class DocumentStorage(Protocol):
    """Bytes under random keys. Blocking calls: run them in a worker thread."""

    def write(self, content: bytes) -> str:
        """Store bytes under a new random key; return the key."""
        ...

    def read(self, key: str) -> bytes:
        """The bytes under `key`; `StoredFileMissing` when there are none."""
        ...

    def replace(self, key: str, content: bytes) -> None:
        """Put new bytes under an existing key, at once for readers (they see the old bytes or
        the new, whole); `StoredFileMissing` when the key holds nothing."""
        ...

    def remove(self, key: str) -> None:
        """Remove the bytes under `key`; a key already gone is no error."""
        ...


def new_key() -> str:
    """A random key: 128 bits, never derived from a file's name or content."""
    return secrets.token_hex(16)


class DocumentFolder:
    """Documents' bytes as files of one folder (on this machine, or a mounted shared volume)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def write(self, content: bytes) -> str:
        """Store bytes under a new random key (0600 file, 0700 folder, fsynced); return the key."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        key = new_key()
        fd = os.open(self.root / key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        return key

    def read(self, key: str) -> bytes:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            raise StoredFileMissing(f"no stored document file {key}") from None

    def replace(self, key: str, content: bytes) -> None:
        """New bytes under `key`: written and fsynced beside it, then renamed over it."""
        target = self.root / key
        if not target.exists():
            raise StoredFileMissing(f"no stored document file {key}")
        scratch = self.root / f"{key}.{secrets.token_hex(4)}.new"
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(scratch, target)
        except BaseException:
            scratch.unlink(missing_ok=True)
            raise

    def remove(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)


@dataclass(frozen=True)
class S3Location:
    """A bucket and where in it, and how to reach it. Empty strings mean "boto3's default":
    AWS's endpoint, the region and credentials of boto3's usual chain (environment, shared
    files, instance role)."""

    bucket: str
    prefix: str = "documents/"
    endpoint_url: str = ""
    region: str = ""
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if not self.bucket:
            raise ValueError("an S3 document storage needs a bucket")
        if bool(self.access_key_id) != bool(self.secret_access_key):
            raise ValueError("give both the S3 access key id and the secret access key, or none")


class S3Bucket:
    """Documents' bytes as private, encrypted objects of an S3-compatible bucket.

    The boto3 client is made at the first call (loading boto3's models takes a while) and then
    shared by the worker threads (boto3's clients are thread-safe; its sessions are not)."""

    def __init__(self, location: S3Location):
        self.location = location
        self._client: Any = None
        self._lock = threading.Lock()

    def object_key(self, key: str) -> str:
        """The object's name in the bucket: the prefix and the random key."""
        return f"{self.location.prefix}{key}"

    def client(self) -> Any:
        """The boto3 S3 client, made once."""
        with self._lock:
            if self._client is None:
                self._client = _make_client(self.location)
            return self._client

    def write(self, content: bytes) -> str:
        """Store bytes as a new private object, encrypted at rest; return its key."""
        key = new_key()
        self._put(key, content)
        return key

    def read(self, key: str) -> bytes:
        response = self._call(
            "get_object", Bucket=self.location.bucket, Key=self.object_key(key), missing=key
        )
        try:
            body: bytes = response["Body"].read()
        except Exception as error:  # the connection broke while reading
            raise StorageUnavailable(_describe("get_object", error)) from error
        return body

    def replace(self, key: str, content: bytes) -> None:
        """New bytes under `key` (S3 replaces an object whole, at once for readers)."""
        self._call(
            "head_object", Bucket=self.location.bucket, Key=self.object_key(key), missing=key
        )
        self._put(key, content)

    def _put(self, key: str, content: bytes) -> None:
        """The bytes as the private object `key` (the bucket's server-side encryption too)."""
        self._call(
            "put_object",
            Bucket=self.location.bucket,
            Key=self.object_key(key),
            Body=content,
            ContentType="application/octet-stream",
            ServerSideEncryption="AES256",
        )

    def remove(self, key: str) -> None:
        # S3 answers a delete of a missing object as a success.
        self._call("delete_object", Bucket=self.location.bucket, Key=self.object_key(key))

    def _call(self, operation: str, *, missing: str | None = None, **arguments: Any) -> Any:
        """One call of the client; its errors as `StoredFileMissing` or `StorageUnavailable`."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client(), operation)(**arguments)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if missing is not None and code in _MISSING_CODES:
                raise StoredFileMissing(f"no stored document object {missing}") from None
            raise StorageUnavailable(_describe(operation, error)) from error
        except BotoCoreError as error:  # unreachable, no credentials, a timeout...
            raise StorageUnavailable(_describe(operation, error)) from error


def _describe(operation: str, error: Exception) -> str:
    """What failed, for the logs: the call and boto's message (never a document's content)."""
    return f"S3 {operation} failed: {type(error).__name__}: {error}"


def _make_client(location: S3Location) -> Any:
    # boto3 is imported by the deployments that use a bucket only: its import takes a while.
    import boto3
    from botocore.config import Config

    # Short waits and few tries: a parent waits on an upload, and a mail is tried again later.
    # Path-style addressing for a store of our own (MinIO...), whose buckets have no DNS names.
    addressing: Literal["path", "auto"] = "path" if location.endpoint_url else "auto"
    config = Config(
        connect_timeout=S3_CONNECT_TIMEOUT,
        read_timeout=S3_READ_TIMEOUT,
        retries={"max_attempts": S3_ATTEMPTS, "mode": "standard"},
        s3={"addressing_style": addressing},
        signature_version="s3v4",
    )
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=location.endpoint_url or None,
        region_name=location.region or None,
        aws_access_key_id=location.access_key_id or None,
        aws_secret_access_key=location.secret_access_key or None,
        config=config,
    )


def make_storage(
    kind: Literal["folder", "s3"], folder: Path, s3: S3Location | None
) -> DocumentStorage:
    """The storage the settings name: the folder, or the bucket."""
    if kind == "s3":
        if s3 is None:
            raise ValueError("DOCUMENTS_STORAGE=s3 needs DOCUMENTS_S3_BUCKET")
        return S3Bucket(s3)
    return DocumentFolder(folder)
