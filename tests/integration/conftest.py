"""Integration harness: real PostgreSQL, a private Redis server, real Celery worker and beat processes.

Nothing here is mocked.  Each test module gets its own uniquely named PostgreSQL database (built from the
models with ``create_all`` and seeded with a small district) and its own ``redis-server`` on a free port, so
the tests never touch the shared Redis on 6379 nor each other.  Workers and beats are started exactly as in
production (``celery -A worker.app worker`` / ``celery -A worker.app beat``) with the configuration in their
environment; their logs go to files that are attached to the report of a failing test.

A missing PostgreSQL server or ``redis-server`` binary is a failure, not a skip: CI provides both.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
# No persistence, in the foreground (so that the test owns the process); the last option takes the folder.
REDIS_OPTIONS = ("--save", "", "--appendonly", "no", "--daemonize", "no", "--dir")

T = TypeVar("T")
# Workers started here need not talk to each other (faster start, quieter logs).
QUIET_WORKER = ("--without-mingle", "--without-gossip")

# Figures the tests want to show (e.g. the submit median while Redis is down), printed at the end of the run.
FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("integration figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the worker, beat and Redis logs to the report of a failing test."""
    report = yield
    if report.failed:
        for name in ("processes", "private_redis"):
            holder = getattr(item, "funcargs", {}).get(name)
            if holder is not None:
                report.sections.append((f"logs: {name}", holder.log_tails()))
    return report


# --------------------------------------------------------------------------- polling


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    *,
    interval: float = 0.25,
    message: str | Callable[[], str] = "",
) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that; fail after ``timeout`` seconds.

    This is the only way the integration tests wait for a worker: a deadline, never a bare sleep.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            pytest.fail(f"not reached within {timeout:.0f} s: {text or predicate!r} (last value: {value!r})")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 80) -> str:
    if not path.exists():
        return f"({path.name}: no log)"
    text = path.read_text(errors="replace").splitlines()
    return f"==> {path} (last {min(lines, len(text))} of {len(text)} lines)\n" + "\n".join(text[-lines:])


# --------------------------------------------------------------------------- Redis


class RedisServer:
    """A private ``redis-server`` on its own port: stopped, paused and restarted by the tests at will."""

    def __init__(self, port: int, folder: Path) -> None:
        self.port = port
        self.folder = folder
        self.log = folder / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: the integration tests need it (apt-get redis)")
        assert not self.running, "this Redis server is already running"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", *REDIS_OPTIONS, str(self.folder)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(
            self.ping, 10, interval=0.05, message=lambda: f"redis-server {self.port}\n{self.log_tails()}"
        )

    def ping(self) -> bool:
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """Kill the server (SIGKILL: an outage, not a shutdown; nothing is persisted anyway)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing answers (the hanging kind of outage)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def log_tails(self) -> str:
        return _tail(self.log, 30)


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis server of this test module only (never the shared one on 6379)."""
    server = RedisServer(free_port(), tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- PostgreSQL


@contextmanager
def new_postgres_database(prefix: str = "hotline_it") -> Iterator[str]:
    """A uniquely named, empty PostgreSQL database (its URL), dropped afterwards, its connections terminated.

    No skip when the server is down: CI starts PostgreSQL, so an unreachable server is a failure.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield PG_URL.format(name=name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A uniquely named empty PostgreSQL database, dropped afterwards."""
    with new_postgres_database() as url:
        yield url


# --------------------------------------------------------------------------- the district


@dataclass
class District:
    """The seeded data the tests refer to, by id (ORM objects do not outlive their session)."""

    category_codes: list[str]
    # enterprise contact user id -> the primary liaison id of the enterprise's building
    contacts: dict[int, int]
    manager_id: int
    liaison_ids: list[int]
    deputy_id: int
    building_primary: dict[int, int] = field(default_factory=dict)

    @property
    def contact_ids(self) -> list[int]:
        return sorted(self.contacts)


def seed_calendar(manager_id: int, now: datetime) -> None:
    """The working-day calendar of last, this and next year, entered as a manager would.

    ``enter_year`` loads a year from ``chinese-calendar`` (``sync_calendar_from_package``) when the package
    knows it, else Monday to Friday, so the tests also run in a year the package does not know yet.
    """
    from hotline.auth.models import User
    from hotline.extensions import db
    from hotline.sla import services as sla
    from hotline.sla.calendar import year_is_known

    manager = db.session.get(User, manager_id)
    for year in (now.year - 1, now.year, now.year + 1):
        if not year_is_known(year):
            sla.enter_year(year, manager, now)
    db.session.flush()


def seed_district(now: datetime) -> District:
    """Two streets, six buildings with a primary liaison each (one liaison covers two), a deputy on every
    building (routing must prefer the primary), two enterprises with a contact per building, two categories.
    """
    from hotline.auth.models import Role
    from hotline.enterprises.models import CoverageRole
    from tests import factories

    categories = [factories.category(), factories.category()]
    streets = [factories.street(), factories.street()]
    buildings = [factories.building(streets[i % 2]) for i in range(6)]
    primaries = [
        factories.liaison([buildings[0], buildings[1]]),
        factories.liaison([buildings[2]]),
        factories.liaison([buildings[3], buildings[4]]),
        factories.liaison([buildings[5]]),
    ]
    deputy = factories.liaison(buildings, role=CoverageRole.DEPUTY)
    primary_of = {
        buildings[0].id: primaries[0].id,
        buildings[1].id: primaries[0].id,
        buildings[2].id: primaries[1].id,
        buildings[3].id: primaries[2].id,
        buildings[4].id: primaries[2].id,
        buildings[5].id: primaries[3].id,
    }
    contacts: dict[int, int] = {}
    for b in buildings:
        for _ in range(2):
            contact = factories.enterprise_user(factories.enterprise(b))
            contacts[contact.id] = primary_of[b.id]
    manager = factories.user(Role.MANAGER)
    return District(
        category_codes=[c.code for c in categories],
        contacts=contacts,
        manager_id=manager.id,
        liaison_ids=[p.id for p in primaries],
        deputy_id=deputy.id,
        building_primary=primary_of,
    )


@dataclass
class Hotline:
    """The application in the test process, as the web tier: it submits requests and commits."""

    app: Flask
    district: District
    env: dict[str, str]
    instance: Path

    def submit(self, index: int, now: datetime | None = None) -> int:
        """File one request through the service and commit (the after-commit nudge runs); return its id."""
        from hotline.auth.models import User
        from hotline.db import utcnow
        from hotline.extensions import db
        from hotline.tickets import services as tickets

        contact_ids = self.district.contact_ids
        with self.app.app_context():
            try:
                contact = db.session.get(User, contact_ids[index % len(contact_ids)])
                assert contact is not None
                ticket = tickets.submit_ticket(
                    contact,
                    category=self.district.category_codes[index % len(self.district.category_codes)],
                    title=f"集成测试诉求 {index}",
                    description="楼宇停车位不足，希望协调。",
                    urgency="normal",
                    contact_phone="13800138000",
                    now=now or utcnow(),
                )
                ticket_id = int(ticket.id)
                db.session.commit()
                return ticket_id
            finally:
                db.session.remove()

    def scalar(self, statement: Any) -> Any:
        """Run one query in a fresh session (every poll sees committed data, nothing cached)."""
        from hotline.extensions import db

        with self.app.app_context():
            try:
                return db.session.execute(statement).scalar()
            finally:
                db.session.remove()

    def rows(self, statement: Any) -> list[Any]:
        from hotline.extensions import db

        with self.app.app_context():
            try:
                return list(db.session.execute(statement).all())
            finally:
                db.session.remove()


def worker_knobs() -> dict[str, str]:
    """Settings (``hotline/config.py``, from the environment) that make the periodic jobs act sooner.

    ``ROUTING_RECONCILE_SECONDS``: a request still unrouted after this long is queued again (production: 3
    minutes), so that what a killed worker held is re-queued within the test's deadline.
    ``HOTLINE_*_SECONDS`` (worker/schedule.py): beat periods of the relay, the reconcile job and the sweep.
    """
    return {
        "ROUTING_RECONCILE_SECONDS": "15",
        "HOTLINE_RELAY_SECONDS": "2",
        "HOTLINE_RECONCILE_SECONDS": "5",
        "HOTLINE_SWEEP_SECONDS": "3",
    }


@pytest.fixture(scope="module")
def hotline(
    pg_database: str, private_redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hotline]:
    """The app on this module's database and Redis (configured through the environment, as in production),
    with the schema built from the models and a small district seeded.
    """
    from hotline import create_app
    from hotline.db import utcnow
    from hotline.extensions import db

    instance = tmp_path_factory.mktemp("instance")
    env = {
        "DATABASE_URL": pg_database,
        "REDIS_URL": private_redis.url,
        "HOTLINE_INSTANCE": str(instance),
        "HOTLINE_ENV": "development",
        **worker_knobs(),
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        app = create_app({"INSTANCE_DIR": str(instance), "PASSWORD_HASH_FAST": True})
        with app.app_context():
            db.create_all()
            now = utcnow()
            district = seed_district(now)
            seed_calendar(district.manager_id, now)
            db.session.commit()
            db.session.remove()
        try:
            yield Hotline(app=app, district=district, env=env, instance=instance)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


# --------------------------------------------------------------------------- worker and beat processes


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str = ""  # a web server's address

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def children(self) -> list[int]:
        """The pids of the prefork pool children (parent pid read from /proc/<pid>/stat)."""
        found: list[int] = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:  # the process ended meanwhile
                continue
            fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, …
            if int(fields[1]) == self.pid:
                found.append(int(stat.parent.name))
        return sorted(found)


class Processes:
    """Starts workers and beats like production does, with logs in files; stops every one of them after."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.folder = folder
        self.started: list[Process] = []

    def _start(
        self, name: str, args: list[str], program: tuple[str, ...] = ("celery", "-A", "worker.app")
    ) -> Process:
        log = self.folder / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", *program, *args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the pool children are cleaned up with it
            )
        process = Process(name, popen, log)
        self.started.append(process)
        return process

    def worker(self, name: str, concurrency: int = 2, *, ready_timeout: float = 60) -> Process:
        """``celery -A worker.app worker --loglevel=info --concurrency=N``, waited for until ready."""
        process = self._start(
            name,
            ["worker", "--loglevel=info", f"--concurrency={concurrency}", "-n", f"{name}@%h", *QUIET_WORKER],
        )
        wait_until(
            lambda: self._ready(process, " ready."),
            ready_timeout,
            message=lambda: f"worker {name} did not start\n{_tail(process.log)}",
        )
        return process

    def beat(self, name: str, *, ready_timeout: float = 60) -> Process:
        """``celery -A worker.app beat --schedule <file>``, waited for until it starts ticking."""
        process = self._start(
            name, ["beat", "--loglevel=info", "--schedule", str(self.folder / f"{name}-schedule")]
        )
        wait_until(
            lambda: self._ready(process, "beat: Starting"),
            ready_timeout,
            message=lambda: f"beat {name} did not start\n{_tail(process.log)}",
        )
        return process

    def web(self, name: str = "web", workers: int = 2, *, ready_timeout: float = 60) -> Process:
        """gunicorn serving ``hotline.wsgi:app`` on a free port, as in production; waited for until up.

        Killing one of its worker processes is a crash the master repairs; ``kill`` on the master stops it.
        """
        port = free_port()
        process = self._start(
            name,
            ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "30", "hotline.wsgi:app"],
            program=("gunicorn",),
        )
        process.url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            if not process.alive():
                pytest.fail(f"{name} exited with {process.popen.returncode}\n{_tail(process.log)}")
            try:
                with urllib.request.urlopen(process.url + "/login", timeout=2) as page:
                    return bool(page.status == 200)
            except OSError:
                return False

        wait_until(answers, ready_timeout, message=lambda: f"{name} did not answer\n{_tail(process.log)}")
        return process

    @staticmethod
    def _ready(process: Process, marker: str) -> bool:
        if not process.alive():
            pytest.fail(f"{process.name} exited with {process.popen.returncode}\n{_tail(process.log)}")
        return marker in process.text()

    def kill(self, process: Process, sig: int = signal.SIGKILL) -> None:
        """Signal the main process only (its pool children are left as a crash leaves them)."""
        os.kill(process.pid, sig)
        process.popen.wait(timeout=10)

    @staticmethod
    def kill_pid(pid: int, sig: int = signal.SIGKILL) -> None:
        """Signal one process, e.g. a pool child in the middle of a task."""
        os.kill(pid, sig)

    def stop_all(self) -> None:
        for process in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):  # what is left of the group: orphaned pool children
                os.killpg(process.pid, signal.SIGKILL)
            if process.popen.poll() is None:
                process.popen.wait(timeout=10)

    def log_tails(self) -> str:
        return "\n\n".join(_tail(p.log) for p in self.started) or "(no process started)"


@pytest.fixture
def processes(hotline: Hotline, tmp_path: Path) -> Iterator[Processes]:
    manager = Processes(hotline.env, tmp_path)
    try:
        yield manager
    finally:
        manager.stop_all()
