"""Lift the database guards for a moment: what the test flush needs, and what an attacker with
full database access can do (the tamper-evidence tests then check that it is seen)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection


@contextmanager
def guards_lifted(conn: Any = connection) -> Iterator[None]:
    """Every facturier trigger off inside the block, back on after it (also on error).

    PostgreSQL: `session_replication_role = replica` (row and TRUNCATE triggers do not fire,
    for this session only). SQLite: the triggers are dropped and recreated from their own
    definitions (sqlite_master), which works inside a transaction too."""
    if conn.vendor == "postgresql":
        with conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")
        try:
            yield
        finally:
            with conn.cursor() as cur:
                cur.execute("SET session_replication_role = DEFAULT")
        return
    with conn.cursor() as cur:
        cur.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'facturier%'"
        )
        saved = cur.fetchall()
        for name, _sql in saved:
            cur.execute(f'DROP TRIGGER "{name}"')
    try:
        yield
    finally:
        with conn.cursor() as cur:
            for _name, sql in saved:
                cur.execute(sql)


def raw_sql(sql: str, params: list[object] | None = None) -> None:
    """Run SQL with every guard lifted."""
    with guards_lifted(), connection.cursor() as cur:
        cur.execute(sql, params or [])
