"""List latency with 1,000,000 requests in the database, through the real stack: a
school's requests (school leader) and a provider's queue (ASP workflow lead), timed
through the nginx gateway with tokens signed by identity, beside the same SQL without
authorisation, the authorised SQL alone, the service process without the gateway and
the API in-process.

    uv run python benchmarks/referral_list_latency.py --rows 1000000 --samples 100 --runs 5

What it starts it stops at the end, and only that: the missing parts of
`deploy/infra.sh` (postgres, kafka, cerbos, mail, nginx; a running one is used as it is) and
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
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import func, select, text, true

from acms_contracts.vocabulary import Role
from acms_platform.database import Database
from acms_platform.policy import PolicyClient
from acms_platform.settings import SERVICE_PORTS
from acms_platform.testing.processes import ServiceProcess
from acms_platform.tokens import Principal
from gateway_stack import (
    DOMAIN,
    GATEWAY_URL,
    REPO,
    bench_settings,
    ensure_account,
    register_organisations,
    running_stack,
    sign_in,
    timed,
    wait_for_projection,
)

SERVICES = ("identity", "referrals")


@dataclass(frozen=True)
class Case:
    label: str
    role: Role
    email: str
    kind: str  # "school" or "asp": whose index `index` is
    index: int
    params: dict[str, str]
    view: bool = False  # one request's full view (the school's newest) instead of a list


CASES = (
    Case("school's requests (school leader)", Role.SCHOOL_LEADER,
         f"leader.school007@{DOMAIN}", "school", 7, {}),
    Case("one request's full view (school leader)", Role.SCHOOL_LEADER,
         f"leader.school007@{DOMAIN}", "school", 7, {}, view=True),
    Case("ASP queue, allocated (ASP workflow lead)", Role.ASP_WORKFLOW_LEAD,
         f"lead.asp08@{DOMAIN}", "asp", 8, {"status": "allocated"}),
)  # fmt: skip
# The floor app (floor_app.py) listens on cases' port, which the run holds free, so that
# nginx's /api/cases/ location, configured as every service's, routes to it.
FLOOR_PORT = SERVICE_PORTS["cases"]

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


# --- timing --------------------------------------------------------------------------------


PATHS = {
    "sql": "SQL without authorisation",
    "plan_sql": "SQL with the policy's plan (no PDP call)",
    "floor_direct": f"floor app, HTTP straight to :{FLOOR_PORT}",
    "floor": "floor app through nginx :8080 (the floor)",
    "in_process": "API in-process (ASGI, no HTTP)",
    "direct": "API process, HTTP straight to :8102",
    "gateway": "API through nginx :8080",
}
FLOOR_PATHS = ("floor_direct", "floor")


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
    scope = referrals.c.school_id if case.kind == "school" else referrals.c.provider_id
    if case.view:
        return await view_calls(organisation, headers, database, apis)
    # The principal as the service's current_actor builds it (projection attributes).
    principal = Principal(str(account), organisation, (case.role,))
    actor = Actor(principal, account, organisation, org.org_type, region=org.region)
    plan = await pdp.plan(actor.policy_principal, "referral", "view")
    readable = readable_condition(plan)
    filters = ListFilters(status=case.params.get("status"), limit=50)
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

    await same_answers(apis, "/referrals", query, headers)
    return {"sql": sql(bare), "plan_sql": sql(authorised)} | {
        path: api(api_client) for path, api_client in apis.items()
    }


async def same_answers(
    apis: dict[str, httpx.AsyncClient], path: str, query: dict[str, str], headers: dict[str, str]
) -> None:
    """The floor must answer what the service answers (same rows, same fields), or its
    ratio compares different work."""
    answers = {}
    for name in ("gateway", "floor"):
        response = await apis[name].get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        answers[name] = response.json()
    if answers["gateway"] != answers["floor"]:
        raise SystemExit(f"the floor app answers {path} differently from the service")


async def view_calls(
    organisation: UUID,
    headers: dict[str, str],
    database: Database,
    apis: dict[str, httpx.AsyncClient],
) -> dict[str, Call]:
    """The full view of the school's newest request: its row, then its history (what the
    service reads for a school leader; the seeded rows name no staff, so no names read)."""
    from acms_referrals import repository
    from acms_referrals.tables import referrals

    async with database.transaction() as session:
        newest = select(referrals.c.id).where(referrals.c.school_id == organisation)
        referral_id = await session.scalar(newest.order_by(referrals.c.created_at.desc()).limit(1))
    assert referral_id is not None

    async def sql() -> None:
        async with database.transaction() as session:
            assert await repository.get(session, referral_id) is not None
            await repository.history(session, referral_id)

    def api(api_client: httpx.AsyncClient) -> Call:
        async def call() -> None:
            response = await api_client.get(f"/referrals/{referral_id}", headers=headers)
            assert response.status_code == 200, response.text
            assert response.json()["id"] == str(referral_id)

        return call

    await same_answers(apis, f"/referrals/{referral_id}", {}, headers)
    return {"sql": sql} | {path: api(api_client) for path, api_client in apis.items()}


async def measure(args: argparse.Namespace) -> dict[tuple[str, str], list[tuple[float, float]]]:
    from acms_referrals import tables as referrals_tables
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
            await ensure_account(identity_db, case.email, case.role, org_of[case.kind][case.index])
        emails = dict.fromkeys(case.email for case in CASES)  # the leader reads twice
        account_ids = [(await sign_in(client, email))[1] for email in emails]
        await seed(referrals_db, args.rows, schools, asps)

        apis: dict[str, httpx.AsyncClient] = {
            "floor_direct": httpx.AsyncClient(base_url=f"http://127.0.0.1:{FLOOR_PORT}"),
            "floor": httpx.AsyncClient(base_url=f"{GATEWAY_URL}/api/cases"),
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
        projection = (referrals_tables.organisations.table, referrals_tables.staff)
        await wait_for_projection(
            "referrals", referrals_db, projection, schools + asps, account_ids
        )

        api_paths = [path for path in PATHS if path in apis]
        if args.in_process and args.profile:
            await profile(app, client, args.profile)
        for run in range(1, args.runs + 1):
            # The API paths take turns going first: a drift during a run (the relay's
            # backlog of audit rows, a neighbour's job) does not always fall on the same one.
            shift = (run - 1) % len(api_paths)
            order = ["sql", "plan_sql", *api_paths[shift:], *api_paths[:shift]]
            print(f"\nrun {run}/{args.runs}: uptime {load_average()}", flush=True)
            for case in CASES:
                calls = await case_calls(
                    case, org_of[case.kind][case.index], client, pdp, referrals_db, apis
                )
                print(f"\nrun {run}/{args.runs}: {case.label}, {args.rows:,} requests", flush=True)
                for path in order:
                    if path not in calls:
                        continue
                    timing = await timed(PATHS[path], args.samples, calls[path])
                    results.setdefault((case.label, path), []).append(timing)
    return results


# --- where the time goes (--profile) ---------------------------------------------------------

# (label, owner, attribute): what one call spends in each, timed by wrapping the function
# in this process's in-process replica (outermost calls only: a check inside a plan is not
# counted twice). The rest of a call is the framework: routing, dependencies, the
# transaction's begin and commit, middlewares, the ASGI exchange.
STEPS = (
    ("token verification", "acms_platform.tokens:TokenVerifier", "verify"),
    ("actor projection read", "acms_platform.projections:Projections", "account"),
    ("PDP plan (PlanResources)", "acms_platform.policy:PolicyClient", "plan"),
    ("PDP check (CheckResources)", "acms_platform.policy:PolicyClient", "check"),
    ("SQL: the page", "acms_referrals.repository:", "readable"),
    ("SQL: the request", "acms_referrals.repository:", "get"),
    ("SQL: its history", "acms_referrals.repository:", "history"),
    ("SQL: staff names", "acms_platform.projections.staff:StaffProjection", "names_of"),
    ("audit (one outbox row)", "acms_platform.access.request:RequestAccess", "record_in_request"),
    ("serialisation (pydantic dump_json)", "fastapi.routing:", "serialize_response"),
)


@contextlib.contextmanager
def step_timers(spent: dict[str, float], posts: list[str]) -> Any:
    import importlib

    from acms_platform.policy import PolicyClient

    depth = [0]
    undo = []

    def wrap(label: str, function: Any) -> Any:
        async def timed_step(*args: Any, **kwargs: Any) -> Any:
            depth[0] += 1
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    spent[label] = spent.get(label, 0.0) + time.perf_counter() - started

        return timed_step

    for label, where, name in STEPS:
        module_name, _, owner_name = where.partition(":")
        owner = importlib.import_module(module_name)
        owner = getattr(owner, owner_name) if owner_name else owner
        original = getattr(owner, name)
        setattr(owner, name, wrap(label, original))
        undo.append((owner, name, original))
    post = PolicyClient._post

    async def counted(self: PolicyClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
        posts.append(path)
        return await post(self, path, body)

    PolicyClient._post = counted  # type: ignore[method-assign]
    undo.append((PolicyClient, "_post", post))
    try:
        yield
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)


async def profile(app: Any, client: httpx.AsyncClient, calls: int) -> None:
    """Where one call's time goes in referrals (the in-process replica, so the wrapped
    functions are the ones it runs), the PDP round trips per call, and a pyinstrument
    tree when it is importable (`uv run --with pyinstrument`)."""
    headers, _ = await sign_in(client, CASES[0].email)
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://referrals")
    listed = await api.get("/referrals", params={"limit": "50"}, headers=headers)
    targets = {
        "list of 50 (school leader)": ("/referrals", {"limit": "50"}),
        "full view (school leader)": (f"/referrals/{listed.json()[0]['id']}", {}),
    }
    for label, (path, query) in targets.items():
        for _ in range(20):  # warm-up
            assert (await api.get(path, params=query, headers=headers)).status_code == 200
        spent: dict[str, float] = {}
        posts: list[str] = []
        started = time.perf_counter()
        with step_timers(spent, posts):
            for _ in range(calls):
                assert (await api.get(path, params=query, headers=headers)).status_code == 200
        total = (time.perf_counter() - started) / calls * 1000
        print(f"\nprofile, {label}, {calls} calls in-process: {total:.2f} ms a call (mean)")
        for step, seconds in spent.items():
            print(f"  {step:<36} {seconds / calls * 1000:6.2f} ms")
        rest = total - sum(spent.values()) / calls * 1000
        print(f"  {'framework, transaction, the rest':<36} {rest:6.2f} ms")
        kinds = {p: posts.count(p) / calls for p in dict.fromkeys(posts)}
        print(f"  PDP round trips per call: {len(posts) / calls:g} {kinds}")
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("pyinstrument not importable: `uv run --with pyinstrument` for its tree")
        await api.aclose()
        return
    for label, (path, query) in targets.items():
        profiler = Profiler(interval=0.0002, async_mode="enabled")
        with profiler:
            for _ in range(calls):
                await api.get(path, params=query, headers=headers)
        out = REPO / ".run" / "logs" / f"profile-referrals-{path.count('/')}.txt"
        out.write_text(profiler.output_text(unicode=False, color=False))
        print(f"pyinstrument tree of {calls} calls, {label}: {out}")
    await api.aclose()


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def report(
    results: dict[tuple[str, str], list[tuple[float, float]]], args: argparse.Namespace
) -> None:
    print(
        f"\nmedians over {args.runs} runs of {args.samples} calls each (after 10 warm-up calls),"
        f" {args.rows:,} requests in the database; uptime {load_average()}\n"
    )
    print("| read | path | p50 ms | p95 ms | p50 / bare SQL | p50 / floor |")
    print("|---|---|---|---|---|---|")
    for case in CASES:
        base = statistics.median(p50 for p50, _ in results[(case.label, "sql")])
        floor = statistics.median(p50 for p50, _ in results[(case.label, "floor")])
        for path, label in PATHS.items():
            runs = results.get((case.label, path))
            if not runs:
                continue
            p50 = statistics.median(p for p, _ in runs)
            p95 = statistics.median(p for _, p in runs)
            print(
                f"| {case.label} | {label} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | "
                f"{p50 / base:.1f} | {p50 / floor:.2f} |"
            )
    print("\nAPI through nginx / floor app through nginx, p50, within each run:")
    for case in CASES:
        ratios = [
            api[0] / floor[0]
            for api, floor in zip(
                results[(case.label, "gateway")], results[(case.label, "floor")], strict=True
            )
        ]
        listed = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"  {case.label}: median {statistics.median(ratios):.2f} (runs {listed})")


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
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="CALLS",
        help="before timing, break CALLS in-process calls down by step (needs the replica)",
    )
    args = parser.parse_args()
    # A plain `kill` stops what this run started, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with running_stack(args.cerbos_url, SERVICES):
        # The floor app, as its own uvicorn process with referrals' bench settings.
        floor_settings = bench_settings("referrals", args.cerbos_url, port=FLOOR_PORT)
        floor = ServiceProcess("floor_app:create", floor_settings, app_dir=REPO / "benchmarks")
        floor.start(ready_timeout=180)
        print(f"floor app: ready on {floor.url} (log {floor.log_path})", flush=True)
        try:
            results = asyncio.run(measure(args))
        finally:
            floor.stop()
    report(results, args)


if __name__ == "__main__":
    sys.exit(main())
