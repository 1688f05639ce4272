"""Tier projection into typed response models (ACCESS-MODEL section 3).

A response model declares each field with the tier it belongs to (`tier_field`); a view
is built from the field groups of the tiers granted, and the route answers with
`response_model_exclude_unset=True`, so fields of other tiers are absent from the answer
(not null-filled, not redacted) while the OpenAPI document still describes every field.
A group supplied for a tier that declares a field of another tier is a programming error
and raises: nothing leaks through a misfiled field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from acms_platform.policy import ResourceDecision

TIER_KEY = "x-tier"


def tier_field(*tiers: str, or_in: Sequence[str] = (), description: str | None = None) -> Any:
    """A response field of a tier: optional, absent unless that tier is granted. Several
    tiers (`tier_field("basic", "school")`) mean a field shown only when all are granted,
    supplied as the group `"basic+school"`; `or_in` names other groups that may supply
    it too (`tier_field("summary", or_in=["full"])`)."""
    extra: JsonDict = {TIER_KEY: "|".join(["+".join(tiers), *or_in])}
    return Field(default=None, description=description, json_schema_extra=extra)


def granted_tiers(decision: ResourceDecision | None, tier_actions: Mapping[str, str]) -> list[str]:
    """The tiers whose action the decision allows (`tier_actions`: tier → action), in
    the order given. A resource with no decision is granted nothing."""
    if decision is None:
        return []
    return [tier for tier, action in tier_actions.items() if decision.allows(action)]


class TieredView(BaseModel):
    """Base of a response model whose fields are grouped by tier."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def field_tiers(cls) -> dict[str, str | None]:
        tiers: dict[str, str | None] = {}
        for name, info in cls.model_fields.items():
            extra = info.json_schema_extra
            tiers[name] = extra.get(TIER_KEY) if isinstance(extra, dict) else None  # type: ignore[assignment]
        return tiers

    @classmethod
    def project(
        cls, granted: Iterable[str], groups: Mapping[str, Mapping[str, Any]], **untiered: Any
    ) -> Self:
        """The view of the granted tiers' `groups` (tier, or tiers joined by "+", → its
        fields). `untiered` are fields of no tier (such as the list of tiers granted)."""
        declared = cls.field_tiers()
        allowed = set(granted)
        values: dict[str, Any] = {}
        for tier, fields in groups.items():
            for name in fields:
                if tier not in (declared.get(name) or "-").split("|"):
                    raise ValueError(f"{cls.__name__}.{name} is not a field of tier {tier!r}")
            if set(tier.split("+")) <= allowed:
                values.update(fields)
        for name in untiered:
            if declared.get(name, "-") is not None:
                raise ValueError(f"{cls.__name__}.{name} belongs to a tier")
        return cls.model_validate({**values, **untiered})
