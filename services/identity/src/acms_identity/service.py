"""Use cases of the identity service."""

from uuid import UUID, uuid4

from acms_contracts.identity import OrganisationRegistered
from acms_contracts.vocabulary import OrgType
from acms_platform.outbox import Outbox
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from acms_identity.schemas import OrganisationOut, RegisterOrganisation
from acms_identity.tables import organisations


class InvalidOrganisation(ValueError):
    """The request names something that contradicts the organisation rules."""


async def register_organisation(
    session: AsyncSession, outbox: Outbox, command: RegisterOrganisation
) -> OrganisationOut:
    await _check_parent_school(session, command)
    organisation_id = uuid4()
    await session.execute(insert(organisations).values(id=organisation_id, **command.model_dump()))
    await outbox.add(
        session,
        OrganisationRegistered(organisation_id=organisation_id, **command.model_dump()),
    )
    return OrganisationOut(id=organisation_id, **command.model_dump())


async def get_organisation(session: AsyncSession, organisation_id: UUID) -> OrganisationOut | None:
    row = (
        await session.execute(select(organisations).where(organisations.c.id == organisation_id))
    ).first()
    return OrganisationOut.model_validate(row) if row else None


async def _check_parent_school(session: AsyncSession, command: RegisterOrganisation) -> None:
    if command.org_type is not OrgType.ISP:
        if command.parent_school_id is not None:
            raise InvalidOrganisation("parent_school_id: only an ISP is attached to a school")
        return
    if command.parent_school_id is None:
        raise InvalidOrganisation("parent_school_id: an ISP must be attached to one school")
    parent = await get_organisation(session, command.parent_school_id)
    if parent is None or parent.org_type is not OrgType.SCHOOL:
        raise InvalidOrganisation(
            f"parent_school_id: {command.parent_school_id} is not a registered school"
        )
