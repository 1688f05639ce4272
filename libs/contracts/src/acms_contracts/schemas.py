"""JSON Schemas of every event, committed under libs/contracts/schemas/.

`python -m acms_contracts.schemas` rewrites the committed folder. The test suite compares
the live models with the committed schemas and fails on a change that would break a
consumer still reading the old shape: a removed field, a changed type, a new required field.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from acms_contracts.envelope import EventEnvelope
from acms_contracts.registry import EVENT_TYPES

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def current_schemas() -> dict[str, dict[str, Any]]:
    """File name → JSON Schema for the envelope and every registered event."""
    schemas = {"EventEnvelope.json": EventEnvelope.model_json_schema()}
    for event_type, cls in sorted(EVENT_TYPES.items()):
        schema = cls.model_json_schema()
        schema["x-topic"] = cls.topic
        schemas[f"{event_type}.v{cls.schema_version}.json"] = schema
    return schemas


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return _resolve(root["$defs"][ref.removeprefix("#/$defs/")], root)
    return schema


def _type_signature(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """A comparable summary of what values a property accepts."""
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return sorted(json.dumps(_type_signature(s, root)) for s in schema["anyOf"])
    if "enum" in schema:
        return {"enum": sorted(map(str, schema["enum"]))}
    signature: dict[str, Any] = {"type": schema.get("type"), "format": schema.get("format")}
    if schema.get("type") == "array" and "items" in schema:
        signature["items"] = _type_signature(schema["items"], root)
    return signature


def _enum_values(signature: Any) -> set[str] | None:
    return set(signature["enum"]) if isinstance(signature, dict) and "enum" in signature else None


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Reasons why `new` cannot read/write what readers of `old` expect (empty if none)."""
    problems: list[str] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"field {name!r} was removed")
            continue
        before, after = _type_signature(old_prop, old), _type_signature(new_props[name], new)
        old_enum, new_enum = _enum_values(before), _enum_values(after)
        if old_enum is not None and new_enum is not None:
            if not old_enum <= new_enum:
                problems.append(f"field {name!r} lost enum values {sorted(old_enum - new_enum)}")
        elif before != after:
            problems.append(f"field {name!r} changed type from {before} to {after}")
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(newly_required):
        problems.append(f"field {name!r} became required")
    return problems


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, schema in current_schemas().items():
        path = directory / file_name
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_schemas():
        print(f"wrote {path}", file=sys.stderr)
