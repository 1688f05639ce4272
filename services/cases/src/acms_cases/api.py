"""HTTP routes of the cases service (so far only the platform's `GET /organisations/{id}`)."""

from acms_cases.tables import projections

routers = [projections.router]
