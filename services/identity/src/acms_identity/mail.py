"""Mail identity sends: invitations and password resets, over SMTP (settings `smtp_*`).

Sent while the request's transaction is open: if the server does not take the message,
the request fails (503) and nothing it wrote is kept, so no invitation exists that nobody
was told of. (A commit failing after the send leaves a mail whose token does not work.)
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from acms_identity.errors import MailUnavailable
from acms_platform.settings import Settings

log = logging.getLogger(__name__)

TOKEN_LINE = "Activation token: "  # local_mail.py reads the token after this
PURPOSE_HEADER = "X-ACMS-Purpose"


@dataclass(frozen=True)
class ActivationMail:
    to: str
    display_name: str
    purpose: str  # invitation | password_reset
    token: str
    expires_at: datetime


def compose(settings: Settings, mail: ActivationMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to
    message["Message-ID"] = make_msgid(domain="acms.example.org")
    message[PURPOSE_HEADER] = mail.purpose
    if mail.purpose == "invitation":
        message["Subject"] = "Your ACMS account: choose your password"
        opening = "An account in ACMS, the attendance case management system, was made for you."
    else:
        message["Subject"] = "ACMS: reset your password"
        opening = "Someone asked to reset the password of your ACMS account."
    expires = mail.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    message.set_content(
        f"Kia ora {mail.display_name},\n\n{opening}\n"
        f"Choose your password (at least 12 characters) before {expires}, once:\n\n"
        f"  curl -X POST {settings.public_url}/api/identity/activate \\\n"
        f"       -H 'content-type: application/json' \\\n"
        f'       -d \'{{"token": "{mail.token}", "password": "<your new password>"}}\'\n\n'
        f"{TOKEN_LINE}{mail.token}\n\n"
        "Nobody else knows this token or will ever ask you for your password. If you did "
        "not expect this message, ignore it: nothing changes until the token is used.\n"
    )
    return message


def _send(settings: Settings, message: EmailMessage) -> None:
    timeout = settings.smtp_timeout_seconds
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username and settings.smtp_password is not None:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(message)


async def send_activation(settings: Settings, mail: ActivationMail) -> None:
    """Hand the message to the SMTP server; MailUnavailable (503) if it does not take it."""
    try:
        await asyncio.to_thread(_send, settings, compose(settings, mail))
    except (OSError, smtplib.SMTPException) as error:
        # The class only: the server's reply may quote the recipient.
        log.warning(
            "mail server %s:%s refused or unreachable: %s",
            settings.smtp_host,
            settings.smtp_port,
            type(error).__name__,
        )
        raise MailUnavailable("mail server unavailable: nothing was sent or changed") from None
