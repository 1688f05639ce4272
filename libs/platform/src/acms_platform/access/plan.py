"""A Cerbos plan as a SQL condition, so lists are filtered in the database, never by
loading rows and dropping some in Python.

Policies describe a missing id (no school, no provider, no assignee) as "" where the
table holds NULL: `== ""` on an id column is `IS NULL`, `!= ""` is `IS NOT NULL`
(PostgreSQL would refuse '' as a uuid). Every attribute a policy can mention must be
mapped to a column, or this raises: a plan is never half applied.

A list attribute held in another table (a case's team: `P.id in R.attr.team_member_ids`)
maps to a `Membership`: the plan's `value in R.attr.x` becomes its `holds(value)`,
typically a correlated EXISTS on that table, so the list is never loaded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cerbos.sdk.model import PlanResourcesResponse
from cerbos_sqlalchemy.query import OPERATOR_FNS as _DEFAULT_OPERATORS
from cerbos_sqlalchemy.query import get_query
from sqlalchemy import Table, Uuid, true
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BooleanClauseList, ColumnElement


@dataclass(frozen=True)
class Membership:
    """A list attribute kept as rows elsewhere: `holds(value)` is the SQL condition that
    `value` is in the list of the row at hand (a correlated EXISTS)."""

    holds: Callable[[Any], ColumnElement[bool]]


def _only_in(column: Any, operator: str) -> None:
    if isinstance(column, Membership):
        raise TypeError(f"a membership attribute supports only `in`, not `{operator}`")


def _in(column: Any, value: Any) -> Any:
    if isinstance(column, Membership):
        return column.holds(value)
    return _DEFAULT_OPERATORS["in"](column, value)


def _is_id(column: Any) -> bool:
    return isinstance(getattr(column, "type", None), Uuid)


def _eq(column: Any, value: Any) -> Any:
    _only_in(column, "==")
    if value == "" and _is_id(column):
        return column.is_(None)
    return _DEFAULT_OPERATORS["eq"](column, value)


def _ne(column: Any, value: Any) -> Any:
    _only_in(column, "!=")
    if value == "" and _is_id(column):
        return column.is_not(None)
    return _DEFAULT_OPERATORS["ne"](column, value)


def plan_condition(
    plan: PlanResourcesResponse,
    table: Table,
    columns: dict[str, Any],
    joins: list[tuple[Any, Any]] | None = None,
) -> ColumnElement[bool]:
    """The SQL condition equivalent to `plan` on `table` (always-false for a denial).
    `columns` maps plan attributes (`request.resource.attr.x`, `request.resource.id`) to
    columns; `joins` are the tables those columns need, with their join conditions."""
    query = get_query(
        plan, table, columns, joins, operator_override_fns={"eq": _eq, "ne": _ne, "in": _in}
    )
    return true() if query.whereclause is None else query.whereclause


def disjuncts(condition: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    """The branches of a disjunctive condition (one branch if it is not one): a list may
    read each branch in index order and merge them (see referrals' `page_statement`)."""
    if isinstance(condition, BooleanClauseList) and condition.operator is operators.or_:
        return list(condition.clauses)
    return [condition]
