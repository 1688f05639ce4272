"""Queries of documents and media on a case."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import exists, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from acms_cases.document_tables import case_document_versions, case_documents

versions = case_document_versions


async def add_document(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(case_documents.insert().values(**values))


async def get_document(
    session: AsyncSession, case_id: UUID, document_id: UUID, *, lock: bool = False
) -> Row[Any] | None:
    statement = select(case_documents).where(
        case_documents.c.id == document_id, case_documents.c.case_id == case_id
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).first()


async def add_version(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(versions.insert().values(**values))


async def set_current_version(session: AsyncSession, document_id: UUID, version: int) -> None:
    await session.execute(
        case_documents.update()
        .where(case_documents.c.id == document_id)
        .values(current_version=version)
    )


async def documents_with_versions(
    session: AsyncSession, case_id: UUID, document_id: UUID | None = None
) -> list[Row[Any]]:
    """Every version of every document of the case (or of one), by document (oldest
    first) and version."""
    statement = (
        select(
            case_documents.c.id,
            case_documents.c.case_id,
            case_documents.c.current_version,
            case_documents.c.created_by,
            case_documents.c.created_at,
            *(c for c in versions.c if c.name != "document_id"),
        )
        .join(versions, versions.c.document_id == case_documents.c.id)
        .where(case_documents.c.case_id == case_id)
        .order_by(case_documents.c.created_at, case_documents.c.id, versions.c.version)
    )
    if document_id is not None:
        statement = statement.where(case_documents.c.id == document_id)
    return list((await session.execute(statement)).all())


async def blob_is_recorded(session: AsyncSession, blob_key: str) -> bool:
    return bool(await session.scalar(select(exists().where(versions.c.blob_key == blob_key))))


async def count_not_sensitive(session: AsyncSession, case_id: UUID) -> int:
    """How many documents of the case are not labelled sensitive at their current version."""
    statement = (
        select(func.count())
        .select_from(case_documents)
        .join(
            versions,
            (versions.c.document_id == case_documents.c.id)
            & (versions.c.version == case_documents.c.current_version),
        )
        .where(case_documents.c.case_id == case_id, versions.c.sensitive.is_(False))
    )
    return int(await session.scalar(statement) or 0)
