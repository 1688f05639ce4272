"""Batch-upload jobs: a file streamed in, validated row by row, applied a chunk at a time.

A job is created first (its id is how the client follows it), then its file is PUT.
The file is read as it arrives, never whole: CHUNK_ROWS rows at a time are validated,
the good ones applied by the job's kind (`enrol_batch`, `attendance`) and the bad ones
recorded with their line numbers and every reason, with the job's counts, in one
transaction per chunk. So a reader sees progress while it runs, a crash loses nothing
committed, and uploading the file again changes nothing (the kinds apply only changes).
The request edge owns each chunk's transaction here, not one for the whole request: a
national file would otherwise hold one transaction open for minutes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Integer, String, bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from acms_integrations import feed_rows
from acms_integrations.batch_schemas import FileFormat, JobStatus
from acms_integrations.errors import Conflict, Invalid, NotFound
from acms_integrations.lines import Line, LineSplitter
from acms_integrations.tables import ingest_jobs, ingest_rejections, organisations
from acms_platform.database import Database

log = logging.getLogger(__name__)

CHUNK_ROWS = 5000
# New Zealand's today can be UTC's tomorrow.
DATE_LINE_SLACK = timedelta(days=1)


@dataclass
class Tally:
    """What a chunk (or the whole job) did with its rows."""

    applied: int = 0
    unchanged: int = 0
    stale: int = 0
    dropped: int = 0
    rejections: list[tuple[int, list[str]]] = field(default_factory=list)


# (session, numbered valid records, the job) -> what applying them did.
Apply = Callable[[AsyncSession, list[tuple[int, Any]], Row[Any]], Awaitable[Tally]]


@dataclass(frozen=True)
class FeedKind:
    name: str  # "enrolments" | "attendance": the job's kind
    fields: tuple[str, ...]
    validate: feed_rows.Validator
    apply: Apply


async def create_job(
    session: AsyncSession, kind: str, file_format: FileFormat, as_of: datetime, created_by: str
) -> Row[Any]:
    statement = (
        insert(ingest_jobs)
        .values(
            id=uuid4(),
            kind=kind,
            format=file_format.value,
            as_of=as_of,
            status=JobStatus.AWAITING_FILE.value,
            created_by=created_by,
        )
        .returning(ingest_jobs)
    )
    return (await session.execute(statement)).one()


async def job_of(session: AsyncSession, kind: str, job_id: UUID, created_by: str) -> Row[Any]:
    """The job, if this caller created it; 404 otherwise (another client's job is as absent
    as one that does not exist)."""
    row = (
        await session.execute(
            select(ingest_jobs).where(
                ingest_jobs.c.id == job_id,
                ingest_jobs.c.kind == kind,
                ingest_jobs.c.created_by == created_by,
            )
        )
    ).first()
    if row is None:
        raise NotFound(f"no {kind} upload {job_id}")
    return row


async def _start(database: Database, kind: str, job_id: UUID, created_by: str) -> Row[Any]:
    """Claim the job for this upload: one file per job, however many PUTs race."""
    async with database.transaction() as session:
        job = await job_of(session, kind, job_id, created_by)
        claimed = (
            await session.execute(
                update(ingest_jobs)
                .where(
                    ingest_jobs.c.id == job_id,
                    ingest_jobs.c.status == JobStatus.AWAITING_FILE.value,
                )
                .values(status=JobStatus.RUNNING.value, started_at=datetime.now(UTC))
                .returning(ingest_jobs)
            )
        ).first()
    if claimed is None:
        raise Conflict(
            f"upload {job_id} already has its file (status {job.status}): create another job "
            "to send a file again (re-sending changes nothing)"
        )
    return claimed


async def _known_schools(database: Database) -> frozenset[UUID]:
    """Every school known here: a few thousand ids, held for the job."""
    table = organisations.table
    async with database.transaction() as session:
        rows = await session.execute(select(table.c.id).where(table.c.org_type == "school"))
        return frozenset(rows.scalars())


_ADD_REJECTIONS = text(
    "INSERT INTO ingest_rejections (job_id, line, reasons)"
    " SELECT :job_id, r.line, r.reasons FROM unnest(:lines, :reasons) AS r(line, reasons)"
    " ON CONFLICT DO NOTHING"
).bindparams(bindparam("lines", type_=ARRAY(Integer)), bindparam("reasons", type_=ARRAY(String)))


class _Run:
    """One upload in progress: the lines read, the chunk being gathered, the counts."""

    def __init__(self, database: Database, kind: FeedKind, job: Row[Any], schools) -> None:
        self.database = database
        self.kind = kind
        self.job = job
        self.context = feed_rows.RowContext(schools, (datetime.now(UTC) + DATE_LINE_SLACK).date())
        self.csv = job.format == FileFormat.CSV.value
        self.header: list[str] | None = None
        self.lines: list[tuple[int, str]] = []
        self.unreadable: list[tuple[int, list[str]]] = []
        self.bytes_received = 0
        self.digest = hashlib.sha256()

    async def take(self, chunk: bytes, splitter: LineSplitter) -> None:
        self.bytes_received += len(chunk)
        self.digest.update(chunk)
        self._gather(splitter.feed(chunk))
        if len(self.lines) + len(self.unreadable) >= CHUNK_ROWS:
            await self.flush()

    def _gather(self, lines: list[Line]) -> None:
        for line in lines:
            if line.text is None:
                self.unreadable.append((line.number, [line.problem or "unreadable"]))
            elif self.csv and self.header is None:
                try:
                    self.header = feed_rows.csv_header(line.text, self.kind.fields)
                except feed_rows.HeaderError as error:
                    raise Invalid([("file", f"line {line.number}: {error}")]) from None
            else:
                self.lines.append((line.number, line.text))

    async def finish(self, splitter: LineSplitter) -> None:
        self._gather(splitter.finish())
        if self.csv and self.header is None:
            raise Invalid([("file", "is empty: a CSV file starts with its header line")])
        await self.flush(sha256=self.digest.hexdigest())

    async def flush(self, sha256: str | None = None) -> None:
        rows = (
            feed_rows.csv_rows(self.lines, self.header or [])
            if self.csv
            else feed_rows.jsonl_rows(self.lines, self.kind.fields)
        )
        valid: list[tuple[int, Any]] = []
        rejections = self.unreadable
        for number, row, problems in rows:
            if row is not None:
                record, more = self.kind.validate(row, self.context)
                problems = problems + more
                if not problems:
                    valid.append((number, record))
                    continue
            rejections.append((number, problems))
        self.lines, self.unreadable = [], []
        async with self.database.transaction() as session:
            tally = await self.kind.apply(session, valid, self.job) if valid else Tally()
            rejections += tally.rejections
            if rejections:
                rejections.sort()
                await session.execute(
                    _ADD_REJECTIONS,
                    {
                        "job_id": self.job.id,
                        "lines": [n for n, _ in rejections],
                        "reasons": ["; ".join(reasons) for _, reasons in rejections],
                    },
                )
            c = ingest_jobs.c
            values: dict[str, Any] = {
                "bytes_received": self.bytes_received,
                "rows_read": c.rows_read + len(valid) + len(rejections) - len(tally.rejections),
                "rejected": c.rejected + len(rejections),
                "applied": c.applied + tally.applied,
                "unchanged": c.unchanged + tally.unchanged,
                "stale": c.stale + tally.stale,
                "dropped": c.dropped + tally.dropped,
                "updated_at": datetime.now(UTC),
            }
            if sha256 is not None:
                values |= {
                    "sha256": sha256,
                    "status": JobStatus.COMPLETED.value,
                    "finished_at": datetime.now(UTC),
                }
            await session.execute(update(ingest_jobs).where(c.id == self.job.id).values(**values))


async def run_upload(
    database: Database,
    kind: FeedKind,
    job_id: UUID,
    created_by: str,
    body: AsyncIterator[bytes],
) -> Row[Any]:
    """Take the job's file from `body` as it arrives; the job as it ended. A failure (the
    client going away, a file whose header is wrong) marks the job failed, keeping what
    was applied before it, and is raised on."""
    job = await _start(database, kind.name, job_id, created_by)
    run = _Run(database, kind, job, await _known_schools(database))
    splitter = LineSplitter()
    try:
        async for chunk in body:
            await run.take(chunk, splitter)
        await run.finish(splitter)
    except BaseException as error:
        await _fail(database, job_id, run.bytes_received, error)
        raise
    async with database.transaction() as session:
        return await job_of(session, kind.name, job_id, created_by)


async def _fail(database: Database, job_id: UUID, received: int, error: BaseException) -> None:
    # The reason names the kind of failure, never a value from the file.
    reason = getattr(error, "detail", None) or f"the upload stopped: {type(error).__name__}"
    log.warning("upload %s failed: %s", job_id, type(error).__name__)
    try:
        async with database.transaction() as session:
            await session.execute(
                update(ingest_jobs)
                .where(ingest_jobs.c.id == job_id)
                .values(
                    status=JobStatus.FAILED.value,
                    failure=str(reason)[:2000],
                    bytes_received=received,
                    finished_at=datetime.now(UTC),
                    updated_at=datetime.now(UTC),
                )
            )
    except Exception:  # the original failure is what the caller learns
        log.exception("could not mark upload %s failed", job_id)


async def rejection_pages(
    database: Database, job_id: UUID, page: int = 5000
) -> AsyncIterator[list[tuple[int, str]]]:
    """The job's rejected rows in line order, a page per short transaction."""
    after = 0
    while True:
        async with database.transaction() as session:
            rows = (
                await session.execute(
                    select(ingest_rejections.c.line, ingest_rejections.c.reasons)
                    .where(ingest_rejections.c.job_id == job_id, ingest_rejections.c.line > after)
                    .order_by(ingest_rejections.c.line)
                    .limit(page)
                )
            ).all()
        if not rows:
            return
        yield [(r.line, r.reasons) for r in rows]
        after = rows[-1].line
