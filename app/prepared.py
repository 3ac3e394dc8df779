"""Statements for the hot paths: compiled once per database dialect, then run
straight on the DBAPI cursor of the caller's connection, inside the caller's
transaction.

SQLAlchemy's execution layer costs about 80 µs a statement on this class of
machine (the DBAPI call itself: about 4 µs). Intake runs some eight
statements per message and must ingest 500 messages a second, one
transaction each, so its statements go through `Prepared`: the SQL is still
a SQLAlchemy Core expression (one text for SQLite and PostgreSQL), compiled
by SQLAlchemy's own compiler, and each parameter passes through its column
type's bind processor exactly as in a normal execution.

Driver errors surface as SQLAlchemy's exceptions, as from `Connection.execute`.
Limits, by design: parameters are bound by name and every one must be given
(no column defaults are filled in); results are raw DBAPI values, so a
statement returns only integers and strings (no date decoding).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, DateTime, TypeDecorator, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.schema import ScalarElementColumnDefault, Table
from sqlmodel import Session


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...] | None  # positional order; None for named parameters
    constants: dict[str, Any]  # values the statement carries itself (a LIMIT 1, a literal)
    # (name, bind processor, whether it leaves None as None: then a None skips the call)
    processors: tuple[tuple[str, Callable[[Any], Any], bool], ...]
    args: Callable[[dict[str, Any]], Any]  # the driver's parameters from the values by name


def _arguments(names: tuple[str, ...] | None) -> Callable[[dict[str, Any]], Any]:
    """The driver's parameters from the values by name: a tuple in `names`' order
    (one itemgetter, not a generator a statement), else the values themselves."""
    if names is None:
        return lambda values: values
    if not names:
        return lambda values: ()
    if len(names) == 1:
        name = names[0]
        return lambda values: (values[name],)
    return itemgetter(*names)


class Prepared:
    """One statement, compiled per dialect on first use."""

    __slots__ = ("_by_dialect", "defaults", "statement")

    def __init__(self, statement: ClauseElement, defaults: Mapping[str, Any] | None = None) -> None:
        self.statement = statement
        self.defaults = dict(defaults or {})  # parameter values used when the caller gives none
        self._by_dialect: dict[str, _Compiled] = {}

    @classmethod
    def insert(cls, table: Table, returning: str | None = None) -> Prepared:
        """INSERT of every column but the primary key, each a named parameter;
        a column's scalar default (or NULL, when nullable) stands in for a
        missing value, as in a Core insert. Optionally RETURNING one column."""
        columns = [c for c in table.columns if not c.primary_key]
        stmt = insert(table).values({c.name: bindparam(c.name, type_=c.type) for c in columns})
        if returning is not None:
            stmt = stmt.returning(table.c[returning])
        defaults = {c.name: c.default.arg for c in columns if isinstance(c.default, ScalarElementColumnDefault)}
        defaults.update({c.name: None for c in columns if c.nullable and c.name not in defaults})
        return cls(stmt, defaults)

    def _compiled(self, dialect: Dialect) -> _Compiled:
        c = self._by_dialect.get(dialect.name)
        if c is None:
            compiled = self.statement.compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            processors = []
            constants = {name: b.effective_value for name, b in compiled.binds.items() if not b.required}
            for name, bind in compiled.binds.items():
                proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if proc is not None:
                    processors.append((name, _shared(bind.type, dialect, proc), _keeps_none(proc)))
            names = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup is not None else None
            c = self._by_dialect[dialect.name] = _Compiled(
                compiled.string, names, constants, tuple(processors), _arguments(names)
            )
        return c

    def run(self, where: Session | Connection, params: Mapping[str, Any] | None = None) -> DBAPICursor:
        """Execute in the transaction of `where` (a Session or a Connection);
        returns the DBAPI cursor (fetchone/fetchall give raw tuples)."""
        conn = where.connection() if isinstance(where, Session) else where
        if not conn.in_transaction():
            conn.begin()  # as SQLAlchemy's autobegin would: never run outside a transaction
        compiled = self._compiled(conn.dialect)
        values = (
            {**compiled.constants, **self.defaults, **params} if params else {**compiled.constants, **self.defaults}
        )
        for name, proc, keeps_none in compiled.processors:
            if name in values and (values[name] is not None or not keeps_none):
                values[name] = proc(values[name])
        args = compiled.args(values)
        cursor = _dbapi(conn).cursor()
        try:
            cursor.execute(compiled.sql, args)
        except conn.dialect.loaded_dbapi.Error as exc:
            # raised as SQLAlchemy's own execution raises it (IntegrityError,
            # OperationalError, ...), a dead connection invalidated; the one
            # private SQLAlchemy call here, pinned by tests/test_foundation_prepared.py
            conn._handle_dbapi_exception(exc, compiled.sql, args, cursor, None)
        return cursor

    def run_many(
        self, where: Session | Connection, rows: Sequence[Mapping[str, Any]], ready: frozenset[str] = frozenset()
    ) -> None:
        """Execute once per parameter set with the DBAPI's executemany (bulk
        imports); no result rows. Parameters named in `ready` are already in
        the driver's form (their bind processors are skipped)."""
        if not rows:
            return
        conn = where.connection() if isinstance(where, Session) else where
        if not conn.in_transaction():
            conn.begin()
        compiled = self._compiled(conn.dialect)
        base = {**compiled.constants, **self.defaults}
        procs = tuple((name, proc) for name, proc, _ in compiled.processors if name not in ready)
        args: list[Any] = []
        for params in rows:
            values = {**base, **params}
            for name, proc in procs:
                if name in values:
                    values[name] = proc(values[name])
            args.append(compiled.args(values))
        cursor = _dbapi(conn).cursor()
        try:
            cursor.executemany(compiled.sql, args)
        except conn.dialect.loaded_dbapi.Error as exc:
            conn._handle_dbapi_exception(exc, compiled.sql, args, cursor, None)

    def first(self, where: Session | Connection, params: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.run(where, params).fetchone()
        return row

    def scalar(self, where: Session | Connection, params: Mapping[str, Any] | None = None) -> Any:
        row = self.first(where, params)
        return None if row is None else row[0]


# one bind processor a (dialect, date type), remembering the instants it bound last
_INSTANTS: dict[tuple[str, str], Callable[[Any], Any]] = {}
_REMEMBERED = 8  # a message binds some ten instants, of three or four distinct ones


def _shared(type_: Any, dialect: Dialect, proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A date column's bind processor remembering the last instants it bound
    (by identity: a datetime is immutable, and the one remembered is kept
    alive), shared by every statement's columns of that type: a message's
    "now" and receipt time, bound to several columns of several statements,
    are formatted once each (on SQLite about 1.6 µs a value)."""
    if not isinstance(type_.impl_instance if isinstance(type_, TypeDecorator) else type_, DateTime):
        return proc
    key = (dialect.name, repr(type_))
    shared = _INSTANTS.get(key)
    if shared is None:
        seen: dict[int, tuple[Any, Any]] = {}

        def shared(value: Any) -> Any:
            hit = seen.get(id(value))
            if hit is not None and hit[0] is value:
                return hit[1]
            out = proc(value)
            if len(seen) >= _REMEMBERED:
                seen.clear()
            seen[id(value)] = (value, out)
            return out

        shared = _INSTANTS[key] = shared
    return shared


def _keeps_none(proc: Callable[[Any], Any]) -> bool:
    """Whether a bind processor turns None into None (most do; JSON's gives 'null')."""
    try:
        return proc(None) is None
    except Exception:  # noqa: BLE001 - one that refuses None is always called
        return False


def _dbapi(conn: Connection) -> DBAPIConnection:
    dbapi = conn.connection.dbapi_connection
    if dbapi is None:  # only after the pool detached it: not while in a transaction
        raise RuntimeError("the connection has no DBAPI connection")
    return dbapi
