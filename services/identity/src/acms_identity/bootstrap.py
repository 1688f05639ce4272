"""Create the first platform admin (and the Ministry national office it belongs to).

Everything else is then done through the API by that admin. Run against the service's
database with the usual ACMS_* settings:

    uv run python -m acms_identity.bootstrap --email admin@ministry.example.org
(the password is read from ACMS_BOOTSTRAP_PASSWORD or prompted for).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts.vocabulary import OrgType, Role
from acms_identity.schemas import CreateAccount, RegisterOrganisation
from acms_identity.service import accounts, organisations
from acms_identity.service.context import SERVICE, Context
from acms_identity.tables import accounts as accounts_table
from acms_platform.database import Database
from acms_platform.migrations import upgrade_to_head
from acms_platform.outbox import Outbox
from acms_platform.settings import load_settings

MINISTRY_NAME = "Ministry National Office"


def system_context(database: Database, session: AsyncSession) -> Context:
    """A context for use cases run by the system itself (no actor, no policy checks)."""
    return Context(session=session, outbox=Outbox(SERVICE), database=database)


async def bootstrap_platform_admin(
    database: Database, email: str, password: str, display_name: str
) -> UUID:
    """Idempotent: an existing account with this email is left as it is."""
    async with database.transaction() as session:
        existing = await session.execute(
            select(accounts_table.c.id).where(accounts_table.c.email == email.lower())
        )
        found = existing.scalar_one_or_none()
        if found is not None:
            return found
        ctx = system_context(database, session)
        ministry = await organisations.register_organisation(
            ctx, None, RegisterOrganisation(org_type=OrgType.MINISTRY_NATIONAL, name=MINISTRY_NAME)
        )
        account = await accounts.create_account(
            ctx,
            None,
            CreateAccount(
                organisation_id=ministry.id,
                display_name=display_name,
                email=email,
                password=password,
                roles=[Role.PLATFORM_ADMIN],
            ),
        )
        return account.id


async def _main(email: str, display_name: str) -> None:
    from acms_identity.app import SERVICE_ROOT

    settings = load_settings(SERVICE)
    password = os.environ.get("ACMS_BOOTSTRAP_PASSWORD") or getpass.getpass("password: ")
    await asyncio.to_thread(upgrade_to_head, SERVICE_ROOT, settings.database_url)
    database = Database(settings)
    try:
        account_id = await bootstrap_platform_admin(database, email, password, display_name)
    finally:
        await database.dispose()
    print(f"platform admin {email}: account {account_id}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--email", required=True)
    parser.add_argument("--display-name", default="Platform Administrator")
    arguments = parser.parse_args()
    asyncio.run(_main(arguments.email, arguments.display_name))
