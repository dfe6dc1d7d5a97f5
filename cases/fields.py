"""Model fields of the embedded store."""

from __future__ import annotations

from typing import Any

from django.db import models
from psycopg.types.json import Json, Jsonb


class DocumentField(models.JSONField):
    """A JSON document that is stored and read whole, never queried inside (an alert's `_source`).

    On PostgreSQL the column is `json`, the text as written, rather than `jsonb`: `jsonb` takes its input
    apart into a binary tree, which made PostgreSQL spend 2.5 times as long storing an alert when demo
    data is loaded, and puts the text back together on every read. What `json` gives up nothing here uses:
    lookups inside the document (`source__key`, `has_key`, `contains`), equality and ordering on it, and
    `Model.objects.raw()` over it (psycopg would decode the column before JSONField does). Other databases
    keep JSONField's column.
    """

    def db_type(self, connection: Any) -> str | None:
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        # JSONField sends its values as `jsonb`, which PostgreSQL would parse and write back normalised
        # (keys reordered, duplicates dropped); send them as `json`, kept as written.
        value = super().get_db_prep_value(value, connection, prepared)
        if connection.vendor == "postgresql" and isinstance(value, Jsonb):
            return Json(value.obj, dumps=value.dumps)
        return value

    def select_format(self, compiler: Any, sql: str, params: Any) -> tuple[str, Any]:
        # psycopg would decode a `json` column itself (Django has it leave `jsonb` alone); read the text,
        # so that JSONField decodes it exactly once, as for `jsonb`.
        if compiler.connection.vendor == "postgresql":
            return f"({sql})::text", params
        return super().select_format(compiler, sql, params)
