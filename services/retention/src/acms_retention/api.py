"""HTTP routes of the retention service (so far only the platform's `GET /organisations/{id}`)."""

from acms_retention.tables import projections

routers = [projections.router]
