"""Which tier of a case an item belongs to (ACCESS-MODEL 3), and the rules of labelling and
sharing, as plain functions of an item's kind and labels (no I/O: unit-tested alone)."""

from __future__ import annotations

from dataclasses import dataclass

from acms_cases.content_schemas import ItemKind

# The kinds the assigned case manager may share with the school (documents will join).
SHAREABLE = frozenset({ItemKind.NOTE, ItemKind.COMMENT})
# Comments are the school's conversation with the provider: shared from the start.
SHARED_FROM_THE_START = frozenset({ItemKind.COMMENT})


class LabelRefused(ValueError):
    """A label or share that the rules refuse; the message says why."""


@dataclass(frozen=True)
class Labels:
    sensitive: bool
    shared: bool


def readable_with(kind: ItemKind | str, labels: Labels) -> frozenset[str]:
    """The tiers any one of which lets a reader see an item at these labels: a sensitive
    item only with `sensitive`; the support plan with `support_plan`; an item shared with
    the school with `shared` (the school) or `full` (the provider); else `full`."""
    if labels.sensitive:
        return frozenset({"sensitive"})
    if kind == ItemKind.SUPPORT_PLAN:
        return frozenset({"support_plan"})
    if labels.shared:
        return frozenset({"shared", "full"})
    return frozenset({"full"})


def entry_tier(kind: ItemKind | str, labels: Labels) -> str:
    """The tier of a timeline entry about an item at these labels: the narrowest tier its
    readers all hold (a sensitive item's entries are `sensitive`)."""
    if labels.sensitive:
        return "sensitive"
    if kind == ItemKind.SUPPORT_PLAN:
        return "support_plan"
    if labels.shared:
        return "shared"
    return "full"


def may_read_kind(kind: ItemKind, tiers: set[str]) -> bool:
    """Whether any item of this kind could be visible with these tiers."""
    possible = {"sensitive", *readable_with(kind, Labels(False, False))}
    if kind in SHAREABLE:
        possible.add("shared")
    return bool(possible & tiers)


def labelled(labels: Labels, sensitive: bool) -> Labels:
    """The labels after setting or removing the sensitive label: a shared item labelled
    sensitive is no longer shared (ACCESS-MODEL 3)."""
    if labels.sensitive == sensitive:
        state = "labelled sensitive" if sensitive else "not labelled sensitive"
        raise LabelRefused(f"the item is already {state}")
    return Labels(sensitive=sensitive, shared=labels.shared and not sensitive)


def shared(kind: ItemKind | str, labels: Labels, share: bool) -> Labels:
    """The labels after sharing with the school or withdrawing the share. A sensitive item
    is never shared (ACCESS-MODEL 3); only notes and comments are shared (documents
    later)."""
    if share and labels.sensitive:
        raise LabelRefused(
            "the item is labelled sensitive: a sensitive item is never shared with the "
            "school (remove the label first)"
        )
    if share and kind not in SHAREABLE:
        raise LabelRefused(f"a {kind} is not shared with the school: only notes and comments")
    if labels.shared == share:
        raise LabelRefused(f"the item is already {'' if share else 'not '}shared with the school")
    return Labels(sensitive=labels.sensitive, shared=share)
