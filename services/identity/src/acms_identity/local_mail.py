"""The local mailbox: read activation tokens from the Maildir the local SMTP server writes
(deploy/mail.sh, `$RUN_DIR/mail`), and activate invited accounts with them.

The one helper the demo loader and the tests use to do what an invitee does: read the
mail that arrived for them, and set their password with its token through the same
`activate` use case as `POST /activate`. Never used in production (there is no mailbox
to read there: the invitee reads their own mail).
"""

from __future__ import annotations

import asyncio
import email
import os
import time
from email import policy
from pathlib import Path

from acms_identity.mail import PURPOSE_HEADER, TOKEN_LINE

DEFAULT_MAILDIR = Path(os.environ.get("ACMS_RUN_DIR", Path(__file__).resolve().parents[4] / ".run"))


def maildir_path() -> Path:
    """`ACMS_MAILDIR`, else `$ACMS_RUN_DIR/mail` (the repository's .run/mail)."""
    configured = os.environ.get("ACMS_MAILDIR")
    return Path(configured) if configured else DEFAULT_MAILDIR / "mail"


def _messages_newest_first(maildir: Path) -> list[Path]:
    files = [p for sub in ("new", "cur") for p in (maildir / sub).glob("*") if p.is_file()]
    return sorted(files, key=lambda p: p.stat().st_mtime_ns, reverse=True)


def _token_of(path: Path, purpose: str | None) -> tuple[str, str] | None:
    """(recipient, token) of an activation mail, or None for any other message."""
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    if purpose is not None and message.get(PURPOSE_HEADER) != purpose:
        return None
    body = message.get_body(preferencelist=("plain",))
    if body is None:
        return None
    for line in body.get_content().splitlines():
        if line.startswith(TOKEN_LINE):
            return str(message["To"]).strip().lower(), line[len(TOKEN_LINE) :].strip()
    return None


def latest_tokens(maildir: Path, purpose: str | None = None) -> dict[str, str]:
    """Recipient → the token of the newest activation mail to them (one pass)."""
    tokens: dict[str, str] = {}
    for path in _messages_newest_first(maildir):
        found = _token_of(path, purpose)
        if found is not None:
            tokens.setdefault(*found)
    return tokens


def token_for(
    recipient: str, maildir: Path | None = None, purpose: str | None = None, timeout: float = 10
) -> str:
    """The token of the newest activation mail to `recipient`, waiting for it to arrive."""
    maildir, wanted = maildir or maildir_path(), recipient.strip().lower()
    deadline = time.monotonic() + timeout
    while True:
        for path in _messages_newest_first(maildir):
            found = _token_of(path, purpose)
            if found is not None and found[0] == wanted:
                return found[1]
        if time.monotonic() > deadline:
            raise LookupError(f"no activation mail to {recipient} in {maildir}")
        time.sleep(0.1)


async def activate_invited(database, emails: list[str], password: str, maildir: Path | None = None):  # type: ignore[no-untyped-def]
    """Activate every account invited at these addresses, as each invitee would: the token
    from their mail, then the activation use case with `password`.

    Local demo data and benchmarks only: every invitee here gets the same password, so it is
    checked against the password rules once and hashed once (Argon2id with the production
    parameters; `invitations.activate_with_hash`), not once per account: Argon2 per account
    made loading the demo take minutes on a busy 2-core machine. The accounts share one salt,
    which matters nothing for a published fake password."""
    from acms_identity.passwords import hash_secret_off_loop
    from acms_identity.schemas import Activate
    from acms_identity.service import invitations

    tokens = latest_tokens(maildir or maildir_path(), "invitation")
    missing = [e for e in emails if e.lower() not in tokens]
    if missing:
        raise LookupError(f"no invitation mail to {len(missing)} address(es), e.g. {missing[0]}")
    if not emails:
        return
    checked = Activate(token=tokens[emails[0].lower()], password=password)  # the password rules
    password_hash = await hash_secret_off_loop(checked.password)
    limit = asyncio.Semaphore(4)

    async def one(address: str) -> None:
        async with limit, database.transaction() as session:
            await invitations.activate_with_hash(session, tokens[address.lower()], password_hash)

    await asyncio.gather(*(one(address) for address in emails))
