"""Building requests for support through the API, up to any state of the lifecycle."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from .world import World


def new_nsn() -> str:
    return str(random.randint(100_000_000, 999_999_999))


def complete_request(world: World, school: str | None = "school_a", **changes: Any) -> dict:
    """A request with every field submit needs."""
    body: dict[str, Any] = {
        "student": {
            "nsn": new_nsn(),
            "given_name": "Aroha",
            "family_name": "Ngata",
            "date_of_birth": date(date.today().year - 12, 3, 14).isoformat(),
            "gender": "female",
            "ethnicity": ["Māori"],
            "iwi": ["Ngāti Porou"],
            "languages": ["te reo Māori", "English"],
            "year_level": 7,
            "address": {"line1": "12 Kōwhai Street", "city": "Hamilton", "postcode": "3204"},
        },
        "school_id": str(world.orgs[school]) if school else None,
        "whanau": [
            {
                "name": "Mere Ngata",
                "relationship": "parent",
                "phone": "+64 21 555 0101",
                "email": "mere.ngata@example.org",
            }
        ],
        "reason_category": "chronic_absence",
        "reason_text": "Attended 41% of half-days this term.",
        "actions_taken": "Two whānau hui; attendance plan agreed in week 3.",
        "pastoral": {"iep": "Reading support", "medical": "Asthma, managed"},
    }
    body.update(changes)
    return body


STEPS: dict[str, tuple[str, str, dict[str, Any]]] = {
    # target state: (action, default actor, extra body)
    "submitted": ("submit", "creator", {}),
    "withdrawn": ("withdraw", "creator", {}),
    "declined": ("decline", "investigator", {"reason": "Below the threshold for support."}),
    "accepted": ("accept", "investigator", {}),
    "allocated": ("allocate", "investigator", {}),
    "assigned": ("assign", "asp_lead_a", {}),
}
PATHS = {
    "draft": [],
    "submitted": ["submitted"],
    "withdrawn": ["submitted", "withdrawn"],
    "declined": ["submitted", "declined"],
    "accepted": ["submitted", "accepted"],
    "allocated": ["submitted", "accepted", "allocated"],
    "assigned": ["submitted", "accepted", "allocated", "assigned"],
}


async def make_request(
    world: World,
    state: str = "draft",
    *,
    creator: str = "teacher_a",
    school: str | None = "school_a",
    provider: str = "asp_a",
    assignee: str = "case_manager_a",
    lead: str | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A request created by `creator` and moved to `state`; its latest outcome."""
    body = body or complete_request(world, school)
    created = await world.client.post("/referrals", json=body, headers=world.as_(creator))
    assert created.status_code == 201, created.text
    current = created.json()
    for step in PATHS[state]:
        action, actor, extra = STEPS[step]
        actor = creator if actor == "creator" else actor
        if step == "allocated":
            extra = {"provider_id": str(world.orgs[provider])}
        if step == "assigned":
            actor = lead or ("isp_lead_a" if provider == "isp_a" else f"asp_lead_{provider[-1]}")
            extra = {"assignee_id": str(world.accounts[assignee])}
        response = await world.client.post(
            f"/referrals/{current['id']}/{action}",
            json={"version": current["version"], **extra},
            headers=world.as_(actor),
        )
        assert response.status_code == 200, f"{action}: {response.text}"
        current = {**current, **response.json()}
    return current
