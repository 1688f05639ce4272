"""HTTP routes of documents and media on a case. Uploads are streamed (`STREAMED_UPLOADS`:
RequestHygiene hands their bodies over unbuffered, and the gateway passes them through
unbuffered too); a download is streamed from the blob store."""

from __future__ import annotations

import base64
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import StreamingResponse

from acms_cases import documents
from acms_cases.api.common import CHANGE, NOT_VISIBLE, CasesContext
from acms_cases.blobs import BlobStore
from acms_cases.document_schemas import DocumentView
from acms_cases.document_types import ALLOWED_TYPES
from acms_platform.access.actor import Actor
from acms_platform.dependencies import CurrentPrincipal, Policy, ServiceRuntime

# The upload paths, for the platform's streamed-upload exemption (app.py) and the gateway
# (deploy/nginx.sh, deploy/compose/nginx.conf, deploy/k8s/gateway/nginx.conf).
STREAMED_UPLOADS = (r"/cases/[^/]+/documents", r"/cases/[^/]+/documents/[^/]+/versions")

router = APIRouter(prefix="/cases", tags=["documents"])

FileName = Annotated[
    str,
    Query(
        min_length=1,
        max_length=255,
        pattern=r"^[^/\\\x00-\x1f\x7f]+$",
        description="the file's name as the uploader knows it (its type is decided from the "
        "content, not from this)",
    ),
]
Sensitive = Annotated[
    bool, Query(description="label it sensitive (the provider's case manager or leads)")
]
Shared = Annotated[
    bool, Query(description="share it with the school (the provider's case manager or leads)")
]
_FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the file's bytes, streamed (any Content-Type: the type is decided "
        "from the content); up to the service's `document_max_bytes` (1 GiB by default)",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
UPLOAD_ANSWERS: dict[int | str, dict[str, Any]] = {
    **CHANGE,
    413: {"description": "the file is larger than a document may be"},
    415: {"description": "the content is not of a type a case takes: the answer names it"},
    422: {"description": "empty file, bad file name, or sensitive and shared together"},
}
DOWNLOAD_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the content, as uploaded; `Repr-Digest` carries its SHA-256",
        "content": {
            media_type: {"schema": {"type": "string", "format": "binary"}}
            for media_type in sorted(set(ALLOWED_TYPES.values()))
        },
    },
    **NOT_VISIBLE,
    403: {"description": "the caller sees the case but none of its documents"},
    503: {"description": "the stored content fails its SHA-256 check (logged); not sent"},
}


async def _uploader(principal: CurrentPrincipal, runtime: ServiceRuntime) -> Actor:
    return await documents.uploader(principal, runtime)


# A dependency, so an account that may not act now is refused (401) before anything else
# about the request is looked at, as on every other route.
Uploader = Annotated[Actor, Depends(_uploader)]


def _store(request: Request) -> BlobStore:
    return request.app.state.blob_store  # type: ignore[no-any-return]


@router.post(
    "/{case_id}/documents",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_FILE_BODY,
    responses=UPLOAD_ANSWERS,
)
async def upload_document(
    case_id: UUID,
    filename: FileName,
    request: Request,
    actor: Uploader,
    runtime: ServiceRuntime,
    policy: Policy,
    sensitive: Sensitive = False,
    shared: Shared = False,
) -> DocumentView:
    """A new document on an active case (409 naming the state otherwise): the provider's
    case manager and workflow leads; the school's leaders and office support, and the
    primary contact (the provider sees what the school sends; the school sees what the
    provider shares)."""
    command = documents.UploadCommand(filename=filename, sensitive=sensitive, shared=shared)
    return await documents.upload(
        runtime, _store(request), actor, policy, request, case_id, command
    )


@router.post(
    "/{case_id}/documents/{document_id}/versions",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_FILE_BODY,
    responses=UPLOAD_ANSWERS,
)
async def revise_document(
    case_id: UUID,
    document_id: UUID,
    filename: FileName,
    version: Annotated[int, Query(ge=1, description="the version the revision was made on")],
    request: Request,
    actor: Uploader,
    runtime: ServiceRuntime,
    policy: Policy,
    sensitive: Sensitive = False,
    shared: Shared = False,
) -> DocumentView:
    """A revised file: a new version (stale: 409 with `current_version`); every earlier
    one is kept. The provider's case manager and workflow leads."""
    command = documents.UploadCommand(
        filename=filename,
        sensitive=sensitive,
        shared=shared,
        document_id=document_id,
        version=version,
    )
    return await documents.upload(
        runtime, _store(request), actor, policy, request, case_id, command
    )


@router.get("/{case_id}/documents", responses=CHANGE)
async def list_documents(case_id: UUID, ctx: CasesContext) -> list[DocumentView]:
    """The documents the caller may see, each with the versions they may see."""
    return await documents.documents(ctx, case_id)


@router.get(
    "/{case_id}/documents/{document_id}/content",
    response_class=StreamingResponse,
    responses=DOWNLOAD_ANSWERS,
)
async def download_document(
    case_id: UUID,
    document_id: UUID,
    ctx: CasesContext,
    request: Request,
    version: Annotated[int | None, Query(ge=1, description="default: the current one")] = None,
) -> StreamingResponse:
    """The content of a version the caller may see, streamed, checked first against the
    SHA-256 recorded at upload."""
    found, chunks = await documents.content(ctx, _store(request), case_id, document_id, version)
    digest = bytes.fromhex(found.sha256)
    return StreamingResponse(
        chunks,
        media_type=found.media_type,
        headers={
            "Content-Length": str(found.size_bytes),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
            "Repr-Digest": f"sha-256=:{base64.b64encode(digest).decode()}:",
            "Cache-Control": "no-store",
        },
    )
