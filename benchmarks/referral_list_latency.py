"""List latency with 1,000,000 requests in the database, through the real stack: a
school's requests (school leader) and a provider's queue (ASP workflow lead), timed
through the nginx gateway with tokens signed by identity, beside the same SQL without
authorisation, the authorised SQL alone, the service process without the gateway and
the API in-process.

    uv run python benchmarks/referral_list_latency.py --rows 1000000 --samples 100 --runs 5

What it starts it stops at the end, and only that: the missing parts of
`deploy/infra.sh` (postgres, kafka, cerbos, nginx; a running one is used as it is) and
identity and referrals as processes (`ServiceProcess`, standard ports 8101/8102, which
must be free: the demo stack is never touched). The services use their own databases
(`acms_identity_bench`, `acms_referrals_bench`) and consumer groups (`acms-*-bench`).

Set-up, reused on later runs: a platform admin (identity's bootstrap), 50 ASPs and 500
schools registered through identity's API (each school in the catchment of ASP
n % 50), so `OrganisationRegistered` reaches referrals' projection through Kafka; a
school leader at school 7 and a workflow lead at ASP 8, made by identity's use cases as
the e2e fixture does (no API creates a school's first leader); 1,000,000 requests seeded
in SQL for those organisations (statuses spread evenly), kept if they match them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import logging
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import jwt
from sqlalchemy import func, select, text, true

from acms_contracts.vocabulary import OrgType, Role
from acms_platform.database import Database
from acms_platform.policy import PolicyClient
from acms_platform.settings import SERVICE_PORTS, Settings, load_settings
from acms_platform.testing.infra import port_open
from acms_platform.testing.plugin import (
    TEST_STUDENT_KEY_SECRET,
    create_database,
    kafka_admin_credentials,
)
from acms_platform.testing.processes import ServiceProcess
from acms_platform.tokens import Principal

REPO = Path(__file__).resolve().parents[1]
INFRA = ("postgres", "kafka", "cerbos", "nginx")
GATEWAY_URL = "http://127.0.0.1:8080"
SERVICES = ("identity", "referrals")

# ASPS divides SCHOOLS: school n lies in the catchment of ASP n % ASPS.
SCHOOLS, ASPS = 500, 50
SCHOOL_NAME, ASP_NAME = "Bench School {:03d}", "Bench Attendance Service {:02d}"
DOMAIN = "bench.example.org"
ADMIN_EMAIL = f"admin@{DOMAIN}"
PASSWORD = "bench-password-NOT-SECRET"


@dataclass(frozen=True)
class Case:
    label: str
    role: Role
    email: str
    kind: str  # "school" or "asp": whose index `index` is
    index: int
    params: dict[str, str]


CASES = (
    Case("school's requests (school leader)", Role.SCHOOL_LEADER,
         f"leader.school007@{DOMAIN}", "school", 7, {}),
    Case("ASP queue, allocated (ASP workflow lead)", Role.ASP_WORKFLOW_LEAD,
         f"lead.asp08@{DOMAIN}", "asp", 8, {"status": "allocated"}),
)  # fmt: skip

# Row i: school i % SCHOOLS (creator's organisation too); from "allocated" on, provider
# i % ASPS. The organisations are the ones registered in identity, passed as arrays.
SEED = """
INSERT INTO referrals (id, status, version, student_key, nsn, student_name, school_id,
    created_by, creator_org_id, primary_contact_id, reason_category, provider_id,
    provider_type, assignee_id, details, created_at, updated_at)
SELECT gen_random_uuid(),
       (ARRAY['draft','submitted','declined','accepted','allocated','assigned'])[1 + i % 6],
       1, md5(i::text), lpad(i::text, 9, '0'), 'Student ' || i,
       (CAST(:schools AS uuid[]))[1 + i % CAST(:n_schools AS int)],
       'teacher-' || (i % CAST(:n_schools AS int)),
       (CAST(:schools AS uuid[]))[1 + i % CAST(:n_schools AS int)],
       NULL, 'chronic_absence',
       CASE WHEN i % 6 >= 4 THEN (CAST(:asps AS uuid[]))[1 + i % CAST(:n_asps AS int)] END,
       CASE WHEN i % 6 >= 4 THEN 'asp' END,
       NULL, '{"student": {"year_level": 7}}'::jsonb,
       now() - make_interval(secs => i), now()
FROM generate_series(CAST(:start AS int), CAST(:stop AS int)) AS i
"""


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


def infra(action: str, components: list[str]) -> None:
    if components:
        subprocess.run([REPO / "deploy" / "infra.sh", action, *components], check=True)


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
def running_stack(cerbos_url: str) -> Iterator[dict[str, ServiceProcess]]:
    refuse_if_busy()
    started = [c for c in INFRA if not infra_running(c)]
    print(
        f"infrastructure: starting {started or 'nothing'}; already running: "
        f"{[c for c in INFRA if c not in started] or 'nothing'}",
        flush=True,
    )
    processes: dict[str, ServiceProcess] = {}
    try:
        infra("up", started)
        for name in SERVICES:
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
    settings = load_settings("identity")
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


async def ensure_account(identity_db: Database, case: Case, organisation: UUID) -> None:
    """No API creates a school's first leader: identity's own use cases, as the e2e
    fixture (tests/conftest.py) and the demo do. Kept if the email exists."""
    from acms_identity.bootstrap import system_context
    from acms_identity.schemas import CreateAccount
    from acms_identity.service import accounts
    from acms_identity.tables import accounts as accounts_table

    async with identity_db.transaction() as session:
        found = await session.execute(
            select(accounts_table.c.id).where(accounts_table.c.email == case.email)
        )
        if found.first() is not None:
            return
        command = CreateAccount(
            organisation_id=organisation,
            display_name=case.email.split("@")[0],
            email=case.email,
            roles=[case.role],
        )
        ctx = system_context(identity_db, session, load_settings("identity"))
        await accounts.create_account(ctx, None, command)
    from acms_identity.local_mail import activate_invited

    await activate_invited(identity_db, [case.email], PASSWORD)  # as the invitee would
    print(f"identity: account {case.email} ({case.role}) invited and activated", flush=True)


# --- referrals: seed, projection -------------------------------------------------------------


async def seed(database: Database, rows: int, schools: list[UUID], asps: list[UUID]) -> None:
    """Seed up to `rows` requests; keep those already there if they name these
    organisations (rows 1 and 4: school 1, ASP 4), otherwise start again."""
    from acms_referrals.tables import referrals

    def row(i: int) -> Any:  # seeded row i, found by its student key
        key = hashlib.md5(str(i).encode()).hexdigest()  # md5(i), as the seed
        return select(referrals.c.school_id, referrals.c.provider_id).where(
            referrals.c.student_key == key
        )

    async with database.transaction() as session:
        have = (await session.execute(select(func.count()).select_from(referrals))).scalar_one()
        first, fourth = (
            (await session.execute(row(1))).first(),
            (await session.execute(row(4))).first(),
        )
        if have and (
            first is None
            or first.school_id != schools[1]
            or fourth is None
            or fourth.provider_id != asps[4]
        ):
            print(f"referrals: {have:,} seeded rows name other organisations; seeding again")
            await session.execute(text("TRUNCATE referrals, referral_transitions"))
            have = 0
    if have >= rows:
        print(f"referrals: reusing {have:,} seeded requests", flush=True)
        return
    started = time.perf_counter()
    params: dict[str, Any] = {"schools": schools, "asps": asps}
    params |= {"n_schools": len(schools), "n_asps": len(asps)}
    for start in range(have + 1, rows + 1, 100_000):
        stop = min(start + 99_999, rows)
        async with database.transaction() as session:
            await session.execute(text(SEED), params | {"start": start, "stop": stop})
        print(
            f"referrals: seeded {stop:,} of {rows:,} rows ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    async with database.transaction() as session:
        await session.execute(text("ANALYZE referrals"))
    print(f"referrals: analysed ({time.perf_counter() - started:.0f} s)", flush=True)


async def wait_for_projection(
    database: Database, organisations: list[UUID], accounts: list[UUID]
) -> None:
    """Until referrals has consumed identity's events for the bench's organisations and
    accounts and its inbox has stopped growing (a fresh consumer group reads identity's
    topics from the start: not measured while catching up). Committed offsets are no
    guide: the consumer commits them at most once a second, not after its last batch."""
    from acms_platform.platform_tables import inbox
    from acms_referrals.tables import organisations as projection
    from acms_referrals.tables import staff

    deadline, last = time.monotonic() + 900, -1
    while True:
        async with database.transaction() as session:
            orgs = await session.scalar(
                select(func.count())
                .select_from(projection.table)
                .where(projection.table.c.id.in_(organisations))
            )
            people = await session.scalar(
                select(func.count()).select_from(staff).where(staff.c.account_id.in_(accounts))
            )
            handled = await session.scalar(select(func.count()).select_from(inbox))
        if orgs == len(organisations) and people == len(accounts) and handled == last:
            print(f"referrals: organisations and accounts projected ({handled:,} events handled)")
            return
        if time.monotonic() > deadline:
            raise SystemExit("referrals did not catch up with identity's events in 15 minutes")
        print(
            f"referrals: waiting for the projection ({orgs}/{len(organisations)} organisations,"
            f" {people}/{len(accounts)} accounts, {handled:,} events handled)",
            flush=True,
        )
        last = handled
        await asyncio.sleep(3)


# --- timing --------------------------------------------------------------------------------


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


PATHS = {
    "sql": "SQL without authorisation",
    "plan_sql": "SQL with the policy's plan (no PDP call)",
    "in_process": "API in-process (ASGI, no HTTP)",
    "direct": "API process, HTTP straight to :8102",
    "gateway": "API through nginx :8080",
}


Call = Callable[[], Awaitable[None]]


async def case_calls(
    case: Case,
    organisation: UUID,
    client: httpx.AsyncClient,
    pdp: PolicyClient,
    database: Database,
    apis: dict[str, httpx.AsyncClient],
) -> dict[str, Call]:
    """One call of each path for this list: the statements as the service builds them,
    and the API with a fresh token (access tokens live 5 minutes)."""
    from acms_referrals.repository import (
        ListFilters,
        page_statement,
        readable_condition,
        readable_statement,
    )
    from acms_referrals.service.context import Actor
    from acms_referrals.tables import organisations as projection
    from acms_referrals.tables import referrals

    headers, account = await sign_in(client, case.email)
    async with database.transaction() as session:
        org = await projection.get(session, organisation)
    assert org is not None
    # The principal as the service's current_actor builds it (projection attributes).
    principal = Principal(str(account), organisation, (case.role,))
    actor = Actor(principal, account, organisation, org.org_type, region=org.region)
    plan = await pdp.plan(actor.policy_principal, "referral", "view")
    readable = readable_condition(plan)
    filters = ListFilters(status=case.params.get("status"), limit=50)
    scope = referrals.c.school_id if case.kind == "school" else referrals.c.provider_id
    bare = readable_statement(true(), filters).where(scope == organisation).limit(50)
    authorised = page_statement(readable, filters)  # what the service runs
    query = {"limit": "50", **case.params}

    def sql(statement: Any) -> Call:
        async def call() -> None:
            async with database.transaction() as session:
                assert len((await session.execute(statement)).all()) == 50

        return call

    def api(api_client: httpx.AsyncClient) -> Call:
        async def call() -> None:
            response = await api_client.get("/referrals", params=query, headers=headers)
            assert response.status_code == 200, response.text
            assert len(response.json()) == 50

        return call

    return {"sql": sql(bare), "plan_sql": sql(authorised)} | {
        path: api(api_client) for path, api_client in apis.items()
    }


async def measure(args: argparse.Namespace) -> dict[tuple[str, str], list[tuple[float, float]]]:
    from acms_referrals.app import create

    identity_settings = bench_settings("identity", args.cerbos_url)
    referrals_settings = bench_settings("referrals", args.cerbos_url)
    identity_db, referrals_db = Database(identity_settings), Database(referrals_settings)
    client = httpx.AsyncClient(timeout=30)
    pdp = PolicyClient(args.cerbos_url)
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(identity_db.dispose)
        stack.push_async_callback(referrals_db.dispose)
        stack.push_async_callback(client.aclose)
        stack.push_async_callback(pdp.close)
        identity_url = f"http://127.0.0.1:{identity_settings.http_port}"
        schools, asps = await register_organisations(identity_db, identity_url, client)
        org_of = {"school": schools, "asp": asps}
        for case in CASES:
            await ensure_account(identity_db, case, org_of[case.kind][case.index])
        account_ids = [(await sign_in(client, case.email))[1] for case in CASES]
        await seed(referrals_db, args.rows, schools, asps)

        apis: dict[str, httpx.AsyncClient] = {
            "direct": httpx.AsyncClient(base_url=f"http://127.0.0.1:{SERVICE_PORTS['referrals']}"),
            "gateway": httpx.AsyncClient(base_url=f"{GATEWAY_URL}/api/referrals"),
        }
        if args.in_process:
            # A second replica of referrals in this process (same database and consumer
            # group; warnings only, to keep this output readable), started before the wait
            # below so that the group's rebalance is over before anything is timed.
            app = create(referrals_settings.model_copy(update={"log_level": "WARNING"}))
            logging.getLogger("faststream").setLevel(logging.WARNING)
            await stack.enter_async_context(app.router.lifespan_context(app))
            await app.state.runtime.wait_started()
            transport = httpx.ASGITransport(app=app)
            apis["in_process"] = httpx.AsyncClient(transport=transport, base_url="http://referrals")
        for api_client in apis.values():
            stack.push_async_callback(api_client.aclose)
        await wait_for_projection(referrals_db, schools + asps, account_ids)

        api_paths = [path for path in PATHS if path in apis]
        for run in range(1, args.runs + 1):
            # The API paths take turns going first: a drift during a run (the relay's
            # backlog of audit rows, a neighbour's job) does not always fall on the same one.
            shift = (run - 1) % len(api_paths)
            order = ["sql", "plan_sql", *api_paths[shift:], *api_paths[:shift]]
            for case in CASES:
                calls = await case_calls(
                    case, org_of[case.kind][case.index], client, pdp, referrals_db, apis
                )
                print(f"\nrun {run}/{args.runs}: {case.label}, {args.rows:,} requests", flush=True)
                for path in order:
                    timing = await timed(PATHS[path], args.samples, calls[path])
                    results.setdefault((case.label, path), []).append(timing)
    return results


def report(
    results: dict[tuple[str, str], list[tuple[float, float]]], args: argparse.Namespace
) -> None:
    print(
        f"\nmedians over {args.runs} runs of {args.samples} calls each (after 10 warm-up calls),"
        f" {args.rows:,} requests in the database\n"
    )
    print("| list | path | p50 ms | p95 ms | p50 ratio to bare SQL |")
    print("|---|---|---|---|---|")
    for case in CASES:
        base = statistics.median(p50 for p50, _ in results[(case.label, "sql")])
        for path, label in PATHS.items():
            runs = results.get((case.label, path))
            if not runs:
                continue
            p50 = statistics.median(p for p, _ in runs)
            p95 = statistics.median(p for _, p in runs)
            print(
                f"| {case.label} | {label} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | "
                f"{p50 / base:.1f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=100, help="timed calls per path per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cerbos-url", default="http://127.0.0.1:3592")
    parser.add_argument(
        "--no-in-process",
        dest="in_process",
        action="store_false",
        help="skip the in-process API (a second referrals replica in this process)",
    )
    args = parser.parse_args()
    # A plain `kill` stops what this run started, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with running_stack(args.cerbos_url):
        results = asyncio.run(measure(args))
    report(results, args)


if __name__ == "__main__":
    sys.exit(main())
