"""The Python twin of auth.config.ts: the tests' own OIDC issuer (set before deploying)."""

import os

providers = [
    {"domain": os.environ["TEST_OIDC_ISSUER"], "application_id": "convex"},
]
