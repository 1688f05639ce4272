"""A SIGKILL of the cases service in the middle of a document upload leaves no orphan and
no half-record: right after the kill a temporary blob holds what had arrived and no row
exists; once the service is started again its sweeper has removed the blob, and an upload
after it works.

The service runs as deployed (uvicorn, a real process) on real PostgreSQL, Kafka and
Cerbos, with its own database, consumer group and port; tokens are signed by a test key
whose JWKS a small HTTP server here publishes in identity's place."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import func, select

from acms_cases.app import SERVICE_ROOT
from acms_cases.document_tables import case_document_versions, case_documents
from acms_cases.handlers import handlers
from acms_cases.tables import cases
from acms_contracts import EventEnvelope
from acms_contracts.identity import AccountCreated, OrganisationRegistered, RoleGranted
from acms_contracts.vocabulary import OrgType, Role
from acms_platform import inbox
from acms_platform.database import Database
from acms_platform.migrations import upgrade_to_head
from acms_platform.testing.plugin import create_database, settings_for_test
from acms_platform.testing.processes import ServiceProcess
from acms_platform.testing.tokens import TestSigner

from .documents_kit import pdf
from .world import World

pytestmark = pytest.mark.fault

SERVICE_PORT = 8197
JWKS_PORT = 8198
SENT_BEFORE_KILL = 6 * 1024 * 1024


@pytest.fixture
def signer():
    signer = TestSigner()
    jwks = json.dumps(signer.jwks()).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", JWKS_PORT), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield signer
    server.shutdown()
    server.server_close()


@pytest.fixture
def kill_settings(infrastructure, cases_pdp, tmp_path):
    base = settings_for_test("cases", infrastructure)
    settings = settings_for_test(
        "cases",
        infrastructure,
        port=SERVICE_PORT,
        database_name=f"{base.database_name}_kill",
        consumer_group=f"{base.consumer_group}-kill",
        cerbos_url=cases_pdp,
        identity_url=f"http://127.0.0.1:{JWKS_PORT}",
        data_dir=str(tmp_path / "data"),
        document_sweep_minutes=0,  # one process: any temporary blob at start is an orphan
    )
    asyncio.run(create_database(settings))
    database = Database(settings)
    upgrade_to_head(SERVICE_ROOT, database.url, settings.student_key_secret.get_secret_value())
    asyncio.run(database.dispose())
    return settings


async def _open_case(settings, signer: TestSigner) -> tuple[str, str]:
    """A school, an ASP, its case manager and an assigned request, through the service's own
    handlers; (case id, the case manager's token)."""
    database = Database(settings)

    async def deliver(event) -> None:
        _, handler = handlers.handlers[event.event_type]
        envelope = EventEnvelope.wrap(event, producer="test")
        async with database.transaction() as session:
            assert await inbox.claim(session, handlers.consumer, event.topic, envelope)
            await handler(event, envelope, session)

    school, asp, manager, lead = (uuid.uuid4() for _ in range(4))
    try:
        for org, kind in ((school, OrgType.SCHOOL), (asp, OrgType.ASP)):
            await deliver(
                OrganisationRegistered(
                    organisation_id=org, org_type=kind, name="Test org", region="Waikato"
                )
            )
        for account, role in ((manager, Role.ASP_CASE_MANAGER), (lead, Role.ASP_WORKFLOW_LEAD)):
            await deliver(
                AccountCreated(account_id=account, organisation_id=asp, display_name="Test")
            )
            await deliver(RoleGranted(account_id=account, role=role))
        world = World.__new__(World)  # its event builder only: no client here
        world.orgs = {"school_a": school, "asp_a": asp}
        world.accounts = {"case_manager_a": manager, "asp_lead_a": lead}
        world.nsn_counter = 900_000_000 + uuid.uuid4().int % 1_000_000
        event = world.assignment(primary_contact=None)
        await deliver(event)
        async with database.transaction() as session:
            case_id = await session.scalar(
                select(cases.c.id).where(cases.c.referral_id == event.referral_id)
            )
    finally:
        await database.dispose()
    return str(case_id), signer.token(manager, asp, [Role.ASP_CASE_MANAGER])


async def _rows(settings) -> int:
    database = Database(settings)
    try:
        async with database.transaction() as session:
            return int(
                await session.scalar(
                    select(func.count()).select_from(case_document_versions.join(case_documents))
                )
            )
    finally:
        await database.dispose()


def test_a_service_killed_mid_upload_leaves_no_orphan_and_no_row(kill_settings, signer):
    case_id, token = asyncio.run(_open_case(kill_settings, signer))
    store = kill_settings.service_data_dir / "documents"
    victim = ServiceProcess("acms_cases.app:create", kill_settings).start()
    url = f"{victim.url}/cases/{case_id}/documents?filename=big.pdf"
    headers = {"authorization": f"Bearer {token}"}
    data = pdf(SENT_BEFORE_KILL)
    hold = threading.Event()

    def body():
        for start in range(0, len(data), 256 * 1024):
            yield data[start : start + 256 * 1024]
        hold.wait(60)  # the rest of the file never comes: the process dies first
        yield b"never sent"

    outcome: dict[str, object] = {}

    def send() -> None:
        try:
            outcome["answer"] = httpx.post(url, content=body(), headers=headers, timeout=60)
        except httpx.HTTPError as error:
            outcome["error"] = error

    sender = threading.Thread(target=send, daemon=True)
    try:
        sender.start()
        deadline = time.monotonic() + 30
        written = 0
        while time.monotonic() < deadline and written < SENT_BEFORE_KILL // 2:
            written = sum(p.stat().st_size for p in (store / "tmp").glob("*"))
            time.sleep(0.05)
        assert written >= SENT_BEFORE_KILL // 2, f"upload never reached the store ({written} B)"
        assert victim.process is not None
        victim.process.kill()  # SIGKILL, mid-upload
        victim.wait_killed()
        hold.set()
        sender.join(30)
        assert "error" in outcome, f"the upload was answered: {outcome}"
        assert list((store / "tmp").iterdir()), "the kill left its temporary blob"
        assert asyncio.run(_rows(kill_settings)) == 0, "no row for an upload that died"
    finally:
        hold.set()
        victim.stop()

    again = ServiceProcess("acms_cases.app:create", kill_settings).start()
    try:
        deadline = time.monotonic() + 30
        while list((store / "tmp").iterdir()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list((store / "tmp").iterdir()) == [], "the sweeper removed the orphan"
        assert list((store / "blobs").iterdir()) == []
        assert asyncio.run(_rows(kill_settings)) == 0
        small = pdf(100_000)
        answer = httpx.post(url, content=small, headers=headers, timeout=30)
        assert answer.status_code == 201, answer.text
        assert asyncio.run(_rows(kill_settings)) == 1
        assert len(list((store / "blobs").iterdir())) == 1
    finally:
        again.stop()
