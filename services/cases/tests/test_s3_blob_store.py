"""The S3 blob store against a real S3-compatible server (Versity Gateway, s3_server.py):
a streamed put of several parts, nothing visible before commit, the read back with its
SHA-256, a refused upload leaving nothing, and the sweeper's view of what a killed upload
leaves (a temporary object, an incomplete multipart upload)."""

from __future__ import annotations

import hashlib

import pytest
import pytest_asyncio

from acms_cases.blobs import S3_PART_BYTES, BlobMissing, S3BlobStore, StoredBlob

from .s3_server import ACCESS_KEY, SECRET_KEY, s3_server

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    with s3_server(tmp_path_factory.mktemp("s3")) as endpoint:
        yield endpoint


@pytest_asyncio.fixture(loop_scope="session")
async def store(s3_endpoint) -> S3BlobStore:
    store = S3BlobStore(
        endpoint=s3_endpoint,
        bucket="acms-documents-test",
        region="us-east-1",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
    )
    await store.ensure_bucket()
    return store


async def _chunks(data: bytes, size: int = 64 * 1024):
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _read(store: S3BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.open(key)])


async def test_a_streamed_put_is_committed_read_back_and_deleted(store):
    data = bytes(i % 253 for i in range(2 * S3_PART_BYTES + 12345))  # three parts
    blob = await store.put(_chunks(data))
    assert blob.size == len(data)
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    with pytest.raises(BlobMissing):
        await _read(store, blob.key)  # not visible before its commit
    await store.commit(blob)
    await store.commit(blob)  # idempotent (the sweeper may finish a commit again)
    assert await _read(store, blob.key) == data
    assert await store.temporary(0) == [], "commit removed the temporary object"
    await store.delete(blob.key)
    with pytest.raises(BlobMissing):
        await _read(store, blob.key)


async def test_a_refused_upload_leaves_no_object_and_no_multipart_upload(store):
    class Refused(Exception):
        pass

    async def refused():
        yield b"x" * (S3_PART_BYTES + 1)
        raise Refused

    with pytest.raises(Refused):
        await store.put(refused())
    assert await store.temporary(0) == []
    async with store._client() as s3:
        uploads = await s3.list_multipart_uploads(Bucket=store.bucket)
    assert uploads.get("Uploads", []) == []


async def test_the_sweeper_sees_what_a_killed_upload_leaves(store):
    # A process killed mid-upload: a multipart upload never completed, and (killed after
    # completing it) a temporary object without its row.
    async with store._client() as s3:
        started = await s3.create_multipart_upload(Bucket=store.bucket, Key="tmp/killed")
        await s3.upload_part(
            Bucket=store.bucket,
            Key="tmp/killed",
            UploadId=started["UploadId"],
            PartNumber=1,
            Body=b"half",
        )
    orphan = await store.put(_chunks(b"no row for me"))
    assert await store.temporary(3600) == [], "recent ones are left alone"
    found = await store.temporary(0)
    assert found == [StoredBlob(orphan.key, 0, "")]
    async with store._client() as s3:
        uploads = await s3.list_multipart_uploads(Bucket=store.bucket)
    assert uploads.get("Uploads", []) == [], "the incomplete upload was aborted"
    await store.discard(orphan)
    assert await store.temporary(0) == []
