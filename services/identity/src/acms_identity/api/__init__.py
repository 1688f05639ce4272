"""HTTP routes of the identity service, one module per use-case area."""

from acms_identity.api import accounts, organisations, tokens

routers = (tokens.router, organisations.router, accounts.router)
