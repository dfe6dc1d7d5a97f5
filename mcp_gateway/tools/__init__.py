"""The nine tools. Importing this package registers them, in the order tools/list shows them."""

from . import auth, list_cases, case_detail, update_case, comments, alerts, tenants  # noqa: F401  (import order = tools/list order)
