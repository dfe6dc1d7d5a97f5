"""Settings of the ceiling server in compare_sdk.py: the product's settings with one more URL.

Same middleware, database, logging and everything else as `stellar_mcp_site.settings`; only the URL
configuration differs, so the benchmark-only view never lands in the product.
"""

from stellar_mcp_site.settings import *  # noqa: F401,F403

ROOT_URLCONF = "benchmarks.ceiling_urls"
