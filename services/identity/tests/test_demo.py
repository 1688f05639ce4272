"""The demo country: complete, deterministic, made through the use cases."""

import uuid

import pytest
from sqlalchemy import select

from acms_contracts.vocabulary import Role
from acms_identity.bootstrap import system_context
from acms_identity.demo import DEMO_PASSWORD, build_country
from acms_identity.demo_students import student_records
from acms_identity.local_mail import activate_invited
from acms_identity.tables import account_roles, accounts, organisations
from acms_platform.outbox import queued_in


async def _build_and_roll_back(database, settings, schools: int, seed: int):
    async with database.sessions() as session:
        transaction = await session.begin()
        try:
            ctx = system_context(database, session, settings)
            country = await build_country(ctx, schools, seed)
            names = sorted(
                (
                    await session.execute(
                        select(organisations.c.name).where(
                            organisations.c.id.in_(list(country.schools))
                        )
                    )
                ).scalars()
            )
            roles = set((await session.execute(select(account_roles.c.role).distinct())).scalars())
            events = queued_in(session)
            emails = set((await session.execute(select(accounts.c.email))).scalars())
            return country, names, roles, events, emails
        finally:
            await transaction.rollback()


@pytest.mark.asyncio(loop_scope="session")
async def test_demo_country_has_every_role_and_is_deterministic(identity):
    runtime = identity.app.state.runtime
    first = await _build_and_roll_back(runtime.database, runtime.settings, schools=20, seed=3)
    second = await _build_and_roll_back(runtime.database, runtime.settings, schools=20, seed=3)
    country, school_names, roles, events, _ = first
    assert len(country.schools) == 20 and len(country.regions) == 15
    assert roles == {role.value for role in Role}
    assert school_names == second[1], "same seed, same country"
    assert events > country.accounts, "everything was created through the outbox"


@pytest.mark.asyncio(loop_scope="session")
async def test_demo_accounts_are_invited_and_activated_from_their_mail(identity):
    runtime = identity.app.state.runtime
    database = runtime.database
    async with database.transaction() as session:
        ctx = system_context(database, session, runtime.settings)
        country = await build_country(ctx, 1, seed=uuid.uuid4().int % 1000)
    async with database.transaction() as session:
        hashes = await session.execute(
            select(accounts.c.password_hash).where(accounts.c.email.in_(country.emails))
        )
        assert set(hashes.scalars()) == {None}, "invited: nobody chose a password for them"
    await activate_invited(database, country.emails, DEMO_PASSWORD)
    # The first demo load in this database owns admin@demo.example.org.
    response = await identity.post(
        "/sign-in", json={"email": "admin@demo.example.org", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200, response.text


def test_demo_students_have_clearly_fake_nsns_and_nz_style_names():
    school = uuid.uuid4()
    students = list(student_records([school], 200, seed=1))
    assert all(s.nsn.startswith("999") and len(s.nsn) == 10 for s in students)
    assert len({s.nsn for s in students}) == 200
    assert any(any(c in s.given_name + s.family_name for c in "āēīōū") for s in students)
    assert all(1 <= len(s.whanau) <= 2 for s in students)
    assert students == list(student_records([school], 200, seed=1))
