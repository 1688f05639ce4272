"""Files for documents' tests, made here (nothing downloaded): a PDF, a PNG, a Word file,
plain text, a WAV, and a real executable (this machine's `true`) to disguise."""

from __future__ import annotations

import io
import shutil
import wave
import zipfile
from pathlib import Path

from sqlalchemy import func, select

from acms_cases.document_tables import case_document_versions, case_documents


def pdf(size: int = 4096) -> bytes:
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    body = bytes(i % 251 for i in range(max(0, size - len(head) - 6)))
    return head + body + b"\n%%EOF"


def png() -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02" + (
        b"\x00" * 32
    )


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\x00\x01" * 800)
    return out.getvalue()


def text() -> bytes:
    return b"Kia ora: a plain note from the school, nothing more.\n"


def executable() -> bytes:
    return Path(shutil.which("true") or "/bin/true").read_bytes()


async def pieces(data: bytes, size: int = 64 * 1024):
    """The body in pieces, as a client streams it (no Content-Length)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def upload_path(case_id: str, filename: str, **flags: object) -> str:
    query = "&".join([f"filename={filename}", *(f"{k}={v}" for k, v in flags.items())])
    return f"/cases/{case_id}/documents?{query}"


async def upload(world, who: str, case_id: str, data: bytes, filename: str, **flags: object):
    return await world.client.post(
        upload_path(case_id, filename, **{k: str(v).lower() for k, v in flags.items()}),
        content=data,
        headers={**world.as_(who), "content-type": "application/octet-stream"},
    )


async def document_rows(world, case_id: str) -> int:
    async with world.runtime.database.transaction() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(case_document_versions.join(case_documents))
                .where(case_documents.c.case_id == case_id)
            )
        )


def blob_files(world) -> tuple[list[Path], list[Path]]:
    """(temporary, permanent) blob files of the service's local store."""
    root = world.client.app.state.blob_store.root
    return sorted((root / "tmp").iterdir()), sorted((root / "blobs").iterdir())
