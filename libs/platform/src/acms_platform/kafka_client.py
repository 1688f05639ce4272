"""How every Kafka client of ours connects: over TLS (SASL_SSL), verifying the broker's
certificate and host name against the deployment's CA (`ca_file`), as a principal with
SASL/SCRAM-SHA-512. Without a CA the connection is in the clear (SASL_PLAINTEXT), and
without a principal unauthenticated: the project's brokers refuse both.

One shape for all of them: `client_options` gives the keyword arguments of aiokafka's
producers, consumers and admin clients, `faststream_security` FastStream's equivalent,
`tls_context` the SSL context both use.
"""

from __future__ import annotations

import ssl
from os import PathLike
from typing import Any

from faststream.security import BaseSecurity, SASLScram512

SASL_MECHANISM = "SCRAM-SHA-512"

CaFile = str | PathLike[str]


def tls_context(ca_file: CaFile) -> ssl.SSLContext:
    """A client context that trusts only the CA in `ca_file` (not the system's), and
    checks that the broker's certificate names the host connected to. TLS 1.2 at least."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def security_protocol(sasl: bool, tls: bool) -> str:
    return {
        (True, True): "SASL_SSL",
        (True, False): "SASL_PLAINTEXT",
        (False, True): "SSL",
        (False, False): "PLAINTEXT",
    }[(sasl, tls)]


def client_options(
    bootstrap: str,
    username: str | None = None,
    password: str | None = None,
    ca_file: CaFile | None = None,
) -> dict[str, Any]:
    """aiokafka keyword arguments for connecting to `bootstrap` as `username`, over TLS
    trusting `ca_file` when one is given."""
    options: dict[str, Any] = {"bootstrap_servers": bootstrap}
    sasl, tls = username is not None, ca_file is not None
    if sasl or tls:
        options["security_protocol"] = security_protocol(sasl, tls)
    if tls:
        options["ssl_context"] = tls_context(ca_file)  # type: ignore[arg-type]
    if sasl:
        options |= {
            "sasl_mechanism": SASL_MECHANISM,
            "sasl_plain_username": username,
            "sasl_plain_password": password or "",
        }
    return options


def faststream_security(
    username: str | None, password: str | None, ca_file: CaFile | None = None
) -> BaseSecurity | None:
    """FastStream's security object for the same connection (None: PLAINTEXT)."""
    context = tls_context(ca_file) if ca_file is not None else None
    if username is None:
        return BaseSecurity(ssl_context=context) if context else None
    return SASLScram512(username=username, password=password or "", ssl_context=context)
