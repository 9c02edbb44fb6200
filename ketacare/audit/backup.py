"""Backups of the whole database, and restoring one. A backup holds every patient's record: keep it encrypted at rest
(privacy.md §1, encryption of backups).

SQLite: the online backup API (a consistent copy while the server runs). PostgreSQL: `pg_dump` in its custom format
and `pg_restore` (the client tools of the server's major version). A restore refuses a database that already holds
tables unless told (`force`), and checks the audit chain of what it restored (audit/domain/chain.py).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

from ketacare.audit.chain import verify_cursor
from ketacare.audit.domain.chain import Break
from ketacare.core.errors import DomainError

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(DomainError):
    code = "backup.failed"


def vendor_of(settings_dict: dict[str, Any]) -> str:
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return "sqlite"
    if engine.endswith("postgresql"):
        return "postgresql"
    raise BackupError(f"backups support SQLite and PostgreSQL, not {engine}")


def _pg_env(settings_dict: dict[str, Any]) -> dict[str, str]:
    """The connection for the PostgreSQL tools, through the environment (a password never on a command line)."""
    env = dict(os.environ)
    for var, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD"),
                     ("PGDATABASE", "NAME")):
        if settings_dict.get(key):
            env[var] = str(settings_dict[key])
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (PostgreSQL's client tools, e.g. apt-get install "
                          "postgresql-client)")
    return path


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip() or done.returncode}")


def backup(connection: Any, out: Path) -> None:
    """Write a backup of `connection`'s database (a Django connection) to `out`, which must not exist yet."""
    if out.exists():
        raise BackupError(f"{out} exists already: choose a new file name (a backup is never overwritten)")
    vendor = vendor_of(connection.settings_dict)
    partial = out.with_name(out.name + ".partial")
    try:
        if vendor == "sqlite":
            connection.ensure_connection()
            with closing(sqlite3.connect(partial)) as dest:
                connection.connection.backup(dest)
        else:
            _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-acl", f"--file={partial}"],
                 _pg_env(connection.settings_dict))
        partial.rename(out)
    finally:
        partial.unlink(missing_ok=True)


def _kind(path: Path) -> str:
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a KetaCare backup (neither an SQLite database nor a pg_dump custom archive)")


def _connect(settings_dict: dict[str, Any]) -> Any:
    """A plain DB-API connection to the database `settings_dict` names (not Django's)."""
    if vendor_of(settings_dict) == "sqlite":
        name = str(settings_dict["NAME"])
        return sqlite3.connect(name, uri=name.startswith("file:"))  # a URI: the test suite's in-memory database
    import psycopg

    return psycopg.connect(host=settings_dict.get("HOST") or None, port=settings_dict.get("PORT") or None,
                           user=settings_dict.get("USER") or None, password=settings_dict.get("PASSWORD") or None,
                           dbname=settings_dict["NAME"], autocommit=True)


def table_names(settings_dict: dict[str, Any]) -> list[str]:
    sql = ("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
           if vendor_of(settings_dict) == "sqlite" else
           "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    with closing(_connect(settings_dict)) as conn:
        cursor = conn.cursor()
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def row_counts(settings_dict: dict[str, Any]) -> dict[str, int]:
    """Rows per table (to compare a restored copy with its original)."""
    names = table_names(settings_dict)
    with closing(_connect(settings_dict)) as conn:
        cursor = conn.cursor()
        counts = {}
        for name in names:
            cursor.execute(f'SELECT count(*) FROM "{name}"')  # names read from the catalogue, not from input
            counts[name] = cursor.fetchone()[0]
        return counts


def verify_audit(settings_dict: dict[str, Any]) -> tuple[list[Break], int]:
    """The audit chain of the database `settings_dict` names: its breaks and the number of events checked."""
    with closing(_connect(settings_dict)) as conn:
        breaks, heads = verify_cursor(conn.cursor())
    return breaks, sum(h.seq for h in heads.values())


def restore(settings_dict: dict[str, Any], source: Path, *, force: bool = False) -> int:
    """Restore `source` into the database `settings_dict` names; returns the number of audit events verified.
    A database that already has tables is refused unless `force` (then it is replaced)."""
    vendor = vendor_of(settings_dict)
    kind = _kind(source)
    if kind != vendor:
        raise BackupError(f"{source} is a {kind} backup and the database is {vendor}: restore it into {kind}")
    name = str(settings_dict["NAME"])
    exists = vendor == "postgresql" or name.startswith("file:") or Path(name).exists()
    existing = table_names(settings_dict) if exists else []
    if existing and not force:
        raise BackupError(f"the database {settings_dict['NAME']} is not empty ({len(existing)} tables): restore into "
                          "an empty one, or pass --force to replace everything in it")
    if vendor == "sqlite":
        with closing(sqlite3.connect(source)) as src, closing(_connect(settings_dict)) as dest:
            src.backup(dest)
            if dest.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} restored, but SQLite's integrity check fails on it")
    else:
        args = [_tool("pg_restore"), "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
                f"--dbname={settings_dict['NAME']}"]
        if existing:
            args += ["--clean", "--if-exists"]
        _run([*args, str(source)], _pg_env(settings_dict))
    breaks, events = verify_audit(settings_dict)
    if breaks:
        raise BackupError("restored, but the audit chain is broken: " + "; ".join(map(str, breaks)))
    return events
