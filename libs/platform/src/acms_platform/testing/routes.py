"""Walk every route of a service with tokens it must refuse: a route that answers anything
but 401 to them is a route that forgot the actor."""

from __future__ import annotations

import re
import uuid

from fastapi import FastAPI

from acms_platform.testing.plugin import ServiceClient

# Routes anyone may call: health, the API description, signing in itself, and setting
# one's own password with a mailed token (the token is the credential).
PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/asyncapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/sign-in",
        "/sign-out",
        "/token/refresh",
        "/token/client",
        "/activate",
        "/password-reset",
        "/.well-known/jwks.json",
    }
)


def guarded_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path with every parameter filled) of every route of the API description
    that needs a caller."""
    walked = []
    for template, operations in app.openapi()["paths"].items():
        if template in PUBLIC_PATHS:
            continue
        path = re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), template)
        for method in sorted(operations):
            walked.append((method.upper(), path))
    return walked


async def not_refused(client: ServiceClient, tokens: dict[str, str]) -> list[str]:
    """Every (token, route) that was not answered with 401."""
    failures = []
    routes = guarded_routes(client.app)
    assert routes, "no route to walk"
    for case, token in tokens.items():
        headers = {"authorization": f"Bearer {token}"}
        for method, path in routes:
            response = await client.request(method, path, headers=headers, json={})
            if response.status_code != 401:
                failures.append(f"{case}: {method} {path} -> {response.status_code}")
    return failures
