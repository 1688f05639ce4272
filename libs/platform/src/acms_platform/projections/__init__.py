"""The projections of other services' facts that a service keeps, switched on in one line:

    projections = Projections(metadata, enrolments=True)

in `tables.py`, then `projections.register(handlers)` in `handlers.py`, `actors=projections`
in its `ServiceDefinition` and `projections.router` among its routers. Organisations and
staff are always kept: every service serves `GET /organisations/{id}`, and every caller
is resolved through the staff projection (`acms_platform.access.CurrentActor`).
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from sqlalchemy import MetaData, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from acms_platform.access.actor import Account
from acms_platform.messaging import EventHandlers
from acms_platform.projections.enrolments import EnrolmentProjection
from acms_platform.projections.organisations import OrganisationProjection, OrganisationView
from acms_platform.projections.staff import StaffProjection

__all__ = [
    "EnrolmentProjection",
    "OrganisationProjection",
    "OrganisationView",
    "Projections",
    "StaffProjection",
]


class Projections:
    def __init__(self, metadata: MetaData, *, enrolments: bool = False) -> None:
        self.organisations = OrganisationProjection(metadata)
        self.staff = StaffProjection(metadata)
        self.enrolments = EnrolmentProjection(metadata) if enrolments else None

    @property
    def router(self) -> APIRouter:
        """`GET /organisations/{id}` served from this projection."""
        from acms_platform.projections.routes import organisations_router

        return organisations_router(self.organisations)

    def register(self, handlers: EventHandlers) -> None:
        self.organisations.register(handlers)
        self.staff.register(handlers)
        if self.enrolments is not None:
            self.enrolments.register(handlers)

    async def account(self, session: AsyncSession, account_id: UUID) -> Account | None:
        """The caller as this service knows them now, in one statement (the actor source
        of every service but identity)."""
        staff, orgs, links = (
            self.staff.table,
            self.organisations.table,
            self.staff.monitoring_links,
        )
        monitored = (
            select(func.array_agg(links.c.asp_id))
            .where(links.c.account_id == staff.c.account_id)
            .scalar_subquery()
        )
        statement = (
            select(
                staff,
                orgs.c.org_type,
                orgs.c.region,
                orgs.c.parent_school_id,
                monitored.label("monitored_asp_ids"),
            )
            .outerjoin(orgs, orgs.c.id == staff.c.organisation_id)
            .where(staff.c.account_id == account_id)
        )
        row = (await session.execute(statement)).first()
        if row is None:
            return None
        return Account(
            account_id=row.account_id,
            organisation_id=row.organisation_id,
            disabled=row.disabled,
            roles=frozenset(row.roles),
            revoked_roles=frozenset(row.revoked_roles),
            display_name=row.display_name,
            org_type=row.org_type,
            parent_school_id=row.parent_school_id,
            region=row.region,
            monitored_asp_ids=tuple(sorted(str(a) for a in row.monitored_asp_ids or ())),
        )
