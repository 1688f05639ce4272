from acms_cases.tables import metadata
from acms_platform.migrations import run_env

run_env(metadata)
