"""ACCESS-MODEL 3 for a case's items, as plain rules (no I/O): which tiers read an item,
and what labelling and sharing may do."""

from __future__ import annotations

import pytest

from acms_cases import domain
from acms_cases.content_schemas import ItemKind
from acms_cases.domain import LabelRefused, Labels

PLAIN, SENSITIVE, SHARED = Labels(False, False), Labels(True, False), Labels(False, True)


@pytest.mark.parametrize("kind", list(ItemKind))
def test_a_sensitive_item_of_any_kind_is_read_only_with_the_sensitive_tier(kind):
    assert domain.readable_with(kind, SENSITIVE) == {"sensitive"}
    assert domain.entry_tier(kind, SENSITIVE) == "sensitive"


def test_a_shared_item_is_read_by_the_school_as_shared_and_by_the_provider_as_full():
    assert domain.readable_with(ItemKind.NOTE, SHARED) == {"shared", "full"}
    assert domain.readable_with(ItemKind.NOTE, PLAIN) == {"full"}
    assert domain.entry_tier(ItemKind.COMMENT, SHARED) == "shared"


def test_the_support_plan_is_its_own_tier():
    assert domain.readable_with(ItemKind.SUPPORT_PLAN, PLAIN) == {"support_plan"}


def test_labelling_a_shared_item_sensitive_withdraws_the_share():
    assert domain.labelled(SHARED, True) == SENSITIVE
    assert domain.labelled(SENSITIVE, False) == PLAIN  # the share does not come back


def test_a_sensitive_item_is_never_shared_and_says_why():
    with pytest.raises(LabelRefused, match="sensitive"):
        domain.shared(ItemKind.NOTE, SENSITIVE, True)


@pytest.mark.parametrize(
    "kind", [ItemKind.ACTIVITY, ItemKind.SUPPORT_PLAN, ItemKind.CALENDAR_ENTRY]
)
def test_only_notes_and_comments_are_shared(kind):
    with pytest.raises(LabelRefused, match="only notes and comments"):
        domain.shared(kind, PLAIN, True)


def test_a_label_or_share_that_changes_nothing_is_refused():
    with pytest.raises(LabelRefused):
        domain.labelled(SENSITIVE, True)
    with pytest.raises(LabelRefused):
        domain.shared(ItemKind.NOTE, SHARED, True)


def test_who_may_read_a_kind_at_all():
    assert domain.may_read_kind(ItemKind.NOTE, {"shared"})
    assert not domain.may_read_kind(ItemKind.ACTIVITY, {"shared", "support_plan"})
    assert domain.may_read_kind(ItemKind.SUPPORT_PLAN, {"support_plan"})
    assert not domain.may_read_kind(ItemKind.NOTE, {"basic", "summary"})
