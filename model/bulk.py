"""Many rows in one statement: inserted through Core rather than the ORM's bulk insert,
and looked up by a list of values (`one_of`).

The ORM's bulk insert turns each row into mapper state before the statement runs:
measured on SQLite, 500 raw records inserted 60 times took 0.84-0.88 s that way and
0.61-0.64 s through Core. A first sync inserts every record and item once, so this is
most of its rows. (Its bulk update by primary key measured the same both ways, so on
SQLite updates stay on the ORM's path.) Every row of one call has the same keys, so one
compiled statement serves them all.

On PostgreSQL the rows go as one array per column, unnested by the server
(`INSERT ... SELECT * FROM unnest(...)`). A multi-row VALUES statement is as long as its
rows, and psycopg rewrites its placeholders in Python on every execution (it caches only
statements under 4 KB): in a PostgreSQL first sync that rewriting was a quarter of the
normalizing process's CPU. Measured: 100,000 five-column rows in batches of 2,000,
1.24 s as VALUES and 0.53 s as arrays; 20,000 work items in batches of 1,000, 3.9 s and
0.9 s. Large text values turn it round: psycopg escapes each element of a text array,
and 20,000 raw Jira issues (8 KB of JSON each) took 6.5 s as arrays against 1.5 s as
VALUES, so the raw store's rows are sent as VALUES (`unnest=False`; measured with text
arrays, before lists went in binary). Updates by primary key go the same way
(`update_rows`), and psycopg sends every list in binary (`model.db`).

Lookups by a list of values go to PostgreSQL as `= ANY(:array)`, one parameter, rather
than `IN (...)` with one parameter a value: the statement's text is the same whatever the
list's length, so psycopg prepares it once and the server plans it once. Measured: a
lookup of 500 item keys in the raw store, 6.7-7.6 ms as `IN` and 3.1-3.4 ms as `ANY`;
a re-normalization makes two of those for each batch of 500 records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Table,
    any_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Result
from sqlalchemy.orm import DeclarativeBase, Session

__all__ = ["IN_LIST", "insert_rows", "one_of", "update_rows"]

#: Values per `IN (...)` list: within what any SQLite takes as a statement's parameters.
IN_LIST = 500


def one_of(on: Session | Connection, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN (values)`, written for the database `on` talks to: on PostgreSQL
    `column = ANY(:values)`, one array parameter however many values."""
    dialect = on.get_bind().dialect if isinstance(on, Session) else on.dialect
    if dialect.name == "postgresql":
        condition: ColumnElement[bool] = column == any_(
            bindparam(None, list(values), type_=ARRAY(column.type)))
        return condition
    in_list: ColumnElement[bool] = column.in_(values)
    return in_list


def insert_rows(session: Session, model: type[DeclarativeBase], rows: Sequence[dict[str, Any]],
                *returning: str, unnest: bool = True) -> Result[Any] | None:
    """Insert `rows` (each with the same keys) in one statement; with `returning`,
    the result of those columns for every row (in no promised order). `unnest=False`
    keeps rows of large documents out of arrays on PostgreSQL."""
    if not rows:
        return None
    table = model.__table__
    assert isinstance(table, Table), "a mapped class with a table of its own"
    arrays = unnest and session.get_bind().dialect.name == "postgresql"
    statement = _from_arrays(table, rows) if arrays else insert(table)
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
    # Without arrays: one executemany, which SQLAlchemy sends as multi-row VALUES.
    result = session.execute(statement) if arrays else session.execute(statement, rows)
    return result if returning else None


def update_rows(session: Session, model: type[DeclarativeBase],
                rows: Sequence[dict[str, Any]]) -> None:
    """Update rows by primary key (`id`), each row with the same keys and no id twice.

    On PostgreSQL in one statement, `UPDATE ... FROM unnest(...)` with one array a
    column, not one UPDATE a row: a batch's 500 raw records took 16.5 ms that way
    (8 ms of it psycopg and SQLAlchemy in this process) and 10.5 ms (2 ms) as arrays.
    Elsewhere the ORM's bulk update by primary key, one executemany.
    """
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(update(model), rows)
        return
    table = model.__table__
    assert isinstance(table, Table), "a mapped class with a table of its own"
    given = _unnested(table, rows).render_derived(name="given")
    session.execute(update(table).where(table.c.id == given.c.id).values(
        {name: given.c[name] for name in rows[0] if name != "id"}))


def _unnested(table: Table, rows: Sequence[dict[str, Any]]) -> Any:
    """`unnest(:a, :b, ...)` as a table of the rows' keys, one array a column."""
    names = list(rows[0])
    columns = [bindparam(name, [row[name] for row in rows], type_=ARRAY(table.c[name].type))
               for name in names]
    return func.unnest(*columns).table_valued(*names)


def _from_arrays(table: Table, rows: Sequence[dict[str, Any]]) -> Insert:
    """`INSERT INTO table (...) SELECT * FROM unnest(:a, :b, ...)`, one array a column.

    Each array is typed as its column (`ARRAY(column.type)`), so every value still goes
    through its column's conversion (UTC timestamps, JSON, enums) on the way in.
    """
    unnested = _unnested(table, rows).render_derived()
    return insert(table).from_select(list(rows[0]), select(*unnested.c))
