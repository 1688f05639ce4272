"""API models of documents and media on a case."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class DocumentVersion(BaseModel):
    version: int
    filename: str
    media_type: str = Field(description="decided from the content, not the name")
    size_bytes: int
    sha256: str = Field(description="hex SHA-256 of the content, checked on every download")
    sensitive: bool
    shared: bool = Field(description="shared with the school")
    author_id: str
    at: str = Field(description="ISO 8601")


class DocumentView(BaseModel):
    kind: Literal["document"] = "document"
    id: str
    case_id: str
    version: int = Field(description="the current version")
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    sensitive: bool
    shared: bool
    created_by: str
    created_at: str = Field(description="ISO 8601")
    history: list[DocumentVersion] = Field(
        description="every version, oldest first, that the caller may see"
    )
