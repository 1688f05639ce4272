"""Case reads with 700,000 cases and 20,000,000 content items in the database, through
the real stack: a case manager's caseload, one case's full view (the case and its notes)
and a school leader's case list, timed through the nginx gateway with tokens signed by
identity, beside the same SQL without authorisation (the floor), the authorised SQL
alone and the service process without the gateway.

    uv run python benchmarks/case_read_latency.py --cases 700000 --items 20000000 \\
        --samples 100 --runs 5

Set-up and stack as `referral_list_latency.py` (`gateway_stack`): identity and cases as
processes on 8101/8103 (must be free), databases `acms_identity_bench` and
`acms_cases_bench`, consumer groups `acms-*-bench`; only what the run started is stopped.
The bench's 50 ASPs and 500 schools are registered through identity's API, a case
manager at ASP 8 and a school leader at school 7 made by identity's use cases; cases and
content items are seeded in SQL (see `seed_cases` and `seed_items`), kept on later runs
if their counts and organisations match.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import signal
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import func, select, text, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from acms_contracts.vocabulary import Role
from acms_platform.access.actor import actor_of
from acms_platform.access.plan import plan_condition
from acms_platform.database import Database
from acms_platform.policy import PolicyClient
from acms_platform.settings import SERVICE_PORTS, Settings
from acms_platform.tokens import Principal
from gateway_stack import (
    DOMAIN,
    GATEWAY_URL,
    bench_settings,
    ensure_account,
    register_organisations,
    running_stack,
    sign_in,
    timed,
    wait_for_projection,
)

SERVICES = ("identity", "cases")
MANAGER_EMAIL, MANAGER_ASP = f"manager.asp08@{DOMAIN}", 8
LEADER_EMAIL, LEADER_SCHOOL = f"leader.school007@{DOMAIN}", 7
MANAGERS_PER_ASP = 80
# Case i was opened SPAN_SECONDS * i / cases before BASE: five years of cases, newest first.
BASE, SPAN_SECONDS = datetime(2026, 12, 1, tzinfo=UTC), 5 * 365 * 86400
ACTIVE_SHARE = 0.15  # the newest 15% are active, and one older case in 23 (long-running)
CASE_BATCH, ITEM_BATCH = 100_000, 500_000

# Case i: school i % 500 (in the catchment of ASP i % 50, its provider); case manager
# slot (i / 50) % 80 of that ASP (the bench's manager is slot 0 of ASP 8, the others are
# accounts that exist only here); one closed case in 41 belongs to a student who has
# since moved school. Ids are md5s of the case number, so items can name their case.
SEED_CASES = """
INSERT INTO cases (id, reference, referral_id, status, version, student_key, nsn,
    student_name, year_level, school_id, student_school_id, provider_id, provider_type,
    case_manager_id, primary_contact_id, reason_category, prosecution_notified,
    outcome_category, outcome_text, details, request_history, opened_at, closed_at,
    updated_at, last_activity_at)
SELECT md5('case-' || i)::uuid,
       'AS-' || extract(year FROM o.at)::int || '-'
           || lpad(i::text, greatest(6, length(i::text)), '0'),
       md5('referral-' || i)::uuid, s.status, 1, md5(i::text), lpad(i::text, 9, '0'),
       'Student ' || i, 1 + i % 13,
       (CAST(:schools AS uuid[]))[1 + i % CAST(:n_schools AS int)],
       (CAST(:schools AS uuid[]))[1 + (i + CASE WHEN s.status = 'closed' AND i % 41 = 0
                                               THEN 1 ELSE 0 END) % CAST(:n_schools AS int)],
       (CAST(:asps AS uuid[]))[1 + i % CAST(:n_asps AS int)], 'asp',
       CASE WHEN i % CAST(:n_asps AS int) = CAST(:manager_asp AS int)
                 AND (i / CAST(:n_asps AS int)) % CAST(:managers AS int) = 0
            THEN CAST(:manager AS uuid)
            ELSE md5('manager-' || i % CAST(:n_asps AS int) || '-'
                     || (i / CAST(:n_asps AS int)) % CAST(:managers AS int))::uuid END,
       md5('contact-' || i % CAST(:n_schools AS int))::uuid, 'chronic_absence', false,
       CASE WHEN s.status = 'closed' THEN 'attendance_improved' END,
       CASE WHEN s.status = 'closed' THEN 'Fake outcome, bench data.' END,
       '{"student": {"year_level": 7, "address": {"line1": "1 Fake Street",
                                                  "city": "Benchville"}},
         "whanau": [{"name": "Fake Parent", "relationship": "parent"}],
         "reason_text": "Fake reason, bench data.", "actions_taken": "Fake actions.",
         "pastoral": {}}'::jsonb,
       '[]'::jsonb, o.at,
       CASE WHEN s.status = 'closed' THEN o.at + interval '120 days' END, o.at, o.at
FROM generate_series(CAST(:start AS int), CAST(:stop AS int)) AS i,
     LATERAL (SELECT CAST(:base AS timestamptz)
                     - make_interval(secs => i * CAST(:spacing AS float8)) AS at) AS o,
     LATERAL (SELECT CASE WHEN i <= CAST(:active_newest AS int) OR i % 23 = 0
                          THEN 'active' ELSE 'closed' END AS status) AS s
"""

# Item j belongs to case 1 + (j - 1) % cases, its k-th item (k = (j - 1) / cases): a
# case's items are spread over the table as if written over months among other cases'.
# Item 0 of each case is its support plan; the others are notes (half), activities,
# correspondence, calendar entries and comments (the primary contact's). One item in ten
# has 3 versions, one in ten 2 (a revision); one in 25 of the provider's notes,
# activities and correspondence is sensitive, one note in six is shared with the school
# (comments always are). Item ids count up (cheap index appends; they are never ordered
# on); versions are written by the same statement.
SEED_ITEMS = """
WITH new AS (
    INSERT INTO case_items (id, case_id, kind, current_version, created_by, created_at)
    SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(j), 12, '0'))::uuid, c.id, p.kind,
           CASE (p.k + p.n) % 10 WHEN 0 THEN 3 WHEN 1 THEN 2 ELSE 1 END,
           (CASE WHEN p.kind = 'comment' THEN c.primary_contact_id
                 ELSE c.case_manager_id END)::text,
           c.opened_at + make_interval(hours => 1 + p.k * 60)
    FROM generate_series(CAST(:start AS bigint), CAST(:stop AS bigint)) AS j,
         LATERAL (SELECT 1 + (j - 1) % CAST(:n_cases AS int) AS n,
                         ((j - 1) / CAST(:n_cases AS int))::int AS k) AS q,
         LATERAL (SELECT q.n, q.k,
                         CASE WHEN q.k = 0 THEN 'support_plan'
                              ELSE (ARRAY['note','note','note','note','note','note','note',
                                          'note','note','note','activity','activity',
                                          'activity','activity','correspondence',
                                          'correspondence','correspondence',
                                          'calendar_entry','calendar_entry','comment'])
                                   [1 + (q.k * 7 + q.n) % 20] END AS kind) AS p
         JOIN cases AS c ON c.id = md5('case-' || p.n)::uuid
    RETURNING id, kind, current_version, created_by, created_at
)
INSERT INTO case_item_versions (item_id, version, text, sensitive, shared, fields, change,
    author_id, at)
SELECT new.id, v,
       'Fake ' || replace(new.kind, '_', ' ') || ', version ' || v || ': '
           || repeat('bench text about no one. ',
                     CASE WHEN new.kind = 'support_plan' THEN 48 ELSE 10 END),
       l.sensitive,
       NOT l.sensitive AND (new.kind = 'comment' OR (new.kind = 'note' AND l.h % 6 = 1)),
       CASE new.kind
           WHEN 'correspondence' THEN jsonb_build_object(
               'channel', 'email', 'direction', 'out', 'subject', 'Fake subject',
               'parties', jsonb_build_array('Fake Parent', 'Bench Case Manager'),
               'sent_at', to_jsonb(new.created_at))
           WHEN 'activity' THEN jsonb_build_object(
               'activity_type', 'home_visit', 'occurred_at', to_jsonb(new.created_at))
           WHEN 'calendar_entry' THEN jsonb_build_object(
               'starts_at', to_jsonb(new.created_at + interval '7 days'), 'ends_at', NULL,
               'done', v > 1)
           ELSE '{}'::jsonb END,
       CASE WHEN v = 1 THEN 'create' ELSE 'revise' END, new.created_by,
       new.created_at + make_interval(days => v - 1)
FROM new,
     LATERAL (SELECT abs(hashtext(new.id::text)::bigint) AS h) AS hashed,
     LATERAL (SELECT new.kind IN ('note', 'activity', 'correspondence')
                     AND hashed.h % 25 = 0 AS sensitive, hashed.h) AS l,
     generate_series(1, new.current_version) AS v
"""


@dataclass(frozen=True)
class Read:
    label: str
    role: Role
    email: str


CASELOAD = Read("case manager's caseload (active)", Role.ASP_CASE_MANAGER, MANAGER_EMAIL)
VIEW = Read("one case's full view + notes (its manager)", Role.ASP_CASE_MANAGER, MANAGER_EMAIL)
SCHOOL = Read("school's case list (school leader)", Role.SCHOOL_LEADER, LEADER_EMAIL)
READS = (CASELOAD, VIEW, SCHOOL)


def case_number_id(i: int) -> UUID:
    return UUID(hashlib.md5(f"case-{i}".encode()).hexdigest())  # md5('case-' || i)::uuid


def owner_database(settings: Settings) -> Database:
    """The bench database as its owner (the seed drops and creates indexes)."""
    if settings.pg_owner_user is None:
        return Database(settings)
    owner = {"pg_user": settings.pg_owner_user, "pg_password": settings.pg_owner_password}
    return Database(settings.model_copy(update=owner))


# --- cases: seed ---------------------------------------------------------------------------


async def seed_cases(
    database: Database, n_cases: int, schools: list[UUID], asps: list[UUID], manager: UUID
) -> bool:
    """Seed `n_cases` cases (kept if case 8, the manager's newest, names these
    organisations and this manager, and they are as many); True if seeded afresh (the
    items are then seeded again too)."""
    from acms_cases.tables import cases

    probe = select(cases.c.school_id, cases.c.provider_id, cases.c.case_manager_id).where(
        cases.c.id == case_number_id(8)
    )
    async with database.transaction() as session:
        have = (await session.execute(select(func.count()).select_from(cases))).scalar_one()
        row = (await session.execute(probe)).first()
    expected = (schools[8], asps[8], manager)
    if have and (row is None or tuple(row) != expected or have > n_cases):
        print(f"cases: {have:,} seeded cases are another scale or name other organisations")
        have = 0
    if have == n_cases:
        print(f"cases: reusing {have:,} seeded cases", flush=True)
        return False
    async with database.transaction() as session:
        await session.execute(text("TRUNCATE cases CASCADE"))  # items, versions, timeline...
    started = time.perf_counter()
    params: dict[str, Any] = {
        "schools": schools,
        "asps": asps,
        "n_schools": len(schools),
        "n_asps": len(asps),
        "manager": manager,
        "manager_asp": MANAGER_ASP,
        "managers": MANAGERS_PER_ASP,
        "base": BASE,
        "spacing": SPAN_SECONDS / n_cases,
        "active_newest": int(n_cases * ACTIVE_SHARE),
    }
    for start in range(1, n_cases + 1, CASE_BATCH):
        stop = min(start + CASE_BATCH - 1, n_cases)
        async with database.transaction() as session:
            await session.execute(text(SEED_CASES), params | {"start": start, "stop": stop})
        elapsed = time.perf_counter() - started
        print(
            f"cases: seeded {stop:,} of {n_cases:,} cases ({elapsed:.0f} s, "
            f"{stop / elapsed:,.0f}/s)",
            flush=True,
        )
    async with database.transaction() as session:
        await session.execute(text("ANALYZE cases"))
    return True


# --- content items: seed -------------------------------------------------------------------


async def create_item_indexes(database: Database) -> None:
    """The secondary indexes of the item table, as tables.py defines them, if missing
    (dropped for a bulk load, which may have been interrupted)."""
    from acms_cases.tables import case_items

    async with database.transaction() as session:
        for index in sorted(case_items.indexes, key=lambda i: str(i.name)):
            await session.execute(CreateIndex(index, if_not_exists=True))


async def seed_items(database: Database, n_items: int, n_cases: int, afresh: bool) -> None:
    """Seed `n_items` content items with their versions, in batches, with progress;
    resumed where an interrupted seed stopped (batches commit in order), kept if they
    are as many. The item table's secondary indexes are dropped for the load and built
    after it (sorting once is far cheaper than 20M random index inserts)."""
    from acms_cases.tables import case_item_versions, case_items

    async with database.transaction() as session:
        have = 0
        if not afresh:
            statement = select(func.count()).select_from(case_items)
            have = (await session.execute(statement)).scalar_one()
        if have > n_items or (have and have % ITEM_BATCH and have != n_items):
            print(f"items: {have:,} seeded items are another scale; seeding again", flush=True)
            have = 0
        if have == 0:
            await session.execute(text("TRUNCATE case_items, case_item_versions CASCADE"))
    if have == n_items:
        print(f"items: reusing {have:,} seeded content items", flush=True)
        await create_item_indexes(database)
        return
    async with database.transaction() as session:
        for index in case_items.indexes:
            await session.execute(text(f'DROP INDEX IF EXISTS "{index.name}"'))
    started, versions = time.perf_counter(), 0
    for start in range(have + 1, n_items + 1, ITEM_BATCH):
        stop = min(start + ITEM_BATCH - 1, n_items)
        async with database.transaction() as session:
            result = await session.execute(
                text(SEED_ITEMS), {"start": start, "stop": stop, "n_cases": n_cases}
            )
            versions += result.rowcount
        elapsed = time.perf_counter() - started
        done = stop - have
        print(
            f"items: seeded {stop:,} of {n_items:,} items, {versions:,} versions this run "
            f"({elapsed:.0f} s, {done / elapsed:,.0f} items/s, "
            f"{(done + versions) / elapsed:,.0f} rows/s)",
            flush=True,
        )
    await create_item_indexes(database)
    print(f"items: indexes built ({time.perf_counter() - started:.0f} s)", flush=True)
    async with database.transaction() as session:
        for table in (case_items, case_item_versions):
            await session.execute(text(f"ANALYZE {table.name}"))
    print(f"items: analysed ({time.perf_counter() - started:.0f} s)", flush=True)


async def explain(database: Database, label: str, statement: Any) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of a list's statement, its values inlined."""
    compiled = statement.compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    async with database.transaction() as session:
        connection = await session.connection()
        result = await connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")
        lines = [row[0] for row in result]
    print(f"  EXPLAIN ANALYZE, {label}:", *(f"    {line}" for line in lines), sep="\n")


# --- the reads -----------------------------------------------------------------------------


PATHS = {
    "sql": "SQL without authorisation (floor)",
    "plan_sql": "SQL as authorised (no PDP call)",
    "direct": "API process, HTTP straight to :8103",
    "gateway": "API through nginx :8080",
}
Call = Callable[[], Awaitable[None]]


async def read_calls(
    read: Read,
    organisation: UUID,
    case_id: UUID,
    client: httpx.AsyncClient,
    pdp: PolicyClient,
    database: Database,
    apis: dict[str, httpx.AsyncClient],
    *,
    explained: bool = False,
) -> dict[str, Call]:
    """One call of each path for this read: the statements as the service builds them,
    and the API with a fresh token (access tokens live 5 minutes). The API's answer must
    hold as many cases or notes as the floor's SQL."""
    from acms_cases import repository
    from acms_cases.repository import CASE_POLICY_COLUMNS, ListFilters, readable_statement
    from acms_cases.tables import cases, projections, staff_members

    headers, account = await sign_in(client, read.email)
    async with database.transaction() as session:
        known = await projections.account(session, account)
    # The actor as the service's current_actor builds it (projection attributes).
    actor = actor_of(Principal(str(account), organisation, (read.role,)), known)

    if read is VIEW:

        async def view_sql(authorised: bool) -> int:
            # GET /cases/{id} then GET /cases/{id}/notes, one transaction each, as the
            # service runs them; `authorised` adds the team lookup (for the check) and the
            # staff names. Tiers: a case manager's on their active case.
            async with database.transaction() as session:
                row = await repository.get(session, case_id)
                assert row is not None
                if authorised:
                    await repository.teams_of(session, [row.id])
                    await staff_members.names_of(session, {row.case_manager_id})
                await repository.recent_attendance(session, row.id)
                await repository.item_counts(session, row.id)
                for kind in ("support_plan", "comment", "note"):
                    await repository.items_with_versions(session, row.id, kind=kind)
            async with database.transaction() as session:
                row = await repository.get(session, case_id)
                assert row is not None
                if authorised:
                    await repository.teams_of(session, [row.id])
                notes = await repository.items_with_versions(session, row.id, kind="note")
            return len({n.id for n in notes})

        notes = await view_sql(False)

        def sql_view(authorised: bool) -> Call:
            async def call() -> None:
                assert await view_sql(authorised) == notes

            return call

        def api_view(api_client: httpx.AsyncClient) -> Call:
            async def call() -> None:
                response = await api_client.get(f"/cases/{case_id}", headers=headers)
                assert response.status_code == 200, response.text
                response = await api_client.get(f"/cases/{case_id}/notes", headers=headers)
                assert response.status_code == 200, response.text
                assert len(response.json()) == notes, (len(response.json()), notes)

            return call

        return {"sql": sql_view(False), "plan_sql": sql_view(True)} | {
            path: api_view(api_client) for path, api_client in apis.items()
        }

    plan = await pdp.plan(actor.policy_principal, "case", "view")
    readable = plan_condition(plan, cases, CASE_POLICY_COLUMNS)
    if read is CASELOAD:  # GET /cases?mine=true&status=active
        filters = ListFilters(status="active", case_manager_id=account, limit=50)
        bare = readable_statement(true(), filters)  # scoped by case_manager_id already
        query = {"mine": "true", "status": "active", "limit": "50"}
    else:  # GET /cases
        filters = ListFilters(limit=50)
        bare = readable_statement(true(), filters).where(cases.c.school_id == organisation)
        query = {"limit": "50"}
    authorised = readable_statement(readable, filters)  # what the service runs
    async with database.transaction() as session:
        expected = len((await session.execute(bare)).all())
    if explained:
        await explain(database, f"{read.label}, floor", bare)
        await explain(database, f"{read.label}, as authorised", authorised)

    def sql(statement: Any) -> Call:
        async def call() -> None:
            async with database.transaction() as session:
                assert len((await session.execute(statement)).all()) == expected

        return call

    def api(api_client: httpx.AsyncClient) -> Call:
        async def call() -> None:
            response = await api_client.get("/cases", params=query, headers=headers)
            assert response.status_code == 200, response.text
            assert len(response.json()) == expected, (len(response.json()), expected)

        return call

    return {"sql": sql(bare), "plan_sql": sql(authorised)} | {
        path: api(api_client) for path, api_client in apis.items()
    }


async def measure(args: argparse.Namespace) -> dict[tuple[str, str], list[tuple[float, float]]]:
    from acms_cases import tables as cases_tables

    identity_settings = bench_settings("identity", args.cerbos_url)
    cases_settings = bench_settings("cases", args.cerbos_url)
    identity_db, cases_db = Database(identity_settings), Database(cases_settings)
    owner_db = owner_database(cases_settings)
    client = httpx.AsyncClient(timeout=30)
    pdp = PolicyClient(args.cerbos_url)
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    async with contextlib.AsyncExitStack() as stack:
        for close in (identity_db.dispose, cases_db.dispose, owner_db.dispose):
            stack.push_async_callback(close)
        stack.push_async_callback(client.aclose)
        stack.push_async_callback(pdp.close)
        identity_url = f"http://127.0.0.1:{identity_settings.http_port}"
        schools, asps = await register_organisations(identity_db, identity_url, client)
        leader_org, manager_org = schools[LEADER_SCHOOL], asps[MANAGER_ASP]
        org_of = {Role.SCHOOL_LEADER: leader_org, Role.ASP_CASE_MANAGER: manager_org}
        for email, role in ((MANAGER_EMAIL, CASELOAD.role), (LEADER_EMAIL, SCHOOL.role)):
            await ensure_account(identity_db, email, role, org_of[role])
        manager = (await sign_in(client, MANAGER_EMAIL))[1]
        leader = (await sign_in(client, LEADER_EMAIL))[1]
        projection = (cases_tables.organisations.table, cases_tables.staff)
        await wait_for_projection("cases", cases_db, projection, schools + asps, [manager, leader])

        seeding = time.perf_counter()
        afresh = await seed_cases(owner_db, args.cases, schools, asps, manager)
        await seed_items(owner_db, args.items, args.cases, afresh)
        print(f"seed: {time.perf_counter() - seeding:.0f} s", flush=True)

        # The case of the full view: the manager's newest (case 8: active, ~items/cases
        # items, some with several versions).
        case_id = case_number_id(8)
        async with cases_db.transaction() as session:
            items = await session.scalar(
                select(func.count())
                .select_from(cases_tables.case_items)
                .where(cases_tables.case_items.c.case_id == case_id)
            )
            versions = await session.scalar(
                select(func.count())
                .select_from(cases_tables.case_item_versions)
                .join(cases_tables.case_items)
                .where(cases_tables.case_items.c.case_id == case_id)
            )
        print(f"full view: case {case_id}, {items} items, {versions} versions", flush=True)

        apis: dict[str, httpx.AsyncClient] = {
            "direct": httpx.AsyncClient(base_url=f"http://127.0.0.1:{SERVICE_PORTS['cases']}"),
            "gateway": httpx.AsyncClient(base_url=f"{GATEWAY_URL}/api/cases"),
        }
        for api_client in apis.values():
            stack.push_async_callback(api_client.aclose)

        api_paths = list(apis)
        for run in range(1, args.runs + 1):
            # The API paths take turns going first (drifts do not always fall on one).
            shift = (run - 1) % len(api_paths)
            order = ["sql", "plan_sql", *api_paths[shift:], *api_paths[:shift]]
            for read in READS:
                calls = await read_calls(
                    read,
                    org_of[read.role],
                    case_id,
                    client,
                    pdp,
                    cases_db,
                    apis,
                    explained=args.explain and run == 1,
                )
                print(
                    f"\nrun {run}/{args.runs}: {read.label}, {args.cases:,} cases, "
                    f"{args.items:,} items",
                    flush=True,
                )
                for path in order:
                    timing = await timed(PATHS[path], args.samples, calls[path])
                    results.setdefault((read.label, path), []).append(timing)
    return results


def report(
    results: dict[tuple[str, str], list[tuple[float, float]]], args: argparse.Namespace
) -> None:
    print(
        f"\nmedians over {args.runs} runs of {args.samples} calls each (after 10 warm-up calls),"
        f" {args.cases:,} cases and {args.items:,} content items in the database\n"
    )
    print("| read | path | p50 ms | p95 ms | p50 / floor | p95 / floor |")
    print("|---|---|---|---|---|---|")
    for read in READS:
        runs = results[(read.label, "sql")]
        base50 = statistics.median(p50 for p50, _ in runs)
        base95 = statistics.median(p95 for _, p95 in runs)
        for path, label in PATHS.items():
            runs = results.get((read.label, path), [])
            if not runs:
                continue
            p50 = statistics.median(p for p, _ in runs)
            p95 = statistics.median(p for _, p in runs)
            print(
                f"| {read.label} | {label} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | "
                f"{p50 / base50:.1f} | {p95 / base95:.1f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=700_000)
    parser.add_argument("--items", type=int, default=20_000_000)
    parser.add_argument("--samples", type=int, default=100, help="timed calls per path per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cerbos-url", default="http://127.0.0.1:3592")
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN ANALYZE the lists' SQL in run 1"
    )
    args = parser.parse_args()
    if args.cases < 8 or args.items < args.cases:
        parser.error(
            "--cases must be at least 8 (case 8 is the manager's) and --items at least --cases"
        )
    # A plain `kill` stops what this run started, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with running_stack(args.cerbos_url, SERVICES):
        results = asyncio.run(measure(args))
    report(results, args)


if __name__ == "__main__":
    sys.exit(main())
