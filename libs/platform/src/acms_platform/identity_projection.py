"""Kept for the migrations written before `acms_platform.projections`: import from there."""

from acms_platform.projections.organisations import (
    OrganisationProjection,
    OrganisationView,
    create_organisations_projection_table,
    organisations_table,
)

__all__ = [
    "OrganisationProjection",
    "OrganisationView",
    "create_organisations_projection_table",
    "organisations_table",
]
