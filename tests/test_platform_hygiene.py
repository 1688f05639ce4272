"""Platform hygiene on the running system: input the database cannot hold is 422 naming
the field (through the gateway, with and without a token), and a service's own port
counts the bytes of a chunked body."""

from __future__ import annotations

import select
import socket

import httpx
import pytest

EDGE_DATES = ("0001-01-01T00:00:00+05:00", "9999-12-31T23:30:00-05:00")


@pytest.fixture(scope="module")
def gateway(system):
    with httpx.Client(base_url=system.gateway_url, timeout=30) as client:
        yield client


def _refused_naming(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"], response.text
    assert field in [e["field"] for e in response.json()["errors"]], response.text


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/identity/sign-in", {"email": "a\x00@example.org", "password": "x"}, "email"),
        ("/api/identity/token/client", {"client_id": "c\x00", "client_secret": "s"}, "client_id"),
        ("/api/identity/token/refresh", {"refresh_token": "\x00"}, "refresh_token"),
    ],
)
def test_nul_in_sign_in_without_a_token_is_422_naming_the_field(gateway, path, body, field):
    _refused_naming(gateway.post(path, json=body), field)


def test_nul_in_a_field_of_a_signed_in_request_is_422(system, gateway):
    response = gateway.post(
        "/api/identity/organisations",
        json={"org_type": "school", "name": "Kōwhai\x00 School", "region": "Waikato"},
        headers=system.admin_headers(),
    )
    _refused_naming(response, "name")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/referrals/referrals?q=ab%00cd", "query.q"),
        (f"/api/identity/accounts?offset={2**64}", "query.offset"),
        *[
            (
                f"/api/referrals/referrals?created_from={httpx.QueryParams({'d': d})['d']}",
                "query.created_from",
            )
            for d in EDGE_DATES
        ],
    ],
)
def test_query_values_the_database_cannot_hold_are_422(system, gateway, path, field):
    _refused_naming(gateway.get(path, headers=system.admin_headers()), field)


def test_a_chunked_body_straight_to_a_service_port_is_413_before_8_mib_are_read(system):
    port = system.processes["identity"].settings.http_port
    chunk = b"x" * 65536
    sent = 0
    response = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            b"POST /organisations HTTP/1.1\r\nHost: identity\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        try:
            while sent < 8 * 1024 * 1024 and not select.select([connection], [], [], 0)[0]:
                connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            response = connection.recv(65536)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the service stopped reading and closed: no answer to read
    assert response.startswith(b"HTTP/1.1 413"), (sent, response[:200])
    assert b"larger than 1048576 bytes" in response
    assert sent < 2 * 1024 * 1024, sent


SECURITY_HEADERS = (
    "x-content-type-options",
    "x-frame-options",
    "content-security-policy",
    "referrer-policy",
    "permissions-policy",
)


@pytest.mark.parametrize(
    "path",
    ["/api/identity/readyz", "/api/referrals/referrals", "/api/cases/docs", "/nowhere"],
)
def test_every_gateway_response_carries_the_security_headers_once(gateway, path):
    response = gateway.get(path)
    for name in SECURITY_HEADERS:
        assert len(response.headers.get_list(name)) == 1, (path, name, response.headers)
    assert response.headers.get_list("cache-control") == ["no-store"], path
    assert response.headers["server"] == "nginx", "a version string"


@pytest.mark.parametrize(
    "service", ["identity", "referrals", "cases", "integrations", "reporting", "retention"]
)
def test_metrics_are_not_reachable_through_the_gateway(system, gateway, service):
    for tail in ("metrics", "/metrics", "%6detrics", "metrics?format=text"):
        path = f"/api/{service}/{tail}"
        response = gateway.get(path)
        assert response.status_code == 404, (path, response.text[:200])
        assert "process_" not in response.text
    own_port = system.processes[service].url
    metrics = httpx.get(f"{own_port}/metrics", timeout=10)
    assert metrics.status_code == 200 and "process_" in metrics.text
    assert "python_info" not in metrics.text
