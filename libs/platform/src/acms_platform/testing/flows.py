"""What the end-to-end tests (`tests/`) share when they drive the system through the
gateway: a bounded wait for what Kafka delivers eventually, organisations made by the
platform admin, the ENROL feed's machine identity and a school's request for support."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx

# A fresh consumer group reads each topic from its start: on a long-lived Kafka the first
# projection of a new organisation may wait behind the whole history of earlier runs.
CATCH_UP_SECONDS = 240


def wait_until(condition: Callable[[], object], timeout: float = 60) -> bool:
    """Polls `condition` every 0.3 s until it is true (True) or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


def create_organisation(
    gateway: httpx.Client, admin: dict[str, str], org_type: str, name: str, region: str = "Otago"
) -> str:
    """A new organisation (its name made unique), by the platform admin. Its id."""
    created = gateway.post(
        "/api/identity/organisations",
        json={"org_type": org_type, "name": f"{name} {uuid.uuid4().hex[:6]}", "region": region},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def enrol_feed_headers(gateway: httpx.Client, admin: dict[str, str]) -> dict[str, str]:
    """The ENROL system's machine identity: a client of the Ministry with role enrol_feed,
    created by the platform admin, signing in with client credentials."""
    ministry = gateway.get("/api/identity/me", headers=admin).json()["organisation_id"]
    client = gateway.post(
        "/api/identity/clients",
        json={"organisation_id": ministry, "display_name": "ENROL feed", "roles": ["enrol_feed"]},
        headers=admin,
    )
    assert client.status_code == 201, client.text
    credentials = {k: client.json()[k] for k in ("client_id", "client_secret")}
    token = gateway.post("/api/identity/token/client", json=credentials)
    assert token.status_code == 200, token.text
    return {"authorization": f"Bearer {token.json()['access_token']}"}


def request_body(
    school_id: str, family_name: str = "Walker", nsn: str | None = None
) -> dict[str, Any]:
    """A school's request for support for a fake student (a random NSN unless given)."""
    return {
        "student": {
            "nsn": nsn or str(random.randint(100_000_000, 999_999_999)),
            "given_name": "Hemi",
            "family_name": family_name,
            "date_of_birth": date(date.today().year - 11, 5, 2).isoformat(),
            "year_level": 6,
            "address": {"line1": "7 Rata Street", "city": "Dunedin", "postcode": "9016"},
        },
        "school_id": school_id,
        "whanau": [
            {"name": f"Ana {family_name}", "relationship": "parent", "phone": "021 000 0101"}
        ],
        "reason_category": "chronic_absence",
        "reason_text": "Attended 52% of half-days this term.",
        "actions_taken": "Two whānau hui; a morning check-in with the dean.",
        "pastoral": {"iep": "Reading support"},
    }
