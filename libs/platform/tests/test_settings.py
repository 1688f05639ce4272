import pytest

from acms_contracts import topics
from acms_contracts.student_keys import student_key_for_nsn
from acms_platform.settings import load_settings
from acms_platform.testing.plugin import TEST_STUDENT_KEY_SECRET


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setenv("ACMS_STUDENT_KEY_SECRET", TEST_STUDENT_KEY_SECRET)


def test_a_bad_setting_stops_at_once_naming_the_setting(monkeypatch, secret):
    monkeypatch.setenv("ACMS_PG_PORT", "not-a-port")
    with pytest.raises(SystemExit) as stopped:
        load_settings("cases")
    assert "ACMS_PG_PORT" in str(stopped.value)


def test_database_defaults_to_one_per_service(secret):
    assert load_settings("cases").database_url.endswith("/acms_cases")
    assert load_settings("cases").group_id == "acms-cases"


def test_without_the_student_key_secret_a_service_stops_naming_it(monkeypatch):
    monkeypatch.delenv("ACMS_STUDENT_KEY_SECRET", raising=False)
    monkeypatch.setenv("ACMS_PG_PASSWORD", "pg-password-in-the-environment")
    with pytest.raises(SystemExit) as stopped:
        load_settings("referrals")
    message = str(stopped.value)
    assert "ACMS_STUDENT_KEY_SECRET: required, not set" in message
    assert "pg-password-in-the-environment" not in message  # the input is not echoed


def test_a_short_student_key_secret_is_refused_without_echoing_it(monkeypatch):
    monkeypatch.setenv("ACMS_STUDENT_KEY_SECRET", "short-secret-value")
    with pytest.raises(SystemExit) as stopped:
        load_settings("referrals")
    assert "ACMS_STUDENT_KEY_SECRET" in str(stopped.value)
    assert "short-secret-value" not in str(stopped.value)


def test_the_secret_is_not_shown_and_keys_come_from_it(secret):
    settings = load_settings("integrations")
    assert TEST_STUDENT_KEY_SECRET not in repr(settings)
    assert TEST_STUDENT_KEY_SECRET not in settings.model_dump_json()
    assert settings.student_key("123456789") == student_key_for_nsn(
        "123456789", TEST_STUDENT_KEY_SECRET
    )


def test_a_suite_has_its_own_topics_and_databases_and_they_are_deleted_at_the_end():
    from types import SimpleNamespace

    from acms_platform.testing import plugin
    from acms_platform.testing.infra import Endpoints

    infrastructure = SimpleNamespace(endpoints=Endpoints())
    no_broker = {"kafka_ca_file": None}  # none started: its CA may not exist yet
    shared = plugin.settings_for_test("cases", infrastructure, **no_broker)
    suite = plugin.settings_for_test("cases", infrastructure, suite="cases", **no_broker)
    assert (
        suite.topic_namespace == plugin.suite_namespace("cases") == f"test-{plugin.RUN_ID}-cases."
    )
    assert suite.database_name == f"test_{plugin.RUN_ID}_cases_cases"
    # Nothing of the session's namespace reaches the suite, nor the other way round.
    assert not suite.topic(topics.REFERRALS).startswith(shared.topic_namespace)
    assert not shared.topic(topics.REFERRALS).startswith(suite.topic_namespace)
    assert suite.group_id.startswith(suite.topic_namespace)
    # Registered for the infrastructure's teardown, which deletes each namespace it holds;
    # its database matches the pattern the teardown drops.
    assert suite.topic_namespace in plugin.SUITE_NAMESPACES
    assert suite.database_name.startswith(f"test_{plugin.RUN_ID}_")


def test_production_stops_without_a_kafka_principal_never_echoing_secrets(monkeypatch, secret):
    monkeypatch.setenv("ACMS_ENVIRONMENT", "production")
    monkeypatch.setenv("ACMS_AUDIT_CHECKPOINT_KEY", "checkpoint-key-in-the-environment")
    with pytest.raises(SystemExit) as stopped:
        load_settings("cases")
    message = str(stopped.value)
    assert "kafka_username and kafka_password are required in production" in message
    assert TEST_STUDENT_KEY_SECRET not in message
    assert "checkpoint-key-in-the-environment" not in message


def test_a_kafka_password_without_its_user_is_refused_without_echoing_it(monkeypatch, secret):
    monkeypatch.setenv("ACMS_KAFKA_PASSWORD", "kafka-password-in-the-environment")
    with pytest.raises(SystemExit) as stopped:
        load_settings("cases")
    assert "kafka_username and kafka_password go together" in str(stopped.value)
    assert "kafka-password-in-the-environment" not in str(stopped.value)


def test_the_kafka_principal_connects_with_scram_and_empty_means_unset(monkeypatch, secret):
    monkeypatch.setenv("ACMS_KAFKA_USERNAME", "acms-cases")
    monkeypatch.setenv("ACMS_KAFKA_PASSWORD", "kafka-password-in-the-environment")
    settings = load_settings("cases")
    assert settings.kafka_client_options() == {
        "bootstrap_servers": "127.0.0.1:59092",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "acms-cases",
        "sasl_plain_password": "kafka-password-in-the-environment",
    }
    assert "kafka-password-in-the-environment" not in repr(settings)
    assert settings.kafka_security().username == "acms-cases"
    monkeypatch.setenv("ACMS_KAFKA_USERNAME", "")  # compose's `${...:-}` when not given
    monkeypatch.setenv("ACMS_KAFKA_PASSWORD", "")
    assert load_settings("cases").kafka_client_options() == {"bootstrap_servers": "127.0.0.1:59092"}


def test_a_kafka_ca_means_tls_that_trusts_only_that_ca(monkeypatch, secret, tmp_path):
    import ssl

    from acms_platform.testing.tls import make_ca

    ca_file = make_ca(tmp_path, "A deployment's Kafka CA")
    monkeypatch.setenv("ACMS_KAFKA_USERNAME", "acms-cases")
    monkeypatch.setenv("ACMS_KAFKA_PASSWORD", "kafka-password-in-the-environment")
    monkeypatch.setenv("ACMS_KAFKA_CA_FILE", str(ca_file))
    settings = load_settings("cases")
    options = settings.kafka_client_options()
    assert options["security_protocol"] == "SASL_SSL"
    context = options["ssl_context"]
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    subjects = [dict(part[0] for part in ca["subject"]) for ca in context.get_ca_certs()]
    assert subjects == [{"commonName": "A deployment's Kafka CA"}]  # only it, not the system's
    security = settings.kafka_security()
    assert security.use_ssl and security.ssl_context.verify_mode is ssl.CERT_REQUIRED
    monkeypatch.setenv("ACMS_KAFKA_CA_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(SystemExit) as stopped:
        load_settings("cases")
    assert "ACMS_KAFKA_CA_FILE" in str(stopped.value)


def test_production_stops_without_a_kafka_ca(monkeypatch, secret):
    monkeypatch.setenv("ACMS_ENVIRONMENT", "production")
    monkeypatch.setenv("ACMS_AUDIT_CHECKPOINT_KEY", "checkpoint-key-in-the-environment")
    monkeypatch.setenv("ACMS_KAFKA_USERNAME", "acms-cases")
    monkeypatch.setenv("ACMS_KAFKA_PASSWORD", "kafka-password-in-the-environment")
    with pytest.raises(SystemExit) as stopped:
        load_settings("cases")
    assert "kafka_ca_file is required in production" in str(stopped.value)
    assert "kafka-password-in-the-environment" not in str(stopped.value)
