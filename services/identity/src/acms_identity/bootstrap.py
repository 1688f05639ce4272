"""Invite the first platform admins (and make the Ministry national office they belong to).

Everything else is then done through the API by those admins. Like every account, a
bootstrapped admin is an invitation: the activation token is mailed to the address (SMTP
settings `ACMS_SMTP_*`) and its owner chooses the password (`POST /activate`). Run it for
a second admin too: four-eyes grants need two. Against the service's database with the
usual ACMS_* settings:

    uv run python -m acms_identity.bootstrap --email admin@ministry.example.org
"""

from __future__ import annotations

import argparse
import asyncio
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts.vocabulary import OrgType, Role
from acms_identity.schemas import CreateAccount, RegisterOrganisation
from acms_identity.service import accounts, organisations
from acms_identity.service.context import SERVICE, Context
from acms_identity.tables import accounts as accounts_table
from acms_identity.tables import organisations as organisations_table
from acms_platform.database import Database
from acms_platform.migrations import upgrade_to_head
from acms_platform.outbox import Outbox
from acms_platform.settings import Settings, load_settings

MINISTRY_NAME = "Ministry National Office"


def system_context(database: Database, session: AsyncSession, settings: Settings) -> Context:
    """A context for use cases run by the system itself (no actor, no policy checks)."""
    return Context(session=session, outbox=Outbox(SERVICE), database=database, settings=settings)


async def bootstrap_platform_admin(
    database: Database, settings: Settings, email: str, display_name: str
) -> UUID:
    """Idempotent: an existing account with this email is left as it is. A second admin
    joins the Ministry national office the first one made."""
    async with database.transaction() as session:
        existing = await session.execute(
            select(accounts_table.c.id).where(accounts_table.c.email == email.lower())
        )
        found = existing.scalar_one_or_none()
        if found is not None:
            return found
        ctx = system_context(database, session, settings)
        ministry_id = (
            await session.execute(
                select(organisations_table.c.id).where(
                    organisations_table.c.org_type == OrgType.MINISTRY_NATIONAL.value,
                    organisations_table.c.name == MINISTRY_NAME,
                )
            )
        ).scalar()
        if ministry_id is None:
            command = RegisterOrganisation(org_type=OrgType.MINISTRY_NATIONAL, name=MINISTRY_NAME)
            ministry_id = (await organisations.register_organisation(ctx, None, command)).id
        account = await accounts.create_account(
            ctx,
            None,
            CreateAccount(
                organisation_id=ministry_id,
                display_name=display_name,
                email=email,
                roles=[Role.PLATFORM_ADMIN],
            ),
        )
        return account.id


async def _main(email: str, display_name: str) -> None:
    from acms_identity.app import SERVICE_ROOT

    settings = load_settings(SERVICE)
    await asyncio.to_thread(upgrade_to_head, SERVICE_ROOT, settings.database_url)
    database = Database(settings)
    try:
        account_id = await bootstrap_platform_admin(database, settings, email, display_name)
    finally:
        await database.dispose()
    print(f"platform admin {email}: account {account_id}; activation mailed to {email}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--email", required=True)
    parser.add_argument("--display-name", default="Platform Administrator")
    arguments = parser.parse_args()
    asyncio.run(_main(arguments.email, arguments.display_name))
