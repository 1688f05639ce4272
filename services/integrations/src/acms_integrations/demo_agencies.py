"""Demo set-up of the agencies (deploy/up, after identity's demo data): links the demo's
agency organisations to the agreements' agencies, and gives the agency simulator one
client-credential identity per agency, so the demo shows a request going out and an answer
coming back.

    python -m acms_integrations.demo_agencies --gateway http://127.0.0.1:8080 \
        --credentials .run/agency-simulator.json

Idempotent: links are upserted; clients are created only when the credentials file does
not exist yet (identity shows a secret once). Demo data only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from acms_integrations.agency_tables import agency_links
from acms_integrations.agreements import Agency
from acms_integrations.tables import organisations
from acms_platform.database import Database
from acms_platform.settings import load_settings

# The names identity's demo gives the agencies (acms_identity.demo.AGENCIES).
DEMO_NAMES = {
    Agency.IMMIGRATION: "Immigration",
    Agency.MSD: "MSD",
    Agency.ORANGA_TAMARIKI: "Oranga Tamariki",
    Agency.POLICE: "Police",
}
ADMIN_EMAIL = "admin@demo.example.org"
DEMO_PASSWORD = "demo-password-NOT-SECRET"  # the demo's published fake password
SYSTEM = uuid.UUID(int=0)  # linked by the demo loader, not by a person


async def _agency_organisations(wait_seconds: float = 60) -> dict[Agency, uuid.UUID]:
    """The demo agencies in integrations' projection (they arrive from identity by Kafka)."""
    database = Database(load_settings("integrations"))
    table = organisations.table
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            async with database.transaction() as session:
                rows = await session.execute(
                    select(table.c.id, table.c.name).where(table.c.org_type == "agency")
                )
                by_name = {row.name: row.id for row in rows}
                found = {a: by_name[n] for a, n in DEMO_NAMES.items() if n in by_name}
                if len(found) == len(DEMO_NAMES):
                    for agency, org_id in found.items():
                        values = {"organisation_id": org_id, "linked_by": SYSTEM}
                        statement = insert(agency_links).values(agency=agency.value, **values)
                        await session.execute(
                            statement.on_conflict_do_update(
                                index_elements=[agency_links.c.agency], set_=values
                            )
                        )
                    return found
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"demo agencies not in integrations after {wait_seconds}s: {by_name}"
                )
            await asyncio.sleep(1)
    finally:
        await database.dispose()


def _create_clients(gateway: str, orgs: dict[Agency, uuid.UUID]) -> dict[str, dict[str, str]]:
    with httpx.Client(base_url=f"{gateway}/api/identity", timeout=30) as client:
        signed_in = client.post("/sign-in", json={"email": ADMIN_EMAIL, "password": DEMO_PASSWORD})
        signed_in.raise_for_status()
        headers = {"authorization": f"Bearer {signed_in.json()['access_token']}"}
        credentials = {}
        for agency, org_id in orgs.items():
            created = client.post(
                "/clients",
                json={
                    "organisation_id": str(org_id),
                    "display_name": f"{DEMO_NAMES[agency]} (agency simulator)",
                    "roles": ["agency_client"],
                },
                headers=headers,
            )
            created.raise_for_status()
            body = created.json()
            credentials[agency.value] = {
                "client_id": body["client_id"],
                "client_secret": body["client_secret"],
            }
        return credentials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:8080")
    parser.add_argument("--credentials", type=Path, required=True)
    args = parser.parse_args()
    orgs = asyncio.run(_agency_organisations())
    print(f"agencies linked: {', '.join(f'{a.value}={o}' for a, o in orgs.items())}")
    if args.credentials.exists():
        print(f"simulator credentials kept: {args.credentials}")
        return
    credentials = _create_clients(args.gateway, orgs)
    descriptor = os.open(args.credentials, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(credentials, file, indent=2)
    print(f"simulator credentials written: {args.credentials}")


if __name__ == "__main__":
    main()
