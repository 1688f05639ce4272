"""Every 2xx answer checked against the response schema the service's OpenAPI document
declares for its route: what a client (and the hardening issue's fuzzer) is promised is
what it gets. `check_responses(client)` installs the check on a test client, so every test
that calls the service checks every answer it gets."""

from __future__ import annotations

import re
from typing import Any

import httpx

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def violations(schema: dict[str, Any], value: Any, root: dict[str, Any], at: str = "") -> list[str]:
    """Where `value` breaks `schema` (a subset of JSON Schema: what FastAPI emits)."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        return violations(root["components"]["schemas"][name], value, root, at)
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema["oneOf"]
        if any(not violations(o, value, root, at) for o in options):
            return []
        return [f"{at or '.'}: {value!r} matches none of {len(options)} options"]
    kind = schema.get("type")
    if kind is not None:
        allowed = _TYPES[kind]
        is_bool = isinstance(value, bool)
        if not isinstance(value, allowed) or (is_bool and kind in ("integer", "number")):
            return [f"{at or '.'}: {type(value).__name__} where the schema says {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{at or '.'}: {value!r} not one of {schema['enum']}"]
    found: list[str] = []
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{at}.{name}: required, absent")
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                found += violations(properties[name], item, root, f"{at}.{name}")
            elif extra is False:
                found.append(f"{at}.{name}: not in the schema")
            elif isinstance(extra, dict):
                found += violations(extra, item, root, f"{at}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += violations(schema["items"], item, root, f"{at}[{index}]")
    return found


def _route_of(document: dict[str, Any], method: str, path: str) -> dict[str, Any] | None:
    for template, operations in document["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            operation: dict[str, Any] = operations[method.lower()]
            return operation
    return None


def response_violations(document: dict[str, Any], response: httpx.Response) -> list[str]:
    request = response.request
    if not 200 <= response.status_code < 300 or not response.content:
        return []
    operation = _route_of(document, request.method, request.url.path)
    if operation is None or "health" in operation.get("tags", []):
        return []  # not in the API description (metrics), or the platform's probes
    declared = operation.get("responses", {}).get(str(response.status_code))
    if declared is None:
        return [f"{request.method} {request.url.path}: {response.status_code} is undocumented"]
    media = response.headers.get("content-type", "").split(";")[0].strip()
    if media != "application/json":
        if media in declared.get("content", {}):
            return []  # a declared other format (a CSV export): not JSON to check
        return [f"{request.method} {request.url.path}: {media or 'no content type'} undeclared"]
    schema = declared.get("content", {}).get("application/json", {}).get("schema")
    if not schema:
        return [f"{request.method} {request.url.path}: no response schema"]
    return [
        f"{request.method} {request.url.path}{where}"
        for where in violations(schema, response.json(), document)
    ]


def check_responses(client: httpx.AsyncClient) -> None:
    """Fail any call through `client` whose 2xx answer breaks its declared schema."""
    document = client.app.openapi()  # type: ignore[attr-defined]

    async def check(response: httpx.Response) -> None:
        await response.aread()
        found = response_violations(document, response)
        if found:
            raise AssertionError("response breaks its OpenAPI schema: " + "; ".join(found[:5]))

    client.event_hooks["response"] = [*client.event_hooks.get("response", []), check]
