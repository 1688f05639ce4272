"""Activation and password reset: a person sets their own password with a mailed token."""

from fastapi import APIRouter, status

from acms_identity.api.dependencies import SystemContext
from acms_identity.schemas import Accepted, Activate, PasswordReset
from acms_identity.service import invitations
from acms_platform.dependencies import DbSession

router = APIRouter(tags=["activation"])

RESET_ACCEPTED = (
    "if an active account has this address, a reset token was mailed to it; "
    "it works once, within the hour"
)


@router.post("/activate", status_code=status.HTTP_204_NO_CONTENT)
async def activate(command: Activate, session: DbSession) -> None:
    """Choose one's password with the token from an invitation or password-reset mail."""
    await invitations.activate(session, command)


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED)
async def request_password_reset(command: PasswordReset, ctx: SystemContext) -> Accepted:
    """Mails a reset token to the account's own address; the same answer for any address."""
    await invitations.request_password_reset(ctx, command)
    return Accepted(detail=RESET_ACCEPTED)
