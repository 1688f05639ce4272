"""`python -m acms_platform.migrate acms_<service>.app`: apply a service's migrations as the
role that owns its database (ACMS_PG_OWNER_USER / ACMS_PG_OWNER_PASSWORD) and grant the role
the service runs as (ACMS_PG_USER) what it needs, as a step of its own before the service
starts. The service then never holds the owner's credentials: at head, its own start-up
migration run only reads the version, and it is not ready until this step has run."""

from __future__ import annotations

import importlib
import sys

from acms_platform.migrations import upgrade_to_head


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m acms_platform.migrate acms_<service>.app", file=sys.stderr)
        return 2
    app = importlib.import_module(argv[0]).create()  # builds the app; starts nothing
    runtime = app.state.runtime
    settings, definition = runtime.settings, runtime.definition
    grants = definition.runtime_grants(settings)
    upgrade_to_head(
        definition.root,
        settings.migration_database_url,
        settings.student_key_secret.get_secret_value(),
        grants,
    )
    granted = f"; {grants.role} granted its use" if grants else ""
    print(f"{definition.name}: migrations at head{granted}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
