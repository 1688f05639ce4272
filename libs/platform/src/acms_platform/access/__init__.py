"""The platform access kit: one way every service authorises, projects and audits.

- `CurrentActor`: the caller from the verified token *and* the service's knowledge of
  the account now (401 for an unknown or disabled account, or a revoked role).
- `Access` (`RequestAccess`): `authorise` (404 for what the caller may not see, reads and
  writes alike), `tiers_of` (one batch for a page), `readable` (the plan as SQL), and the
  one audit event per request (`returned`, `denied`, `missing`).
- `TieredView`, `tier_field`: typed response models, one optional field group per tier.
"""

from acms_platform.access.actor import Account, Actor, ActorSource
from acms_platform.access.dependencies import Access, CurrentActor
from acms_platform.access.plan import Membership, disjuncts, plan_condition
from acms_platform.access.request import Decision, RequestAccess, ResourceKind
from acms_platform.access.tiers import TieredView, granted_tiers, tier_field

__all__ = [
    "Access",
    "Account",
    "Actor",
    "ActorSource",
    "CurrentActor",
    "Decision",
    "Membership",
    "RequestAccess",
    "ResourceKind",
    "TieredView",
    "disjuncts",
    "granted_tiers",
    "plan_condition",
    "tier_field",
]
