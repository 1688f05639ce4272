from acms_identity.tables import metadata
from acms_platform.migrations import run_env

run_env(metadata)
