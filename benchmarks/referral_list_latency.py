"""List latency with many requests in the database: a school's requests (school leader)
and a provider's queue (ASP workflow lead), through the service's HTTP API in-process
(token check, PDP plan + tier check, SQL, audit rows), beside the same SQL without
authorisation, and the authorised SQL alone.

    deploy/infra.sh up postgres kafka cerbos && deploy/cerbos.sh restart
    uv run python benchmarks/referral_list_latency.py --rows 1000000 --samples 200

Seeds `acms_referrals_bench` once (500 schools, 50 ASPs, statuses evenly spread) and
reuses it on later runs. Not through nginx: add the gateway's hop separately.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from sqlalchemy import func, select, text, true

from acms_platform.migrations import upgrade_to_head
from acms_platform.policy import PolicyClient, plan_filter
from acms_platform.settings import load_settings
from acms_platform.testing.plugin import create_database
from acms_platform.tokens import JwksCache, Principal, TokenVerifier
from acms_referrals.app import SERVICE_ROOT, create
from acms_referrals.repository import REFERRAL_POLICY_COLUMNS, ListFilters, readable_statement
from acms_referrals.service.context import Actor
from acms_referrals.tables import referrals

# ASPS divides SCHOOLS: school n lies in the catchment of ASP n % ASPS.
SCHOOLS, ASPS = 500, 50


def org(prefix: str, n: int) -> uuid.UUID:
    return uuid.UUID(f"{prefix}0000000-0000-0000-0000-{n:012x}")


SEED = """
INSERT INTO referrals (id, status, version, student_key, nsn, student_name, school_id,
    created_by, creator_org_id, primary_contact_id, reason_category, provider_id,
    provider_type, assignee_id, details, created_at, updated_at)
SELECT gen_random_uuid(),
       (ARRAY['draft','submitted','declined','accepted','allocated','assigned'])[1 + i % 6],
       1, md5(i::text), lpad(i::text, 9, '0'), 'Student ' || i,
       ('a0000000-0000-0000-0000-' || lpad(to_hex(i % CAST(:schools AS int)), 12, '0'))::uuid,
       'teacher-' || (i % CAST(:schools AS int)),
       ('a0000000-0000-0000-0000-' || lpad(to_hex(i % CAST(:schools AS int)), 12, '0'))::uuid,
       NULL, 'chronic_absence',
       CASE WHEN i % 6 >= 4 THEN
         ('b0000000-0000-0000-0000-' || lpad(to_hex(i % CAST(:asps AS int)), 12, '0'))::uuid
       END,
       CASE WHEN i % 6 >= 4 THEN 'asp' END,
       NULL, '{"student": {"year_level": 7}}'::jsonb,
       now() - make_interval(secs => i), now()
FROM generate_series(CAST(:start AS int), CAST(:stop AS int)) AS i
"""


async def seed(database, rows: int) -> None:
    async with database.transaction() as session:
        have = (await session.execute(select(func.count()).select_from(referrals))).scalar_one()
    for start in range(have + 1, rows + 1, 100_000):
        stop = min(start + 99_999, rows)
        async with database.transaction() as session:
            params = {"schools": SCHOOLS, "asps": ASPS, "start": start, "stop": stop}
            await session.execute(text(SEED), params)
        print(f"seeded {stop:,} rows")
    async with database.transaction() as session:
        await session.execute(text("ANALYZE referrals"))


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"p50 {p50 * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"


async def timed(label: str, samples: int, call: Callable[[], Awaitable[Any]]) -> float:
    for _ in range(10):
        await call()
    seconds = []
    for _ in range(samples):
        started = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - started)
    print(f"{label:<58} {percentiles(seconds)}")
    return statistics.median(seconds)


async def main(rows: int, samples: int, cerbos_url: str) -> None:
    settings = load_settings(
        "referrals", database_name="acms_referrals_bench", cerbos_url=cerbos_url, port=8199
    )
    await create_database(settings)
    await asyncio.to_thread(upgrade_to_head, SERVICE_ROOT, settings.database_url)
    app = create(settings)
    key = Ed25519PrivateKey.generate()
    jwk = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": "bench"}

    async def jwks() -> dict:
        return {"keys": [jwk]}

    app.state.token_verifier = TokenVerifier(JwksCache(jwks))
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        await runtime.wait_started()
        await seed(runtime.database, rows)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://referrals") as client:
            cases = [
                ("school's requests (school leader)", "school_leader", org("a", 7), {}),
                ("ASP queue, allocated (ASP lead)", "asp_workflow_lead", org("b", 8),
                 {"status": "allocated"}),
            ]  # fmt: skip
            pdp = PolicyClient(cerbos_url)
            for label, role, organisation, params in cases:
                now = int(time.time())
                account = uuid.uuid4()
                claims = {"sub": str(account), "org": str(organisation), "roles": [role]}
                claims |= {"iss": "acms-identity", "aud": "acms", "iat": now, "exp": now + 3600}
                token = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": "bench"})
                headers = {"authorization": f"Bearer {token}"}
                query = {"limit": 50, **params}

                async def api(headers=headers, query=query) -> None:
                    response = await client.get("/referrals", params=query, headers=headers)
                    assert response.status_code == 200 and len(response.json()) == 50

                scope = (
                    referrals.c.school_id if role == "school_leader" else referrals.c.provider_id
                )
                filters = ListFilters(status=params.get("status"), limit=50)
                raw = readable_statement(true(), filters).where(scope == organisation).limit(50)
                actor = Actor(Principal(str(account), organisation, (role,)), account, organisation)
                plan = await pdp.plan(actor.policy_principal, "referral", "view")
                readable = plan_filter(plan, referrals, REFERRAL_POLICY_COLUMNS)
                authorised = readable_statement(readable, filters).limit(50)

                async def sql(statement=raw) -> None:
                    async with runtime.database.transaction() as session:
                        assert len((await session.execute(statement)).all()) == 50

                print(f"\n{label}, {rows:,} requests in the database")
                base = await timed("  SQL without authorisation", samples, sql)
                await timed("  SQL with the policy's plan (no PDP call)", samples,
                            lambda s=authorised: sql(s))  # fmt: skip
                full = await timed("  API: token, plan, SQL, tier check, audit", samples, api)
                print(f"  ratio API / unauthorised SQL (p50): {full / base:.1f}")
            await pdp.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--cerbos-url", default="http://127.0.0.1:3592")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rows, arguments.samples, arguments.cerbos_url))
