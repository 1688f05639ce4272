"""The student's history (ACCESS-MODEL 4): a provider, and a case manager, working an open
case of a student see that student's closed cases managed by other providers, at `full`.

Design. Each case carries two policy attributes naming who holds an *open* (active) case
of the same student, other than this case:

- `student_open_provider_ids`: the providers (organisation ids) of those cases;
- `student_open_case_manager_ids`: their assigned case managers (account ids).

The policy (`case.yaml`, rules `provider_leads_see_the_history_...` and
`case_managers_see_the_history_...`) grants, on a *closed* case only:

- an ASP or ISP workflow lead: `P.attr.org_id in R.attr.student_open_provider_ids`;
- an ASP case manager: `P.id in R.attr.student_open_case_manager_ids`, and the closed case
  is another provider's (`R.attr.provider_id != P.attr.org_id`: "managed by other
  providers", read literally; a colleague's closed case of the student stays the
  provider's leads' to see);

the `full` tier and what `full` implies in this service's tier model (as for team
members: `basic`, `summary`, `demographic`, `support_plan`, `shared`, `full`), never
`sensitive` (sensitive items, their timeline entries and the sensitive counts stay
absent) and never `attendance`. No action is granted: a history reader reads, never
writes. The closed case's own provider keeps what its own rules give it.

The attributes are never stored: they follow the other cases as they open, close and move
(a provider whose case closes or transfers loses the history at once; the provider that
gains the case gains it). Two ways, one meaning:

- lists and searches (the plan as SQL): both attributes are `Membership`s of the access
  kit, so `value in R.attr.x` becomes a correlated EXISTS over `cases` itself (another
  case of the same `student_key`, `status = 'active'`, a different id, whose
  `provider_id` / `case_manager_id` is the value): `ix_cases_student_key` serves it;
- one case's check (and a page's tiers): `open_cases_of` loads the active cases of the
  students at hand in one query, and `HistoryHolders.of` names, for each case, the holders
  other than itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import exists, false, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from acms_cases.tables import cases
from acms_platform.access import Membership

ACTIVE = "active"
_other = cases.alias("open_case_of_student")


def _holding_an_open_case(column: str) -> Membership:
    """The attribute "ids in `column` of the student's other active cases" as SQL."""

    def holds(value: Any) -> ColumnElement[bool]:
        try:
            holder = UUID(str(value))
        except ValueError:
            return false()  # not an id: holds no case
        return exists().where(
            _other.c.student_key == cases.c.student_key,
            _other.c.status == ACTIVE,
            _other.c.id != cases.c.id,
            _other.c[column] == holder,
        )

    return Membership(holds)


OPEN_PROVIDERS = _holding_an_open_case("provider_id")
OPEN_CASE_MANAGERS = _holding_an_open_case("case_manager_id")


@dataclass(frozen=True)
class OpenCase:
    id: UUID
    provider_id: UUID | None
    case_manager_id: UUID | None


@dataclass(frozen=True)
class HistoryHolders:
    """Who holds an open case of the case's student, other than the case itself."""

    provider_ids: list[str]
    case_manager_ids: list[str]

    @staticmethod
    def of(case_id: UUID, open_cases: Iterable[OpenCase]) -> HistoryHolders:
        others = [c for c in open_cases if c.id != case_id]
        providers = {str(c.provider_id) for c in others if c.provider_id is not None}
        managers = {str(c.case_manager_id) for c in others if c.case_manager_id is not None}
        return HistoryHolders(sorted(providers), sorted(managers))


NO_HOLDERS = HistoryHolders([], [])


async def open_cases_of(
    session: AsyncSession, student_keys: Iterable[str]
) -> dict[str, list[OpenCase]]:
    """The active cases of each student (by student key), in one query."""
    keys = sorted(set(student_keys))
    found: dict[str, list[OpenCase]] = {key: [] for key in keys}
    if not keys:
        return found
    statement = select(
        cases.c.id, cases.c.student_key, cases.c.provider_id, cases.c.case_manager_id
    ).where(cases.c.student_key.in_(keys), cases.c.status == ACTIVE)
    for row in await session.execute(statement):
        found[row.student_key].append(OpenCase(row.id, row.provider_id, row.case_manager_id))
    return found
