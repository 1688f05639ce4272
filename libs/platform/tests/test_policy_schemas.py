"""The attribute check `deploy/cerbos.sh compile` runs after `cerbos compile`
(acms_platform.testing.policy_schemas): what Cerbos lets through is caught here."""

from __future__ import annotations

from pathlib import Path

import pytest

from acms_platform.testing.pdp import assemble_policies
from acms_platform.testing.policy_schemas import check


@pytest.fixture
def root(tmp_path) -> Path:
    return assemble_policies(tmp_path / "policies")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_the_policies_and_their_fixtures_fit_the_schemas(root):
    assert check(root) == []


def test_a_misspelt_resource_attribute_in_a_condition_fails(root):
    # `cerbos compile` accepts this: the rule would silently match nothing
    edit(
        root / "referrals" / "referral.yaml",
        "R.attr.school_id == P.attr.org_id",
        "R.attr.shcool_id == P.attr.org_id",
    )
    assert check(root) == [
        "referrals/referral.yaml: R.attr.shcool_id is not in _schemas/referral.json"
    ]


def test_a_misspelt_principal_attribute_or_bracket_form_fails(root):
    edit(
        root / "cases" / "case.yaml",
        "P.attr.monitored_asp_ids",
        "request.principal.attr.monitored_asps",
    )
    edit(
        root / "cases" / "case.yaml", "R.attr.prosecution_notified", 'R.attr["prosecution_notifed"]'
    )
    assert check(root) == [
        "cases/case.yaml: P.attr.monitored_asps is not in _schemas/principal.json",
        "cases/case.yaml: R.attr.prosecution_notifed is not in _schemas/case.json",
    ]


def test_a_derived_role_is_checked_against_every_kind_importing_it(root):
    edit(
        root / "integrations" / "case_team.yaml",
        "R.attr.case_manager_id == P.id",
        "R.attr.manager_id == P.id",
    )
    problems = check(root)
    assert sorted(problems) == [
        f"integrations/case_team.yaml: R.attr.manager_id is not in _schemas/{kind}.json"
        f" (imported by {kind})"
        for kind in ("consent", "share")
    ]


def test_a_fixture_that_does_not_fit_fails_even_where_the_suite_expects_deny(root):
    data = root / "cases" / "tests" / "testdata"
    edit(data / "resources.yaml", "prosecution_notified: true", "prosecution_notifed: true")
    edit(data / "principals.yaml", "org_type: asp}", "org_type: ASP}")
    problems = check(root)
    assert any("notified_a (case): /: Additional properties" in p for p in problems), problems
    assert any("principal asp_lead_a: /org_type:" in p for p in problems), problems


def test_a_resource_policy_without_its_schemas_fails(root):
    edit(
        root / "retention" / "audit_trail.yaml",
        "ref: cerbos:///audit_trail.json",
        "ref: cerbos:///trail.json",
    )
    assert check(root) == [
        "retention/audit_trail.yaml: schemas.resourceSchema is 'cerbos:///trail.json', "
        "not cerbos:///audit_trail.json"
    ]
