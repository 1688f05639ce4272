from acms_platform.migrations import run_env
from acms_retention.tables import metadata

run_env(metadata)
