"""Use cases of a case's content items: notes, correspondence, activities, calendar entries,
the support plan and comments, all on one versioned item model (ACCESS-MODEL 9: an edit,
a label or a share is a new version; no version is changed or removed).

Who sees an item is decided by the case's tiers (`domain.readable_with`): an item, and
each version in its history, is answered only to a caller granted a tier that reads it.
An item the caller may not see is 404 for reads and writes alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.engine import Row

from acms_cases import documents, domain, repository
from acms_cases.content_schemas import (
    MODELS,
    TEXT_FIELDS,
    Content,
    ItemKind,
    ItemReceipt,
    ItemVersion,
    Label,
    Share,
    SupportPlanView,
    WriteSupportPlan,
)
from acms_cases.context import CASE, TIER_ACTIONS, Context, StaleVersion
from acms_cases.domain import Labels
from acms_contracts.cases import (
    CaseItemLabelledSensitive,
    CaseItemSensitiveLabelRemoved,
    CaseItemSharedWithSchool,
    CaseItemShareWithdrawn,
)
from acms_platform.errors import Conflict, Forbidden, Invalid, NotFound

NAMES = {
    ItemKind.NOTE: "note",
    ItemKind.CORRESPONDENCE: "correspondence",
    ItemKind.ACTIVITY: "activity",
    ItemKind.CALENDAR_ENTRY: "calendar entry",
    ItemKind.SUPPORT_PLAN: "support plan",
    ItemKind.COMMENT: "comment",
}


class PlanExists(Conflict):
    def __init__(self, current: int) -> None:
        super().__init__(
            f"the case has a support plan already, at version {current}: send that "
            "version to edit it"
        )
        self.current = current

    def body(self) -> dict[str, object]:
        return {"detail": self.detail, "current_version": self.current}


def _labels(version: Row[Any]) -> Labels:
    return Labels(sensitive=version.sensitive, shared=version.shared)


def _readable(kind: str, version: Row[Any], tiers: set[str]) -> bool:
    return bool(domain.readable_with(kind, _labels(version)) & tiers)


def _version(kind: ItemKind, row: Row[Any]) -> ItemVersion:
    version_model, _ = MODELS[kind]
    return version_model.model_validate(
        {
            **row.fields,
            TEXT_FIELDS[kind]: row.text,
            "version": row.version,
            "change": row.change,
            "sensitive": row.sensitive,
            "shared": row.shared,
            "author_id": row.author_id,
            "at": row.at.isoformat(),
        }
    )


def views_of(rows: list[Row[Any]], tiers: set[str]) -> tuple[list[Any], set[str]]:
    """The items among `rows` (every version of each) that these tiers read, each with the
    versions they read; and the tiers that read them (for the audit)."""
    by_item: dict[UUID, list[Row[Any]]] = {}
    for row in rows:
        by_item.setdefault(row.id, []).append(row)
    views: list[Any] = []
    used: set[str] = set()
    for versions in by_item.values():
        current = next(v for v in versions if v.version == v.current_version)
        kind = ItemKind(current.kind)
        if not _readable(kind, current, tiers):
            continue
        visible = [v for v in versions if _readable(kind, v, tiers)]
        for version in visible:
            used |= domain.readable_with(kind, _labels(version)) & tiers
        _, view_model = MODELS[kind]
        views.append(
            view_model.model_validate(
                {
                    **_version(kind, current).model_dump(),
                    "kind": kind.value,  # set, so a response that drops unset fields keeps it
                    "id": str(current.id),
                    "created_by": current.created_by,
                    "created_at": current.created_at.isoformat(),
                    "history": [_version(kind, v) for v in visible],
                }
            )
        )
    return views, used


# --- Reading -------------------------------------------------------------------------


async def _reader(ctx: Context, case_id: UUID, kind: ItemKind | None) -> tuple[Row[Any], set[str]]:
    """The case (404 unless visible) and the caller's tiers; 403 for a caller who sees the
    case but no item of this kind could be theirs to read."""
    row = await ctx.load(case_id)
    tiers = set((await ctx.authorise(row)).tiers)
    if kind is not None and not domain.may_read_kind(kind, tiers):
        ctx.access.denied(CASE, row.id, TIER_ACTIONS["full"], row.student_key, "not_allowed")
        raise Forbidden(f"not allowed to read the {NAMES[kind]} items of this case")
    return row, tiers


def _returned(ctx: Context, row: Row[Any], used: set[str]) -> None:
    tiers = [t for t in TIER_ACTIONS if t in used or t == "basic"]
    ctx.access.returned(CASE, row.id, row.student_key, tiers)


async def list_items(ctx: Context, case_id: UUID, kind: ItemKind) -> list[Any]:
    """The case's items of one kind that the caller may see, oldest first, each with the
    versions the caller may see."""
    row, tiers = await _reader(ctx, case_id, kind)
    rows = await repository.items_with_versions(ctx.session, row.id, kind=kind.value)
    views, used = views_of(rows, tiers)
    _returned(ctx, row, used)
    return views


async def get_item(ctx: Context, case_id: UUID, item_id: UUID) -> Any:
    """One item with its history: 404 unless the caller may see it."""
    row, tiers = await _reader(ctx, case_id, None)
    return await _item_view(ctx, row, item_id, tiers)


async def _item_view(ctx: Context, row: Row[Any], item_id: UUID, tiers: set[str]) -> Any:
    rows = await repository.items_with_versions(ctx.session, row.id, item_id=item_id)
    views, used = views_of(rows, tiers)
    if not views:
        ctx.access.denied(CASE, row.id, "view_item", row.student_key, "not_visible")
        raise NotFound(f"no item {item_id} on this case")
    _returned(ctx, row, used)
    return views[0]


async def support_plan(ctx: Context, case_id: UUID) -> Any:
    row, tiers = await _reader(ctx, case_id, ItemKind.SUPPORT_PLAN)
    item = await repository.support_plan_of(ctx.session, row.id)
    if item is None:
        raise NotFound("no support plan on this case yet")
    return await _item_view(ctx, row, item.id, tiers)


async def case_view_content(
    ctx: Context, row: Row[Any], granted: list[str]
) -> tuple[SupportPlanView | None, list[Any]]:
    """What the case's own view carries: the support plan (if the caller reads it) and the
    items and documents shared with the school (`shared` tier)."""
    tiers = set(granted)
    plan = None
    if domain.may_read_kind(ItemKind.SUPPORT_PLAN, tiers):
        rows = await repository.items_with_versions(ctx.session, row.id, kind="support_plan")
        plans, _ = views_of(rows, tiers)
        plan = plans[0] if plans else None
    shared: list[Any] = []
    if "shared" in tiers:
        for kind in sorted(domain.SHAREABLE):
            rows = await repository.items_with_versions(ctx.session, row.id, kind=kind.value)
            shared.extend(v for v in views_of(rows, tiers)[0] if v.shared)
        # Documents live in their own tables: shared at their current version, exactly as
        # the documents list shows them to these tiers.
        found = await documents.visible_documents(ctx.session, row.id, tiers)
        shared.extend(d for d in found if d.shared)
    return plan, shared


# --- Writing -------------------------------------------------------------------------


async def _write_version(
    ctx: Context,
    row: Row[Any],
    item_id: UUID,
    version: int,
    values: tuple[str, dict[str, Any]],
    labels: Labels,
    change: str,
    at: datetime,
) -> None:
    text, fields = values
    await repository.add_item_version(
        ctx.session,
        {
            "item_id": item_id,
            "version": version,
            "text": text,
            "fields": fields,
            "sensitive": labels.sensitive,
            "shared": labels.shared,
            "change": change,
            "author_id": ctx.actor_id,
            "at": at,
        },
    )
    if version > 1:
        await repository.set_current_version(ctx.session, item_id, version)
    await repository.update(ctx.session, row.id, {"updated_at": at})


async def add(
    ctx: Context,
    case_id: UUID,
    kind: ItemKind,
    content: Content,
    *,
    sensitive: bool = False,
    action: str = "update",
) -> Any:
    """A new item, at version 1. Comments are shared with the school from the start."""
    row, decision = await ctx.active(case_id, action, f"add a {NAMES[kind]} to")
    item_id, _ = await _create(ctx, row, kind, content, sensitive)
    return await _written(ctx, row, item_id, set(decision.tiers))


async def add_comment(ctx: Context, case_id: UUID, content: Content) -> ItemReceipt:
    """A comment by the school side or the provider, shared with the school. The answer
    is a receipt: office support may write comments it may not read back."""
    row, _ = await ctx.active(case_id, "comment", "comment on")
    item_id, at = await _create(ctx, row, ItemKind.COMMENT, content, False)
    return ItemReceipt(id=str(item_id), kind=ItemKind.COMMENT, version=1, at=at.isoformat())


async def _create(
    ctx: Context, row: Row[Any], kind: ItemKind, content: Content, sensitive: bool
) -> tuple[UUID, datetime]:
    at = datetime.now(UTC)
    item_id = uuid4()
    labels = Labels(sensitive, shared=kind in domain.SHARED_FROM_THE_START and not sensitive)
    await repository.add_item(
        ctx.session,
        {
            "id": item_id,
            "case_id": row.id,
            "kind": kind.value,
            "current_version": 1,
            "created_by": ctx.actor_id,
            "created_at": at,
        },
    )
    await _write_version(ctx, row, item_id, 1, content.text_and_fields(), labels, "create", at)
    detail = {"item_id": str(item_id), "kind": kind.value, "version": 1}
    await ctx.record(row, f"{kind.value}_added", domain.entry_tier(kind, labels), at, detail)
    return item_id, at


async def _written(ctx: Context, row: Row[Any], item_id: UUID, tiers: set[str]) -> Any:
    rows = await repository.items_with_versions(ctx.session, row.id, item_id=item_id)
    views, used = views_of(rows, tiers)
    if not views:
        # A writer who may not read what they wrote: refused, and nothing is written.
        raise Forbidden("not allowed to read this item after the change: nothing was written")
    _returned(ctx, row, used)
    return views[0]


async def _editable(
    ctx: Context, row: Row[Any], tiers: set[str], kind: ItemKind | None, item_id: UUID
) -> tuple[Row[Any], Row[Any]]:
    """The item (locked) and its current version: 404 unless it is on the case, of the
    kind, and the caller may see it (a write never tells what a read would not)."""
    item = await repository.get_item(ctx.session, row.id, item_id, lock=True)
    if item is not None and (kind is None or item.kind == kind.value):
        current = await repository.current_version(ctx.session, item.id, item.current_version)
        if _readable(item.kind, current, tiers):
            return item, current
    ctx.access.denied(CASE, row.id, "update_item", row.student_key, "not_visible")
    raise NotFound(f"no {NAMES[kind] if kind else 'item'} {item_id} on this case")


def _fresh(item: Row[Any], expected: int) -> None:
    if expected != item.current_version:
        raise StaleVersion(NAMES[ItemKind(item.kind)], expected, item.current_version)


async def revise(
    ctx: Context,
    case_id: UUID,
    kind: ItemKind,
    item_id: UUID,
    content: Content,
    version: int,
    *,
    action: str = "update",
    authors_only: bool = False,
) -> Any:
    """An edit: a new version of the content, the item's labels kept; every earlier
    version is kept."""
    row, decision = await ctx.active(case_id, action, f"edit a {NAMES[kind]} of")
    tiers = set(decision.tiers)
    item, current = await _editable(ctx, row, tiers, kind, item_id)
    if authors_only and item.created_by != ctx.actor_id:
        raise Forbidden(f"only its author edits a {NAMES[kind]}")
    _fresh(item, version)
    return await _revise(ctx, row, tiers, item, current, content)


async def _revise(
    ctx: Context,
    row: Row[Any],
    tiers: set[str],
    item: Row[Any],
    current: Row[Any],
    content: Content,
) -> Any:
    at = datetime.now(UTC)
    new_version = item.current_version + 1
    labels = _labels(current)
    values = content.text_and_fields()
    await _write_version(ctx, row, item.id, new_version, values, labels, "revise", at)
    detail = {"item_id": str(item.id), "kind": item.kind, "version": new_version}
    await ctx.record(row, f"{item.kind}_revised", domain.entry_tier(item.kind, labels), at, detail)
    return await _written(ctx, row, item.id, tiers)


async def write_support_plan(ctx: Context, case_id: UUID, command: WriteSupportPlan) -> Any:
    """The case's one support plan: without `version` its first version (409 if it has
    one: its version is in the answer), with one an edit of it."""
    row, decision = await ctx.active(case_id, "update", "write the support plan of")
    tiers = set(decision.tiers)
    item = await repository.support_plan_of(ctx.session, row.id, lock=True)
    if command.version is None:
        if item is not None:
            raise PlanExists(item.current_version)
        item_id, _ = await _create(ctx, row, ItemKind.SUPPORT_PLAN, command, False)
        return await _written(ctx, row, item_id, tiers)
    if item is None:
        raise NotFound("no support plan on this case yet: send no version to write the first")
    item, current = await _editable(ctx, row, tiers, ItemKind.SUPPORT_PLAN, item.id)
    _fresh(item, command.version)
    return await _revise(ctx, row, tiers, item, current, command)


# --- Labels: sensitive, and shared with the school (ACCESS-MODEL 3) --------------------


async def _relabel(
    ctx: Context,
    row: Row[Any],
    item: Row[Any],
    current: Row[Any],
    labels: Labels,
    change: str,
) -> datetime:
    at = datetime.now(UTC)
    new_version = item.current_version + 1
    values = (current.text, dict(current.fields))
    await _write_version(ctx, row, item.id, new_version, values, labels, change, at)
    return at


async def label_sensitive(ctx: Context, case_id: UUID, item_id: UUID, command: Label) -> Any:
    """Set or remove the sensitive label (a new version, same content). A shared item
    labelled sensitive is no longer shared with the school."""
    row, decision = await ctx.active(case_id, "label_sensitive", "label an item of")
    tiers = set(decision.tiers)
    item, current = await _editable(ctx, row, tiers, None, item_id)
    _fresh(item, command.version)
    before = _labels(current)
    try:
        after = domain.labelled(before, command.sensitive)
    except domain.LabelRefused as refused:
        raise Invalid("sensitive", str(refused)) from None
    change = "label" if after.sensitive else "unlabel"
    at = await _relabel(ctx, row, item, current, after, change)
    version = item.current_version + 1
    withdrawn = before.shared and not after.shared
    kind = "item_labelled_sensitive" if after.sensitive else "item_sensitive_label_removed"
    detail = {
        "item_id": str(item.id),
        "kind": item.kind,
        "version": version,
        "share_withdrawn": withdrawn,
    }
    await ctx.record(row, kind, domain.entry_tier(item.kind, after), at, detail)
    fields = {**ctx.event_fields(row, at), "item_id": item.id, "item_kind": item.kind}
    event = CaseItemLabelledSensitive if after.sensitive else CaseItemSensitiveLabelRemoved
    await ctx.outbox.add(ctx.session, event(**fields, version=version))
    if withdrawn:
        await ctx.outbox.add(
            ctx.session, CaseItemShareWithdrawn(**fields, version=version, school_id=row.school_id)
        )
    return await _written(ctx, row, item.id, tiers)


async def share_with_school(ctx: Context, case_id: UUID, item_id: UUID, command: Share) -> Any:
    """Share an item with the school, or withdraw the share (a new version, same
    content). A sensitive item is never shared: 422 with the reason."""
    row, decision = await ctx.active(case_id, "share_with_school", "share an item of")
    tiers = set(decision.tiers)
    item, current = await _editable(ctx, row, tiers, None, item_id)
    _fresh(item, command.version)
    try:
        after = domain.shared(item.kind, _labels(current), command.shared)
    except domain.LabelRefused as refused:
        raise Invalid("shared", str(refused)) from None
    at = await _relabel(ctx, row, item, current, after, "share" if after.shared else "unshare")
    version = item.current_version + 1
    kind = "item_shared_with_school" if after.shared else "item_share_withdrawn"
    detail = {"item_id": str(item.id), "kind": item.kind, "version": version}
    await ctx.record(row, kind, domain.entry_tier(item.kind, after), at, detail)
    fields = {**ctx.event_fields(row, at), "item_id": item.id, "item_kind": item.kind}
    if after.shared:
        event: Any = CaseItemSharedWithSchool(
            **fields,
            version=version,
            school_id=row.school_id,
            primary_contact_id=row.primary_contact_id,
        )
    else:
        event = CaseItemShareWithdrawn(**fields, version=version, school_id=row.school_id)
    await ctx.outbox.add(ctx.session, event)
    return await _written(ctx, row, item.id, tiers)
