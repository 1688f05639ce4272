"""How every Kafka client of ours connects: SASL/SCRAM-SHA-512 as a principal, or (no
principal configured) PLAINTEXT, which the project's brokers refuse.

One shape for all of them: `client_options` gives the keyword arguments of aiokafka's
producers, consumers and admin clients, `faststream_security` FastStream's equivalent.
"""

from __future__ import annotations

from typing import Any

from faststream.security import SASLScram512

SASL_MECHANISM = "SCRAM-SHA-512"


def client_options(
    bootstrap: str, username: str | None = None, password: str | None = None
) -> dict[str, Any]:
    """aiokafka keyword arguments for connecting to `bootstrap` as `username`."""
    options: dict[str, Any] = {"bootstrap_servers": bootstrap}
    if username is not None:
        options |= {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": SASL_MECHANISM,
            "sasl_plain_username": username,
            "sasl_plain_password": password or "",
        }
    return options


def faststream_security(username: str | None, password: str | None) -> SASLScram512 | None:
    """FastStream's security object for the same connection (None: PLAINTEXT)."""
    if username is None:
        return None
    return SASLScram512(username=username, password=password or "")
