"""Documents and media on a case: streamed round trip, type from the content (415), size
limit (413), SHA-256 checked on download (503), who may upload (ACCESS-MODEL 5), the
visibility matrix of documents by tier (sections 3 and 4), versions, and the sweeper."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from sqlalchemy import select

from acms_cases import documents as use_cases
from acms_cases.document_tables import case_document_versions as versions

from .documents_kit import (
    blob_files,
    document_rows,
    docx,
    executable,
    pdf,
    pieces,
    png,
    text,
    upload,
    upload_path,
    wav,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
OUTCOME = {"outcome_category": "attending_regularly", "outcome_text": "Attending daily again"}


async def _case(world, **kwargs) -> str:
    return str((await world.open_case(**kwargs))["id"])


async def test_a_streamed_upload_downloads_byte_for_byte_with_its_sha256(world):
    case_id = await _case(world)
    data = pdf(3 * 1024 * 1024 + 17)
    sent = await world.client.post(
        upload_path(case_id, "scan.dat"),
        content=pieces(data),
        headers=world.as_("case_manager_a"),
    )
    assert sent.status_code == 201, sent.text
    document = sent.json()
    assert document["media_type"] == "application/pdf", "decided from the content"
    assert document["filename"] == "scan.dat"
    assert document["size_bytes"] == len(data)
    assert document["sha256"] == hashlib.sha256(data).hexdigest()
    got = await world.client.get(
        f"/cases/{case_id}/documents/{document['id']}/content", headers=world.as_("asp_lead_a")
    )
    assert got.status_code == 200, got.text
    assert got.content == data
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-length"] == str(len(data))
    assert got.headers["repr-digest"].startswith("sha-256=:")
    assert "scan.dat" in got.headers["content-disposition"]
    temporary, _ = blob_files(world)
    assert temporary == [], "a committed upload leaves no temporary blob"


@pytest.mark.parametrize(
    ("make", "media_type"),
    [
        (png, "image/png"),
        (docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (text, "text/plain"),
        (wav, "audio/wav"),
    ],
)
async def test_each_allowed_kind_is_typed_from_its_content(world, make, media_type):
    case_id = await _case(world)
    sent = await upload(world, "case_manager_a", case_id, make(), "file.bin")
    assert sent.status_code == 201, sent.text
    assert sent.json()["media_type"] == media_type


async def test_an_executable_named_pdf_is_415_naming_its_type_and_leaves_nothing(world):
    case_id = await _case(world)
    refused = await upload(world, "case_manager_a", case_id, executable(), "report.pdf")
    assert refused.status_code == 415, refused.text
    assert "ELF" in refused.json()["detail"], "names what it found"
    assert "application/x-" in refused.json()["detail"]
    assert await document_rows(world, case_id) == 0
    assert blob_files(world)[0] == [], "no temporary blob left"


async def test_a_zip_that_is_no_office_file_is_415(world):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.txt", "not a document")
    case_id = await _case(world)
    refused = await upload(world, "case_manager_a", case_id, out.getvalue(), "letter.docx")
    assert refused.status_code == 415
    assert "application/zip" in refused.json()["detail"]


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_file_past_the_document_limit_is_413_and_leaves_nothing(
    world, monkeypatch, streamed
):
    monkeypatch.setattr(world.runtime.settings, "document_max_bytes", 1024 * 1024)
    case_id = await _case(world)
    data = pdf(1024 * 1024 + 1)
    body = pieces(data) if streamed else data  # chunked, or with a Content-Length
    refused = await world.client.post(
        upload_path(case_id, "big.pdf"), content=body, headers=world.as_("case_manager_a")
    )
    assert refused.status_code == 413, refused.text
    assert "1 MiB" in refused.json()["detail"]
    assert await document_rows(world, case_id) == 0
    assert blob_files(world)[0] == []


async def test_an_empty_file_is_422(world):
    case_id = await _case(world)
    refused = await upload(world, "case_manager_a", case_id, b"", "empty.pdf")
    assert refused.status_code == 422


async def test_content_changed_in_the_store_is_503_not_sent(world):
    case_id = await _case(world)
    document = (await upload(world, "case_manager_a", case_id, pdf(), "a.pdf")).json()
    async with world.runtime.database.transaction() as session:
        key = await session.scalar(
            select(versions.c.blob_key).where(versions.c.document_id == document["id"])
        )
    path = world.client.app.state.blob_store.root / key
    path.write_bytes(path.read_bytes()[:-1] + b"X")  # one byte changed on disk
    got = await world.client.get(
        f"/cases/{case_id}/documents/{document['id']}/content", headers=world.as_("asp_lead_a")
    )
    assert got.status_code == 503
    assert "SHA-256" in got.json()["detail"]
    assert b"%PDF" not in got.content
    path.unlink()  # gone altogether: the same answer
    gone = await world.client.get(
        f"/cases/{case_id}/documents/{document['id']}/content", headers=world.as_("asp_lead_a")
    )
    assert gone.status_code == 503


# --- Who may upload (ACCESS-MODEL 5) --------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("case_manager_a", 201),
        ("asp_lead_a", 201),
        ("leader_a", 201),
        ("office_a", 201),
        ("teacher_a", 201),  # the primary contact
        ("teacher_a2", 404),  # school staff who are not the primary contact
        ("case_manager_a2", 404),  # another case manager of the same ASP
        ("leader_b", 404),
        ("asp_lead_b", 404),
        ("investigator", 403),  # sees the case in summary, may not add to it
        ("contracts", 403),
    ],
)
async def test_who_may_upload_a_document(world, who, status):
    case_id = await _case(world)
    answer = await upload(world, who, case_id, text(), "note.txt")
    assert answer.status_code == status, answer.text
    assert await document_rows(world, case_id) == (1 if status == 201 else 0)


async def test_a_schools_upload_goes_to_the_provider_not_back_to_the_school(world):
    case_id = await _case(world)
    sent = await upload(world, "leader_a", case_id, text(), "from-school.txt")
    assert sent.status_code == 201
    listed = await world.client.get(f"/cases/{case_id}/documents", headers=world.as_("leader_a"))
    assert listed.json() == []
    provider = await world.client.get(
        f"/cases/{case_id}/documents", headers=world.as_("case_manager_a")
    )
    assert [d["filename"] for d in provider.json()] == ["from-school.txt"]


@pytest.mark.parametrize("flag", ["sensitive", "shared"])
async def test_only_the_provider_labels_a_document(world, flag):
    case_id = await _case(world)
    refused = await upload(world, "leader_a", case_id, text(), "x.txt", **{flag: True})
    assert refused.status_code == 403
    assert await document_rows(world, case_id) == 0


async def test_a_sensitive_document_cannot_be_shared(world):
    case_id = await _case(world)
    refused = await upload(
        world, "case_manager_a", case_id, text(), "x.txt", sensitive=True, shared=True
    )
    assert refused.status_code == 422
    assert "sensitive" in refused.json()["detail"]


async def test_uploading_to_a_closed_case_is_409_naming_its_state(world):
    case_id = await _case(world)
    closed = await world.client.post(
        f"/cases/{case_id}/close", json=OUTCOME, headers=world.as_("case_manager_a")
    )
    assert closed.status_code == 200
    for who in ("case_manager_a", "leader_a"):
        refused = await upload(world, who, case_id, pdf(), "late.pdf")
        assert refused.status_code == 409, refused.text
        assert refused.json()["current_status"] == "closed"
        assert "closed" in refused.json()["detail"]
    assert await document_rows(world, case_id) == 0


# --- Visibility of documents by tier (ACCESS-MODEL 3 and 4) ----------------------------

# Who sees which of a plain, a shared and a sensitive document; 403 sees the case but no
# content tier; 404 does not see the case.
MATRIX = [
    ("case_manager_a", {"plain", "shared", "sensitive"}),
    ("asp_lead_a", {"plain", "shared", "sensitive"}),
    ("leader_a", {"shared"}),
    ("teacher_a", {"shared"}),
    ("office_a", 403),
    ("investigator", 403),
    ("contract_manager", 403),
    ("case_manager_a2", 404),
    ("teacher_a2", 404),
    ("leader_b", 404),
    ("asp_lead_b", 404),
    ("isp_lead_a", 404),
    ("prosecutor", 404),
]


@pytest.fixture(scope="module")
def labelled():
    return {}


async def _labelled_case(world, labelled) -> tuple[str, dict[str, str]]:
    if not labelled:
        case_id = await _case(world)
        ids = {}
        for name, flags in (("plain", {}), ("shared", {"shared": True}), ("sensitive", {})):
            if name == "sensitive":
                flags = {"sensitive": True}
            sent = await upload(world, "case_manager_a", case_id, text(), f"{name}.txt", **flags)
            assert sent.status_code == 201, sent.text
            ids[name] = sent.json()["id"]
        labelled.update(case_id=case_id, ids=ids)
    return labelled["case_id"], labelled["ids"]


@pytest.mark.parametrize(("who", "sees"), MATRIX)
async def test_documents_are_seen_exactly_at_the_granted_tiers(world, labelled, who, sees):
    case_id, ids = await _labelled_case(world, labelled)
    listed = await world.client.get(f"/cases/{case_id}/documents", headers=world.as_(who))
    for name, document_id in ids.items():
        got = await world.client.get(
            f"/cases/{case_id}/documents/{document_id}/content", headers=world.as_(who)
        )
        if isinstance(sees, int):
            assert got.status_code == sees, (name, got.text)
        else:
            assert got.status_code == (200 if name in sees else 404), (name, got.text)
    if isinstance(sees, int):
        assert listed.status_code == sees
    else:
        assert listed.status_code == 200
        assert {d["filename"].removesuffix(".txt") for d in listed.json()} == sees


# --- Versions --------------------------------------------------------------------------


async def test_a_revised_file_is_a_new_version_and_the_first_is_kept(world):
    case_id = await _case(world)
    first = (await upload(world, "case_manager_a", case_id, pdf(), "plan.pdf")).json()
    path = f"/cases/{case_id}/documents/{first['id']}/versions"
    revised = await world.client.post(
        f"{path}?filename=plan-v2.pdf&version=1&shared=true",
        content=png(),
        headers=world.as_("case_manager_a"),
    )
    assert revised.status_code == 201, revised.text
    assert revised.json()["version"] == 2
    stale = await world.client.post(
        f"{path}?filename=plan-v3.pdf&version=1",
        content=png(),
        headers=world.as_("case_manager_a"),
    )
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    provider = await world.client.get(
        f"/cases/{case_id}/documents", headers=world.as_("case_manager_a")
    )
    (document,) = provider.json()
    assert [v["filename"] for v in document["history"]] == ["plan.pdf", "plan-v2.pdf"]
    old = await world.client.get(
        f"/cases/{case_id}/documents/{first['id']}/content?version=1",
        headers=world.as_("case_manager_a"),
    )
    assert old.content == pdf()
    # The school sees the shared version only, not the earlier one.
    school = await world.client.get(f"/cases/{case_id}/documents", headers=world.as_("leader_a"))
    assert [v["version"] for v in school.json()[0]["history"]] == [2]
    hidden = await world.client.get(
        f"/cases/{case_id}/documents/{first['id']}/content?version=1",
        headers=world.as_("leader_a"),
    )
    assert hidden.status_code == 404
    school_revision = await world.client.post(
        f"{path}?filename=x.pdf&version=2", content=png(), headers=world.as_("leader_a")
    )
    assert school_revision.status_code == 403


# --- The sweeper -----------------------------------------------------------------------


async def test_the_sweeper_deletes_orphans_and_finishes_committed_uploads(world, monkeypatch):
    store = world.client.app.state.blob_store
    case_id = await _case(world)
    document = (await upload(world, "case_manager_a", case_id, pdf(), "a.pdf")).json()
    # As if killed between the rows' commit and the blob's: its blob back to temporary.
    async with world.runtime.database.transaction() as session:
        key = await session.scalar(
            select(versions.c.blob_key).where(versions.c.document_id == document["id"])
        )
    name = key.removeprefix("blobs/")
    (store.root / key).rename(store.root / "tmp" / name)
    (store.root / "tmp" / "0123456789abcdef").write_bytes(b"half an upload")  # no row
    monkeypatch.setattr(world.runtime.settings, "document_sweep_minutes", 0)
    deleted, committed = await use_cases.sweep(world.runtime, store)
    assert (deleted, committed) == (1, 1)
    assert blob_files(world)[0] == []
    got = await world.client.get(
        f"/cases/{case_id}/documents/{document['id']}/content", headers=world.as_("asp_lead_a")
    )
    assert got.status_code == 200 and got.content == pdf()


async def test_the_sweeper_leaves_an_upload_still_being_written(world, monkeypatch):
    store = world.client.app.state.blob_store
    (store.root / "tmp" / "fedcba9876543210").write_bytes(b"arriving")
    monkeypatch.setattr(world.runtime.settings, "document_sweep_minutes", 5)
    assert await use_cases.sweep(world.runtime, store) == (0, 0)
    (store.root / "tmp" / "fedcba9876543210").unlink()
