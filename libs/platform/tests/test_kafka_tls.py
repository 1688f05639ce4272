"""The bus is reached over TLS only, and only a client that verifies the broker against the
deployment's CA gets through: a client trusting another CA fails the TLS handshake, one
checking for another host name too, and a plaintext client (even with the admin's valid
credentials) is refused on the client listener and on the controller listener.

The broker is the launchers' (deploy/kafka.sh: SASL_SSL on both listeners, its certificate
signed by the local CA in .run/tls). The containers' broker has no TLS (containers.py)."""

from __future__ import annotations

import asyncio
import os
import ssl
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError

from acms_platform.kafka_client import client_options, tls_context
from acms_platform.testing.plugin import KAFKA_SASL, kafka_admin_credentials
from acms_platform.testing.tls import make_ca

pytestmark = pytest.mark.skipif(not KAFKA_SASL, reason="the containers' broker has no TLS")

SECONDS = 10


@pytest.fixture(scope="module")
def bootstrap(infrastructure) -> str:
    return infrastructure.endpoints.kafka_bootstrap


@pytest.fixture(scope="module")
def controller() -> str:
    return f"127.0.0.1:{os.environ.get('ACMS_KAFKA_CONTROLLER_PORT', '59093')}"


@pytest.fixture(scope="module")
def admin() -> dict[str, str]:
    return kafka_admin_credentials()


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory) -> Path:
    """A CA that signed nothing the broker holds."""
    return make_ca(tmp_path_factory.mktemp("other-ca"))


async def _handshake(address: str, context: ssl.SSLContext, server_hostname: str) -> None:
    host, _, port = address.rpartition(":")
    _reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, int(port), ssl=context, server_hostname=server_hostname),
        SECONDS,
    )
    writer.close()


async def _admin_lists_topics(options: dict) -> list[str]:
    client = AIOKafkaAdminClient(**options, request_timeout_ms=SECONDS * 1000)
    try:
        await asyncio.wait_for(client.start(), SECONDS)
        return await asyncio.wait_for(client.list_topics(), SECONDS)
    finally:
        await client.close()


@pytest.mark.parametrize("listener", ["client", "controller"])
def test_a_client_trusting_the_deployment_ca_completes_the_handshake(
    listener, bootstrap, controller, admin
):
    """The baseline the refusals below are measured against: same address, same code."""
    address = bootstrap if listener == "client" else controller
    asyncio.run(_handshake(address, tls_context(admin["kafka_ca_file"]), "127.0.0.1"))


def test_a_client_trusting_the_ca_signs_in_and_is_served(bootstrap, admin):
    options = client_options(
        bootstrap, admin["kafka_username"], admin["kafka_password"], admin["kafka_ca_file"]
    )
    assert options["security_protocol"] == "SASL_SSL"
    assert isinstance(asyncio.run(_admin_lists_topics(options)), list)


@pytest.mark.parametrize("listener", ["client", "controller"])
def test_a_client_trusting_another_ca_fails_the_handshake(
    listener, bootstrap, controller, other_ca
):
    address = bootstrap if listener == "client" else controller
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        asyncio.run(_handshake(address, tls_context(other_ca), "127.0.0.1"))


def test_a_client_trusting_only_the_systems_cas_fails_the_handshake(bootstrap):
    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(_handshake(bootstrap, ssl.create_default_context(), "127.0.0.1"))


def test_a_certificate_for_another_host_name_is_refused(bootstrap, admin):
    """The right CA is not enough: the certificate must name the host asked for."""
    context = tls_context(admin["kafka_ca_file"])
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        asyncio.run(_handshake(bootstrap, context, "kafka.example.org"))


def test_the_admins_credentials_over_another_ca_get_nothing(bootstrap, admin, other_ca):
    options = client_options(bootstrap, admin["kafka_username"], admin["kafka_password"], other_ca)
    with pytest.raises((KafkaConnectionError, TimeoutError)):
        asyncio.run(_admin_lists_topics(options))


@pytest.mark.parametrize("credentials", ["none", "admin"])
def test_a_plaintext_client_is_refused_on_the_client_listener(credentials, bootstrap, admin):
    """Without TLS nothing is served, the admin's valid SCRAM credentials included."""
    user = (admin["kafka_username"], admin["kafka_password"]) if credentials == "admin" else ()
    options = client_options(bootstrap, *user)
    assert options.get("security_protocol", "PLAINTEXT") in {"PLAINTEXT", "SASL_PLAINTEXT"}
    with pytest.raises((KafkaError, TimeoutError)):
        asyncio.run(_admin_lists_topics(options))


def test_a_plaintext_client_is_refused_on_the_controller_listener(controller, admin):
    """What the credential re-set (kafka_admin.upsert_scram_users_at_controller) would do
    without TLS: the listener takes TLS only."""
    from acms_platform.kafka_admin import upsert_scram_users_at_controller

    with pytest.raises((KafkaError, OSError, TimeoutError)):
        asyncio.run(
            asyncio.wait_for(
                upsert_scram_users_at_controller(
                    controller, admin["kafka_username"], admin["kafka_password"], {}
                ),
                SECONDS,
            )
        )
