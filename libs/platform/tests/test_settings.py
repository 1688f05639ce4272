import pytest

from acms_platform.settings import load_settings


def test_a_bad_setting_stops_at_once_naming_the_setting(monkeypatch):
    monkeypatch.setenv("ACMS_PG_PORT", "not-a-port")
    with pytest.raises(SystemExit) as stopped:
        load_settings("cases")
    assert "ACMS_PG_PORT" in str(stopped.value)


def test_database_defaults_to_one_per_service():
    assert load_settings("cases").database_url.endswith("/acms_cases")
    assert load_settings("cases").group_id == "acms-cases"
