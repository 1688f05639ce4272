"""The Kafka admin requests aiokafka has no client method for: ACLs and SCRAM credentials.

Kafka 4 speaks only the flexible versions of these APIs (KIP-896), which aiokafka 0.14 does
not define; they are defined here on aiokafka's own protocol types and sent through its
admin client's connection, so the launchers and the tests manage principals and ACLs in one
round trip each instead of one Java tool start per ACL.

SCRAM users are created and re-set, never deleted: in Kafka 4.1 a broker that replays a
removal while loading its metadata at start (`ScramDelta.apply`) drops the whole mechanism's
credentials whenever the removed name comes first in the delta's hash order, and then
refuses every user, the admin included (seen in about one full test run in three, when the
tests deleted a throwaway user). To lock a user out, re-set its password to a random one.
A broker already in that state is mended by re-setting the credentials through the
controller listener (`upsert_scram_users_at_controller`, `deploy/kafka.sh credentials`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.conn import create_conn
from aiokafka.errors import for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from acms_platform.kafka_client import CaFile, security_protocol, tls_context

SCRAM_SHA_512 = 2  # the mechanism's number in AlterUserScramCredentials
SCRAM_ITERATIONS = 8192


class ResourceType(IntEnum):
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class PatternType(IntEnum):
    ANY = 1
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    ANY = 1
    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8


ALLOW = 3
ANY_PERMISSION = 1


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW rule: `principal` may do `operation` on the resource (from any host)."""

    resource_type: ResourceType
    resource_name: str
    pattern_type: PatternType
    principal: str
    operation: Operation

    def __str__(self) -> str:
        pattern = "" if self.pattern_type is PatternType.LITERAL else "*"
        return (
            f"{self.principal:<24} {self.operation.name:<9} "
            f"{self.resource_type.name.lower():<6} {self.resource_name}{pattern}"
        )


_FILTER = (
    ("resource_type", Int8),
    ("resource_name", CompactString("utf-8")),
    ("pattern_type", Int8),
    ("principal", CompactString("utf-8")),
    ("host", CompactString("utf-8")),
    ("operation", Int8),
    ("permission_type", Int8),
)
_ERROR = (("error_code", Int16), ("error_message", CompactString("utf-8")))
_TAGS = ("tags", TaggedFields)


class _CreateAclsResponse(Response):
    API_KEY, API_VERSION = 30, 3
    SCHEMA = Schema(("throttle_time_ms", Int32), ("results", CompactArray(*_ERROR, _TAGS)), _TAGS)


class _CreateAclsStruct(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY, API_VERSION, RESPONSE_TYPE = 30, 3, _CreateAclsResponse
    SCHEMA = Schema(("creations", CompactArray(*_FILTER, _TAGS)), _TAGS)


class _DescribeAclsResponse(Response):
    API_KEY, API_VERSION = 29, 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        *_ERROR,
        (
            "resources",
            CompactArray(
                *_FILTER[:3],
                ("acls", CompactArray(*_FILTER[3:], _TAGS)),
                _TAGS,
            ),
        ),
        _TAGS,
    )


class _DescribeAclsStruct(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY, API_VERSION, RESPONSE_TYPE = 29, 3, _DescribeAclsResponse
    SCHEMA = Schema(*_FILTER, _TAGS)


class _DeleteAclsResponse(Response):
    API_KEY, API_VERSION = 31, 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "filter_results",
            CompactArray(*_ERROR, ("matching", CompactArray(*_ERROR, *_FILTER, _TAGS)), _TAGS),
        ),
        _TAGS,
    )


class _DeleteAclsStruct(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY, API_VERSION, RESPONSE_TYPE = 31, 3, _DeleteAclsResponse
    SCHEMA = Schema(("filters", CompactArray(*_FILTER, _TAGS)), _TAGS)


class _AlterScramResponse(Response):
    API_KEY, API_VERSION = 51, 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("results", CompactArray(("user", CompactString("utf-8")), *_ERROR, _TAGS)),
        _TAGS,
    )


class _AlterScramStruct(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY, API_VERSION, RESPONSE_TYPE = 51, 0, _AlterScramResponse
    SCHEMA = Schema(
        ("deletions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), _TAGS)),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                _TAGS,
            ),
        ),
        _TAGS,
    )


class _Prepared(Request[Any]):
    """A request whose one version is already built (these APIs have one we speak)."""

    API_KEY = 0

    def __init__(self, struct: RequestStruct) -> None:
        self.struct = struct

    def prepare(self, versions: dict[int, tuple[int, int]]) -> Any:
        low, high = versions.get(self.struct.API_KEY, (0, -1))
        if not low <= self.struct.API_VERSION <= high:
            raise RuntimeError(
                f"the broker does not speak API {self.struct.API_KEY} "
                f"v{self.struct.API_VERSION} (it has v{low}..v{high})"
            )
        return self.struct

    def build(self, request_struct_class: type[Any]) -> Any:  # pragma: no cover - unused
        return self.struct


class KafkaAdminError(RuntimeError):
    """The broker refused an admin request; names what and why."""


def _check(code: int, message: str | None, what: str) -> None:
    if code:
        raise KafkaAdminError(f"{what}: {for_code(code).__name__}: {message or ''}".rstrip(": "))


def _filter_row(acl: Acl) -> tuple[Any, ...]:
    return (
        int(acl.resource_type),
        acl.resource_name,
        int(acl.pattern_type),
        acl.principal,
        "*",
        int(acl.operation),
        ALLOW,
        {},
    )


def _scram_upsert(passwords: dict[str, str]) -> _AlterScramStruct:
    upsertions: list[tuple[str, int, int, bytes, bytes, dict[str, Any]]] = []
    for name, password in sorted(passwords.items()):
        salt = os.urandom(32)
        salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, SCRAM_ITERATIONS)
        upsertions.append((name, SCRAM_SHA_512, SCRAM_ITERATIONS, salt, salted, {}))
    return _AlterScramStruct([], upsertions, {})


def _check_scram(response: Any) -> None:
    for user, code, message, _tags in response.results:
        _check(code, message, f"SCRAM credential of {user}")


async def upsert_scram_users_at_controller(
    controller: str,
    admin_user: str,
    admin_password: str,
    passwords: dict[str, str],
    ca_file: CaFile | None = None,
) -> None:
    """Re-set users' SCRAM credentials through the KRaft controller listener, where the admin
    signs in with SASL/PLAIN (server.properties), over TLS trusting `ca_file` when given (the
    local broker's controller listener takes TLS only): the way in when the broker listener
    refuses every SCRAM credential, the admin's included. The controller writes the records,
    and the broker's credential cache takes them from the metadata log like any other change."""
    host, _, port = controller.rpartition(":")
    conn = await create_conn(
        host,
        int(port),
        request_timeout_ms=15_000,
        security_protocol=security_protocol(sasl=True, tls=ca_file is not None),
        ssl_context=tls_context(ca_file) if ca_file is not None else None,
        sasl_mechanism="PLAIN",
        sasl_plain_username=admin_user,
        sasl_plain_password=admin_password,
    )
    try:
        _check_scram(await conn.send(_Prepared(_scram_upsert(passwords))))
    finally:
        conn.close()


class KafkaAdmin:
    """An admin connection (as a super user) for principals and ACLs."""

    def __init__(self, **client_options: Any) -> None:
        self._client = AIOKafkaAdminClient(request_timeout_ms=15_000, **client_options)

    async def __aenter__(self) -> KafkaAdmin:
        await self._client.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.close()

    async def _send(self, struct: RequestStruct) -> Any:
        return await self._client._send_request(_Prepared(struct))

    async def upsert_scram_users(self, passwords: dict[str, str]) -> None:
        """Create or re-set each user's SCRAM-SHA-512 credential."""
        if passwords:
            _check_scram(await self._send(_scram_upsert(passwords)))

    async def create_acls(self, acls: Iterable[Acl]) -> None:
        """Add ALLOW rules; a rule already present is left as it is."""
        rows = [_filter_row(acl) for acl in sorted(set(acls))]
        if not rows:
            return
        response = await self._send(_CreateAclsStruct(rows, {}))
        for (code, message, _tags), row in zip(response.results, rows, strict=True):
            _check(code, message, f"ACL {row[:4]}")

    async def describe_acls(self) -> set[Acl]:
        """Every ALLOW rule for any host on topics, groups and the cluster."""
        response = await self._send(
            _DescribeAclsStruct(
                int(ResourceType.ANY), None, int(PatternType.ANY), None, None, 1, ALLOW, {}
            )
        )
        _check(response.error_code, response.error_message, "describing ACLs")
        found = set()
        for kind, name, pattern, acls, _tags in response.resources:
            if kind not in ResourceType._value2member_map_:
                continue
            for principal, _host, operation, _permission, _t in acls:
                if operation in Operation._value2member_map_:
                    found.add(
                        Acl(
                            ResourceType(kind),
                            name,
                            PatternType(pattern),
                            principal,
                            Operation(operation),
                        )
                    )
        return found

    async def delete_acls(self, acls: Iterable[Acl]) -> int:
        """Remove exactly these rules; returns how many the broker removed."""
        rows = [_filter_row(acl) for acl in sorted(set(acls))]
        if not rows:
            return 0
        response = await self._send(_DeleteAclsStruct(rows, {}))
        removed = 0
        for code, message, matching, _tags in response.filter_results:
            _check(code, message, "deleting ACLs")
            removed += len(matching)
        return removed
