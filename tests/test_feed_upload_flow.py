"""End to end through the gateway: an ENROL file larger than the gateway's 1 MiB body
limit is streamed to integrations on the upload route (and only there), its job followed
to the end, and its rejected rows downloaded."""

from __future__ import annotations

import csv
import io
import random
import time
import uuid
from datetime import UTC, datetime

from acms_platform.testing.flows import enrol_feed_headers

HEADER = "nsn,school_id,student_type,year_level,enrolled_on,left_on,leaving_reason\n"


def _upload(gateway, feed, body) -> dict:
    as_of = datetime.now(UTC).isoformat()
    job = gateway.post("/api/integrations/enrol/batches", json={"format": "csv", "as_of": as_of},
                       headers=feed)  # fmt: skip
    assert job.status_code == 201, job.text
    response = gateway.put(
        f"/api/integrations/enrol/batches/{job.json()['id']}/file",
        content=body,
        headers={**feed, "content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_an_enrol_file_above_a_mebibyte_streams_through_the_gateway(system, gateway):
    admin = system.admin_headers()
    school = gateway.post(
        "/api/identity/organisations",
        json={"org_type": "school", "name": f"Tōtara School {uuid.uuid4().hex[:6]}",
              "region": "Otago"},
        headers=admin,
    ).json()["id"]  # fmt: skip
    feed = enrol_feed_headers(gateway, admin)
    first = 900_000_000 + random.randint(0, 9_000_000) * 10

    def line(i: int) -> str:
        return f"{first + i},{school},RE,{i % 14},2026-02-02,,\n"

    deadline = time.monotonic() + 240  # until integrations has projected the new school
    while _upload(gateway, feed, (HEADER + line(0)).encode())["applied"] != 1:
        assert time.monotonic() < deadline, "integrations never learnt the school"
        time.sleep(1)
    rows = 30_000
    body = (HEADER + "".join(line(i) for i in range(rows)) + "12,nowhere,RE,1,x,,\n").encode()
    assert len(body) > 1024 * 1024
    job = _upload(gateway, feed, body)
    assert job["status"] == "completed"
    assert (job["rows_read"], job["applied"], job["unchanged"], job["rejected"]) == (
        rows + 1, rows - 1, 1, 1,
    )  # fmt: skip
    report = gateway.get(f"/api/integrations/enrol/batches/{job['id']}/rejections", headers=feed)
    assert report.status_code == 200
    assert [r[0] for r in csv.reader(io.StringIO(report.text))] == ["line", str(rows + 2)]


def test_the_one_mebibyte_limit_still_holds_everywhere_else(system, gateway):
    response = gateway.post(
        "/api/integrations/enrol/changes",
        content=b"{" + b" " * (1024 * 1024 + 10) + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
