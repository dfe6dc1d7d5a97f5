"""The eight tools. Importing this package registers them, in the order tools/list shows them."""

from . import auth, cases, alerts, tenants  # noqa: F401  (import order = tools/list order)
