"""HTTP routes of the batch uploads: `/enrol/batches` and `/attendance/batches`.

Create a job (its format and the extract's `as_of`), PUT its file (streamed: the body is
read as it arrives, `RequestHygiene` lets these paths through unbuffered), follow it with
GET, download the rejected rows as CSV. Only the Ministry's feed client (role enrol_feed,
a client-credential token) may: others get 403 before anything is read, as on
`/enrol/changes`; a job is visible only to the client that created it (404 otherwise).
"""

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import StreamingResponse

from acms_integrations import jobs
from acms_integrations.attendance import attendance_kind
from acms_integrations.batch_schemas import BatchJob, NewBatch
from acms_integrations.enrol_batch import enrolment_kind
from acms_integrations.service import ATTENDANCE_FEED, FEED, authorise_feed
from acms_platform.access.actor import account_id_of, actor_of
from acms_platform.dependencies import CurrentPrincipal, Policy, ServiceRuntime
from acms_platform.outbox import Outbox
from acms_platform.policy import PolicyResource
from acms_platform.runtime import Runtime
from acms_platform.tokens import Principal

# The upload paths, for the platform's streamed-upload exemption (app.py) and the gateway.
STREAMED_UPLOADS = (r"/(enrol|attendance)/batches/[^/]+/file",)

_FILE_BODY = {
    "requestBody": {
        "required": True,
        "description": "the file, as the job's format says: CSV with a header line, or JSON "
        "Lines (one object per line); UTF-8; streamed, any size up to the service's limit",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}
_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"description": "the caller is not the Ministry's feed client"}
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such job, or another client's"}
}


def _feed_caller(feed: PolicyResource) -> Callable[..., Awaitable[Principal]]:
    async def caller(principal: CurrentPrincipal, runtime: ServiceRuntime, policy: Policy):
        """401 for an account that may not act now, 403 for anyone but the feed client;
        in short transactions of their own, not one held for the whole upload."""
        source = runtime.definition.actors
        assert source is not None
        async with runtime.database.transaction() as session:
            actor_of(principal, await source.account(session, account_id_of(principal)))
        await authorise_feed(policy, runtime.database, runtime.outbox, principal, feed)
        return principal

    return caller


def _job(row: Any) -> BatchJob:
    return BatchJob.model_validate(row, from_attributes=True)


def batch_router(
    prefix: str,
    feed: PolicyResource,
    make_kind: Callable[[Outbox, Callable[[str], str]], jobs.FeedKind],
    what: str,
) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=[f"{what} uploads"])
    Caller = Annotated[Principal, Depends(_feed_caller(feed))]

    def kind_of(runtime: Runtime) -> jobs.FeedKind:
        return make_kind(runtime.outbox, runtime.settings.student_key)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        description=f"Start an upload of {what}: then PUT its file to `{prefix}/<id>/file`.",
        responses={**_REFUSED, 422: {"description": "bad format or as_of"}},
    )
    async def create_batch(body: NewBatch, caller: Caller, runtime: ServiceRuntime) -> BatchJob:
        async with runtime.database.transaction() as session:
            row = await jobs.create_job(
                session, kind_of(runtime).name, body.format, body.as_of, caller.id
            )
        return _job(row)

    @router.put(
        "/{job_id}/file",
        description=(
            "The file of the upload, streamed. Every row is validated; good rows are "
            "applied (only changes are published), every bad row is reported with its line "
            "number and all its reasons. Answers when the whole file is taken; GET the job "
            "meanwhile for progress."
        ),
        openapi_extra=_FILE_BODY,
        responses={
            **_REFUSED,
            **_NOT_FOUND,
            409: {"description": "the job already has its file"},
            413: {"description": "the file is larger than the service takes"},
            422: {"description": "the CSV header does not name the columns, or is missing"},
        },
    )
    async def upload_file(
        job_id: UUID, request: Request, caller: Caller, runtime: ServiceRuntime
    ) -> BatchJob:
        row = await jobs.run_upload(
            runtime.database, kind_of(runtime), job_id, caller.id, request.stream()
        )
        return _job(row)

    @router.get("/{job_id}", responses={**_REFUSED, **_NOT_FOUND})
    async def get_batch(job_id: UUID, caller: Caller, runtime: ServiceRuntime) -> BatchJob:
        """The job: status, counts and progress (bytes and rows taken so far)."""
        async with runtime.database.transaction() as session:
            return _job(await jobs.job_of(session, kind_of(runtime).name, job_id, caller.id))

    @router.get(
        "/{job_id}/rejections",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "CSV: line,reasons (reasons separated by '; '); no values",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            },
            **_REFUSED,
            **_NOT_FOUND,
        },
    )
    async def get_rejections(
        job_id: UUID, caller: Caller, runtime: ServiceRuntime
    ) -> StreamingResponse:
        """The rejected rows of the job, so far, in line order."""
        async with runtime.database.transaction() as session:
            await jobs.job_of(session, kind_of(runtime).name, job_id, caller.id)
        return StreamingResponse(
            _report(runtime, job_id),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="rejections-{job_id}.csv"'},
        )

    return router


async def _report(runtime: Runtime, job_id: UUID) -> AsyncIterator[bytes]:
    yield b"line,reasons\r\n"
    async for page in jobs.rejection_pages(runtime.database, job_id):
        out = io.StringIO()
        csv.writer(out).writerows(page)
        yield out.getvalue().encode()


routers = [
    batch_router("/enrol/batches", FEED, enrolment_kind, "ENROL records"),
    batch_router("/attendance/batches", ATTENDANCE_FEED, attendance_kind, "daily attendance"),
]
