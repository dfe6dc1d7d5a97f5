"""listCases `search` and `name` on PostgreSQL: trigram GIN indexes.

The filters mean the same on every database: each `search` term must be a substring of the lower-cased
search_text (`search_text LIKE '%term%'`), and `name` a case-insensitive substring of the name (Django's
`icontains`: `UPPER(name) LIKE UPPER('%text%')`). pg_trgm's GIN operator class answers such LIKE
patterns from an index, for texts of three characters or more, instead of reading every case; the
expressions below are the ones those queries use, so the planner can match them. These operations do
nothing on SQLite, whose search index is an FTS5 table (migration 0004).

The indexes are built CONCURRENTLY so that migrating a live database does not block case updates (hence
a non-atomic migration). pg_trgm is a trusted extension: the owner of the database may create it. Where
the application role may not, a superuser runs `CREATE EXTENSION pg_trgm;` once and this migration then
finds it.
"""

from django.db import migrations

INDEXES = {
    "case_search_trgm": "search_text gin_trgm_ops",
    "case_name_trgm": "UPPER(name::text) gin_trgm_ops",
}


def create_indexes(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is None:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, expression in INDEXES.items():
            # A concurrent build that failed half-way leaves an invalid index behind: start again.
            cursor.execute(
                "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s",
                [name],
            )
            row = cursor.fetchone()
            if row is not None and not row[0]:
                cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            cursor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON cases_case USING gin ({expression})")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # The extension stays: other objects of the database may use it.
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
