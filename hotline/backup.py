"""Backups: ``flask backup create [--to PATH]`` and ``flask backup restore PATH --yes``.

SQLite is copied with SQLite's online backup API, which gives a consistent copy while the web and the worker
keep writing; a restore checks the file, copies it next to the database and renames it over the database
(an atomic replace).  PostgreSQL is dumped with ``pg_dump --format=custom`` and restored with
``pg_restore --clean --if-exists --no-owner`` in one transaction, so a restore that fails half-way changes
nothing.  A backup is only restored when it is a database of this application (it has the ``alembic_version``
table) at a revision these migrations know.

Every failure an operator can meet (a missing ``pg_dump``, an unreachable server, a file that is not a
backup) ends the command with one line, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import psycopg
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.engine import URL

from hotline.db import utcnow
from hotline.extensions import db
from hotline.tickets.models import Ticket, TicketEvent
from hotline.timeutil import local

backup_cli = AppGroup("backup", help="Back up and restore the database.")

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
# Pages copied per step of the SQLite backup (4 MB at the default page size): the progress bar moves, and a
# write by the running app between two steps only restarts the copy, it never makes it inconsistent.
PAGES_PER_STEP = 1024
# The PostgreSQL client programs wait this long for a server (libpq's default is to wait forever).
CONNECT_TIMEOUT_SECONDS = "10"
# A restore waits this long for a lock (e.g. a transaction left open by a running worker), then fails cleanly.
RESTORE_LOCK_TIMEOUT = "60s"
# "216; 1259 16389 TABLE public tickets postgres": a table in ``pg_restore --list`` (not "TABLE DATA …").
TOC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA )(\S+) (\S+) ")
# pg_dump and pg_restore --verbose, in the C locale: the lines that show how far they are.
PROGRESS_LINE = re.compile(r'(?:dumping contents of|processing data for) table "([^"]+)"')


@dataclass(frozen=True)
class Contents:
    """What a backup holds, shown after a backup and a restore."""

    tables: int
    revision: str | None
    # None: not known before the dump is restored (a dump's table of contents has no row counts)
    requests: int | None
    events: int | None

    def describe(self) -> str:
        rows = "" if self.requests is None else f"{self.requests} requests, {self.events} events, "
        return f"{self.tables} tables, {rows}migration revision {self.revision or 'none'}"


# --------------------------------------------------------------------------- the commands


@backup_cli.command("create")
@click.option(
    "--to",
    "destination",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the backup (default: instance/backups/hotline-YYYYmmdd-HHMMSS.sqlite3 or .dump).",
)
def create_command(destination: Path | None) -> None:
    """Back up the database to a file, while the application keeps running."""
    url = db.engine.url
    backend = _backend(url)
    if destination is None:
        suffix = ".sqlite3" if backend == "sqlite" else ".dump"
        stamp = local(utcnow()).strftime("%Y%m%d-%H%M%S")
        destination = Path(current_app.config["INSTANCE_DIR"]) / "backups" / f"hotline-{stamp}{suffix}"
    if destination.exists():
        raise click.ClickException(f"{destination} already exists: choose another --to")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise click.ClickException(f"cannot create {destination.parent}: {error.strerror}") from None
    click.echo(f"backing up {_describe_database(url)} to {destination}")
    # Written under another name and renamed when complete: a file with the final name is a whole backup.
    partial = destination.with_name(destination.name + ".partial")
    try:
        contents = _sqlite_backup(url, partial) if backend == "sqlite" else _pg_backup(url, partial)
        _fsync(partial)
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    if contents.revision is None:
        click.echo("warning: the database has no alembic_version table (run flask db upgrade)", err=True)
    click.echo(f"wrote {destination} ({_size(destination.stat().st_size)}): {contents.describe()}")


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace every row of the database with the backup (required).")
def restore_command(path: Path, yes: bool) -> None:
    """Replace the database with a backup made by ``flask backup create``.

    Stop the web, the worker and beat first: a SQLite restore is refused while they hold the file open, and a
    PostgreSQL restore waits at most a minute for their locks.
    """
    url = db.engine.url
    backend = _backend(url)
    contents = _sqlite_contents(path) if backend == "sqlite" else _pg_contents(path)
    head = _check_revision(path, contents.revision)
    where = _describe_database(url)
    if not yes:
        production = " (production)" if current_app.config["HOTLINE_ENV"] == "production" else ""
        raise click.ClickException(
            f"restoring replaces everything in {where}{production} with {path} ({contents.describe()}): "
            "add --yes to go ahead"
        )
    click.echo(f"restoring {path} ({_size(path.stat().st_size)}) into {where}")
    db.session.remove()
    db.engine.dispose()  # this process lets go of the database before it is replaced
    restored = _sqlite_restore(path, url) if backend == "sqlite" else _pg_restore(path, url)
    click.echo(f"restored: {restored.describe()}")
    if contents.revision != head:
        click.echo(f"the backup is at revision {contents.revision}, this release at {head}: flask db upgrade")


def init_app(app: Flask) -> None:
    app.cli.add_command(backup_cli)


# --------------------------------------------------------------------------- shared


def _backend(url: URL) -> str:
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise click.ClickException(f"backups of {backend} databases are not supported (SQLite or PostgreSQL)")
    return backend


def _describe_database(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return f"SQLite database {url.database}"
    return f"PostgreSQL database {url.database} on {url.host or 'localhost'}:{url.port or 5432}"


def _check_revision(path: Path, revision: str | None) -> str:
    """Refuse a backup that is not of this application or is newer than its migrations; return the head."""
    if revision is None:
        raise click.ClickException(f"{path} has no alembic_version table: it is not a backup of this hotline")
    scripts = ScriptDirectory(current_app.extensions["migrate"].directory)
    if revision not in {script.revision for script in scripts.walk_revisions()}:
        raise click.ClickException(
            f"{path} is at migration revision {revision}, which this release does not know: "
            "restore it with the release that made it"
        )
    return str(scripts.get_current_head())


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            break
        value /= 1024
    return f"{value:.1f} {unit}"


def _fsync(path: Path) -> None:
    """Flush the file, then its folder's entry, to disk: the backup survives a power cut after the command."""
    with path.open("rb") as file:
        os.fsync(file.fileno())
    with contextlib.suppress(OSError):  # folders cannot be opened on every platform
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


# --------------------------------------------------------------------------- SQLite


def _sqlite_file(url: URL) -> Path:
    database = url.database
    if not database or database == ":memory:" or url.query.get("mode") == "memory":
        raise click.ClickException("an in-memory SQLite database has no file to back up or restore")
    return Path(database)  # Flask-SQLAlchemy has made a relative path absolute (under instance/)


def _open_readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _sqlite_copy(source: Path, target: Path, label: str) -> None:
    """Copy a SQLite database with the online backup API, showing the pages copied."""
    target.unlink(missing_ok=True)
    try:
        reader = _open_readonly(source)
        writer = sqlite3.connect(target)
    except sqlite3.Error as error:
        raise click.ClickException(f"cannot open {source}: {error}") from None
    try:
        total = reader.execute("PRAGMA page_count").fetchone()[0]
        with click.progressbar(length=max(total, 1), label=label, show_eta=False) as bar:
            copied = 0

            def progress(status: int, remaining: int, pages: int) -> None:
                nonlocal copied
                bar.update(pages - remaining - copied)
                copied = pages - remaining

            reader.backup(writer, pages=PAGES_PER_STEP, progress=progress)
            bar.update(max(total, 1) - copied)
        # A backup is one self-contained file, whatever journal mode the live database runs in.
        writer.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as error:
        raise click.ClickException(f"copying {source} failed: {error}") from None
    finally:
        writer.close()
        reader.close()


def _sqlite_backup(url: URL, partial: Path) -> Contents:
    source = _sqlite_file(url)
    if not source.is_file():
        raise click.ClickException(f"there is no database at {source} (run flask db upgrade)")
    _sqlite_copy(source, partial, "copying pages")
    return _sqlite_contents(partial)


def _sqlite_contents(path: Path) -> Contents:
    """Check that ``path`` is an undamaged SQLite database and say what it holds."""
    with path.open("rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if head.startswith(PG_DUMP_MAGIC):
        raise click.ClickException(f"{path} is a PostgreSQL dump, but this database is SQLite")
    if head != SQLITE_MAGIC:
        raise click.ClickException(f"{path} is not a backup: not a SQLite database")
    try:
        connection = _open_readonly(path)
    except sqlite3.Error as error:
        raise click.ClickException(f"cannot open {path}: {error}") from None
    try:
        check = connection.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise click.ClickException(f"{path} is damaged: {check}")
        tables = {
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }

        def count(table: str) -> int:
            if table not in tables:
                return 0
            # the names come from the models, never from the file
            return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

        revision = None
        if "alembic_version" in tables:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        return Contents(
            tables=len(tables),
            requests=count(Ticket.__tablename__),
            events=count(TicketEvent.__tablename__),
            revision=revision,
        )
    except sqlite3.DatabaseError as error:
        raise click.ClickException(f"{path} is not a backup: {error}") from None
    finally:
        connection.close()


def _sqlite_restore(backup: Path, url: URL) -> Contents:
    target = _sqlite_file(url)
    if target.exists() and target.resolve() == backup.resolve():
        raise click.ClickException(f"{backup} is the database itself")
    holders = _processes_holding(target)
    if holders:
        raise click.ClickException(
            f"{target} is open in process {', '.join(map(str, holders))}: "
            "stop the web, the worker and beat first"
        )
    # Copied next to the database (same file system, so the rename is atomic) and renamed over it.
    restoring = target.with_name(target.name + ".restoring")
    try:
        _sqlite_copy(backup, restoring, "copying the backup")
        _fsync(restoring)
        os.replace(restoring, target)
    finally:
        restoring.unlink(missing_ok=True)
    # A journal or WAL left by the replaced database belongs to it: played on the restored one, it would
    # corrupt it.
    for sidecar in ("-journal", "-wal", "-shm"):
        Path(f"{target}{sidecar}").unlink(missing_ok=True)
    return _sqlite_contents(target)


def _processes_holding(path: Path) -> list[int]:
    """The other processes that have ``path`` open, as far as ``/proc`` tells (Linux; elsewhere none)."""
    try:
        wanted = path.stat()
    except FileNotFoundError:
        return []
    found = []
    for fds in Path("/proc").glob("[0-9]*/fd"):
        pid = int(fds.parent.name)
        if pid == os.getpid():
            continue
        with contextlib.suppress(OSError):  # another user's process, or one that ended meanwhile
            for fd in fds.iterdir():
                with contextlib.suppress(OSError):
                    opened = fd.stat()
                    if (opened.st_dev, opened.st_ino) == (wanted.st_dev, wanted.st_ino):
                        found.append(pid)
                        break
    return sorted(found)


# --------------------------------------------------------------------------- PostgreSQL


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The libpq form of the SQLAlchemy URL (no ``+psycopg``) and the environment for the client programs.

    The password goes in ``PGPASSWORD``, not on the command line, where every user could read it.
    """
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = _client_env()
    env.setdefault("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECONDS)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def _client_env() -> dict[str, str]:
    env = dict(os.environ)
    env["LC_MESSAGES"] = "C"  # the progress and error lines are matched in English
    if "LC_ALL" in env:
        env["LC_ALL"] = "C"
    return env


@contextlib.contextmanager
def _pg_connect(url: URL, **options: Any) -> Iterator[psycopg.Connection[Any]]:
    conninfo, _ = _libpq(url)
    extra: dict[str, Any] = {"connect_timeout": int(CONNECT_TIMEOUT_SECONDS)}
    if url.password is not None:
        extra["password"] = str(url.password)
    try:
        with psycopg.connect(conninfo, **extra, **options) as connection:
            yield connection
    except psycopg.Error as error:
        raise click.ClickException(f"{_describe_database(url)}: {_one_line(str(error))}") from None


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise click.ClickException(
            f"{name} is not installed or not on PATH: install the PostgreSQL client programs "
            "(the server's major version or newer)"
        )
    return path


def _run(args: list[str], env: dict[str, str], show: Callable[[str], None] | None = None) -> str:
    """Run a PostgreSQL client program and return what it wrote on stdout; a failure becomes one line.

    ``show`` receives each line of its --verbose output as it comes: the progress of a long dump.
    """
    name = Path(args[0]).name
    # With ``show``, the output goes to a file (--file) and only the --verbose lines on stderr are read.
    stdout = subprocess.PIPE if show is None else subprocess.DEVNULL
    with subprocess.Popen(
        args, stdout=stdout, stderr=subprocess.PIPE, env=env, text=True, errors="replace"
    ) as process:
        if show is None:
            output, errors = process.communicate()
            messages = errors.splitlines()
        else:
            assert process.stderr is not None
            output, messages = "", []
            for line in process.stderr:
                messages.append(line.rstrip("\n"))
                show(line)
            process.wait()
    if process.returncode != 0:
        failures = [line.split("error:", 1)[1].strip() for line in messages if "error:" in line]
        reason = failures[0] if failures else (messages[-1].strip() if messages else "")
        raise click.ClickException(f"{name} failed: {reason or f'exit status {process.returncode}'}")
    return output


def _show_progress(verb: str) -> Callable[[str], None]:
    def show(line: str) -> None:
        match = PROGRESS_LINE.search(line)
        if match:
            click.echo(f"  {verb} {match.group(1)}")

    return show


def _count(connection: psycopg.Connection[Any], table: str) -> int:
    exists = connection.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    if not exists or not exists[0]:
        return 0
    row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()  # a name from the models
    return int(row[0]) if row else 0


def _pg_revision(connection: psycopg.Connection[Any]) -> str | None:
    if not _count(connection, "alembic_version"):
        return None
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None


def _pg_backup(url: URL, partial: Path) -> Contents:
    pg_dump = _program("pg_dump")
    conninfo, env = _libpq(url)
    # The counts are taken in the snapshot pg_dump dumps (exported by this transaction, held open until
    # pg_dump is done), so they are the counts of the backup, not of a moment before or after it.
    with _pg_connect(url) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        snapshot = connection.execute("SELECT pg_export_snapshot()").fetchone()
        assert snapshot is not None
        requests = _count(connection, Ticket.__tablename__)
        events = _count(connection, TicketEvent.__tablename__)
        revision = _pg_revision(connection)
        dump = [pg_dump, "--format=custom", "--verbose", f"--snapshot={snapshot[0]}", f"--file={partial}"]
        _run(
            [*dump, conninfo],
            env,
            _show_progress("dumped"),
        )
    tables = _pg_tables(partial)
    return Contents(tables=len(tables), revision=revision, requests=requests, events=events)


def _pg_tables(path: Path) -> set[tuple[str, str]]:
    """The (schema, table) pairs in a dump's table of contents (reading it also checks the dump)."""
    listing = _run([_program("pg_restore"), "--list", str(path)], _client_env())
    return {(m.group(1), m.group(2)) for line in listing.splitlines() if (m := TOC_TABLE.match(line))}


def _pg_contents(path: Path) -> Contents:
    """Check that ``path`` is a dump of this application's database and say what it holds.

    Only the table of contents and the small alembic_version table are read here; the numbers of requests
    and events are counted in the database once the dump is restored.
    """
    with path.open("rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC:
        raise click.ClickException(f"{path} is a SQLite backup, but this database is PostgreSQL")
    if not head.startswith(PG_DUMP_MAGIC):
        raise click.ClickException(f"{path} is not a backup: not a pg_dump custom-format file")
    tables = _pg_tables(path)
    revision = None
    if any(name == "alembic_version" for _, name in tables):
        script = _run(
            [_program("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(path)],
            _client_env(),
        )
        # COPY public.alembic_version (version_num) FROM stdin;  then one row per line, then \.
        lines = script.splitlines()
        for index, line in enumerate(lines):
            if line.startswith("COPY ") and index + 1 < len(lines) and lines[index + 1] != "\\.":
                revision = lines[index + 1].strip()
                break
    return Contents(tables=len(tables), revision=revision, requests=None, events=None)


def _pg_restore(backup: Path, url: URL) -> Contents:
    """Restore the dump in one transaction; return what the database holds now."""
    pg_restore = _program("pg_restore")
    conninfo, env = _libpq(url)
    in_backup = _pg_tables(backup)
    with _pg_connect(url, autocommit=True) as connection:
        live = set(
            connection.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            ).fetchall()
        )
    # --clean drops what the dump holds; a table made after the backup (by a later migration) stays.
    extra = sorted(f"{schema}.{name}" for schema, name in live - in_backup)
    if extra:
        click.echo(
            f"warning: not in the backup, left as they are: {', '.join(extra)} "
            "(drop them before flask db upgrade recreates them)",
            err=True,
        )
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c lock_timeout={RESTORE_LOCK_TIMEOUT}".strip()
    _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",  # all or nothing: a failed restore leaves the database as it was
            "--verbose",
            f"--dbname={conninfo}",
            str(backup),
        ],
        env,
        _show_progress("restored"),
    )
    with _pg_connect(url, autocommit=True) as connection:
        return Contents(
            tables=len(in_backup),
            revision=_pg_revision(connection),
            requests=_count(connection, Ticket.__tablename__),
            events=_count(connection, TicketEvent.__tablename__),
        )
