"""Retention's Cerbos policies pass their own test suite (`cerbos compile`, with the
schemas) and name no attribute the schemas lack."""

from acms_platform.testing.pdp import compile_service_policies

from .conftest import POLICIES


def test_retention_policy_test_suite_passes_cerbos_compile(infrastructure, tmp_path):
    compile_service_policies(POLICIES, tmp_path)
