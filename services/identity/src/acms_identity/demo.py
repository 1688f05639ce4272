"""A synthetic country for demos, tests and benchmarks: regions, schools, ASPs with
catchments, ISPs, Ministry teams, agencies, the ENROL feed's client, and accounts for
every role.

    uv run python -m acms_identity.demo --schools 300 --seed 7

Deterministic for a seed. Everything is created through the use cases, so every
organisation, catchment, account and role reaches the other services as events. Every
account is invited like any other (the mail goes to the local SMTP server); `load` then
does what each invitee would: reads the token from the local Maildir and activates the
account with DEMO_PASSWORD (`local_mail.activate_invited`). Demo data only.
`student_records` makes students and whānau (fake NSNs 999…) for later services.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts.vocabulary import OrgType, Role
from acms_identity import demo_names as names
from acms_identity.bootstrap import system_context
from acms_identity.local_mail import activate_invited
from acms_identity.schemas import (
    AssignCatchment,
    CreateAccount,
    CreateClient,
    MonitoringLink,
    RegisterOrganisation,
)
from acms_identity.service import accounts, organisations
from acms_identity.service.context import Context
from acms_identity.tables import accounts as accounts_table
from acms_platform.database import Database
from acms_platform.migrations import upgrade_to_head
from acms_platform.settings import Settings, load_settings

DEMO_PASSWORD = "demo-password-NOT-SECRET"
DEMO_DOMAIN = "demo.example.org"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
SECOND_ADMIN_EMAIL = f"admin2@{DEMO_DOMAIN}"  # four eyes: a second platform admin approves
SCHOOLS_PER_ASP = 30
ISP_SHARE = 0.05
AGENCIES = ("Immigration", "MSD", "Oranga Tamariki", "Police")
NATIONAL_TEAMS: dict[Role, str] = {
    Role.PLATFORM_ADMIN: "admin",
    Role.CENTRAL_INVESTIGATION: "investigation",
    Role.NATIONAL_CONTRACTS: "contracts",
    Role.PROSECUTIONS: "prosecutions",
    Role.PRIVACY_OFFICER: "privacy",
    Role.RECORDS_MANAGER: "records",
}


@dataclass
class DemoCountry:
    regions: dict[str, UUID] = field(default_factory=dict)
    schools: dict[UUID, str] = field(default_factory=dict)  # school id → region
    asps: dict[UUID, str] = field(default_factory=dict)
    isps: list[UUID] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)  # every person invited

    @property
    def accounts(self) -> int:
        return len(self.emails)


class _Builder:
    def __init__(self, ctx: Context, rng: random.Random) -> None:
        self.ctx, self.rng = ctx, rng
        self.used_emails: set[str] = set()
        self.country = DemoCountry()

    async def organisation(self, org_type: OrgType, name: str, **extra: object) -> UUID:
        command = RegisterOrganisation(org_type=org_type, name=name, **extra)  # type: ignore[arg-type]
        return (await organisations.register_organisation(self.ctx, None, command)).id

    async def person(self, organisation_id: UUID, roles: list[Role], email_hint: str) -> UUID:
        given, family = self.rng.choice(names.GIVEN_NAMES), self.rng.choice(names.FAMILY_NAMES)
        email = _unique(f"{email_hint}@{DEMO_DOMAIN}", self.used_emails)
        command = CreateAccount(
            organisation_id=organisation_id,
            display_name=f"{given} {family}",
            email=email,
            roles=roles,
        )
        created = await accounts.create_account(self.ctx, None, command)
        self.country.emails.append(email)
        return created.id


def _unique(email: str, used: set[str]) -> str:
    local, _, domain = email.partition("@")
    candidate, n = email, 1
    while candidate in used:
        n += 1
        candidate = f"{local}{n}@{domain}"
    used.add(candidate)
    return candidate


def _slug(text: str) -> str:
    plain = text.lower().translate(str.maketrans("āēīōū", "aeiou"))
    return "".join(c if c.isalnum() else "-" for c in plain).strip("-").replace("--", "-")


def _school_name(rng: random.Random, used: set[str]) -> str:
    if rng.random() < 0.15:
        name = f"{names.KURA_PREFIX} {rng.choice(names.SCHOOL_WORDS)}"
    else:
        name = f"{rng.choice(names.SCHOOL_WORDS)} {rng.choice(names.SCHOOL_KINDS)}"
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name} {n}"
    used.add(candidate)
    return candidate


async def build_country(ctx: Context, schools: int, seed: int) -> DemoCountry:
    rng = random.Random(seed)
    builder = _Builder(ctx, rng)
    country = builder.country
    ministry = await builder.organisation(OrgType.MINISTRY_NATIONAL, "Ministry National Office")
    for role, team in NATIONAL_TEAMS.items():
        await builder.person(ministry, [role], team)
    await builder.person(ministry, [Role.PLATFORM_ADMIN], "admin2")
    enrol_feed = CreateClient(
        organisation_id=ministry, display_name="ENROL feed", roles=[Role.ENROL_FEED]
    )
    await accounts.create_client(ctx, None, enrol_feed)
    for agency in AGENCIES:
        agency_id = await builder.organisation(OrgType.AGENCY, agency)
        client = CreateClient(
            organisation_id=agency_id, display_name=f"{agency} client", roles=[Role.AGENCY_CLIENT]
        )
        await accounts.create_client(ctx, None, client)
    school_names: set[str] = set()
    per_region = _spread(schools, len(names.REGIONS))
    for region, count in zip(names.REGIONS, per_region, strict=True):
        await _build_region(builder, region, count, school_names)
    return country


def _spread(total: int, buckets: int) -> list[int]:
    return [total // buckets + (1 if i < total % buckets else 0) for i in range(buckets)]


async def _build_region(builder: _Builder, region: str, schools: int, used: set[str]) -> None:
    rng, country = builder.rng, builder.country
    slug = _slug(region)
    office = await builder.organisation(
        OrgType.MINISTRY_REGIONAL, f"{region} Regional Office", region=region
    )
    country.regions[region] = office
    manager = await builder.person(office, [Role.REGIONAL_CONTRACT_MANAGER], f"rcm.{slug}")
    await builder.person(office, [Role.REGIONAL_OFFICE_STAFF], f"regional.{slug}")
    if schools == 0:
        return
    asp_ids = []
    for n in range(max(1, round(schools / SCHOOLS_PER_ASP))):
        word = rng.choice(names.PROVIDER_WORDS)
        asp = await builder.organisation(OrgType.ASP, f"{word} Attendance Service {region} {n + 1}")
        country.asps[asp] = region
        asp_ids.append(asp)
        asp_slug = f"{slug}.asp{n + 1}"
        await builder.person(asp, [Role.ASP_WORKFLOW_LEAD], f"lead.{asp_slug}")
        for k in range(2):
            await builder.person(asp, [Role.ASP_CASE_MANAGER], f"cm{k + 1}.{asp_slug}")
        link = MonitoringLink(account_id=manager, asp_id=asp)
        await organisations.link_monitoring(builder.ctx, None, link)
    for n in range(schools):
        name = _school_name(rng, used)
        school = await builder.organisation(OrgType.SCHOOL, name, region=region)
        country.schools[school] = region
        asp = asp_ids[n % len(asp_ids)]
        catchment = AssignCatchment(asp_id=asp, effective_from=date(2024, 1, 1))
        await organisations.assign_catchment(builder.ctx, None, school, catchment)
        school_slug = _slug(name)
        await builder.person(school, [Role.SCHOOL_LEADER], f"principal.{school_slug}")
        await builder.person(school, [Role.SCHOOL_OFFICE_SUPPORT], f"office.{school_slug}")
        await builder.person(school, [Role.SCHOOL_STAFF], f"teacher.{school_slug}")
        if rng.random() < ISP_SHARE or not country.isps:  # at least one ISP
            isp = await builder.organisation(
                OrgType.ISP, f"{name} In-School Provider", parent_school_id=school
            )
            country.isps.append(isp)
            await builder.person(isp, [Role.ISP_WORKFLOW_LEAD], f"isp.{school_slug}")


async def already_loaded(session: AsyncSession) -> bool:
    statement = select(accounts_table.c.id).where(accounts_table.c.email == ADMIN_EMAIL)
    return (await session.execute(statement)).first() is not None


async def load(
    database: Database, settings: Settings, schools: int, seed: int
) -> DemoCountry | None:
    """Invite the country in one transaction, then activate every account from the local
    mailbox; None if demo data is already there."""
    async with database.transaction() as session:
        if await already_loaded(session):
            return None
        country = await build_country(system_context(database, session, settings), schools, seed)
    await activate_invited(database, country.emails, DEMO_PASSWORD)
    return country


async def _main(schools: int, seed: int) -> None:
    from acms_identity.app import SERVICE_ROOT

    settings = load_settings("identity")
    await asyncio.to_thread(upgrade_to_head, SERVICE_ROOT, settings.database_url)
    database = Database(settings)
    try:
        country = await load(database, settings, schools, seed)
    finally:
        await database.dispose()
    if country is None:
        print(f"demo data already loaded (sign in as {ADMIN_EMAIL})")
        return
    print(
        f"demo country: {len(country.regions)} regions, {len(country.schools)} schools, "
        f"{len(country.asps)} ASPs, {len(country.isps)} ISPs, {country.accounts} accounts; "
        f"sign in as {ADMIN_EMAIL} (second admin {SECOND_ADMIN_EMAIL}) / {DEMO_PASSWORD}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="load synthetic demo data into identity")
    parser.add_argument("--schools", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    asyncio.run(_main(arguments.schools, arguments.seed))
