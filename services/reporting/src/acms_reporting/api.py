"""HTTP routes of the reporting service (so far only the platform's `GET /organisations/{id}`)."""

from acms_reporting.tables import projections

routers = [projections.router]
