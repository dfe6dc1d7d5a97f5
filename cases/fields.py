"""Model fields of the embedded store."""

from __future__ import annotations

from typing import Any

from django.db import models


class DocumentField(models.JSONField):
    """A JSON document that is stored and read whole, never queried inside (an alert's `_source`).

    On PostgreSQL the column is `json`, the text as written, rather than `jsonb`: `jsonb` takes its input
    apart into a binary tree, which made PostgreSQL spend 2.5 times as long storing an alert when demo
    data is loaded, and puts the text back together on every read. What `json` gives up (operators and
    indexes inside the document, equality) nothing uses. Other databases keep JSONField's column.
    """

    def db_type(self, connection: Any) -> str | None:
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def select_format(self, compiler: Any, sql: str, params: Any) -> tuple[str, Any]:
        # psycopg would decode a `json` column itself (Django has it leave `jsonb` alone); read the text,
        # so that JSONField decodes it exactly once, as for `jsonb`.
        if compiler.connection.vendor == "postgresql":
            return f"({sql})::text", params
        return super().select_format(compiler, sql, params)
