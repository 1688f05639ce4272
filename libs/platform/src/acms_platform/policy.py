"""Client of the Cerbos policy decision point (PDP), over its HTTP API.

- `check`: CheckResources for one or many resources (one round trip for a batch).
- `plan` + `plan_filter`: PlanResources turned into a SQL condition, so list queries are
  filtered in the database, never by loading rows and dropping some in Python.
- Fails closed: if the PDP cannot be reached or answers nonsense, the request fails with
  503 and says why. It never falls back to "allow".
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from cerbos.sdk.model import PlanResourcesResponse
from cerbos_sqlalchemy import get_query
from fastapi import HTTPException, status
from sqlalchemy import Table
from sqlalchemy.sql.elements import ColumnElement

log = logging.getLogger(__name__)

ALLOW = "EFFECT_ALLOW"


class PolicyUnavailable(HTTPException):
    """The PDP could not decide: the request is refused (503), never allowed."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"authorisation service unavailable, request refused: {reason}",
        )


@dataclass(frozen=True)
class PolicyPrincipal:
    id: str
    roles: Sequence[str]
    attr: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        # Cerbos needs at least one role; a principal with none matches no role rule.
        return {"id": self.id, "roles": list(self.roles) or ["none"], "attr": self.attr}


@dataclass(frozen=True)
class PolicyResource:
    kind: str
    id: str
    attr: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "attr": self.attr}


@dataclass(frozen=True)
class ResourceDecision:
    resource_id: str
    actions: dict[str, bool]
    outputs: dict[str, Any] = field(default_factory=dict)

    def allows(self, action: str) -> bool:
        return self.actions.get(action, False)


class PolicyClient:
    def __init__(self, base_url: str, *, timeout: float = 2.0) -> None:
        self.base_url = base_url
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def close(self) -> None:
        await self._http.aclose()

    async def check(
        self,
        principal: PolicyPrincipal,
        resources: Iterable[PolicyResource],
        actions: Sequence[str],
    ) -> dict[str, ResourceDecision]:
        """Decisions by resource id (one CheckResources call for the whole batch)."""
        resources = list(resources)
        if not resources:
            return {}
        body = {
            "requestId": str(uuid.uuid4()),
            "principal": principal.as_json(),
            "resources": [{"actions": list(actions), "resource": r.as_json()} for r in resources],
        }
        document = await self._post("/api/check/resources", body)
        decisions: dict[str, ResourceDecision] = {}
        try:
            for result in document["results"]:
                resource_id = result["resource"]["id"]
                effects = result.get("actions", {})
                outputs = {o.get("src", ""): o.get("val") for o in result.get("outputs", []) or []}
                decisions[resource_id] = ResourceDecision(
                    resource_id,
                    {action: effects.get(action) == ALLOW for action in actions},
                    outputs,
                )
        except (KeyError, TypeError) as error:
            raise PolicyUnavailable(f"unexpected answer from the PDP: {error!r}") from None
        return decisions

    async def is_allowed(
        self, principal: PolicyPrincipal, resource: PolicyResource, action: str
    ) -> bool:
        decision = (await self.check(principal, [resource], [action])).get(resource.id)
        return decision is not None and decision.allows(action)

    async def plan(
        self,
        principal: PolicyPrincipal,
        resource_kind: str,
        action: str,
        resource_attr: dict[str, Any] | None = None,
    ) -> PlanResourcesResponse:
        body = {
            "requestId": str(uuid.uuid4()),
            "action": action,
            "principal": principal.as_json(),
            "resource": {"kind": resource_kind, "attr": resource_attr or {}},
        }
        document = await self._post("/api/plan/resources", body)
        try:
            return PlanResourcesResponse.from_dict(document)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise PolicyUnavailable(f"unexpected plan from the PDP: {error!r}") from None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._http.post(path, json=body)
        except httpx.HTTPError as error:
            log.error("PDP at %s unreachable: %r", self.base_url, error)
            raise PolicyUnavailable(
                f"policy decision point at {self.base_url} unreachable"
            ) from None
        if response.status_code != 200:
            log.error("PDP answered %s: %s", response.status_code, response.text[:500])
            raise PolicyUnavailable(f"policy decision point answered {response.status_code}")
        return response.json()


def plan_filter(
    plan: PlanResourcesResponse,
    table: Table,
    attr_map: dict[str, Any],
    table_mapping: list[tuple[Any, Any]] | None = None,
) -> ColumnElement[bool]:
    """The SQL condition equivalent to `plan` (always-false for a denial).

    `attr_map` maps plan attributes (`request.resource.attr.x`, `request.resource.id`) to
    columns; every attribute a policy can mention must be mapped, or this raises.
    """
    query = get_query(plan, table, attr_map, table_mapping)
    where = query.whereclause
    if where is None:
        from sqlalchemy import true

        return true()
    return where
