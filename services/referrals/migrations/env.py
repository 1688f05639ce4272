from acms_platform.migrations import run_env
from acms_referrals.tables import metadata

run_env(metadata)
