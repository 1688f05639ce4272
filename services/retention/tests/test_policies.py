"""Retention's Cerbos policies pass their own test suite (`cerbos compile`)."""

import subprocess

from acms_platform.testing.pdp import cerbos_binary

from .conftest import POLICIES


def test_retention_policy_test_suite_passes_cerbos_compile(infrastructure):
    result = subprocess.run(
        [str(cerbos_binary()), "compile", "--no-color", str(POLICIES)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stdout and "OK" in result.stdout
