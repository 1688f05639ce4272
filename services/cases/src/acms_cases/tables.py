"""Tables of the cases service."""

from acms_platform.database import new_metadata
from acms_platform.identity_projection import OrganisationProjection

metadata = new_metadata()
organisations = OrganisationProjection(metadata)
