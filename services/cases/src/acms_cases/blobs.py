"""Where documents' bytes live: one interface (`BlobStore`), two stores.

A blob is written under a temporary key while it arrives (`put`: the bytes are never all
in memory; size and SHA-256 are computed on the way), and becomes permanent under its
final key only by `commit`, after the document's row is committed. A blob that never got
its row (an upload refused, failed or killed) stays temporary, and `temporary` lists such
blobs for the start-up sweeper (documents.py), which deletes them or, if the row was
committed and only the commit of the blob was lost, finishes it.

`LocalBlobStore` (the default) keeps files in a directory: a write goes to `tmp/<id>`,
commit is a rename to `blobs/<id>` (atomic on one file system). `S3BlobStore` (scale-out)
writes an S3 multipart upload to `tmp/<id>` and commits with a server-side copy to
`blobs/<id>`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

CHUNK_BYTES = 1024 * 1024
S3_PART_BYTES = 8 * 1024 * 1024  # S3 parts are at least 5 MiB (but the last)
TEMPORARY, PERMANENT = "tmp/", "blobs/"


class BlobMissing(Exception):
    """No blob under this key."""


@dataclass(frozen=True)
class StoredBlob:
    """A blob written: its final key (where `commit` puts it), size and SHA-256 (hex)."""

    key: str
    size: int
    sha256: str

    @property
    def name(self) -> str:
        return self.key.removeprefix(PERMANENT)


class BlobStore(Protocol):
    async def put(self, chunks: AsyncIterable[bytes]) -> StoredBlob:
        """Write the chunks under a temporary key as they come. An exception from the
        chunks (a refused or broken upload) removes what was written and propagates."""

    async def commit(self, blob: StoredBlob) -> None:
        """Make the written blob permanent under `blob.key` (idempotent)."""

    async def discard(self, blob: StoredBlob) -> None:
        """Remove a blob that was written and will not be committed."""

    def open(self, key: str) -> AsyncIterator[bytes]:
        """The blob's bytes, a chunk at a time; BlobMissing if there is none."""

    async def delete(self, key: str) -> None:
        """Remove a permanent blob (no error if it is gone)."""

    async def temporary(self, idle_seconds: float) -> list[StoredBlob]:
        """Temporary blobs not written for `idle_seconds` (their final keys; size and
        digest not known: 0 and "")."""


def permanent_key(name: str) -> str:
    return PERMANENT + name


def new_name() -> str:
    return uuid.uuid4().hex


class LocalBlobStore:
    """Blobs as files under `root` (`tmp/` while written, `blobs/` once committed)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / TEMPORARY).mkdir(parents=True, exist_ok=True)
        (root / PERMANENT).mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not key.startswith((TEMPORARY, PERMANENT)) or "/" in key.split("/", 1)[1]:
            raise BlobMissing(key)
        return self.root / key

    async def put(self, chunks: AsyncIterable[bytes]) -> StoredBlob:
        name = new_name()
        path = self.root / TEMPORARY / name
        digest, size = hashlib.sha256(), 0
        handle = await asyncio.to_thread(path.open, "wb")
        pending = bytearray()  # the request's small pieces, written a MiB at a time
        try:
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                pending += chunk
                if len(pending) >= CHUNK_BYTES:
                    await asyncio.to_thread(handle.write, bytes(pending))
                    pending.clear()
            await asyncio.to_thread(handle.write, bytes(pending))
            await asyncio.to_thread(_flush_to_disk, handle)
        except BaseException:
            handle.close()
            path.unlink(missing_ok=True)
            raise
        handle.close()
        return StoredBlob(permanent_key(name), size, digest.hexdigest())

    async def commit(self, blob: StoredBlob) -> None:
        source = self.root / TEMPORARY / blob.name
        target = self._path(blob.key)
        if source.exists():
            await asyncio.to_thread(os.replace, source, target)
        elif not target.exists():
            raise BlobMissing(blob.key)

    async def discard(self, blob: StoredBlob) -> None:
        (self.root / TEMPORARY / blob.name).unlink(missing_ok=True)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(self._path(key).open, "rb")
        except FileNotFoundError:
            raise BlobMissing(key) from None
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def temporary(self, idle_seconds: float) -> list[StoredBlob]:
        cutoff = time.time() - idle_seconds
        found = []
        for path in (self.root / TEMPORARY).iterdir():
            try:
                if path.stat().st_mtime <= cutoff:
                    found.append(StoredBlob(permanent_key(path.name), 0, ""))
            except FileNotFoundError:
                continue  # committed or discarded meanwhile
        return found


def _flush_to_disk(handle: Any) -> None:
    handle.flush()
    os.fsync(handle.fileno())


class S3BlobStore:
    """Blobs in an S3-compatible bucket (aiobotocore). A blob is written as a multipart
    upload to `tmp/<id>` (parts of 8 MiB: one part in memory at a time), committed by a
    server-side copy to `blobs/<id>` and the removal of the temporary object."""

    def __init__(
        self,
        *,
        endpoint: str | None,
        bucket: str,
        region: str,
        access_key: str | None,
        secret_key: str | None,
    ) -> None:
        from aiobotocore.session import get_session

        self.bucket = bucket
        self._session = get_session()
        self._options: dict[str, Any] = {
            "endpoint_url": endpoint,
            "region_name": region,
            "aws_access_key_id": access_key,
            "aws_secret_access_key": secret_key,
        }

    def _client(self) -> Any:
        from botocore.config import Config

        config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3})
        return self._session.create_client("s3", config=config, **self._options)

    async def ensure_bucket(self) -> None:
        async with self._client() as s3:
            try:
                await s3.head_bucket(Bucket=self.bucket)
            except Exception:  # noqa: BLE001 - absent (404) or not ours: creating says which
                await s3.create_bucket(Bucket=self.bucket)

    async def put(self, chunks: AsyncIterable[bytes]) -> StoredBlob:
        name = new_name()
        key = TEMPORARY + name
        digest, size = hashlib.sha256(), 0
        async with self._client() as s3:
            upload = await s3.create_multipart_upload(Bucket=self.bucket, Key=key)
            upload_id = upload["UploadId"]
            parts: list[dict[str, Any]] = []
            pending = bytearray()

            async def send_part() -> None:
                number = len(parts) + 1
                sent = await s3.upload_part(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=bytes(pending),
                )
                parts.append({"PartNumber": number, "ETag": sent["ETag"]})
                pending.clear()

            try:
                async for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    pending += chunk
                    if len(pending) >= S3_PART_BYTES:
                        await send_part()
                if pending or not parts:
                    await send_part()
                await s3.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
            except BaseException:
                await asyncio.shield(
                    s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                )
                raise
        return StoredBlob(permanent_key(name), size, digest.hexdigest())

    async def commit(self, blob: StoredBlob) -> None:
        source = TEMPORARY + blob.name
        async with self._client() as s3:
            try:
                await s3.copy_object(
                    Bucket=self.bucket,
                    Key=blob.key,
                    CopySource={"Bucket": self.bucket, "Key": source},
                )
            except s3.exceptions.NoSuchKey:
                await s3.head_object(Bucket=self.bucket, Key=blob.key)  # committed before
                return
            await s3.delete_object(Bucket=self.bucket, Key=source)

    async def discard(self, blob: StoredBlob) -> None:
        async with self._client() as s3:
            await s3.delete_object(Bucket=self.bucket, Key=TEMPORARY + blob.name)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        async with self._client() as s3:
            try:
                answer = await s3.get_object(Bucket=self.bucket, Key=key)
            except s3.exceptions.NoSuchKey:
                raise BlobMissing(key) from None
            async with answer["Body"] as body:
                while chunk := await body.read(CHUNK_BYTES):
                    yield chunk

    async def delete(self, key: str) -> None:
        async with self._client() as s3:
            await s3.delete_object(Bucket=self.bucket, Key=key)

    async def temporary(self, idle_seconds: float) -> list[StoredBlob]:
        """Temporary objects, and multipart uploads never completed (a process killed
        mid-upload leaves one: its parts are invisible but stored), aborted here."""
        cutoff = time.time() - idle_seconds
        found = []
        async with self._client() as s3:
            pages = s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=TEMPORARY
            )
            async for page in pages:
                for item in page.get("Contents", []):
                    if item["LastModified"].timestamp() <= cutoff:
                        name = item["Key"].removeprefix(TEMPORARY)
                        found.append(StoredBlob(permanent_key(name), 0, ""))
            uploads = await s3.list_multipart_uploads(Bucket=self.bucket, Prefix=TEMPORARY)
            for upload in uploads.get("Uploads", []):
                if upload["Initiated"].timestamp() <= cutoff:
                    await s3.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
        return found


def store_from(settings: Any) -> BlobStore:
    """The store the settings name (`document_store`)."""
    if settings.document_store == "s3":
        secret = settings.document_s3_secret_key
        return S3BlobStore(
            endpoint=settings.document_s3_endpoint,
            bucket=settings.document_s3_bucket,
            region=settings.document_s3_region,
            access_key=settings.document_s3_access_key,
            secret_key=secret.get_secret_value() if secret else None,
        )
    return LocalBlobStore(Path(settings.service_data_dir) / "documents")
