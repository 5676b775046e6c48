"""The PostgREST stand-in's translator: one REST request into SQL on the database, one answer back.

Split from :mod:`tests.support.postgrest` (the HTTP server). Everything a request names is checked
against the schema (tables, columns, function arguments) and composed with ``psycopg.sql``, values
always travel as parameters; reads are returned as the JSON PostgreSQL itself renders
(``json_agg``), as PostgREST does, so numbers, timestamps and arrays look the same.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CASTS = {"text", "integer", "int", "bigint", "numeric", "float8", "double precision", "date", "timestamptz", "json", "jsonb"}
_FILTER_OPS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "like": "LIKE", "ilike": "ILIKE"}
_RESERVED = {"select", "order", "limit", "offset", "columns", "on_conflict"}


class ApiError(Exception):
    """An error answered as PostgREST would: status and the JSON body."""

    def __init__(self, status: int, code: str, message: str, details: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.hint = status, code, message, details, hint

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details, "hint": self.hint}


def status_for_sqlstate(code: str, *, anonymous: bool) -> int:
    """PostgREST's table from SQLSTATE to HTTP status (docs: Errors > SQLSTATE)."""
    exact = {"23503": 409, "23505": 409, "25006": 405, "P0001": 400, "42883": 404, "42P01": 404, "42P17": 500}
    if code in exact:
        return exact[code]
    if code == "42501":
        return 401 if anonymous else 403
    prefixes = {
        "08": 503, "09": 500, "0L": 403, "0P": 403, "25": 500, "28": 403, "2D": 500, "38": 500, "39": 500,
        "3B": 500, "40": 500, "53": 503, "54": 500, "55": 500, "57": 500, "58": 500, "F0": 500, "HV": 500,
        "P0": 500, "XX": 500,
    }
    return prefixes.get(code[:2], 400)


def _ident(name: str, what: str = "column") -> str:
    if not _IDENT.match(name):
        raise ApiError(400, "PGRST100", f'"failed to parse {what}" {name!r}')
    return name


@dataclass
class Table:
    name: str
    columns: list[str]
    primary_key: list[str]


@dataclass
class Function:
    name: str
    args: list[tuple[str, str]]  # (name, type) in declaration order
    returns_set: bool


class Engine:
    """Translates one request into SQL on the database and back into PostgREST's answer."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool
        self._tables: dict[str, Table] = {}
        self._functions: dict[str, Function] = {}

    # -- schema cache --------------------------------------------------------------------------------
    def table(self, conn: psycopg.Connection[Any], name: str) -> Table:
        if name not in self._tables:
            cols = [r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = %s ORDER BY ordinal_position", (name,))]
            if not cols:
                raise ApiError(404, "PGRST205", f"Could not find the table 'public.{name}' in the schema cache")
            pk = [r[0] for r in conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary", (f"public.{name}",))]
            self._tables[name] = Table(name, cols, pk)
        return self._tables[name]

    def function(self, conn: psycopg.Connection[Any], name: str) -> Function:
        if name not in self._functions:
            row = conn.execute(
                "SELECT p.proargnames, ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t), p.proretset "
                "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = 'public' AND p.proname = %s", (name,)).fetchone()
            if row is None:
                raise ApiError(404, "PGRST202", f"Could not find the function public.{name} in the schema cache")
            names, types, returns_set = row
            self._functions[name] = Function(name, list(zip(names or [], types, strict=False)), returns_set)
        return self._functions[name]

    # -- pieces of SQL ---------------------------------------------------------------------------------
    def select_list(self, table: Table, select: str | None) -> sql.Composable:
        if not select or select == "*":
            return sql.SQL("*")
        items = []
        for raw in select.split(","):
            item = raw.strip()
            if "(" in item:
                raise ApiError(400, "PGRST100", f"the stand-in does not embed resources: {item!r}")
            alias = ""
            match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*):(?!:)(.*)$", item)
            if match:
                alias, item = match.group(1), match.group(2)
            column, _, cast = item.partition("::")
            self.check_column(table, column)
            piece: sql.Composable = sql.Identifier(column)
            if cast:
                if cast not in _CASTS:
                    raise ApiError(400, "PGRST100", f"the stand-in does not cast to {cast!r}")
                piece = sql.SQL("{}::{}").format(piece, sql.SQL(cast))
            items.append(sql.SQL("{} AS {}").format(piece, sql.Identifier(alias or column)))
        return sql.SQL(", ").join(items)

    @staticmethod
    def check_column(table: Table, column: str) -> None:
        if column not in table.columns:
            raise ApiError(400, "42703", f"column {table.name}.{column} does not exist")

    def where(self, table: Table, query: list[tuple[str, str]]) -> tuple[sql.Composable, list[Any]]:
        clauses: list[sql.Composable] = []
        params: list[Any] = []
        for key, value in query:
            if key in _RESERVED:
                continue
            if key in {"or", "and"}:
                clauses.append(self._logical(table, key, value, params))
            else:
                clauses.append(self._clause(table, key, value, params))
        if not clauses:
            return sql.SQL(""), params
        return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses), params

    def _logical(self, table: Table, op: str, value: str, params: list[Any]) -> sql.Composable:
        """``or=(a.lt.1,and(b.eq.2,c.gt.3))`` as PostgREST reads it (docs: "Logical operators")."""
        if not (value.startswith("(") and value.endswith(")")):
            raise ApiError(400, "PGRST100", f'"failed to parse logic tree ({value})"')
        parts: list[sql.Composable] = []
        for item in _split_list(value[1:-1], nested=True):
            head, _, rest = item.partition("(")
            if head in {"and", "or"} and item.endswith(")"):
                parts.append(self._logical(table, head, "(" + rest, params))
                continue
            column, _, condition = item.partition(".")
            parts.append(self._clause(table, column, condition, params, quoted=True))
        return sql.SQL("({})").format(sql.SQL(" OR " if op == "or" else " AND ").join(parts))

    def _clause(self, table: Table, key: str, value: str, params: list[Any], *, quoted: bool = False) -> sql.Composable:
        self.check_column(table, key)
        column = sql.Identifier(key)
        negate = value.startswith("not.")
        if negate:
            value = value[4:]
        op, _, operand = value.partition(".")
        if quoted:
            operand = _unquote(operand)
        if op in _FILTER_OPS:
            if op in {"like", "ilike"}:
                operand = operand.replace("*", "%")
            clause: sql.Composable = sql.SQL("{} {} %s").format(column, sql.SQL(_FILTER_OPS[op]))
            params.append(operand)
        elif op == "in":
            if not (operand.startswith("(") and operand.endswith(")")):
                raise ApiError(400, "PGRST100", f'"failed to parse filter ({value})"')
            items = [_unquote(v) for v in _split_list(operand[1:-1])]
            if not items:
                clause = sql.SQL("false")
            else:
                clause = sql.SQL("{} IN ({})").format(column, sql.SQL(", ").join(sql.SQL("%s") for _ in items))
                params.extend(items)
        elif op == "is":
            if operand not in {"null", "true", "false", "unknown"}:
                raise ApiError(400, "PGRST100", f'"failed to parse filter ({value})"')
            clause = sql.SQL("{} IS {}").format(column, sql.SQL(operand.upper()))
        elif op == "cs":
            clause = sql.SQL("{} @> %s").format(column)
            params.append(operand)
        elif op == "cd":
            clause = sql.SQL("{} <@ %s").format(column)
            params.append(operand)
        else:
            raise ApiError(400, "PGRST100", f"the stand-in does not support the operator {op!r}")
        return sql.SQL("NOT ({})").format(clause) if negate else clause

    def order_by(self, table: Table, order: str | None) -> sql.Composable:
        if not order:
            return sql.SQL("")
        terms = []
        for term in order.split(","):
            column, *mods = term.strip().split(".")
            self.check_column(table, column)
            words = []
            for mod in mods:
                if mod not in {"asc", "desc", "nullsfirst", "nullslast"}:
                    raise ApiError(400, "PGRST100", f'"failed to parse order ({order})"')
                words.append({"asc": "ASC", "desc": "DESC", "nullsfirst": "NULLS FIRST", "nullslast": "NULLS LAST"}[mod])
            terms.append(sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(" ".join(words))))
        return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(terms)


def _split_list(text: str, *, nested: bool = False) -> list[str]:
    """Split on top-level commas: not inside quotes, nor (``nested``) inside parentheses."""
    items, current, quoted, escaped, depth = [], "", False, False, 0
    for char in text:
        if escaped:
            current += char
            escaped = False
        elif char == "\\" and quoted:
            current += char
            escaped = True
        elif char == '"':
            quoted = not quoted
            current += char
        elif nested and not quoted and char in "()":
            depth += 1 if char == "(" else -1
            current += char
        elif char == "," and not quoted and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    if current or items:
        items.append(current)
    return items


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_prefer(header: str) -> dict[str, str]:
    prefs: dict[str, str] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key:
            prefs[key] = value
    return prefs


class Answer:
    def __init__(self, status: int, body: str | None = None, headers: dict[str, str] | None = None) -> None:
        self.status, self.body, self.headers = status, body, headers or {}


def _parse_int(query: dict[str, str], name: str) -> int | None:
    if name not in query:
        return None
    try:
        value = int(query[name])
    except ValueError:
        raise ApiError(400, "PGRST100", f'"failed to parse {name} ({query[name]})"') from None
    if value < 0:
        raise ApiError(400, "PGRST100", f'"{name} must be >= 0"')
    return value


def _rows_payload(body: bytes) -> list[dict[str, Any]]:
    try:
        payload = json.loads(body or b"null")
    except ValueError as error:
        raise ApiError(400, "PGRST102", "Empty or invalid json", str(error)) from None
    if isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list) or not all(isinstance(item, dict) for item in payload):
        raise ApiError(400, "PGRST102", "Empty or invalid json")
    return payload


class Executor(Engine):
    def run(self, method: str, path: str, query_pairs: list[tuple[str, str]], prefer: dict[str, str],
            body: bytes, role: str) -> Answer:
        parts = [p for p in path.split("/") if p]
        if len(parts) < 3 or parts[:2] != ["rest", "v1"]:
            raise ApiError(404, "PGRST125", f"Invalid path specified in request URL: {path}")
        query = dict(query_pairs)
        with self.pool.connection() as conn, conn.transaction():
            if parts[2] == "rpc" and len(parts) == 4:
                if method != "POST":
                    raise ApiError(405, "PGRST117", f"the stand-in calls functions with POST only, not {method}")
                function = self.function(conn, _ident(parts[3], "function"))
                self._as(conn, role)
                return self._rpc(conn, function, body)
            if len(parts) != 3:
                raise ApiError(404, "PGRST125", f"Invalid path specified in request URL: {path}")
            table = self.table(conn, _ident(parts[2], "table"))
            self._as(conn, role)
            if method in {"GET", "HEAD"}:
                return self._read(conn, table, query_pairs, query, prefer, head=method == "HEAD")
            if method == "POST":
                return self._insert(conn, table, query, prefer, body)
            if method == "PATCH":
                return self._update(conn, table, query_pairs, query, prefer, body)
            if method == "DELETE":
                return self._delete(conn, table, query_pairs, query, prefer)
        raise ApiError(405, "PGRST117", f"Unsupported HTTP method: {method}")

    @staticmethod
    def _as(conn: psycopg.Connection[Any], role: str) -> None:
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))

    @staticmethod
    def _text(conn: psycopg.Connection[Any], query: sql.Composable, params: list[Any]) -> str:
        row = conn.execute(query, params).fetchone()
        return "null" if row is None or row[0] is None else str(row[0])

    def _read(self, conn: psycopg.Connection[Any], table: Table, pairs: list[tuple[str, str]], query: dict[str, str],
              prefer: dict[str, str], *, head: bool) -> Answer:
        where, params = self.where(table, pairs)
        limit, offset = _parse_int(query, "limit"), _parse_int(query, "offset") or 0
        page = sql.SQL("SELECT {} FROM {}{}{}{}{}").format(
            self.select_list(table, query.get("select")), sql.Identifier(table.name), where,
            self.order_by(table, query.get("order")),
            sql.SQL(" LIMIT {}").format(sql.Literal(limit)) if limit is not None else sql.SQL(""),
            sql.SQL(" OFFSET {}").format(sql.Literal(offset)) if offset else sql.SQL(""),
        )
        text = self._text(conn, sql.SQL("SELECT coalesce(json_agg(_t), '[]')::text FROM ({}) _t").format(page), params)
        returned = len(json.loads(text))
        total = "*"
        if prefer.get("count") == "exact":
            total = self._text(conn, sql.SQL("SELECT count(*) FROM {}{}").format(sql.Identifier(table.name), where), params)
        span = f"{offset}-{offset + returned - 1}" if returned else "*"
        return Answer(200, None if head else text, {"Content-Range": f"{span}/{total}"})

    def _returning(self, table: Table, query: dict[str, str], prefer: dict[str, str]) -> sql.Composable:
        if prefer.get("return") == "representation":
            return sql.SQL(" RETURNING ") + self.select_list(table, query.get("select"))
        return sql.SQL("")

    def _written(self, conn: psycopg.Connection[Any], statement: sql.Composable, params: list[Any], prefer: dict[str, str],
                 status_with_body: int, status_without: int) -> Answer:
        if prefer.get("return") == "representation":
            text = self._text(conn, sql.SQL("WITH _w AS ({}) SELECT coalesce(json_agg(_w), '[]')::text FROM _w").format(
                statement), params)
            return Answer(status_with_body, text, {"Content-Range": f"*/{len(json.loads(text))}"})
        count = conn.execute(statement, params).rowcount
        return Answer(status_without, None, {"Content-Range": f"*/{count}"})

    def _insert(self, conn: psycopg.Connection[Any], table: Table, query: dict[str, str], prefer: dict[str, str],
                body: bytes) -> Answer:
        rows = _rows_payload(body)
        if prefer.get("missing") == "default":
            raise ApiError(400, "PGRST100", "the stand-in does not support Prefer: missing=default")
        if "columns" in query:
            columns = [_unquote(c.strip()) for c in _split_list(query["columns"])]
        else:
            columns = list(rows[0]) if rows else []
            if any(set(row) != set(columns) for row in rows):
                raise ApiError(400, "PGRST102", "All object keys must match")
        for column in columns:
            self.check_column(table, column)
        if not columns:
            raise ApiError(400, "PGRST102", "Empty or invalid json")
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        statement = sql.SQL("INSERT INTO {t} ({cols}) SELECT {cols} FROM json_populate_recordset(NULL::{t}, %s)").format(
            t=sql.Identifier(table.name), cols=cols)
        resolution = prefer.get("resolution")
        if resolution in {"merge-duplicates", "ignore-duplicates"}:
            target = [_ident(c.strip()) for c in query["on_conflict"].split(",")] if "on_conflict" in query else table.primary_key
            for column in target:
                self.check_column(table, column)
            conflict = sql.SQL(", ").join(sql.Identifier(c) for c in target)
            if resolution == "merge-duplicates":
                sets = sql.SQL(", ").join(sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in columns)
                statement += sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}").format(conflict, sets)
            else:
                statement += sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(conflict)
        elif resolution is not None:
            raise ApiError(400, "PGRST100", f"unknown resolution {resolution!r}")
        statement += self._returning(table, query, prefer)
        return self._written(conn, statement, [json.dumps(rows)], prefer, 201, 201)

    def _update(self, conn: psycopg.Connection[Any], table: Table, pairs: list[tuple[str, str]], query: dict[str, str],
                prefer: dict[str, str], body: bytes) -> Answer:
        rows = _rows_payload(body)
        if len(rows) != 1 or not rows[0]:
            raise ApiError(400, "PGRST102", "Empty or invalid json")
        columns = list(rows[0])
        for column in columns:
            self.check_column(table, column)
        where, params = self.where(table, pairs)
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        statement = sql.SQL("UPDATE {t} SET ({cols}) = (SELECT {cols} FROM json_populate_record(NULL::{t}, %s)){w}").format(
            t=sql.Identifier(table.name), cols=cols, w=where) + self._returning(table, query, prefer)
        return self._written(conn, statement, [json.dumps(rows[0]), *params], prefer, 200, 204)

    def _delete(self, conn: psycopg.Connection[Any], table: Table, pairs: list[tuple[str, str]], query: dict[str, str],
                prefer: dict[str, str]) -> Answer:
        where, params = self.where(table, pairs)
        statement = sql.SQL("DELETE FROM {}{}").format(sql.Identifier(table.name), where) + self._returning(
            table, query, prefer)
        return self._written(conn, statement, params, prefer, 200, 204)

    def _rpc(self, conn: psycopg.Connection[Any], function: Function, body: bytes) -> Answer:
        try:
            args = json.loads(body or b"{}")
        except ValueError as error:
            raise ApiError(400, "PGRST102", "Empty or invalid json", str(error)) from None
        if not isinstance(args, dict):
            raise ApiError(400, "PGRST102", "the stand-in takes named arguments in a JSON object")
        declared = dict(function.args)
        unknown = sorted(set(args) - set(declared))
        if unknown:
            raise ApiError(404, "PGRST202",
                           f"Could not find the function public.{function.name}({', '.join(sorted(args))}) in the schema cache")
        given = [(name, kind) for name, kind in function.args if name in args]
        call = sql.SQL("{}({})").format(
            sql.Identifier("public", function.name),
            sql.SQL(", ").join(sql.SQL("{n} := _a.{n}").format(n=sql.Identifier(n)) for n, _ in given),
        )
        source = sql.SQL(" FROM json_to_record(%s) AS _a({})").format(
            sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(kind)) for n, kind in given)
        ) if given else sql.SQL("")
        params = [json.dumps(args)] if given else []
        if function.returns_set:
            rows = sql.SQL("{}{} AS _r").format(source + sql.SQL(" CROSS JOIN LATERAL ") if given else sql.SQL(" FROM "), call)
            statement = sql.SQL("SELECT coalesce(json_agg(_r), '[]')::text{}").format(rows)
        else:
            statement = sql.SQL("SELECT to_json({})::text{}").format(call, source)
        return Answer(200, self._text(conn, statement, params))
