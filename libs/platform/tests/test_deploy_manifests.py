"""The compose and Kubernetes manifests in deploy/ agree with the code: every service is
deployed, on its SERVICE_PORTS port, probed on the right paths, configured only through real
Settings fields, and routed by a gateway equivalent to the one deploy/nginx.sh renders.

Static checks (no Docker engine or cluster needed): they read the files as YAML and text.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from acms_platform.settings import SERVICE_PORTS, Settings
from acms_platform.testing import containers

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
COMPOSE_DIR = DEPLOY / "compose"
K8S = DEPLOY / "k8s"
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))
SETTING_NAMES = {f"ACMS_{name.upper()}" for name in Settings.model_fields}
GATEWAY_CONFIGS = [COMPOSE_DIR / "nginx.conf", K8S / "gateway" / "nginx.conf"]


def compose() -> dict:
    return yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: str(value) for name, value in env.items()}


def app_services() -> dict[str, dict]:
    """Compose services that run the ACMS image, by the service they run (not the one-shot
    steps, such as retention's migrations, which run a command of their own)."""
    return {
        environment(spec)["ACMS_SERVICE_NAME"]: spec
        for spec in compose()["services"].values()
        if "ACMS_SERVICE_NAME" in environment(spec) and "command" not in spec
    }


def k8s_documents() -> list[dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    documents = []
    for resource in kustomization["resources"]:
        documents += [d for d in yaml.safe_load_all((K8S / resource).read_text()) if d]
    return documents


def k8s_objects(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in k8s_documents() if d["kind"] == kind}


def shell_default(script: str, variable: str) -> str:
    """The default of `NAME=${SOMETHING:-default}` in a deploy/ script."""
    text = (DEPLOY / script).read_text()
    match = re.search(rf"^{variable}=\$\{{\w+:-([^}}]+)\}}", text, re.M)
    assert match, f"{variable} default not found in deploy/{script}"
    return match.group(1)


def nginx_lines(text: str) -> list[str]:
    """Directives one per line, comments dropped, whitespace collapsed, include paths reduced
    to the file name (the same file is mounted at different places)."""
    lines = []
    for raw in text.splitlines():
        code, _, comment = raw.partition("#")
        line = " ".join((raw if comment and ("'" in code or '"' in code) else code).split())
        if line:
            lines.append(re.sub(r"^include \S*/([^/]+;)$", r"include \1", line))
    return lines


def nginx_block(text: str, opener: str) -> list[str]:
    match = re.search(re.escape(opener) + r"\s*\{(.*?)\}", text, re.S)
    return nginx_lines(match.group(1)) if match else []


def nginx_sh_snippet(variable: str, service: str) -> list[str]:
    """What deploy/nginx.sh appends to UPSTREAMS or LOCATIONS for one service."""
    text = (DEPLOY / "nginx.sh").read_text()
    snippet = re.search(rf'{variable}\+="(.*?)"\n', text, re.S)
    assert snippet, f"{variable} not found in deploy/nginx.sh"
    body = snippet.group(1).replace("$svc", service).replace("$BURST", burst())
    return nginx_lines(body.replace("$ROOT/", "/").replace("$port", str(SERVICE_PORTS[service])))


def burst() -> str:
    return shell_default("nginx.sh", "BURST")


def test_every_service_has_a_port_in_settings():
    assert SERVICES, "no services found under services/"
    assert sorted(SERVICE_PORTS) == SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_compose_runs_every_service_from_the_one_image_on_its_port(service):
    spec = app_services().get(service)
    assert spec, f"no compose service runs {service} (ACMS_SERVICE_NAME={service})"
    assert spec["build"]["dockerfile"] == "deploy/docker/Dockerfile"
    assert (COMPOSE_DIR / spec["build"]["context"] / spec["build"]["dockerfile"]).is_file()
    assert environment(spec)["ACMS_PORT"] == str(SERVICE_PORTS[service])
    probe = " ".join(spec["healthcheck"]["test"])
    assert f"http://127.0.0.1:{SERVICE_PORTS[service]}/readyz" in probe


def test_compose_runs_no_service_the_repo_lacks():
    assert sorted(app_services()) == SERVICES


def test_compose_environment_names_are_settings_fields():
    for name, spec in compose()["services"].items():
        env = environment(spec)
        unknown = {key for key in env if key.startswith("ACMS_")} - SETTING_NAMES
        assert not unknown, f"compose service {name}: {unknown} are not Settings fields"
    for service, spec in app_services().items():
        stray = {key for key in environment(spec) if not key.startswith("ACMS_")}
        assert not stray, f"{service} sets {stray}, which Settings never reads"


def test_compose_points_every_service_at_the_containers():
    names = set(compose()["services"])
    for service, spec in app_services().items():
        env = environment(spec)
        assert env["ACMS_PG_HOST"] in names
        kafka_host = env["ACMS_KAFKA_BOOTSTRAP"].split(":")[0]
        assert kafka_host in names, f"{service}: Kafka at {kafka_host}"
        for setting in ("ACMS_CERBOS_URL", "ACMS_IDENTITY_URL"):
            assert urlsplit(env[setting]).hostname in names, f"{service}: {setting}"
        identity = urlsplit(env["ACMS_IDENTITY_URL"])
        assert (identity.hostname, identity.port) == ("identity", SERVICE_PORTS["identity"])


def test_compose_cerbos_mounts_every_services_policies():
    mounts = compose()["services"]["cerbos"]["volumes"]
    for policies in sorted((ROOT / "services").glob("*/policies")):
        service = policies.parent.name
        wanted = f"../../services/{service}/policies:/policies/{service}:ro"
        assert wanted in mounts, f"cerbos does not mount {policies.relative_to(ROOT)}"
        # the schemas live in the one root folder, policies/_schemas (deploy/cerbos.sh)
        assert not (policies / "_schemas").exists(), f"{service}: schemas go in policies/_schemas"
    assert "../../policies/_schemas:/policies/_schemas:ro" in mounts
    for mount in mounts:
        assert (COMPOSE_DIR / mount.split(":")[0]).exists(), f"cerbos mounts missing {mount}"


def test_every_cerbos_config_rejects_requests_that_do_not_fit_the_schemas():
    # a request whose attributes a schema refuses is denied, not decided on a guess
    compose_config = yaml.safe_load((COMPOSE_DIR / "cerbos.yaml").read_text())
    assert compose_config["schema"] == {"enforcement": "reject"}
    assert yaml.safe_load(containers.CERBOS_CONFIG)["schema"] == {"enforcement": "reject"}
    assert "schema:\n  enforcement: reject" in (DEPLOY / "cerbos.sh").read_text()


def test_compose_postgres_creates_a_database_per_service():
    script = (COMPOSE_DIR / "postgres-init.sh").read_text()
    listed = re.search(r'^SERVICES="([^"]+)"', script, re.M)
    assert listed and sorted(listed.group(1).split()) == SERVICES
    assert "acms_$service" in script
    mounts = compose()["services"]["postgres"]["volumes"]
    assert any(m.startswith("./postgres-init.sh:/docker-entrypoint-initdb.d/") for m in mounts)


def test_images_match_the_local_launchers_and_the_test_containers():
    specs = compose()["services"]
    kafka_version = shell_default("kafka.sh", "KAFKA_VERSION")
    cerbos_version = shell_default("cerbos.sh", "CERBOS_VERSION")
    assert specs["kafka"]["image"] == containers.KAFKA_IMAGE == f"apache/kafka:{kafka_version}"
    assert specs["cerbos"]["image"] == containers.CERBOS_IMAGE
    assert containers.CERBOS_IMAGE.endswith(f":{cerbos_version}")
    assert specs["postgres"]["image"] == containers.POSTGRES_IMAGE


@pytest.mark.parametrize("config", GATEWAY_CONFIGS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_gateway_routes_every_service_like_nginx_sh(config):
    text = config.read_text()
    for service in SERVICES:
        location = nginx_block(text, f"location /api/{service}/")
        assert location, f"{config.name}: no route for /api/{service}/"
        assert sorted(location) == sorted(nginx_sh_snippet("locations", service)[1:-1])
        upstream = nginx_block(text, f"upstream acms_{service}")
        server = rf"server {service}:{SERVICE_PORTS[service]}( resolve)?;"
        assert any(re.fullmatch(server, line) for line in upstream), f"upstream {service}"
        launcher = nginx_sh_snippet("upstreams", service)[1:-1]
        assert {line for line in launcher if not line.startswith("server ")} <= set(upstream)
    routed = set(re.findall(r"location /api/([^/]+)/", text))
    assert routed == set(SERVICES), f"{config.name} routes {routed - set(SERVICES)}"


@pytest.mark.parametrize("config", GATEWAY_CONFIGS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_gateway_keeps_the_templates_limits_and_request_ids(config):
    template = (DEPLOY / "nginx" / "acms.conf.template").read_text()
    template = template.replace("@RATE@", shell_default("nginx.sh", "RATE"))
    template = template.replace("@BURST@", burst())
    # what differs in a container: process, paths, logs and the listening address
    local_only = re.compile(r"@[A-Z_]+@|^(daemon|pid|error_log|access_log|listen|\w+_temp_path) ")
    expected = [line for line in nginx_lines(template) if not local_only.search(line)]
    present = set(nginx_lines(config.read_text()))
    missing = [line for line in expected if line not in present]
    assert not missing, f"{config.name} lacks: {missing}"
    assert "client_max_body_size 1m;" in present
    assert "add_header X-Request-ID $acms_request_id always;" in present


def test_gateway_proxy_headers_are_the_launchers():
    original = (DEPLOY / "nginx" / "proxy_headers.conf").read_text()
    assert (K8S / "gateway" / "proxy_headers.conf").read_text() == original
    mounts = compose()["services"]["gateway"]["volumes"]
    assert "../nginx/proxy_headers.conf:/etc/nginx/acms/proxy_headers.conf:ro" in mounts
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in mounts
    for config in GATEWAY_CONFIGS:
        assert "include /etc/nginx/acms/proxy_headers.conf;" in config.read_text()


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {str(p.relative_to(K8S)) for p in K8S.rglob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk
    generated = {f for g in kustomization["configMapGenerator"] for f in g["files"]}
    assert generated == {"gateway/nginx.conf", "gateway/proxy_headers.conf"}


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_deploys_every_service_with_probes_port_and_autoscaler(service):
    deployment = k8s_objects("Deployment").get(service)
    assert deployment, f"no Deployment for {service}"
    pod = deployment["spec"]["template"]
    assert (
        deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    )
    (container,) = pod["spec"]["containers"]
    port = SERVICE_PORTS[service]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": port}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {"ACMS_SERVICE_NAME": service, "ACMS_PORT": str(port)}
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        check = container[probe]["httpGet"]
        assert check["path"] == path, f"{service} {probe}"
        assert ports.get(check["port"], check["port"]) == port, f"{service} {probe} port"

    service_object = k8s_objects("Service")[service]
    (service_port,) = service_object["spec"]["ports"]
    assert service_port["port"] == port
    assert ports.get(service_port["targetPort"], service_port["targetPort"]) == port
    assert service_object["spec"]["selector"].items() <= pod["metadata"]["labels"].items()

    autoscaler = k8s_objects("HorizontalPodAutoscaler")[service]
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": service,
    }
    partitions = int(k8s_objects("ConfigMap")["acms-settings"]["data"]["ACMS_KAFKA_PARTITIONS"])
    # a consumer group never uses more members than a topic has partitions
    assert 1 <= autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]
    assert autoscaler["spec"]["maxReplicas"] <= partitions


def test_k8s_runs_no_service_the_repo_lacks():
    assert set(k8s_objects("Deployment")) == {*SERVICES, "gateway"}


def pod_containers(deployment: dict) -> list[dict]:
    spec = deployment["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_k8s_settings_are_settings_fields_and_the_secret_is_a_placeholder():
    settings = k8s_objects("ConfigMap")["acms-settings"]["data"]
    secret = k8s_objects("Secret")["acms-secrets"]["stringData"]
    for name in [*settings, *secret]:
        assert name in SETTING_NAMES, f"{name} is not a Settings field"
    assert set(settings).isdisjoint(secret)
    assert all("FAKE" in v for k, v in secret.items() if "PASSWORD" in k or "SECRET" in k)
    identity = urlsplit(settings["ACMS_IDENTITY_URL"])
    assert (identity.hostname, identity.port) == ("identity", SERVICE_PORTS["identity"])
    for deployment in k8s_objects("Deployment").values():
        for container in pod_containers(deployment):
            for source in container.get("envFrom", []):
                ref = source.get("configMapRef") or source.get("secretRef")
                kind = "ConfigMap" if "configMapRef" in source else "Secret"
                assert ref["name"] in k8s_objects(kind)
            for variable in container.get("env", []):
                assert variable["name"] in SETTING_NAMES


# Settings with no default: a deployment must supply each of them.
REQUIRED_SETTINGS = {
    f"ACMS_{name.upper()}"
    for name, field in Settings.model_fields.items()
    if field.is_required() and name != "service_name"
}


def test_k8s_supplies_every_required_setting_and_the_student_key_from_the_secret():
    assert "ACMS_STUDENT_KEY_SECRET" in REQUIRED_SETTINGS
    settings = k8s_objects("ConfigMap")["acms-settings"]["data"]
    secret = k8s_objects("Secret")["acms-secrets"]["stringData"]
    assert REQUIRED_SETTINGS <= set(settings) | set(secret)
    assert "ACMS_STUDENT_KEY_SECRET" in secret
    assert len(secret["ACMS_STUDENT_KEY_SECRET"]) >= 32
    for name, deployment in k8s_objects("Deployment").items():
        if name == "gateway":
            continue
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            refs = [
                s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s
            ]
            assert "acms-secrets" in refs, f"{name} does not read acms-secrets"


def test_compose_gives_every_service_the_student_key_secret_the_launchers_make():
    document = compose()
    file = document["secrets"]["acms_student_key_secret"]["file"]
    # Default: the file `ensure_secret student_key` makes under the launchers' .run/.
    assert file.endswith(":-../../.run/secrets/student_key}")
    assert "export_service_secrets" in (DEPLOY / "services.sh").read_text()
    assert "ensure_secret student_key" in (DEPLOY / "lib" / "common.sh").read_text()
    entrypoint = (DEPLOY / "docker" / "entrypoint.sh").read_text()
    assert "/run/secrets/acms_student_key_secret" in entrypoint
    for service, spec in app_services().items():
        assert "acms_student_key_secret" in spec.get("secrets", []), service
        env = environment(spec)
        assert "ACMS_STUDENT_KEY_SECRET" not in env, f"{service}: the secret is not inline"
        missing = REQUIRED_SETTINGS - set(env) - {"ACMS_STUDENT_KEY_SECRET"}
        assert not missing, f"{service} lacks {missing}"


# Services that run as a lesser role of their own, the owner migrating in a step before them.
RUNTIME_ROLE_SERVICES = {"retention"}


def test_each_service_has_its_own_database_role_everywhere():
    secrets = k8s_objects("Secret")
    assert not any(k.startswith("ACMS_PG_") for k in secrets["acms-secrets"]["stringData"])
    services = compose()["services"]
    for service in SERVICES:
        role = f"acms_{service}_app" if service in RUNTIME_ROLE_SERVICES else f"acms_{service}"
        credentials = secrets[f"acms-database-{service}"]["stringData"]
        assert credentials["ACMS_PG_USER"] == role
        assert "FAKE" in credentials["ACMS_PG_PASSWORD"]
        pod = k8s_objects("Deployment")[service]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        refs = {s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s}
        assert {r for r in refs if r.startswith("acms-database-")} == {f"acms-database-{service}"}
        env = environment(services[service])
        assert env["ACMS_PG_USER"] == role
        assert "ACMS_PG_OWNER_USER" not in env and "ACMS_PG_OWNER_PASSWORD" not in env
        suffix = "_APP" if service in RUNTIME_ROLE_SERVICES else ""
        assert f"ACMS_PG_PASSWORD_{service.upper()}{suffix}" in env["ACMS_PG_PASSWORD"]
        if service in RUNTIME_ROLE_SERVICES:  # the owner only in the migration step
            (migrate,) = pod["initContainers"]
            assert migrate["command"][-2:] == ["acms_platform.migrate", f"acms_{service}.app"]
            owner = {s["secretRef"]["name"] for s in migrate["envFrom"] if "secretRef" in s}
            assert f"acms-database-{service}-owner" in owner
            owner_env = secrets[f"acms-database-{service}-owner"]["stringData"]
            assert owner_env["ACMS_PG_OWNER_USER"] == f"acms_{service}"
            step = environment(services[f"{service}-migrate"])
            assert step["ACMS_PG_OWNER_USER"] == f"acms_{service}"
            assert services[service]["depends_on"][f"{service}-migrate"] == {
                "condition": "service_completed_successfully"
            }
        else:
            assert "initContainers" not in pod
    init = (COMPOSE_DIR / "postgres-init.sh").read_text()
    assert "REVOKE ALL ON DATABASE" in init and "OWNER" in init


def test_k8s_gateway_serves_the_generated_config():
    gateway = k8s_objects("Deployment")["gateway"]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in gateway["volumes"]}
    (container,) = gateway["containers"]
    mounted = {m["mountPath"]: m for m in container["volumeMounts"]}
    for path, key in (
        ("/etc/nginx/nginx.conf", "nginx.conf"),
        ("/etc/nginx/acms/proxy_headers.conf", "proxy_headers.conf"),
    ):
        assert mounted[path]["subPath"] == key
        assert volumes[mounted[path]["name"]]["configMap"]["name"] == "acms-gateway"
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert "listen 8080;" in nginx_lines((K8S / "gateway" / "nginx.conf").read_text())
    assert k8s_objects("Service")["gateway"]["spec"]["ports"][0]["targetPort"] == "http"


def test_image_exposes_the_service_ports_and_keeps_sources_beside_migrations():
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    exposed = re.search(r"^EXPOSE (.+)$", dockerfile, re.M)
    assert exposed and sorted(map(int, exposed.group(1).split())) == sorted(SERVICE_PORTS.values())
    for name in re.findall(r"\b(ACMS_\w+)=", dockerfile):
        assert name in SETTING_NAMES
    # services find migrations/ beside their source: the workspace must stay editable
    assert "--no-editable" not in dockerfile
    assert "COPY libs libs" in dockerfile and "COPY services services" in dockerfile
    entrypoint = (DEPLOY / "docker" / "entrypoint.sh").read_text()
    launcher = (DEPLOY / "services.sh").read_text()
    for text in (entrypoint, launcher):
        assert re.search(r'--root-path "/api/\$(name)"', text)
        assert "--factory" in text and "acms_${name}.app:create" in text


DOCUMENTS_LOCATION = r"location ~ ^/api/cases/cases/[^/]+/documents(/[^/]+/(versions|content))?$"


def test_gateway_streams_cases_documents_both_ways_like_nginx_sh():
    """Uploads pass unbuffered above the 1 MiB limit, downloads unbuffered too, everywhere
    the gateway runs (services/cases/README.md, "Documents")."""
    script = (DEPLOY / "nginx.sh").read_text().replace("\\$", "$")
    assert DOCUMENTS_LOCATION in script
    for text in [script, *(config.read_text() for config in GATEWAY_CONFIGS)]:
        location = nginx_block(text, DOCUMENTS_LOCATION)
        for directive in (
            "client_max_body_size 2g;",
            "proxy_request_buffering off;",
            "proxy_buffering off;",
            "proxy_pass http://acms_cases;",
        ):
            assert directive in location, directive


def test_every_kafka_client_in_the_manifests_verifies_the_broker_over_tls():
    """Compose's broker serves SASL_SSL only; each service connects as its own principal,
    its password and the CA from secret files (never inline), as the launchers' broker
    does; Kubernetes mounts the CA of Secret acms-kafka-ca where ACMS_KAFKA_CA_FILE says."""
    document = compose()
    start = (COMPOSE_DIR / "kafka-start.sh").read_text()
    protocols = next(
        line.split("=", 1)[1] for line in start.splitlines() if "security.protocol.map=" in line
    )
    assert {pair.split(":")[1] for pair in protocols.split(",")} == {"SASL_SSL"}
    assert "allow.everyone.if.no.acl.found=false" in start
    acls = document["services"]["kafka-acls"]
    assert {f"kafka_{service}" for service in SERVICES} <= set(acls["secrets"])
    for service, spec in app_services().items():
        env = environment(spec)
        assert env["ACMS_KAFKA_CA_FILE"] == "/run/secrets/kafka_ca", service
        assert env["ACMS_KAFKA_USERNAME"] == f"acms-{service}"
        assert "ACMS_KAFKA_PASSWORD" not in env, f"{service}: the password is not inline"
        assert {"source": f"kafka_{service}", "target": "acms_kafka_password"} in spec["secrets"]
        assert "kafka_ca" in spec["secrets"]
        assert spec["depends_on"]["kafka-acls"]["condition"] == "service_completed_successfully"
    assert "/run/secrets/acms_kafka_password" in (DEPLOY / "docker" / "entrypoint.sh").read_text()
    for name in document["secrets"]:
        assert "file" in document["secrets"][name], name
    settings = k8s_objects("ConfigMap")["acms-settings"]["data"]
    ca_file = Path(settings["ACMS_KAFKA_CA_FILE"])
    assert "ca.crt" in k8s_objects("Secret")["acms-kafka-ca"]["stringData"]
    for service in SERVICES:
        pod = k8s_objects("Deployment")[service]["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["kafka-ca"]["secret"]["secretName"] == "acms-kafka-ca"
        for container in pod["containers"] + pod.get("initContainers", []):
            mounts = {m["name"]: m for m in container["volumeMounts"]}
            assert mounts["kafka-ca"]["mountPath"] == str(ca_file.parent), (service, container)
            assert mounts["kafka-ca"].get("readOnly") is True
