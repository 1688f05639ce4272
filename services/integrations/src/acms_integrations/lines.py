"""An uploaded body as numbered text lines, with bounded memory whatever its size.

The body arrives in chunks of any size; a line may straddle chunks. Only the unfinished
line is held between chunks, and a line longer than MAX_LINE_BYTES is not held at all:
it is reported once as too long and skipped up to its end.
"""

from __future__ import annotations

from typing import NamedTuple

MAX_LINE_BYTES = 8192


class Line(NamedTuple):
    number: int  # 1-based, counting every line of the file (blank ones too)
    text: str | None  # None: unreadable, `problem` says why
    problem: str | None = None


class LineSplitter:
    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self.number = 0
        self._pending = b""
        self._too_long = False

    def feed(self, chunk: bytes) -> list[Line]:
        """The lines this chunk completes (blank lines left out)."""
        data = self._pending + chunk if self._pending else chunk
        lines: list[Line] = []
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            self._complete(data, start, end, lines)
            start = end + 1
        rest = data[start:]
        if self._too_long or len(rest) > self.max_line_bytes:
            self._too_long, rest = True, b""
        self._pending = rest
        return lines

    def finish(self) -> list[Line]:
        """The last line, if the body did not end with a newline."""
        lines: list[Line] = []
        if self._pending or self._too_long:
            self._complete(self._pending, 0, len(self._pending), lines)
        self._pending = b""
        return lines

    def _complete(self, data: bytes, start: int, end: int, lines: list[Line]) -> None:
        self.number += 1
        if self._too_long or end - start > self.max_line_bytes:
            self._too_long = False
            lines.append(Line(self.number, None, f"is longer than {self.max_line_bytes} bytes"))
            return
        raw = data[start:end]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw.strip():
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            lines.append(Line(self.number, None, "is not UTF-8 text"))
            return
        if "\x00" in text:
            lines.append(Line(self.number, None, "contains the NUL character"))
            return
        if self.number == 1 and text.startswith("\ufeff"):
            text = text[1:]  # a byte-order mark, as spreadsheets write it
        lines.append(Line(self.number, text))
