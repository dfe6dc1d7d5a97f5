"""API keys and access tokens: their format, digests and services, the one authentication both doors use,
the principal it yields, and the profile page and admin where keys are made and revoked."""
