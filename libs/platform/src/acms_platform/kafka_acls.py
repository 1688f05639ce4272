"""Every service's Kafka principal and ACLs, derived from the service's own code.

What a service may do on the bus follows from what it declares in its `ServiceDefinition`
(the definition its running app uses): `publishes` (the topics its outbox writes) and its
`handlers` (the topics it subscribes to). Nothing is listed twice:

- WRITE on the topics it publishes, and on the dead-letter topic of each topic it reads
  (its consumer parks there what it cannot handle);
- READ on the topics it subscribes to, and on its own consumer group;
- CREATE and DESCRIBE on exactly the topics `ensure_topics` creates at its start (those it
  publishes or reads, and their dead-letter topics).

Nothing else: no other service's topic, no other group, nothing on the cluster. A topic
namespace (tests' `test-<run>.`) prefixes every topic and group, as `Settings.topic` does.

    python -m acms_platform.kafka_acls print [--namespace N]     # review
    python -m acms_platform.kafka_acls apply [--secrets-dir D]   # as the admin
    python -m acms_platform.kafka_acls credentials --secrets-dir D [--controller H:P]

`apply` connects as the admin (`ACMS_KAFKA_ADMIN_USER`, `ACMS_KAFKA_ADMIN_PASSWORD`; over TLS
trusting `ACMS_KAFKA_CA_FILE` when it is set, as the services do), sets
each service principal's SCRAM credential from `D/kafka_<service>` when a secrets folder is
given (the launchers' .run/secrets; production creates its users from its secret store), and
adds the ACLs; `--prune` also removes the principals' ACLs that the code no longer derives.
`credentials` re-sets the admin's and every service principal's SCRAM credential (those with
a secret in D) through the controller listener (`upsert_scram_users_at_controller`), for a
broker that has come back refusing them all (deploy/kafka.sh does this at start).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from acms_contracts.topics import dead_letter_topic
from acms_platform.kafka_admin import (
    Acl,
    KafkaAdmin,
    Operation,
    PatternType,
    ResourceType,
    upsert_scram_users_at_controller,
)
from acms_platform.kafka_client import client_options

if TYPE_CHECKING:
    from acms_platform.runtime import ServiceDefinition

SERVICES = ("identity", "referrals", "cases", "integrations", "reporting", "retention")
PLACEHOLDER_SECRET = "placeholder-for-reading-definitions-only-0123456789"


def username(service: str) -> str:
    """The Kafka user a service connects as."""
    return f"acms-{service}"


def principal(service: str) -> str:
    return f"User:{username(service)}"


@dataclass(frozen=True)
class ServiceTopics:
    """What one service does on the bus, in contract topic names (no namespace)."""

    service: str
    publishes: frozenset[str]
    subscribes: frozenset[str]

    @classmethod
    def of(cls, definition: ServiceDefinition) -> ServiceTopics:
        handlers = definition.handlers
        subscribed = handlers.topics if handlers and handlers.handlers else ()
        return cls(definition.name, frozenset(definition.publishes), frozenset(subscribed))

    @property
    def writes(self) -> frozenset[str]:
        return self.publishes | {dead_letter_topic(t) for t in self.subscribes}

    @property
    def creates(self) -> frozenset[str]:
        """What `ensure_topics` creates at the service's start."""
        used = self.publishes | self.subscribes
        return used | {dead_letter_topic(t) for t in used}


def acls_for(
    topics: ServiceTopics,
    *,
    group: str,
    namespace: str = "",
    group_prefixed: bool = False,
    who: str | None = None,
) -> set[Acl]:
    """The ALLOW rules of one service. `group` is its consumer group as it joins it
    (namespace included, `Settings.group_id`); `group_prefixed` allows every group that
    starts so (tests give replicas and variants suffixed groups)."""
    who = who or principal(topics.service)

    def on_topics(names: Iterable[str], *operations: Operation) -> set[Acl]:
        return {
            Acl(ResourceType.TOPIC, namespace + name, PatternType.LITERAL, who, operation)
            for name in names
            for operation in operations
        }

    rules = on_topics(topics.writes, Operation.WRITE)
    rules |= on_topics(topics.subscribes, Operation.READ)
    rules |= on_topics(topics.creates, Operation.CREATE, Operation.DESCRIBE)
    if topics.subscribes:
        pattern = PatternType.PREFIXED if group_prefixed else PatternType.LITERAL
        rules.add(Acl(ResourceType.GROUP, group, pattern, who, Operation.READ))
    return rules


def service_definition(service: str) -> ServiceDefinition:
    """The definition the service's app is built from (`acms_<service>.app:create`)."""
    from pydantic import SecretStr

    from acms_platform.settings import Settings

    module = importlib.import_module(f"acms_{service}.app")
    settings = Settings(
        service_name=service,
        environment="development",
        kafka_username=None,
        kafka_password=None,
        student_key_secret=SecretStr(PLACEHOLDER_SECRET),
    )
    definition: ServiceDefinition = module.create(settings).state.runtime.definition
    return definition


def deployment_acls(
    services: Iterable[str] = SERVICES,
    *,
    namespace: str = "",
    group_of: Callable[[str], str] = lambda service: f"acms-{service}",
    group_prefixed: bool = False,
) -> dict[str, set[Acl]]:
    """Every service's rules, by service."""
    return {
        service: acls_for(
            ServiceTopics.of(service_definition(service)),
            group=namespace + group_of(service),
            namespace=namespace,
            group_prefixed=group_prefixed,
        )
        for service in services
    }


async def apply(
    admin_options: dict[str, object],
    rules: dict[str, set[Acl]],
    passwords: dict[str, str] | None = None,
    *,
    prune: bool = False,
) -> tuple[int, int]:
    """Set the principals' passwords (when given), add their rules and, with `prune`,
    remove their rules that are not derived any more. Returns (rules wanted, removed)."""
    wanted = set().union(*rules.values()) if rules else set()
    removed = 0
    async with KafkaAdmin(**admin_options) as admin:
        await admin.upsert_scram_users(
            {username(service): password for service, password in (passwords or {}).items()}
        )
        await admin.create_acls(wanted)
        if prune:
            ours = {principal(service) for service in rules}
            stale = {acl for acl in await admin.describe_acls() if acl.principal in ours}
            removed = await admin.delete_acls(stale - wanted)
    return len(wanted), removed


def _admin() -> tuple[str, str]:
    password = os.environ.get("ACMS_KAFKA_ADMIN_PASSWORD")
    if not password:
        raise SystemExit("kafka_acls: ACMS_KAFKA_ADMIN_PASSWORD is not set")
    return os.environ.get("ACMS_KAFKA_ADMIN_USER", "admin"), password


def _ca_file() -> str | None:
    return os.environ.get("ACMS_KAFKA_CA_FILE") or None


def _admin_options(bootstrap: str) -> dict[str, object]:
    return client_options(bootstrap, *_admin(), _ca_file())


def _passwords(folder: Path | None, services: Iterable[str]) -> dict[str, str]:
    if folder is None:
        return {}
    found = {}
    for service in services:
        path = folder / f"kafka_{service}"
        if not path.is_file():
            raise SystemExit(f"kafka_acls apply: {path} is missing (the launcher makes it)")
        found[service] = path.read_text().strip()
    return found


def _reset_credentials(controller: str, folder: Path | None, services: Iterable[str]) -> None:
    if folder is None:
        raise SystemExit("kafka_acls credentials: --secrets-dir is needed")
    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # PLAIN's "in the clear" notice
    admin, password = _admin()
    present = [s for s in services if (folder / f"kafka_{s}").is_file()]
    passwords = {admin: password} | {username(s): p for s, p in _passwords(folder, present).items()}
    asyncio.run(
        upsert_scram_users_at_controller(controller, admin, password, passwords, _ca_file())
    )
    print(f"kafka: re-set the SCRAM credentials of {', '.join(sorted(passwords))} at {controller}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m acms_platform.kafka_acls")
    parser.add_argument("action", choices=("print", "apply", "credentials"))
    parser.add_argument("services", nargs="*", default=list(SERVICES))
    parser.add_argument("--namespace", default="")
    parser.add_argument("--bootstrap", default=os.environ.get("ACMS_KAFKA_BOOTSTRAP", ""))
    parser.add_argument("--secrets-dir", type=Path)
    parser.add_argument("--prune", action="store_true")
    parser.add_argument("--controller", default="127.0.0.1:59093")
    args = parser.parse_args(argv)
    if args.action == "credentials":
        _reset_credentials(args.controller, args.secrets_dir, args.services)
        return
    logging.disable(logging.WARNING)  # building the apps (instrumentation notices)
    rules = deployment_acls(args.services, namespace=args.namespace)
    logging.disable(logging.NOTSET)
    if args.action == "print":
        for service, acls in rules.items():
            print(f"# {service}")
            print("\n".join(str(acl) for acl in sorted(acls)))
        return
    bootstrap = args.bootstrap or "127.0.0.1:59092"
    wanted, removed = asyncio.run(
        apply(
            _admin_options(bootstrap),
            rules,
            _passwords(args.secrets_dir, args.services),
            prune=args.prune,
        )
    )
    pruned = f", removed {removed} no longer derived" if args.prune else ""
    users = " and their SCRAM credentials" if args.secrets_dir else ""
    print(f"kafka: {len(rules)} service principals{users}, {wanted} ACLs applied{pruned}")


if __name__ == "__main__":
    main(sys.argv[1:])
