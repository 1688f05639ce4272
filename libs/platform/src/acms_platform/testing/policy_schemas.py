"""What `cerbos compile` does not check about attributes, checked against `_schemas/`.

Cerbos validates requests (and the test suites' fixtures) against the schemas a resource
policy names, but a condition naming an attribute no schema has (`R.attr.shcool_id`)
compiles, and with it the rule silently matches nothing: the attribute is never sent, the
expression errors and the rule is skipped. A fixture that does not fit its schema is
rejected, which makes every action DENY: a suite expecting DENY still passes. So, over an
assembled policy root (`deploy/cerbos.sh compile` runs this on `.run/cerbos/compile`):

- every resource policy names `cerbos:///principal.json` and `cerbos:///<kind>.json`;
- every `R.attr.x` / `request.resource.attr.x` (and `P.attr.x` / `request.principal.attr.x`)
  in a resource policy, and in each derived-roles set it imports, is a property of its
  schema (a derived role is checked against every kind importing it);
- every principal and resource of every test suite fits its schema; a missing required
  attribute is excused only for a resource used solely for actions its schema ignores
  (`ignoreWhen`);
- every ALLOW rule has a `name` and the output that names it,
  `output: {when: {ruleActivated: '"<name>"'}}`: Cerbos then reports, with each decision,
  the rules that allowed each action (the output's `src`), and the access kit records them
  in the audit trail as `<kind>.<name>` (`granting_rules` lists them all).

`python -m acms_platform.testing.policy_schemas DIR` prints each problem and exits 1.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

PRINCIPAL_SCHEMA = "principal.json"
ATTRIBUTE = re.compile(
    r"\b(?P<who>R|P|request\.resource|request\.principal)\.attr"
    r"(?:\.(?P<dotted>[A-Za-z_][A-Za-z0-9_]*)|\[\s*[\"'](?P<quoted>[^\"']+)[\"']\s*\])"
)
ROOT = Path(__file__).resolve().parents[5]
SCHEMAS = ROOT / "policies" / "_schemas"


def load_schema(schemas: Path, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((schemas / name).read_text())
    return schema


@functools.lru_cache(maxsize=64)
def _validator(text: str) -> Any:
    return jsonschema_rs.validator_for(json.loads(text))


def validator(schema: dict[str, Any]) -> Any:
    return _validator(json.dumps(schema, sort_keys=True))


def read_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


def schema_errors(schema: dict[str, Any], attr: Any, *, required: bool = True) -> list[str]:
    """What is wrong with `attr` for `schema` (missing required attributes only if
    `required`)."""
    errors = []
    for error in validator(schema).iter_errors(attr if attr is not None else {}):
        if not required and error.kind.__class__.__name__ == "Required":
            continue
        path = "/" + "/".join(str(part) for part in error.instance_path)
        errors.append(f"{path}: {error.message}")
    return errors


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def attributes(node: Any) -> Iterator[tuple[str, str]]:
    """("principal" | "resource", name) of every attribute an expression names."""
    for text in strings(node):
        for match in ATTRIBUTE.finditer(text):
            who = "principal" if match["who"] in ("P", "request.principal") else "resource"
            yield who, match["dotted"] or match["quoted"]


@dataclass
class Policies:
    root: Path
    resource: dict[str, tuple[Path, dict[str, Any]]] = field(default_factory=dict)
    derived: dict[str, tuple[Path, dict[str, Any]]] = field(default_factory=dict)
    suites: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)

    @classmethod
    def load(cls, root: Path) -> Policies:
        found = cls(root)
        for path in sorted(root.rglob("*.yaml")):
            if "_schemas" in path.parts or "testdata" in path.parts:
                continue
            document = read_yaml(path) or {}
            if path.name.endswith("_test.yaml"):
                found.suites.append((path, document))
            elif "resourcePolicy" in document:
                policy = document["resourcePolicy"]
                found.resource[policy["resource"]] = (path, policy)
            elif "derivedRoles" in document:
                roles = document["derivedRoles"]
                found.derived[roles["name"]] = (path, roles)
        return found

    def schema_of(self, kind: str) -> dict[str, Any] | None:
        path = self.root / "_schemas" / f"{kind}.json"
        return json.loads(path.read_text()) if path.is_file() else None


def allow_rules(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in policy.get("rules") or [] if r.get("effect") == "EFFECT_ALLOW"]


def granting_rules(services: Path = ROOT / "services") -> set[str]:
    """`<kind>.<rule name>` of every ALLOW rule of every service's resource policies
    (`services/<svc>/policies/*.yaml`): the names the audit trail may give as granting."""
    found = set()
    for path in sorted(services.glob("*/policies/*.yaml")):
        policy = (read_yaml(path) or {}).get("resourcePolicy")
        if policy:
            found |= {f"{policy['resource']}.{r['name']}" for r in allow_rules(policy)}
    return found


def check_outputs(where: Path, policy: dict[str, Any]) -> list[str]:
    problems = []
    for number, rule in enumerate(allow_rules(policy), 1):
        name = rule.get("name")
        if not name:
            problems.append(f"{where}: ALLOW rule {number} has no name (the audit names it)")
            continue
        activated = ((rule.get("output") or {}).get("when") or {}).get("ruleActivated")
        if str(activated).strip() != f'"{name}"':
            problems.append(
                f"{where}: rule {name}: output.when.ruleActivated is {activated!r}, "
                f"not '\"{name}\"' (the granting rule the audit records)"
            )
    return problems


def check_policies(policies: Policies) -> list[str]:
    problems = []
    principal = load_schema(policies.root / "_schemas", PRINCIPAL_SCHEMA)
    for kind, (path, policy) in sorted(policies.resource.items()):
        where = path.relative_to(policies.root)
        problems += check_outputs(where, policy)
        schemas = policy.get("schemas") or {}
        wanted = {"principalSchema": PRINCIPAL_SCHEMA, "resourceSchema": f"{kind}.json"}
        for key, name in wanted.items():
            ref = (schemas.get(key) or {}).get("ref")
            if ref != f"cerbos:///{name}":
                problems.append(f"{where}: schemas.{key} is {ref!r}, not cerbos:///{name}")
        resource = policies.schema_of(kind)
        if resource is None:
            problems.append(f"{where}: no _schemas/{kind}.json")
            continue
        sources = [(where, policy)]
        for name in policy.get("importDerivedRoles") or []:
            if name in policies.derived:
                derived_path, derived = policies.derived[name]
                sources.append((derived_path.relative_to(policies.root), derived))
        for source, node in sources:
            for who, name in sorted(set(attributes(node))):
                schema = principal if who == "principal" else resource
                if name not in schema.get("properties", {}):
                    owner = PRINCIPAL_SCHEMA if who == "principal" else f"{kind}.json"
                    short = "P" if who == "principal" else "R"
                    problems.append(
                        f"{source}: {short}.attr.{name} is not in _schemas/{owner}"
                        + ("" if source == where else f" (imported by {kind})")
                    )
    return problems


def _fixtures(tests_dir: Path, suite: dict[str, Any], section: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    testdata = tests_dir / "testdata" / f"{section}.yaml"
    if testdata.is_file():
        merged.update((read_yaml(testdata) or {}).get(section) or {})
    merged.update(suite.get(section) or {})
    return merged


def check_fixtures(policies: Policies) -> list[str]:
    problems = []
    principal = load_schema(policies.root / "_schemas", PRINCIPAL_SCHEMA)
    for path, suite in policies.suites:
        where = path.relative_to(policies.root)
        principals = _fixtures(path.parent, suite, "principals")
        resources = _fixtures(path.parent, suite, "resources")
        used: dict[str, set[str]] = defaultdict(set)
        for test in suite.get("tests") or []:
            given = test.get("input") or {}
            for name in given.get("principals") or []:
                used[f"principal:{name}"].update(given.get("actions") or [])
            for name in given.get("resources") or []:
                used[name].update(given.get("actions") or [])
        for name, spec in sorted(principals.items()):
            if f"principal:{name}" not in used:
                continue
            for error in schema_errors(principal, spec.get("attr")):
                problems.append(f"{where}: principal {name}: {error}")
        for name, spec in sorted(resources.items()):
            if name not in used:
                continue
            kind = spec.get("kind", "")
            schema = policies.schema_of(kind)
            if schema is None:
                problems.append(f"{where}: resource {name}: no _schemas/{kind}.json")
                continue
            policy = policies.resource.get(kind, (path, {}))[1]
            ignored = set(
                ((policy.get("schemas") or {}).get("resourceSchema") or {})
                .get("ignoreWhen", {})
                .get("actions", [])
            )
            required = not (used[name] and used[name] <= ignored)
            for error in schema_errors(schema, spec.get("attr"), required=required):
                problems.append(f"{where}: resource {name} ({kind}): {error}")
    return problems


def check(root: Path) -> list[str]:
    policies = Policies.load(root)
    return check_policies(policies) + check_fixtures(policies)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m acms_platform.testing.policy_schemas POLICY_ROOT", file=sys.stderr)
        return 2
    policies = Policies.load(Path(argv[0]))
    problems = check_policies(policies) + check_fixtures(policies)
    for problem in problems:
        print(f"cerbos attributes: {problem}", file=sys.stderr)
    if problems:
        print(f"cerbos attributes: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(
        f"cerbos attributes: {len(policies.resource)} resource policies and "
        f"{len(policies.suites)} suites fit _schemas/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
