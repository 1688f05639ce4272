"""Input hygiene, once for every route of every service, before anything parses a request.

PostgreSQL cannot store some values Python and JSON carry happily: text with a NUL
character (or a lone surrogate, which is not UTF-8 at all), integers outside 64 bits,
timestamps whose UTC instant falls outside the calendar (year 1 with a positive offset,
year 9999 with a negative one). Each of them used to reach the driver and come back as
a 500. The query string, the path and a JSON body are checked here, at the edge, and such
a value is a 422 naming the field, before authentication, dependencies or the database
are involved. (FastAPI's included routers are built lazily from private structures, so
the check reads the raw request rather than the parsed parameters: a query value of only
digits beyond 64 bits is refused whatever the parameter's type.)

The body limit counts the bytes actually received, so a chunked body (no
Content-Length) sent straight to a service port is refused with 413 as soon as it
passes the limit, before anything parses it.

A route a service declares as a streamed upload (`ServiceDefinition.streamed_uploads`,
e.g. integrations' batch files) is the one exception: its body is not buffered but handed
to the route as it arrives, under the larger `max_upload_bytes`; passing that limit while
the route reads raises `UploadTooLarge` (413) from the route's read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from acms_platform.errors import PlatformError

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
Location = tuple[str | int, ...]

_DIGITS = re.compile(r"[+-]?\d+")
_EDGE_DATETIME = re.compile(r"(?:0001|9999)-\d\d-\d\d[T ]")
# A JSON body is parsed a second time only when its raw text could hold a problem.
_SUSPECT_JSON = re.compile(rb"\\u0000|\\u[dD][89a-fA-F]|\d{19}|(?:0001|9999)-\d\d-\d\d[T ]")


def unstorable_values(value: Any, loc: Location) -> Iterator[tuple[Location, str]]:
    """(location, reason) for every part of a parsed JSON or query value that PostgreSQL
    could not store."""
    if isinstance(value, str):
        if "\x00" in value:
            yield loc, "must not contain the NUL character"
        elif not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                yield loc, "must be valid Unicode text (it holds a lone surrogate)"
                return
        if _EDGE_DATETIME.match(value) and _overflows_utc(value):
            yield loc, "is outside the dates that can be stored (years 1 to 9999 in UTC)"
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            yield loc, "must be between -9223372036854775808 and 9223372036854775807"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from unstorable_values(key, (*loc, key))
            yield from unstorable_values(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unstorable_values(item, (*loc, index))


def _overflows_utc(text: str) -> bool:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return False  # not a date-time: the route's own validation decides
    if moment.tzinfo is None:
        return False
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return True
    return False


def query_problems(scope: Scope) -> list[tuple[Location, str]]:
    problems: list[tuple[Location, str]] = []
    path = unquote(scope.get("raw_path", b"").decode("latin-1") or scope["path"])
    if "\x00" in path:
        problems.append((("path",), "must not contain the NUL character"))
    query = scope.get("query_string", b"").decode("latin-1")
    if query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            loc: Location = ("query", name)
            problems += unstorable_values(name, loc)
            if _DIGITS.fullmatch(value):
                problems += unstorable_values(int(value), loc)
            else:
                problems += unstorable_values(value, loc)
    return problems


def body_problems(scope: Scope, body: bytes) -> list[tuple[Location, str]]:
    if not body or not _SUSPECT_JSON.search(body) or not _is_json(scope):
        return []
    try:
        document = json.loads(body)
    except ValueError:
        return []  # malformed JSON: FastAPI's own 422 says where
    return list(unstorable_values(document, ("body",)))


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return b"json" in value.lower()
    return False


def refusal(problems: list[tuple[Location, str]]) -> JSONResponse:
    """The same 422 as FastAPI's validation errors (app.py): each problem by field."""
    errors = [
        {"field": ".".join(str(p) for p in loc if p != "body"), "message": reason}
        for loc, reason in problems
    ]
    summary = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors)
    return JSONResponse(
        {"detail": f"invalid request: {summary}", "errors": errors}, status_code=422
    )


class UploadTooLarge(PlatformError):
    """A streamed upload passed the service's `max_upload_bytes` while being read."""

    status_code = 413


class RequestHygiene:
    """Refuses with 413 a request whose body passes `max_bytes`, by Content-Length or by
    the bytes actually received; a body within the limit is buffered, and a request with a
    value the database cannot hold is 422. Anything else reaches the app unchanged.
    Streamed uploads (paths matching one of `streamed`) pass unbuffered, counted against
    `max_upload_bytes`."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        streamed: tuple[str, ...] = (),
        max_upload_bytes: int = 0,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed = [re.compile(pattern) for pattern in streamed]
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if problems := query_problems(scope):
            await refusal(problems)(scope, receive, send)
            return
        if any(pattern.fullmatch(scope["path"]) for pattern in self.streamed):
            await self._stream(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        pending: list[Message] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                pending.append(message)
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if problems := body_problems(scope, body):
            await refusal(problems)(scope, receive, send)
            return
        pending.insert(0, {"type": "http.request", "body": body, "more_body": False})

        async def replay() -> Message:
            return pending.pop(0) if pending else await receive()

        await self.app(scope, replay, send)

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_upload_bytes
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._refuse(scope, receive, send, limit)
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise UploadTooLarge(f"upload larger than {limit} bytes")
            return message

        await self.app(scope, counted, send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, limit: int | None = None
    ) -> None:
        response = JSONResponse(
            {"detail": f"request body larger than {limit or self.max_bytes} bytes"},
            status_code=413,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
