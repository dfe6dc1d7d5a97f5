"""A changelist paginator whose count stays fast on a table of millions of rows.

An exact `COUNT(*)` over the whole Activity Log scans the table. Unfiltered, the count is an
estimate from the database's own statistics (PostgreSQL `pg_class.reltuples`) or from the id range
(SQLite, where ids only grow and retention deletes the oldest); filtered, rows are counted up to a cap.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

COUNT_CAP = 10_000


def table_row_estimate(model: type, using: str) -> int | None:
    """A cheap estimate of a table's row count, or None when the database offers none."""
    connection = connections[using]
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Summed over the partitions when the table has them (the parent keeps no estimate of its
            # own); a plain table is its own single leaf. -1 means never analysed.
            cursor.execute(
                "SELECT COALESCE((SELECT SUM(c.reltuples) FILTER (WHERE c.reltuples >= 0) "
                "FROM pg_partition_tree(%s::regclass) t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf), "
                "(SELECT NULLIF(reltuples, -1) FROM pg_class WHERE oid = %s::regclass AND relkind = 'r'))::bigint",
                [table, table],
            )
            row = cursor.fetchone()
            return int(row[0]) if row and row[0] is not None else None
        if connection.vendor == "sqlite":
            pk = connection.ops.quote_name(model._meta.pk.column)
            # Two subqueries: SQLite answers a lone MIN or MAX from the index, not both in one SELECT.
            cursor.execute(f"SELECT (SELECT MAX({pk}) FROM {table}) - (SELECT MIN({pk}) FROM {table}) + 1")  # noqa: S608
            row = cursor.fetchone()
            return int(row[0]) if row and row[0] is not None else 0
    return None


class EstimatedCountPaginator(Paginator):
    """`count` is exact up to COUNT_CAP; above it, `count_is_estimate` or `count_is_capped` says so."""

    count_is_estimate = False
    count_is_capped = False

    @property
    def count_text(self) -> str:
        """The count as the list shows it: "about 2,345,678", "more than 10,000" or "42"."""
        if self.count_is_capped:
            return f"more than {COUNT_CAP:,}"
        return f"about {self.count:,}" if self.count_is_estimate else f"{self.count:,}"

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        capped = queryset.order_by()[: COUNT_CAP + 1].count()
        if capped <= COUNT_CAP:
            return capped
        if not queryset.query.where:
            estimate = table_row_estimate(queryset.model, queryset.db)
            if estimate is not None and estimate > COUNT_CAP:
                self.count_is_estimate = True
                return estimate
        self.count_is_capped = True
        return capped
