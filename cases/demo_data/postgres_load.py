"""Writing the demo cases into PostgreSQL fast enough for a million of them.

What makes the difference, each measured on seeding (benchmarks/HISTORY.md):
- COPY instead of INSERT: one stream per table and chunk, in the binary format (psycopg formats the rows),
  FREEZE when the tables were empty.
- lz4 instead of pglz for the JSON that PostgreSQL compresses.
- Indexes built after the load. Keeping a dozen indexes (two of them trigram GIN) up to date row by row,
  and queueing a deferred foreign-key check per row until COMMIT, cost more than writing the rows. So,
  like pg_restore, `indexes_built_after` drops the tables' secondary indexes, unique constraints and
  foreign keys, and creates them again from their own definitions (read from the catalog, so a later
  migration's indexes come back too): one sort per index, one join per foreign key. It all runs in the
  caller's transaction, so a failure rolls the DDL back with the rows. The tables stay locked (ACCESS
  EXCLUSIVE) until the transaction ends, which suits seeding and is why nothing else uses this.
- Building cases is Python and takes longer than PostgreSQL takes to store them, so worker processes
  build chunks and format them for COPY while this process streams the finished ones to the server.
"""

from __future__ import annotations

import io
import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg
from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from psycopg.copy import Copy, FileWriter
from psycopg.types.json import set_json_dumps

from cases.models import Case

from .plan import SeedPlan, gc_paused
from .records import CHILDREN, CaseBundle

# Memory for each index build's sort. The default (64 MB) spills the larger builds at a million cases.
MAINTENANCE_WORK_MEM = "512MB"
# Below this many cases, starting worker processes costs more than it saves.
PARALLEL_MIN_CASES = 20_000

# What each chunk writes, in order: the cases' columns, then each kind of child row's ("case" first).
_FIELDS: list[list[Field]] = [
    list(Case._meta.concrete_fields),
    *([model._meta.get_field(name) for name in ("case", *row._fields)] for model, _attr, row in CHILDREN),
]
TABLES = [fields[0].model._meta.db_table for fields in _FIELDS]


def load(connection: BaseDatabaseWrapper, plan: SeedPlan, *, workers: int | None = None,
         progress: Callable[[int, int], None] | None = None) -> Counter[str]:
    """Build and write every case of the plan with its children; returns the rows written per kind
    ("cases", "alerts", ...). `workers`: processes that build cases (0: build here; default: one per
    CPU when the plan is large)."""
    if workers is None:
        workers = (os.cpu_count() or 1) if plan.cases >= PARALLEL_MIN_CASES else 0
    qn = connection.ops.quote_name
    counts: Counter[str] = Counter()
    with indexes_built_after(connection, TABLES):
        _prefer_lz4(connection)
        options = "FORMAT binary, FREEZE" if _truncate_when_empty(connection, TABLES) else "FORMAT binary"
        statements = [
            f"COPY {qn(table)} ({', '.join(qn(f.column) for f in fields)}) FROM STDIN WITH ({options})"
            for table, fields in zip(TABLES, _FIELDS)
        ]
        first_id = _reserve_ids(connection, Case._meta.db_table, plan.cases)
        types = _column_types(connection)
        for stop, payloads, chunk_counts in _formatted_chunks(plan, first_id, types, connection, workers):
            with connection.cursor() as cursor:
                for statement, payload in zip(statements, payloads):
                    if payload:
                        with cursor.cursor.copy(statement) as copy:
                            copy.write(payload)
            counts.update(chunk_counts)
            if progress:
                progress(stop, plan.cases)
    return counts


# --- building chunks, here or in worker processes ---------------------------------------------------
_worker_state: tuple[SeedPlan, int, list[list[int]], psycopg.Cursor] | None = None


def _start_worker(plan: SeedPlan, first_id: int, types: list[list[int]], connection: BaseDatabaseWrapper) -> None:
    global _worker_state
    _worker_state = (plan, first_id, types, _formatting_cursor(connection))


def _format_chunk(span: tuple[int, int]) -> tuple[int, list[bytes], Counter[str]]:
    assert _worker_state is not None
    plan, first_id, types, cursor = _worker_state
    start, stop = span
    bundles: list[CaseBundle] = plan.build(start, stop)
    for offset, bundle in enumerate(bundles):
        bundle.case.pk = first_id + start + offset
    case_attnames = [f.attname for f in _FIELDS[0]]
    counts: Counter[str] = Counter(cases=len(bundles))
    with gc_paused():
        payloads = [_copy_payload(cursor, types[0], [[getattr(b.case, a) for a in case_attnames] for b in bundles])]
        for (_model, attr, _row), row_types in zip(CHILDREN, types[1:]):
            rows = [(b.case.pk, *row) for b in bundles for row in getattr(b, attr)]
            payloads.append(_copy_payload(cursor, row_types, rows))
            counts[attr] = len(rows)
    return stop, payloads, counts


def _formatted_chunks(plan: SeedPlan, first_id: int, types: list[list[int]], connection: BaseDatabaseWrapper,
                      workers: int) -> Iterator[tuple[int, list[bytes], Counter]]:
    """The chunks' COPY payloads, in order. With workers, at most two chunks per worker wait in memory
    for the database, whichever side is faster."""
    start = (plan, first_id, types, connection)
    if workers <= 0:
        _start_worker(*start)
        yield from map(_format_chunk, plan.chunks())
        return
    # fork: the workers inherit the plan (and the set-up Django) instead of unpickling it. They send
    # nothing over the database connection they inherit (_formatting_cursor), and they leave with
    # os._exit, so it is not closed.
    with multiprocessing.get_context("fork").Pool(workers, _start_worker, start) as pool:
        pending: deque = deque()
        spans = iter(plan.chunks())
        for span in spans:
            pending.append(pool.apply_async(_format_chunk, (span,)))
            if len(pending) >= 2 * workers:
                break
        while pending:
            result = pending.popleft().get()
            span = next(spans, None)
            if span is not None:
                pending.append(pool.apply_async(_format_chunk, (span,)))
            yield result


# --- COPY's binary format --------------------------------------------------------------------------------
# psycopg formats the rows (in C), into memory through its FileWriter: half the time of formatting them as
# text in Python, and PostgreSQL reads numbers and times without parsing them.
_TRAILER = b"\xff\xff"  # ends a binary COPY stream; psycopg's Copy adds it when the payload is sent


def _column_types(connection: BaseDatabaseWrapper) -> list[list[int]]:
    """Each table's column types (oids), in the order of _FIELDS: binary COPY converts nothing."""
    types = []
    with connection.cursor() as cursor:
        for table, fields in zip(TABLES, _FIELDS):
            cursor.execute("SELECT attname, atttypid FROM pg_attribute "
                           "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", [table])
            oids = dict(cursor.fetchall())
            types.append([oids[f.column] for f in fields])
    return types


def _formatting_cursor(connection: BaseDatabaseWrapper) -> psycopg.Cursor:
    """A psycopg cursor for its adapters alone (Copy takes them from a cursor). Nothing is ever executed on
    it: with FileWriter, a Copy writes to memory, never to the server, which is why forked workers may use
    the connection they inherit for this."""
    cursor = connection.connection.cursor()
    set_json_dumps(orjson.dumps, cursor)  # on this cursor only
    return cursor


def _copy_payload(cursor: psycopg.Cursor, types: list[int], rows: Sequence[Sequence[Any]]) -> bytes:
    """The rows as a binary COPY stream, without its trailer (b"" without rows)."""
    if not rows:
        return b""
    buffer = io.BytesIO()
    with Copy(cursor, binary=True, writer=FileWriter(buffer)) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
    payload = buffer.getvalue()
    assert payload.endswith(_TRAILER)
    return payload[:-len(_TRAILER)]


def _truncate_when_empty(connection: BaseDatabaseWrapper, tables: Sequence[str]) -> bool:
    """TRUNCATE the tables if every one of them is empty (never otherwise), which lets COPY write the rows
    frozen and marked all-visible: counts are then answered from the indexes alone from the first query
    on, with no VACUUM of a million rows to wait for."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(" OR ".join(f"EXISTS (SELECT 1 FROM {qn(table)})" for table in tables).join(("SELECT ", "")))
        if cursor.fetchone()[0]:
            return False
        cursor.execute(f"TRUNCATE {', '.join(qn(table) for table in tables)}")
    return True


def _prefer_lz4(connection: BaseDatabaseWrapper) -> None:
    """Compress the large JSON values (an alert's source) with lz4 rather than pglz: the alerts' COPY took
    a third less time. Servers built without lz4 refuse the setting; they keep pglz."""
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("SET LOCAL default_toast_compression = lz4")
    except DatabaseError:
        pass


# --- ids and indexes --------------------------------------------------------------------------------------
def _reserve_ids(connection: BaseDatabaseWrapper, table: str, count: int) -> int:
    """Take `count` consecutive values of the table's id sequence; returns the first. The caller holds
    the table locked, so nothing else draws from the sequence meanwhile."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        (sequence,) = cursor.fetchone()
        cursor.execute("SELECT nextval(%s)", [sequence])
        (first,) = cursor.fetchone()
        if count > 1:
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return first


@contextmanager
def indexes_built_after(connection: BaseDatabaseWrapper, tables: Sequence[str]) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
            FROM pg_constraint
            WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('u', 'f')
            ORDER BY contype DESC, conname
            """,
            [list(tables)],
        )
        constraints = cursor.fetchall()  # unique ones first: a foreign key may need one back
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                              AND c.conrelid = i.indrelid)
            ORDER BY 1
            """,
            [list(tables)],
        )
        indexes = cursor.fetchall()
        qn = connection.ops.quote_name
        # ALTER TABLE refuses a table with deferred foreign-key checks still queued (rows this
        # transaction changed before): run those checks now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table, name, _kind, _definition in reversed(constraints):
            cursor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {qn(name)}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = %s", [MAINTENANCE_WORK_MEM])
        add = "ALTER TABLE {} ADD CONSTRAINT {} {}"
        statements = [add.format(qn(t), qn(n), d) for t, n, kind, d in constraints if kind == "u"]
        statements += [definition for _name, definition in indexes]
        statements += [add.format(qn(t), qn(n), d) for t, n, kind, d in constraints if kind == "f"]
        for statement in statements:
            cursor.execute(statement)
