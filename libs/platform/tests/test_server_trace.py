"""Each HTTP request is traced in the server's own trace: an inbound `traceparent` (which
anyone can send through the public gateway) is never continued, so the trace id an audit
record names is not a value the caller chose. The server tells the caller its trace in
`traceresponse`, and the route sees the same trace id."""

from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, Request

from acms_platform.telemetry import current_trace_context, current_trace_id
from acms_platform.testing.probe import probe_client

router = APIRouter()
CHOSEN = "0af7651916cd43dd8448eb211c80319c"


@router.get("/pupils/{pupil_id}")
async def pupil(pupil_id: int, request: Request) -> dict[str, object]:
    return {
        "trace_id": current_trace_id(),
        "carried": current_trace_context(),  # what an outbox row would carry onward
        "headers": sorted(request.headers),
    }


@pytest.fixture
def client() -> httpx.AsyncClient:
    return probe_client(router, Path(__file__).parent)


def _trace_of(response: httpx.Response) -> str:
    version, trace_id, span_id, _flags = response.headers["traceresponse"].split("-")
    assert version == "00" and len(trace_id) == 32 and len(span_id) == 16, response.headers
    return trace_id


@pytest.mark.asyncio
async def test_a_chosen_traceparent_is_not_continued(client):
    async with client:
        response = await client.get(
            "/pupils/1",
            headers={
                "traceparent": f"00-{CHOSEN}-00f067aa0ba902b7-01",
                "tracestate": "vendor=chosen",
                "baggage": "role=privacy_officer",
            },
        )
        again = await client.get(
            "/pupils/1", headers={"traceparent": f"00-{CHOSEN}-b7ad6b7169203331-01"}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["trace_id"] != CHOSEN
    assert body["trace_id"] == _trace_of(response), "the route's trace is the server span's"
    assert CHOSEN not in str(body["carried"]) and "privacy_officer" not in str(body["carried"])
    assert not {"traceparent", "tracestate", "baggage"} & set(body["headers"])
    assert _trace_of(again) not in (CHOSEN, body["trace_id"]), "each request its own trace"


@pytest.mark.asyncio
async def test_refusals_name_their_trace_too(client):
    async with client:
        response = await client.get(
            "/pupils/x", headers={"traceparent": f"00-{CHOSEN}-00f067aa0ba902b7-01"}
        )
    assert response.status_code == 422
    assert _trace_of(response) != CHOSEN
