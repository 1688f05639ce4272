"""Document upload and download through the cases service beside a plain file copy of the
same bytes, and the service's peak memory as the file grows.

    uv run python benchmarks/document_transfer.py --sizes-mb 1 10 100 1000 --runs 3

Method (benchmarks/README.md): the cases service runs as deployed (uvicorn, a process of its
own, local blob store) on a database `bench_cases_documents` at migrations head, a Cerbos
PDP serving cases' policies, Kafka (namespace `bench.`), and a JWKS published here for a
test signing key. One case with its case manager is made through the service's own event
handlers. For each size a file (a PDF header, then random bytes) is written once; each run:
- *copy*: the file copied in 1 MiB reads and writes to a new file, then fsync (what the
  local store does with the bytes, without HTTP);
- *upload*: `POST /cases/{id}/documents` streaming the file in 1 MiB pieces (no
  Content-Length: chunked), until the 201 (typed, hashed, written, fsynced, rows committed);
- *download*: `GET …/content` read to the end and discarded (the service first reads the
  blob once to check its SHA-256, then streams it, hashing again).
The page cache is warm for all three (the file was just written or read). MB/s are 10^6
bytes per second; medians of `--runs`. The service's RSS is sampled from /proc every 20 ms
during each size's transfers: its peak, and the growth over its RSS before the size began.
Needs PostgreSQL, Kafka and Cerbos' binary (`deploy/infra.sh up postgres kafka`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from sqlalchemy import select

from acms_cases.app import SERVICE_ROOT
from acms_cases.handlers import handlers
from acms_cases.tables import cases
from acms_contracts import EventEnvelope
from acms_contracts.identity import AccountCreated, OrganisationRegistered, RoleGranted
from acms_contracts.referrals import ReferralAssigned
from acms_contracts.vocabulary import OrgType, Role
from acms_platform import inbox
from acms_platform.database import Database
from acms_platform.migrations import upgrade_to_head
from acms_platform.settings import Settings, load_settings
from acms_platform.testing.pdp import free_port, private_pdp
from acms_platform.testing.plugin import TEST_STUDENT_KEY_SECRET, create_database
from acms_platform.testing.processes import ServiceProcess
from acms_platform.testing.tokens import TestSigner

DATABASE = "bench_cases_documents"
PIECE = 1024 * 1024
MB = 1_000_000


def jwks_server(signer: TestSigner) -> tuple[ThreadingHTTPServer, str]:
    body = json.dumps(signer.jwks()).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


async def open_case(settings: Settings, signer: TestSigner) -> tuple[str, str]:
    """A school, an ASP, its case manager and an assigned request, through the handlers."""
    database = Database(settings)

    async def deliver(event) -> None:
        _, handler = handlers.handlers[event.event_type]
        envelope = EventEnvelope.wrap(event, producer="bench")
        async with database.transaction() as session:
            if await inbox.claim(session, handlers.consumer, event.topic, envelope):
                await handler(event, envelope, session)

    school, asp, manager = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    try:
        for org, kind in ((school, OrgType.SCHOOL), (asp, OrgType.ASP)):
            await deliver(OrganisationRegistered(organisation_id=org, org_type=kind, name="Bench"))
        await deliver(AccountCreated(account_id=manager, organisation_id=asp, display_name="CM"))
        await deliver(RoleGranted(account_id=manager, role=Role.ASP_CASE_MANAGER))
        nsn = str(800_000_000 + uuid.uuid4().int % 100_000_000)
        event = ReferralAssigned(
            referral_id=uuid.uuid4(),
            subject_student_key=settings.student_key(nsn),
            actor_id=str(manager),
            version=5,
            at=datetime.now(UTC),
            school_id=school,
            provider_id=asp,
            assignee_id=manager,
            provider_type="asp",
            nsn=nsn,
            student_name="Bench Student",
            reason_category="chronic_absence",
        )
        await deliver(event)
        async with database.transaction() as session:
            case_id = await session.scalar(
                select(cases.c.id).where(cases.c.referral_id == event.referral_id)
            )
    finally:
        await database.dispose()
    return str(case_id), signer.token(manager, asp, [Role.ASP_CASE_MANAGER])


def make_file(path: Path, size: int) -> None:
    with path.open("wb") as out:
        header = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
        out.write(header)
        left = size - len(header)
        while left > 0:
            piece = os.urandom(min(PIECE, left))
            out.write(piece)
            left -= len(piece)


def plain_copy(source: Path, target: Path) -> float:
    started = time.perf_counter()
    with source.open("rb") as reader, target.open("wb") as writer:
        while piece := reader.read(PIECE):
            writer.write(piece)
        writer.flush()
        os.fsync(writer.fileno())
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def upload(client: httpx.Client, path: str, source: Path, headers: dict) -> tuple[float, str]:
    def pieces():
        with source.open("rb") as reader:
            while piece := reader.read(PIECE):
                yield piece

    started = time.perf_counter()
    answer = client.post(path, content=pieces(), headers=headers)
    elapsed = time.perf_counter() - started
    assert answer.status_code == 201, answer.text
    return elapsed, answer.json()["id"]


def download(client: httpx.Client, path: str, headers: dict, size: int) -> float:
    started = time.perf_counter()
    received = 0
    with client.stream("GET", path, headers=headers) as answer:
        assert answer.status_code == 200, answer.read()
        for piece in answer.iter_raw(PIECE):
            received += len(piece)
    elapsed = time.perf_counter() - started
    assert received == size, (received, size)
    return elapsed


class RssSampler:
    """The peak RSS of a process, sampled from /proc every 20 ms while running."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> RssSampler:
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where files go (default: tmp)")
    args = parser.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="acms-doc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    signer = TestSigner()
    server, jwks_url = jwks_server(signer)
    with private_pdp(SERVICE_ROOT / "policies", work / "cerbos.log") as pdp:
        settings = load_settings(
            "cases",
            database_name=DATABASE,
            student_key_secret=TEST_STUDENT_KEY_SECRET,
            topic_namespace="bench.",
            consumer_group="bench-cases-documents",
            port=free_port(),
            cerbos_url=pdp,
            identity_url=jwks_url,
            data_dir=str(work / "data"),
            document_max_bytes=2 * 1024**3,
            log_level="WARNING",
        )
        asyncio.run(create_database(settings))
        database = Database(settings)
        upgrade_to_head(SERVICE_ROOT, database.url, TEST_STUDENT_KEY_SECRET)
        asyncio.run(database.dispose())
        case_id, token = asyncio.run(open_case(settings, signer))
        service = ServiceProcess("acms_cases.app:create", settings).start()
        assert service.process is not None
        headers = {"authorization": f"Bearer {token}"}
        results = []
        try:
            with httpx.Client(base_url=service.url, timeout=600) as client:
                for size_mb in args.sizes_mb:
                    size = size_mb * MB
                    source = work / f"file-{size_mb}mb.pdf"
                    make_file(source, size)
                    copies, ups, downs = [], [], []
                    with RssSampler(service.process.pid) as rss:
                        before = rss.peak
                        for _ in range(args.runs):
                            copies.append(plain_copy(source, work / "copy.bin"))
                            up, document_id = upload(
                                client,
                                f"/cases/{case_id}/documents?filename=f.pdf",
                                source,
                                headers,
                            )
                            ups.append(up)
                            path = f"/cases/{case_id}/documents/{document_id}/content"
                            downs.append(download(client, path, headers, size))
                    source.unlink()
                    copy_s, up_s, down_s = (statistics.median(x) for x in (copies, ups, downs))
                    row = {
                        "size_mb": size_mb,
                        "copy_mb_s": round(size / MB / copy_s, 1),
                        "upload_mb_s": round(size / MB / up_s, 1),
                        "download_mb_s": round(size / MB / down_s, 1),
                        "upload_vs_copy": round(copy_s / up_s, 2),
                        "download_vs_copy": round(copy_s / down_s, 2),
                        "peak_rss_mib": round(rss.peak / 2**20, 1),
                        "rss_growth_mib": round((rss.peak - before) / 2**20, 1),
                    }
                    results.append(row)
                    print(json.dumps(row), flush=True)
        finally:
            service.stop()
            server.shutdown()
    print()
    columns = ["size", "copy MB/s", "upload MB/s (ratio to copy)", "download MB/s (ratio to copy)"]
    print("| " + " | ".join([*columns, "peak RSS MiB (growth)"]) + " |")
    print("|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['size_mb']} MB | {r['copy_mb_s']} | {r['upload_mb_s']} ({r['upload_vs_copy']}) "
            f"| {r['download_mb_s']} ({r['download_vs_copy']}) "
            f"| {r['peak_rss_mib']} (+{r['rss_growth_mib']}) |"
        )


if __name__ == "__main__":
    main()
