"""HTTP routes of the identity service, one module per use-case area."""

from acms_identity.api import accounts, activation, organisations, tokens

routers = (tokens.router, activation.router, organisations.router, accounts.router)
