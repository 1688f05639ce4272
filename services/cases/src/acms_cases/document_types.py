"""What a file is, from its content (libmagic, through python-magic), never from its name.

libmagic and not a pure-Python table: the allow-list holds Office and OpenDocument files,
which are ZIP archives that only a look at their first entries tells apart from any other
ZIP (`puremagic` 1.30 answers "docx" for every ZIP, an executable included), and it names
executables and scripts (`application/x-executable`, `text/x-shellscript`) where a table
of magic numbers knows nothing. The library is Debian's `libmagic1` (deploy/python.sh and
the image install it).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

import magic

from acms_platform.errors import Invalid, PlatformError

# The types a case takes (documents, screenshots, audio, video), as libmagic names them,
# and the name stored and answered for each (one per kind, whatever libmagic's spelling).
ALLOWED_TYPES = {
    "application/pdf": "application/pdf",
    "image/png": "image/png",
    "image/jpeg": "image/jpeg",
    "image/gif": "image/gif",
    "image/webp": "image/webp",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ),
    "application/vnd.oasis.opendocument.text": "application/vnd.oasis.opendocument.text",
    "text/plain": "text/plain",
    "audio/mpeg": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
    "audio/mp4": "audio/mp4",
    "audio/x-wav": "audio/wav",
    "audio/wav": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/ogg": "audio/ogg",
    "video/mp4": "video/mp4",
    "video/webm": "video/webm",
    "video/quicktime": "video/quicktime",
}
# libmagic decides on the first bytes; Office files need their first ZIP entries.
SNIFF_BYTES = 256 * 1024


class UnsupportedType(PlatformError):
    status_code = 415


class DocumentTooLarge(PlatformError):
    status_code = 413


def media_type_of(head: bytes) -> str:
    """The stored media type of a file that starts with `head`; 415 naming what was found
    if it is not on the allow-list."""
    detected = magic.from_buffer(head, mime=True)
    allowed = ALLOWED_TYPES.get(detected)
    if allowed is None:
        description = magic.from_buffer(head)[:80]
        raise UnsupportedType(
            f"the file's content is {detected} ({description}), which a case does not take: "
            "PDF, PNG, JPEG, GIF, WebP, Word (docx), Excel (xlsx), OpenDocument text, plain "
            "text, MP3, M4A, WAV, Ogg, MP4, WebM or QuickTime (the file name does not count)"
        )
    return allowed


class InspectedUpload:
    """The request's chunks, passed on as they come, counted against `limit` (413 once
    past it) and typed from the first `SNIFF_BYTES` (415 before anything more is read)."""

    def __init__(self, chunks: AsyncIterable[bytes], limit: int) -> None:
        self.chunks = chunks
        self.limit = limit
        self.size = 0
        self.media_type: str | None = None

    def refuse_beyond_limit(self, size: int) -> None:
        if size > self.limit:
            raise DocumentTooLarge(
                f"the file is larger than the {_size(self.limit)} a document may be"
            )

    def _count(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.refuse_beyond_limit(self.size)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        head = bytearray()
        async for chunk in self.chunks:
            if not chunk:
                continue
            self._count(chunk)
            if self.media_type is not None:
                yield chunk
                continue
            head += chunk
            if len(head) >= SNIFF_BYTES:
                self.media_type = media_type_of(bytes(head))
                yield bytes(head)
                head.clear()
        if self.media_type is None:
            if not head:
                raise Invalid("body", "the file is empty")
            self.media_type = media_type_of(bytes(head))
            yield bytes(head)


def _size(limit: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if limit >= factor and limit % factor == 0:
            return f"{limit // factor} {unit}"
    return f"{limit} bytes"
