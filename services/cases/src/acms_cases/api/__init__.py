"""HTTP routes of the cases service: each turns input into one use-case call."""

from acms_cases.api.cases import cases
from acms_cases.api.content import content
from acms_cases.api.team import team
from acms_cases.tables import projections

routers = [projections.router, cases, content, team]
