"""A throwaway certificate authority for tests that need one the broker never heard of."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_ca(folder: Path, name: str = "Not the ACMS Kafka CA") -> Path:
    """A self-signed CA certificate (EC P-256, one day, key beside it) made with openssl,
    as deploy/kafka.sh makes the local one; returns the certificate's path."""
    folder.mkdir(parents=True, exist_ok=True)
    command = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    command += ["-nodes", "-days", "1", "-subj", f"/CN={name}"]
    command += ["-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.pem")]
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - openssl
    return folder / "ca.pem"
