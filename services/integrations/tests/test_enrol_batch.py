"""ENROL record uploads: streamed files, every row validated, good rows applied, every bad
row reported with its line number and all its reasons; only changes are published, so the
same file twice publishes nothing more."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from acms_contracts import topics
from acms_contracts.vocabulary import Role
from acms_integrations import jobs
from acms_integrations.tables import enrolments
from acms_platform.testing.accounts import known_account
from acms_platform.testing.plugin import student_key_for_test as student_key_for_nsn

from .feed import new_nsn
from .uploads import (
    AS_OF,
    ENROL_HEADER,
    chunks,
    csv_file,
    enrol_line,
    events_for,
    jsonl,
    new_job,
    rejections,
    upload,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _held(world, nsn):
    async with world.runtime.database.transaction() as session:
        statement = select(enrolments).where(enrolments.c.student_key == student_key_for_nsn(nsn))
        return (await session.execute(statement)).first()


async def test_a_file_records_every_student_and_publishes_each_once_keyed_by_student(world):
    nsns = [new_nsn() for _ in range(3)]
    data = csv_file(ENROL_HEADER, *(enrol_line(world, n, "school_a") for n in nsns))
    job = await upload(world, "enrol", data)
    assert job["status"] == "completed"
    assert (job["rows_read"], job["applied"], job["rejected"]) == (3, 3, 0)
    assert job["bytes_received"] == len(data) and len(job["sha256"]) == 64
    held = await _held(world, nsns[0])
    assert (held.school_id, held.year_level, held.student_type) == (world.orgs["school_a"], 9, "RE")
    key, envelope = (await events_for(world, topics.ENROLMENTS, nsns[0]))[0]
    assert key == student_key_for_nsn(nsns[0])
    assert envelope["payload"]["year_level"] == 9
    assert nsns[0] not in str(envelope) and "leaving_reason" not in envelope["payload"]


async def test_the_same_file_twice_applies_and_publishes_nothing_more(world):
    nsn = new_nsn()
    data = csv_file(ENROL_HEADER, enrol_line(world, nsn, "school_a"))
    first = await upload(world, "enrol", data)
    again = await upload(world, "enrol", data)
    assert first["applied"] == 1
    assert (again["applied"], again["unchanged"], again["sha256"]) == (0, 1, first["sha256"])
    assert len(await events_for(world, topics.ENROLMENTS, nsn, enough=2)) == 1


async def test_a_later_file_publishes_only_the_students_whose_record_changed(world):
    moved, promoted, same = new_nsn(), new_nsn(), new_nsn()
    lines = [enrol_line(world, n, "school_a") for n in (moved, promoted, same)]
    await upload(world, "enrol", csv_file(ENROL_HEADER, *lines))
    later = AS_OF + timedelta(days=1)
    lines = [
        enrol_line(world, moved, "school_b"),
        enrol_line(world, promoted, "school_a", year=10),
        enrol_line(world, same, "school_a"),
    ]
    job = await upload(world, "enrol", csv_file(ENROL_HEADER, *lines), as_of=later)
    assert (job["applied"], job["unchanged"]) == (2, 1)
    assert len(await events_for(world, topics.ENROLMENTS, same, enough=2)) == 1
    found = await events_for(world, topics.ENROLMENTS, moved, enough=2)
    assert [e["payload"]["school_id"] for _, e in found][-1] == str(world.orgs["school_b"])
    assert (await _held(world, same)).as_of == later


async def test_a_student_who_left_is_published_enrolled_nowhere(world):
    nsn = new_nsn()
    line = enrol_line(world, nsn, "school_a", left="2026-02-20")
    await upload(world, "enrol", csv_file(ENROL_HEADER, line))
    _, envelope = (await events_for(world, topics.ENROLMENTS, nsn))[0]
    assert envelope["payload"]["school_id"] is None
    assert envelope["payload"]["effective_on"] == "2026-02-20"
    held = await _held(world, nsn)
    assert (held.record_school_id, held.leaving_reason) == (world.orgs["school_a"], "Left NZ")


async def test_an_older_file_arriving_late_changes_nothing(world):
    nsn = new_nsn()
    await upload(world, "enrol", csv_file(ENROL_HEADER, enrol_line(world, nsn, "school_b")))
    old = AS_OF - timedelta(days=3)
    job = await upload(
        world, "enrol", csv_file(ENROL_HEADER, enrol_line(world, nsn, "school_a")), as_of=old
    )
    assert (job["applied"], job["stale"]) == (0, 1)
    assert (await _held(world, nsn)).school_id == world.orgs["school_b"]


async def test_every_bad_row_is_reported_with_its_line_and_all_reasons_and_good_rows_kept(world):
    """The issue's case: 100 rows, three bad. All three are reported at once, one of them
    with all of its reasons; the 97 good rows are applied."""
    nsns = [new_nsn() for _ in range(100)]
    lines = [enrol_line(world, n, "school_a") for n in nsns]
    lines[9] = f"12345,{world.orgs['school_a']},RE,9,2026-02-02,,"  # line 11: bad NSN
    lines[49] = f"{nsns[49]},not-a-school,RE,99,2099-01-01,,"  # line 51: four problems
    lines[89] = f"{nsns[89]},{world.orgs['school_a']},RE,9,2026-02-02"  # line 91: short
    job = await upload(world, "enrol", csv_file(ENROL_HEADER, *lines))
    assert (job["rows_read"], job["applied"], job["rejected"]) == (100, 97, 3)
    report = await rejections(world, "enrol", job["id"])
    assert [line for line, _ in report] == [11, 51, 91]
    assert "nsn: must be 9 or 10 digits" in report[0][1]
    for reason in ("school_id: must be a UUID", "year_level:", "enrolled_on: is in the future"):
        assert reason in report[1][1]
    assert report[2][1] == "has 5 fields; the header names 7"
    assert nsns[49] not in str(report), "the report names lines and reasons, not values"
    assert await _held(world, nsns[49]) is None and await _held(world, nsns[50]) is not None


async def test_json_lines_are_validated_the_same_way(world):
    good, bad = new_nsn(), new_nsn()
    row = {
        "nsn": good,
        "school_id": str(world.orgs["school_b"]),
        "student_type": "RE",
        "year_level": 3,
        "enrolled_on": "2026-02-02",
        "left_on": None,
        "leaving_reason": None,
    }
    data = jsonl(row, {**row, "nsn": bad, "left_on": "2026-01-01", "colour": "red"})
    data += b"not json\n"
    job = await upload(world, "enrol", data, fmt="jsonl")
    assert (job["applied"], job["rejected"]) == (1, 2)
    report = dict(await rejections(world, "enrol", job["id"]))
    assert "unknown fields: 'colour'" in report[2] and "left_on: is before" in report[2]
    assert "leaving_reason: given if and only if left_on is" in report[2]
    assert report[3] == "is not JSON"
    assert (await _held(world, good)).year_level == 3


async def test_a_file_without_the_columns_is_422_and_the_job_failed(world):
    job = (await new_job(world, "enrol")).json()
    response = await world.client.put(
        f"/enrol/batches/{job['id']}/file",
        content=b"nsn,school\n123456789,x\n",
        headers=world.as_("enrol_feed"),
    )
    assert response.status_code == 422, response.text
    assert "missing columns" in response.json()["detail"]
    after = await world.client.get(f"/enrol/batches/{job['id']}", headers=world.as_("enrol_feed"))
    assert after.json()["status"] == "failed" and "header" in after.json()["failure"]


async def test_a_job_takes_one_file(world):
    data = csv_file(ENROL_HEADER, enrol_line(world, new_nsn(), "school_a"))
    job = (await new_job(world, "enrol")).json()
    url = f"/enrol/batches/{job['id']}/file"
    first = await world.client.put(url, content=chunks(data), headers=world.as_("enrol_feed"))
    second = await world.client.put(url, content=data, headers=world.as_("enrol_feed"))
    assert first.status_code == 200 and second.status_code == 409


@pytest.mark.parametrize(
    "who", ["admin", "investigator", "leader_a", "enrol_person", "agency_client"]
)
async def test_only_the_ministry_feed_client_uploads(world, who):
    assert (await new_job(world, "enrol", who=who)).status_code == 403
    job = (await new_job(world, "enrol")).json()
    for method, path in (
        ("PUT", f"/enrol/batches/{job['id']}/file"),
        ("GET", f"/enrol/batches/{job['id']}"),
        ("GET", f"/enrol/batches/{job['id']}/rejections"),
    ):
        response = await world.client.request(method, path, content=b"x", headers=world.as_(who))
        assert response.status_code == 403, (method, path, response.text)
    still = await world.client.get(f"/enrol/batches/{job['id']}", headers=world.as_("enrol_feed"))
    assert still.json()["status"] == "awaiting_file"


async def test_another_feed_clients_job_is_not_found(world):
    other = await known_account(
        world.client.app, world.signer, [Role.ENROL_FEED],
        organisation_id=world.orgs["ministry"], is_service=True,
    )  # fmt: skip
    job = (await new_job(world, "enrol")).json()
    headers = {"authorization": f"Bearer {other.token}"}
    for method, path in (
        ("GET", f"/enrol/batches/{job['id']}"),
        ("GET", f"/enrol/batches/{job['id']}/rejections"),
        ("PUT", f"/enrol/batches/{job['id']}/file"),
        ("GET", f"/attendance/batches/{job['id']}"),  # an ENROL job is not an attendance one
    ):
        response = await world.client.request(method, path, content=b"x", headers=headers)
        assert response.status_code == 404, (method, path, response.text)


async def test_a_running_upload_shows_its_progress(world):
    """Counts are committed a chunk at a time: a reader sees the job running, with the
    rows taken so far, while the rest of the file is still on its way."""
    rows = jobs.CHUNK_ROWS + 10
    lines = [enrol_line(world, new_nsn(), "school_a") for _ in range(rows)]
    head = csv_file(ENROL_HEADER, *lines[: jobs.CHUNK_ROWS])
    tail = ("\n".join(lines[jobs.CHUNK_ROWS :]) + "\n").encode()
    job = (await new_job(world, "enrol")).json()
    url, headers = f"/enrol/batches/{job['id']}", world.as_("enrol_feed")
    halfway = asyncio.Event()

    async def body():
        async for chunk in chunks(head, 64 * 1024):
            yield chunk
        yield b""  # the first chunk of rows is complete here: it is applied before this
        halfway.set()
        await asyncio.sleep(0.5)
        yield tail

    put = world.client.put(f"{url}/file", content=body(), headers=headers)
    upload_task = asyncio.create_task(put)
    await halfway.wait()
    while (during := (await world.client.get(url, headers=headers)).json())["rows_read"] == 0:
        await asyncio.sleep(0.05)
    assert during["status"] == "running" and during["rows_read"] == jobs.CHUNK_ROWS
    done = (await upload_task).json()
    assert (done["status"], done["rows_read"], done["applied"]) == ("completed", rows, rows)
