"""Documents and media on a case: streamed upload of a new document or a revised version,
the list with each document's visible history, streamed download checked against the
SHA-256 recorded at upload, and the start-up sweeper of blobs whose upload died.

An upload holds no database transaction while the file arrives: the caller and the case
are checked in a short transaction first (404 / 403 / 409 before a byte is read), the
bytes go to a temporary blob as they come (typed from their first bytes: 415; counted:
413), then one transaction checks the case again (it may have closed or moved meanwhile),
writes the rows, the timeline entry and the audit event. Only after that commit does the
blob become permanent. A process killed before the commit leaves a temporary blob and no
row: the sweeper deletes it. Killed between the commit and the blob's commit, it leaves a
row whose blob is still temporary: the sweeper finishes the commit. No orphan either way.

Tiers (ACCESS-MODEL 3): a sensitive version needs `sensitive`; a version shared with the
school needs `shared` or `full`; any other needs `full`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from fastapi import Request
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from acms_cases import document_repository as docs
from acms_cases import repository
from acms_cases.blobs import BlobMissing, BlobStore, StoredBlob
from acms_cases.context import CASE, TIER_ACTIONS, Context, WrongState
from acms_cases.document_schemas import DocumentVersion, DocumentView
from acms_cases.document_types import InspectedUpload
from acms_cases.schemas import CaseStatus
from acms_platform.access import RequestAccess
from acms_platform.access.actor import Actor, account_id_of, actor_of
from acms_platform.errors import Conflict, Forbidden, Invalid, NotFound, PlatformError
from acms_platform.policy import PolicyClient
from acms_platform.runtime import Runtime
from acms_platform.tokens import Principal

log = logging.getLogger(__name__)
UPLOAD, LABEL = "upload_document", "update"
CONTENT_TIERS = {"full", "shared", "sensitive"}


class ContentCorrupt(PlatformError):
    """The stored bytes no longer match the SHA-256 recorded at upload (or are gone). 503:
    the fault is the service's, and it may be repaired (restored from backup); nothing the
    caller does changes it, so not 409."""

    status_code = 503


class StaleDocument(Conflict):
    def __init__(self, expected: int, current: int) -> None:
        super().__init__(
            f"the document was revised since version {expected}: it is at version {current}"
        )
        self.current = current

    def body(self) -> dict[str, object]:
        return {"detail": self.detail, "current_version": self.current}


@dataclass(frozen=True)
class UploadCommand:
    filename: str
    sensitive: bool = False
    shared: bool = False
    document_id: UUID | None = None  # a revised file of this document
    version: int | None = None  # the version the revision was made on

    def check(self) -> None:
        if self.sensitive and self.shared:
            raise Invalid("shared", "a sensitive document cannot be shared with the school")


def version_tier(sensitive: bool, shared: bool) -> str:
    return "sensitive" if sensitive else "shared" if shared else "full"


def visible(version: Row[Any], tiers: set[str]) -> bool:
    if version.sensitive:
        return "sensitive" in tiers
    if version.shared:
        return bool({"shared", "full"} & tiers)
    return "full" in tiers


# --- Upload ----------------------------------------------------------------------------


@asynccontextmanager
async def _phase(runtime: Runtime, access: RequestAccess) -> AsyncIterator[Context]:
    async with runtime.database.transaction() as session:
        access.session = session
        yield Context(session=session, outbox=runtime.outbox, access=access)


async def _writable(
    ctx: Context, case_id: UUID, command: UploadCommand
) -> tuple[Row[Any], set[str]]:
    """The case locked, the caller allowed (404 / 403), the case active (409 naming the
    state), and the document revised, if any, on it at the version given."""
    row = await ctx.load(case_id, lock=True)
    labels = command.sensitive or command.shared or command.document_id is not None
    decision = await ctx.authorise(row, UPLOAD, also=[LABEL])
    if labels and not decision.allows(LABEL):
        ctx.access.denied(CASE, row.id, LABEL, row.student_key, "not_allowed")
        raise Forbidden(
            "not allowed to label documents sensitive or shared, or to revise them, on this case"
        )
    if row.status != CaseStatus.ACTIVE.value:
        raise WrongState("add a document to", row.status)
    if command.document_id is not None:
        document = await docs.get_document(ctx.session, row.id, command.document_id, lock=True)
        if document is None:
            raise NotFound(f"no document {command.document_id} on this case")
        if command.version != document.current_version:
            raise StaleDocument(command.version or 0, document.current_version)
    return row, set(decision.tiers)


async def uploader(principal: Principal, runtime: Runtime) -> Actor:
    """The caller checked against the staff projection now (401 for an account that may
    not act), in a transaction of its own: an upload holds no connection while it streams."""
    source = runtime.definition.actors
    assert source is not None
    async with runtime.database.transaction() as session:
        return actor_of(principal, await source.account(session, account_id_of(principal)))


async def upload(
    runtime: Runtime,
    store: BlobStore,
    actor: Actor,
    policy: PolicyClient,
    request: Request,
    case_id: UUID,
    command: UploadCommand,
) -> DocumentView:
    command.check()
    route = request.scope.get("route")
    async with runtime.database.transaction() as session:  # each phase gives it its own
        access = RequestAccess(
            service=runtime.definition.name,
            actor=actor,
            session=session,
            outbox=runtime.outbox,
            database=runtime.database,
            policy=policy,
            method=request.method,
            route=getattr(route, "path", request.url.path),
            action="upload_document",
        )
    try:
        async with _phase(runtime, access) as ctx:
            await _writable(ctx, case_id, command)
        inspected = InspectedUpload(request.stream(), runtime.settings.document_max_bytes)
        declared = request.headers.get("content-length", "")
        if declared.isdigit():
            inspected.refuse_beyond_limit(int(declared))  # before a byte is read
        blob = await store.put(inspected)
        try:
            access.records.clear()  # the check is made again, and recorded, below
            async with _phase(runtime, access) as ctx:
                view = await _record(ctx, case_id, command, blob, inspected.media_type or "")
                await access.record_in_request()
        except BaseException:
            await asyncio.shield(store.discard(blob))
            raise
    except PlatformError as error:
        await access.record_refused(error.status_code)
        raise
    # After the rows' commit; if this is lost, the start-up sweeper finishes it.
    await store.commit(blob)
    return view


async def _record(
    ctx: Context, case_id: UUID, command: UploadCommand, blob: StoredBlob, media_type: str
) -> DocumentView:
    row, tiers = await _writable(ctx, case_id, command)
    at = datetime.now(UTC)
    author = str(ctx.actor.account_id)
    document_id, version = command.document_id, 1
    if document_id is None:
        document_id = uuid4()
        await docs.add_document(
            ctx.session,
            {
                "id": document_id,
                "case_id": row.id,
                "current_version": 1,
                "created_by": author,
                "created_at": at,
            },
        )
    else:
        version = (command.version or 0) + 1
    await docs.add_version(
        ctx.session,
        {
            "document_id": document_id,
            "version": version,
            "blob_key": blob.key,
            "size_bytes": blob.size,
            "sha256": blob.sha256,
            "media_type": media_type,
            "filename": command.filename,
            "sensitive": command.sensitive,
            "shared": command.shared,
            "author_id": author,
            "at": at,
        },
    )
    if version > 1:
        await docs.set_current_version(ctx.session, document_id, version)
    tier = version_tier(command.sensitive, command.shared)
    kind = "document_added" if version == 1 else "document_revised"
    await ctx.record(row, kind, tier, at, {"document_id": str(document_id), "version": version})
    await repository.update(ctx.session, row.id, {"updated_at": at})
    ctx.access.returned(CASE, row.id, row.student_key, [tier])
    rows = await docs.documents_with_versions(ctx.session, row.id, document_id)
    # The uploader sees what they sent (a school's upload goes to the provider alone).
    return _view(rows, CONTENT_TIERS if version == 1 else tiers | {tier})


# --- Reading ---------------------------------------------------------------------------


def _version(v: Row[Any]) -> DocumentVersion:
    return DocumentVersion(
        version=v.version,
        filename=v.filename,
        media_type=v.media_type,
        size_bytes=v.size_bytes,
        sha256=v.sha256,
        sensitive=v.sensitive,
        shared=v.shared,
        author_id=v.author_id,
        at=v.at.isoformat(),
    )


def _current(versions: list[Row[Any]]) -> Row[Any]:
    return next(v for v in versions if v.version == v.current_version)


def _view(versions: list[Row[Any]], tiers: set[str]) -> DocumentView:
    current = _current(versions)
    return DocumentView(
        kind="document",  # set, so the case view (which drops unset fields) keeps it
        id=str(current.id),
        case_id=str(current.case_id),
        version=current.version,
        filename=current.filename,
        media_type=current.media_type,
        size_bytes=current.size_bytes,
        sha256=current.sha256,
        sensitive=current.sensitive,
        shared=current.shared,
        created_by=current.created_by,
        created_at=current.created_at.isoformat(),
        history=[_version(v) for v in versions if visible(v, tiers)],
    )


async def _readable_case(ctx: Context, case_id: UUID) -> tuple[Row[Any], set[str]]:
    """The case and the caller's tiers on it: 404 unless they see it, 403 if they see it
    without any tier holding documents."""
    row = await ctx.load(case_id)
    decision = await ctx.authorise(row)
    tiers = set(decision.tiers)
    if not tiers & CONTENT_TIERS:
        ctx.access.denied(CASE, row.id, TIER_ACTIONS["shared"], row.student_key, "not_allowed")
        raise Forbidden("not allowed to read the documents of this case")
    return row, tiers


async def visible_documents(
    session: AsyncSession, case_id: UUID, tiers: set[str]
) -> list[DocumentView]:
    """The case's documents whose current version these tiers read, oldest first, each
    with the versions they read: the documents list, and the case view's shared items."""
    grouped: dict[UUID, list[Row[Any]]] = {}
    for version in await docs.documents_with_versions(session, case_id):
        grouped.setdefault(version.id, []).append(version)
    return [
        _view(versions, tiers)
        for versions in grouped.values()
        if visible(_current(versions), tiers)
    ]


async def documents(ctx: Context, case_id: UUID) -> list[DocumentView]:
    """The documents whose current version the caller may see, each with the versions
    they may see."""
    row, tiers = await _readable_case(ctx, case_id)
    views = await visible_documents(ctx.session, row.id, tiers)
    returned = sorted({version_tier(v.sensitive, v.shared) for v in views})
    ctx.access.returned(CASE, row.id, row.student_key, returned)
    return views


async def content(
    ctx: Context, store: BlobStore, case_id: UUID, document_id: UUID, version: int | None
) -> tuple[Row[Any], AsyncIterator[bytes]]:
    """One version (default: the current one) of a document the caller may see, the
    version visible to them too (else 404), its bytes
    checked against the recorded SHA-256 before the first is sent (503 if they differ or
    are gone), and the stream that sends them, hashed again on the way."""
    row, tiers = await _readable_case(ctx, case_id)
    rows = await docs.documents_with_versions(ctx.session, row.id, document_id)
    wanted = version or (rows[0].current_version if rows else 0)
    found = next((v for v in rows if v.version == wanted), None)
    # A document is the caller's only while its current version is (as in the list): an
    # earlier version shared with the school is not, once a later one is unshared or
    # labelled sensitive.
    if found is None or not visible(found, tiers) or not visible(_current(rows), tiers):
        ctx.access.denied(CASE, row.id, "view_document", row.student_key, "not_visible")
        raise NotFound(f"no document {document_id} (version {wanted}) on this case")
    actual = await _digest(store.open(found.blob_key), found.blob_key)
    if actual != found.sha256:
        log.error(
            "document content does not match its SHA-256",
            extra={"document_id": str(found.id), "version": found.version, "blob": found.blob_key},
        )
        raise ContentCorrupt(
            "the stored content of this document fails its integrity check (SHA-256): it is "
            "not sent; the fault is logged for the operators"
        )
    tier = version_tier(found.sensitive, found.shared)
    ctx.access.returned(CASE, row.id, row.student_key, [tier])
    return found, _verified(store.open(found.blob_key), found)


async def _digest(chunks: AsyncIterable[bytes], key: str) -> str:
    digest = hashlib.sha256()
    try:
        async for chunk in chunks:
            digest.update(chunk)
    except BlobMissing:
        log.error("document content missing from the blob store", extra={"blob": key})
        raise ContentCorrupt(
            "the stored content of this document is missing: the fault is logged"
        ) from None
    return digest.hexdigest()


async def _verified(chunks: AsyncIterable[bytes], version: Row[Any]) -> AsyncIterator[bytes]:
    """The bytes as sent, hashed again: content changed since the check (answer already
    begun) breaks the connection before its last byte, so the client never takes a whole,
    wrong file."""
    digest = hashlib.sha256()
    async for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if digest.hexdigest() != version.sha256:
        log.error("document content changed while sent", extra={"blob": version.blob_key})
        raise ContentCorrupt("document content changed while sent")


# --- The sweeper -----------------------------------------------------------------------


async def sweep(runtime: Runtime, store: BlobStore) -> tuple[int, int]:
    """Temporary blobs idle for `document_sweep_minutes`: a blob whose row was committed
    is committed (the process died between the two), any other deleted. (deleted,
    committed)."""
    idle = runtime.settings.document_sweep_minutes * 60
    deleted = committed = 0
    for blob in await store.temporary(idle):
        async with runtime.database.transaction() as session:
            recorded = await docs.blob_is_recorded(session, blob.key)
        if recorded:
            await store.commit(blob)
            committed += 1
        else:
            await store.discard(blob)
            deleted += 1
    if deleted or committed:
        log.info("document sweeper: %d temporary blobs deleted, %d committed", deleted, committed)
    return deleted, committed


def sweep_at_start(app: Any) -> None:
    """Once the service is up (migrations applied), sweep once."""
    platform_lifespan = app.router.lifespan_context

    async def run() -> None:
        runtime = app.state.runtime
        await runtime.wait_started()
        store = app.state.blob_store
        if hasattr(store, "ensure_bucket"):
            await store.ensure_bucket()
        try:
            await sweep(runtime, store)
        except Exception:  # a failed sweep leaves its blobs for the next start
            log.exception("document sweeper failed")

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with platform_lifespan(app):
            task = asyncio.create_task(run(), name="document-sweeper")
            app.state.document_sweeper = task
            try:
                yield
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    app.router.lifespan_context = lifespan
