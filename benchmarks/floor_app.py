"""The floor of `referral_list_latency.py`: what a referrals read costs with token
verification and nothing else of the access kit. Started by the benchmark as its own
uvicorn process (`uvicorn --factory floor_app:create --app-dir benchmarks`), with the
referrals bench settings in its environment, on cases' port (8103, which the benchmark
holds free and never starts cases on), so nginx's `/api/cases/` location reaches it:
the same gateway, upstream keepalive and proxy headers as `/api/referrals/`.

Per request it does what the service does, less the policy and the audit:
- verifies the bearer token with the platform's own dependency (`CurrentPrincipal`:
  `TokenVerifier` over identity's JWKS, cached), not a copy;
- the list: runs the statement the service runs for that principal
  (`repository.page_statement` of the plan's condition). The condition is built once
  per account from one PDP plan at its first call (a warm-up call) and kept: the same
  SQL, no PDP round trip per request. Then the staff names, then `project` into
  `ReferralView`, serialised by FastAPI as the service does
  (`response_model_exclude_unset`);
- one request's full view: the request, the staff names and its history, projected
  with the tiers the service grants a school leader on their own school's request
  (`FLOOR_TIERS`; the benchmark checks both answers hold the same fields).
No actor projection read, no `CheckResources`, no outbox row, no platform middleware.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, FastAPI, HTTPException, Query
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from acms_platform.access.actor import account_id_of, actor_of
from acms_platform.database import Database
from acms_platform.dependencies import CurrentPrincipal
from acms_platform.policy import PolicyClient
from acms_platform.settings import load_settings
from acms_platform.tokens import JwksCache, TokenVerifier, http_jwks_fetcher
from acms_referrals import repository
from acms_referrals.domain import Status
from acms_referrals.schemas import ReferralView
from acms_referrals.service.context import REFERRAL, TIER_ACTIONS
from acms_referrals.service.views import people_of, project
from acms_referrals.tables import projections, staff_members

# What the policy grants a school leader on a request of their own school (no duplicates).
FLOOR_TIERS = ["basic", "summary", "full", "school"]


def create() -> FastAPI:
    settings = load_settings("referrals")
    database = Database(settings)
    policy = PolicyClient(settings.cerbos_url)
    conditions: dict[UUID, ColumnElement[bool]] = {}  # by account: one plan each, ever

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await policy.close()
        await database.dispose()

    app = FastAPI(title="referrals floor (benchmark only)", lifespan=lifespan)
    # The platform's verifier, as `get_token_verifier` installs it in every service.
    app.state.token_verifier = TokenVerifier(JwksCache(http_jwks_fetcher(settings.identity_url)))

    async def session() -> AsyncIterator[AsyncSession]:
        async with database.transaction() as session:
            yield session

    Session = Annotated[AsyncSession, Depends(session)]

    async def condition(principal: Any, session: AsyncSession) -> ColumnElement[bool]:
        account = account_id_of(principal)
        if account not in conditions:
            actor = actor_of(principal, await projections.account(session, account))
            plan = await policy.plan(actor.policy_principal, REFERRAL.name, TIER_ACTIONS["basic"])
            conditions[account] = repository.readable_condition(plan)
        return conditions[account]

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/referrals", response_model_exclude_unset=True)
    async def list_referrals(
        principal: CurrentPrincipal,
        session: Session,
        status: Status | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
    ) -> list[ReferralView]:
        readable = await condition(principal, session)
        filters = repository.ListFilters(status=status.value if status else None, limit=limit)
        rows = await repository.readable(session, readable, filters)
        names = await staff_members.names_of(session, people_of(rows))
        return [project(row, FLOOR_TIERS, names) for row in rows]

    @app.get("/referrals/{referral_id}", response_model_exclude_unset=True)
    async def view_referral(
        referral_id: UUID, principal: CurrentPrincipal, session: Session
    ) -> ReferralView:
        row = await repository.get(session, referral_id)
        if row is None:
            raise HTTPException(404, f"no request for support {referral_id}")
        names = await staff_members.names_of(session, people_of([row]))
        history = await repository.history(session, row.id)
        return project(row, FLOOR_TIERS, names, history, [])

    return app
