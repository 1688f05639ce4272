"""What the gateway benchmarks share (`referral_list_latency.py`, `case_read_latency.py`):
the bench settings, the infrastructure and service processes they start and stop, the
bench organisations and accounts made through identity, the wait for a service's
projection of them, and the timing of a call.

What a run starts it stops at the end, and only that: the missing parts of
`deploy/infra.sh` and the services as processes (`ServiceProcess`, standard ports, which
must be free: the demo stack is never touched), on their own databases
(`acms_<service>_bench`) and consumer groups (`acms-<service>-bench`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import jwt
from sqlalchemy import Table, func, select

from acms_contracts.vocabulary import OrgType
from acms_platform.database import Database
from acms_platform.settings import SERVICE_PORTS, Settings, load_settings
from acms_platform.testing.infra import port_open
from acms_platform.testing.plugin import (
    TEST_STUDENT_KEY_SECRET,
    create_database,
    kafka_admin_credentials,
)
from acms_platform.testing.processes import ServiceProcess

REPO = Path(__file__).resolve().parents[1]
INFRA = ("postgres", "kafka", "cerbos", "mail", "nginx")  # mail: invitations
GATEWAY_URL = "http://127.0.0.1:8080"

# ASPS divides SCHOOLS: school n lies in the catchment of ASP n % ASPS.
SCHOOLS, ASPS = 500, 50
SCHOOL_NAME, ASP_NAME = "Bench School {:03d}", "Bench Attendance Service {:02d}"
DOMAIN = "bench.example.org"
ADMIN_EMAIL = f"admin@{DOMAIN}"
PASSWORD = "bench-password-NOT-SECRET"


def bench_settings(service: str, cerbos_url: str, **overrides: Any) -> Settings:
    return load_settings(
        service,
        database_name=f"acms_{service}_bench",
        consumer_group=f"acms-{service}-bench",
        topic_namespace="bench.",  # never the demo stack's topics and groups
        cerbos_url=cerbos_url,
        student_key_secret=TEST_STUDENT_KEY_SECRET,
        **kafka_admin_credentials(),  # benchmarks connect as the admin, on their namespace
        **overrides,
    )


# --- infrastructure and processes ----------------------------------------------------------


def infra_running(component: str) -> bool:
    status = subprocess.run(
        [REPO / "deploy" / "infra.sh", "status", component], capture_output=True, check=False
    )
    return status.returncode == 0


# The gateway's per-IP limit (50 requests/s, burst 100) is what a browser meets; a
# sequential benchmark at 5-10 ms a call exceeds it. An nginx the run starts itself gets
# this rate (the limit_req module still runs on every call); one already running is used
# as it is.
BENCH_GATEWAY_RATE = "100000r/s"


def infra(action: str, components: list[str]) -> None:
    if components:
        env = os.environ | {"ACMS_GATEWAY_RATE": BENCH_GATEWAY_RATE}
        subprocess.run([REPO / "deploy" / "infra.sh", action, *components], check=True, env=env)


def refuse_if_busy() -> None:
    """The demo stack (deploy/services.sh) and anything else on the services' ports
    stay as they are: report and stop instead."""
    status = subprocess.run(
        [REPO / "deploy" / "services.sh", "status"], capture_output=True, text=True, check=False
    )
    running = [line for line in status.stdout.splitlines() if line.endswith(": running")]
    busy = [p for p in SERVICE_PORTS.values() if port_open("127.0.0.1", p)]
    if running or busy:
        raise SystemExit(
            f"not starting: demo services {running or 'none'} and ports {busy or 'none'} "
            "are in use; this benchmark needs ports 8101-8106 free and leaves the demo alone"
        )
    if port_open("127.0.0.1", 8080) and not infra_running("nginx"):
        raise SystemExit("not starting: port 8080 is taken by something other than deploy/nginx")


@contextlib.contextmanager
def running_stack(
    cerbos_url: str, services: tuple[str, ...]
) -> Iterator[dict[str, ServiceProcess]]:
    refuse_if_busy()
    started = [c for c in INFRA if not infra_running(c)]
    print(
        f"infrastructure: starting {started or 'nothing'}; already running: "
        f"{[c for c in INFRA if c not in started] or 'nothing'}",
        flush=True,
    )
    if "nginx" not in started:
        print("nginx: already running, with its own rate limit (429s end the run)", flush=True)
    processes: dict[str, ServiceProcess] = {}
    try:
        infra("up", started)
        for name in services:
            settings = bench_settings(name, cerbos_url)  # INFO logs, as deploy/services.sh
            asyncio.run(create_database(settings))
            processes[name] = ServiceProcess(f"acms_{name}.app:create", settings)
            processes[name].launch()
        for name, process in processes.items():
            process.wait_ready(timeout=180)
            print(f"{name}: ready on {process.url} (log {process.log_path})", flush=True)
        yield processes
    finally:
        for name, process in processes.items():
            process.stop()
            print(f"{name}: stopped", flush=True)
        # Only what this run started, in reverse order.
        infra("down", started)


# --- identity: organisations, accounts, tokens ----------------------------------------------


async def sign_in(client: httpx.AsyncClient, email: str) -> tuple[dict[str, str], UUID]:
    """Through the gateway, as a browser would: bearer headers and the account id."""
    response = await client.post(
        f"{GATEWAY_URL}/api/identity/sign-in", json={"email": email, "password": PASSWORD}
    )
    response.raise_for_status()
    token = response.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    return {"authorization": f"Bearer {token}"}, UUID(claims["sub"])


async def registered(identity_db: Database) -> dict[str, UUID]:
    from acms_identity.tables import organisations

    async with identity_db.transaction() as session:
        statement = select(organisations.c.name, organisations.c.id).where(
            organisations.c.name.like("Bench %")
        )
        return {name: oid for name, oid in (await session.execute(statement)).all()}


async def register_organisations(
    identity_db: Database, identity_url: str, client: httpx.AsyncClient
) -> tuple[list[UUID], list[UUID]]:
    """The bench's ASPs and schools through identity's API (as the platform admin),
    with catchments; those already registered are kept. Straight to the identity
    process, not the gateway, whose per-IP rate limit (50/s) is not what is measured."""
    from acms_identity.bootstrap import bootstrap_platform_admin
    from acms_identity.local_mail import activate_invited
    from acms_identity.tables import accounts as accounts_table
    from acms_identity.tables import catchments

    async with identity_db.transaction() as session:
        known = await session.execute(
            select(accounts_table.c.password_hash).where(accounts_table.c.email == ADMIN_EMAIL)
        )
        activated = known.scalar() is not None
    settings = load_settings("identity", student_key_secret=TEST_STUDENT_KEY_SECRET)
    await bootstrap_platform_admin(identity_db, settings, ADMIN_EMAIL, "Bench admin")
    if not activated:
        await activate_invited(identity_db, [ADMIN_EMAIL], PASSWORD)
    headers, _ = await sign_in(client, ADMIN_EMAIL)
    have = await registered(identity_db)
    wanted = [(OrgType.ASP, ASP_NAME.format(n)) for n in range(ASPS)]
    wanted += [(OrgType.SCHOOL, SCHOOL_NAME.format(n)) for n in range(SCHOOLS)]
    missing = [(t, name) for t, name in wanted if name not in have]
    limit = asyncio.Semaphore(4)

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with limit:
            response = await client.post(f"{identity_url}{path}", json=body, headers=headers)
            response.raise_for_status()
            return response.json()

    if missing:
        print(f"identity: registering {len(missing)} organisations", flush=True)
        for org_type in (OrgType.ASP, OrgType.SCHOOL):  # ASPs first: catchments name them
            batch = [name for t, name in missing if t is org_type]
            made = await asyncio.gather(
                *(post("/organisations", {"org_type": org_type, "name": n}) for n in batch)
            )
            have |= {body["name"]: UUID(body["id"]) for body in made}
    asps = [have[ASP_NAME.format(n)] for n in range(ASPS)]
    schools = [have[SCHOOL_NAME.format(n)] for n in range(SCHOOLS)]
    async with identity_db.transaction() as session:
        statement = select(catchments.c.school_id).where(catchments.c.school_id.in_(schools))
        assigned = set((await session.execute(statement)).scalars())
    unassigned = [n for n, school in enumerate(schools) if school not in assigned]
    if unassigned:
        print(f"identity: assigning {len(unassigned)} catchments", flush=True)
        since = date(2024, 1, 1).isoformat()
        await asyncio.gather(
            *(
                post(
                    f"/organisations/{schools[n]}/catchments",
                    {"asp_id": str(asps[n % ASPS]), "effective_from": since},
                )
                for n in unassigned
            )
        )
    return schools, asps


async def ensure_account(identity_db: Database, email: str, role: str, organisation: UUID) -> None:
    """No API creates a school's first leader: identity's own use cases, as the e2e
    fixture (tests/conftest.py) and the demo do. Kept if the email exists."""
    from acms_identity.bootstrap import system_context
    from acms_identity.schemas import CreateAccount
    from acms_identity.service import accounts
    from acms_identity.tables import accounts as accounts_table

    async with identity_db.transaction() as session:
        found = await session.execute(
            select(accounts_table.c.id).where(accounts_table.c.email == email)
        )
        if found.first() is not None:
            return
        command = CreateAccount(
            organisation_id=organisation,
            display_name=email.split("@")[0],
            email=email,
            roles=[role],
        )
        ctx = system_context(
            identity_db,
            session,
            load_settings("identity", student_key_secret=TEST_STUDENT_KEY_SECRET),
        )
        await accounts.create_account(ctx, None, command)
    from acms_identity.local_mail import activate_invited

    await activate_invited(identity_db, [email], PASSWORD)  # as the invitee would
    print(f"identity: account {email} ({role}) invited and activated", flush=True)


async def wait_for_projection(
    service: str,
    database: Database,
    tables: tuple[Table, Table],
    organisations: list[UUID],
    accounts: list[UUID],
) -> None:
    """Until `service` has consumed identity's events for the bench's organisations and
    accounts (`tables`: its organisations and staff projections) and its inbox has
    stopped growing (a fresh consumer group reads identity's topics from the start: not
    measured while catching up). Committed offsets are no guide: the consumer commits
    them at most once a second, not after its last batch."""
    from acms_platform.platform_tables import inbox

    projection, staff = tables

    deadline, last = time.monotonic() + 900, -1
    while True:
        async with database.transaction() as session:
            orgs = await session.scalar(
                select(func.count())
                .select_from(projection)
                .where(projection.c.id.in_(organisations))
            )
            people = await session.scalar(
                select(func.count()).select_from(staff).where(staff.c.account_id.in_(accounts))
            )
            handled = await session.scalar(select(func.count()).select_from(inbox))
        if orgs == len(organisations) and people == len(accounts) and handled == last:
            print(f"{service}: organisations and accounts projected ({handled:,} events handled)")
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"{service} did not catch up with identity's events in 15 minutes")
        print(
            f"{service}: waiting for the projection ({orgs}/{len(organisations)} organisations,"
            f" {people}/{len(accounts)} accounts, {handled:,} events handled)",
            flush=True,
        )
        last = handled
        await asyncio.sleep(3)


# --- timing ---------------------------------------------------------------------------------


def p50_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


async def timed(
    label: str, samples: int, call: Callable[[], Awaitable[Any]]
) -> tuple[float, float]:
    for _ in range(10):
        await call()
    seconds = []
    for _ in range(samples):
        started = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - started)
    p50, p95 = p50_p95(seconds)
    print(f"  {label:<44} p50 {p50 * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms", flush=True)
    return p50, p95
