"""Client of the Cerbos policy decision point (PDP), over its HTTP API.

- `check`: CheckResources for one or many resources (one round trip for a batch).
- `plan` + `plan_filter`: PlanResources turned into a SQL condition, so list queries are
  filtered in the database, never by loading rows and dropping some in Python.
- Fails closed: if the PDP cannot be reached or answers nonsense, the request fails with
  503 and says why. It never falls back to "allow".
"""

from __future__ import annotations

import asyncio
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
    # action → the policy rules that allowed it (`<kind>.<rule name>`), from the outputs
    # every ALLOW rule emits (policies/README: "Granting rules").
    rules: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def allows(self, action: str) -> bool:
        return self.actions.get(action, False)

    def rules_of(self, actions: Iterable[str]) -> list[str]:
        """The rules that allowed these actions (denied ones have none), each once, in the
        order of `actions`."""
        found: dict[str, None] = {}
        for action in actions:
            if self.allows(action):
                found.update(dict.fromkeys(self.rules.get(action, ())))
        return list(found)


def rule_of(output: dict[str, Any]) -> str:
    """`<kind>.<rule name>` of one output entry: Cerbos names its source rule in `src`
    (`resource.case.vdefault#case_manager_sees_every_tier_of_their_cases`, a scope after a
    `/`); an output without one is named by its value."""
    source, _, name = str(output.get("src", "")).partition("#")
    kind = source.removeprefix("resource.").rsplit(".v", 1)[0]
    return f"{kind}.{name}" if name and kind else str(output.get("val", ""))


def rules_by_action(outputs: Iterable[dict[str, Any]]) -> dict[str, tuple[str, ...]]:
    found: dict[str, dict[str, None]] = {}
    for output in outputs:
        found.setdefault(str(output.get("action", "")), {})[rule_of(output)] = None
    return {action: tuple(rules) for action, rules in found.items()}


class PolicyClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 2.0,
        max_batch: int = 50,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.max_batch = max_batch
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def close(self) -> None:
        await self._http.aclose()

    async def check(
        self,
        principal: PolicyPrincipal,
        resources: Iterable[PolicyResource],
        actions: Sequence[str],
    ) -> dict[str, ResourceDecision]:
        """Decisions by resource id. Batches beyond the PDP's per-request limit (Cerbos'
        default is 50 resources) are split and sent concurrently."""
        resources = list(resources)
        chunks = [
            resources[i : i + self.max_batch] for i in range(0, len(resources), self.max_batch)
        ]
        answers = await asyncio.gather(*(self._check(principal, c, actions) for c in chunks))
        return {k: v for answer in answers for k, v in answer.items()}

    async def _check(
        self,
        principal: PolicyPrincipal,
        resources: list[PolicyResource],
        actions: Sequence[str],
    ) -> dict[str, ResourceDecision]:
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
                decisions[resource_id] = ResourceDecision(
                    resource_id,
                    {action: effects.get(action) == ALLOW for action in actions},
                    rules_by_action(result.get("outputs") or []),
                )
        except (KeyError, TypeError, AttributeError) as error:
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
        # Cerbos omits fields at their default value; the SDK model requires them.
        document.setdefault("policyVersion", "default")
        document.setdefault("resourceKind", resource_kind)
        document.setdefault("action", action)
        try:
            plan: PlanResourcesResponse = PlanResourcesResponse.from_dict(  # type: ignore[attr-defined]
                document
            )
            return plan
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
        try:
            document = response.json()
        except ValueError:
            raise PolicyUnavailable("policy decision point answered with no JSON") from None
        if not isinstance(document, dict):
            raise PolicyUnavailable("policy decision point answered with no JSON object")
        return document


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
    where: ColumnElement[bool] | None = query.whereclause
    if where is None:
        from sqlalchemy import true

        return true()
    return where


def granted_tiers(decision: ResourceDecision | None, tier_actions: dict[str, str]) -> list[str]:
    """The tiers whose action the decision allows (`tier_actions`: tier → action), in the
    order given. A resource with no decision is granted nothing."""
    if decision is None:
        return []
    return [tier for tier, action in tier_actions.items() if decision.allows(action)]


def project_tiers(
    record: dict[str, Any], field_tier: dict[str, str], granted: Iterable[str]
) -> dict[str, Any]:
    """Only the fields of granted tiers: the others are absent, not null-filled.
    A field with no tier listed is never returned (deny by default)."""
    allowed = set(granted)
    return {name: value for name, value in record.items() if field_tier.get(name) in allowed}
