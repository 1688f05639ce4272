from acms_platform.migrations import run_env
from probe_service import metadata

run_env(metadata)
