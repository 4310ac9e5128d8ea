"""Security: identity (users, roles, API keys). Access rules live in :mod:`kotae.acl`."""
