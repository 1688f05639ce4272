"""Tables of the retention service."""

from acms_platform.database import new_metadata
from acms_platform.projections import Projections

metadata = new_metadata()
projections = Projections(metadata)
