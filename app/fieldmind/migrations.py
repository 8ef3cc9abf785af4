"""Numbered schema steps for Fieldmind's SQLite files: each database says its version (`PRAGMA user_version`).

A database is brought up to date step by step, each step in its own transaction with the version bump, so
an interrupted upgrade resumes where it stopped. Step 1 of each schema creates what the first release
created (`IF NOT EXISTS`), so files written before versions were kept (version 0) upgrade the same way.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

WAL_WAIT_S = 30.0


def use_wal(db: sqlite3.Connection, wait_s: float = WAL_WAIT_S) -> None:
    """Switch the database to write-ahead logging, waiting for other processes. The switch ignores SQLite's busy
    timeout: two first-run commands opening a new index at once had one fail "database is locked" at once."""
    deadline = time.monotonic() + wait_s
    while str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        try:
            db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection, steps: Sequence[str]) -> int:
    """Apply the steps this database has not had yet; returns the version it is at.

    `steps[0]` takes a database to version 1, `steps[n]` to version n + 1. A database newer than the steps
    (written by a newer Fieldmind) is left alone. Two processes opening a new database at once (two first-run
    commands) take each step once: the version is read again under the write lock.
    """
    current = version(db)
    for number, script in enumerate(steps, start=1):
        if number <= current:
            continue
        db.execute("BEGIN IMMEDIATE")
        if version(db) >= number:  # another process took this step while this one waited for the lock
            db.execute("COMMIT")
            current = version(db)
            continue
        try:
            for statement in _statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        current = number
    return current


def _statements(script: str) -> list[str]:
    """Split a script into statements (sqlite3.complete_statement keeps triggers' inner semicolons)."""
    out: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                out.append(pending.strip())
            pending = ""
    if pending.strip():
        out.append(pending.strip())
    return out
