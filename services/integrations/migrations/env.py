from acms_integrations.tables import metadata
from acms_platform.migrations import run_env

run_env(metadata)
