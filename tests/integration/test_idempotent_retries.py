"""A retrying client across killed gunicorn workers and cut database connections files every request once.

Real parts: gunicorn serving ``hotline.wsgi:app`` (2 sync workers, as in production) on this module's
PostgreSQL database, reached through a small TCP proxy of this test (:class:`PgProxy`) so that its
connections can be cut without stopping the shared PostgreSQL server; the client is plain ``http.client``
in threads, and retries any failure (a reset connection, a timeout, a 5xx, a 409 "being processed") until
it gets its 201.

The proxy sees the PostgreSQL protocol (no TLS: ``sslmode=disable``), so it can fault exactly where an
outcome becomes ambiguous: right after the server's answer to ``COMMIT`` (the request is committed, its
client never learns it), besides cutting every connection now and then and before a ``COMMIT``.  In the
kill-gunicorn run it SIGKILLs the worker whose commit it just saw, besides random kills.

Asserted: every request exists exactly once, and the client's final answer names it.  The same runs
without the key show what the key prevents (duplicates; a figure, no assertion).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select

from hotline.tickets.models import Ticket
from tests.integration.conftest import (
    FIGURES,
    ROOT,
    Hotline,
    free_port,
    wait_until,
)

pytestmark = pytest.mark.integration

REQUESTS = 150  # logical requests per run
CLIENT_THREADS = 4
RUN_DEADLINE = 30.0  # seconds one request may take to be accepted, retries included
RUN_LIMIT = 50.0  # seconds for one run of the client (with the key; the run without it is shorter)
ATTEMPT_TIMEOUT = 10.0
PG = ("127.0.0.1", 5432)
# psycopg sends COMMIT as a simple query; the server's CommandComplete answers it.
COMMIT_QUERY = b"Q\x00\x00\x00\x0bCOMMIT\x00"
COMMIT_DONE = b"C\x00\x00\x00\x0bCOMMIT\x00"


# --------------------------------------------------------------------------- a PostgreSQL proxy that can cut


def _reset(sock: socket.socket) -> None:
    """End the connection now, with a TCP reset where the kernel still can (SO_LINGER 0): to the peer, the
    other end died.

    ``shutdown`` first: a bare ``close`` while another thread is blocked in ``recv`` on the socket leaves the
    connection open (the blocked call holds the kernel's file), so an idle PostgreSQL session would keep its
    transaction, and its locks, for ever.
    """
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@dataclass(eq=False)
class Pair:
    """One connection through the proxy: the app's side and PostgreSQL's."""

    app_side: socket.socket
    pg_side: socket.socket
    app_port: int  # the app's local port: which process holds it (see :func:`_pid_holding_port`)
    committing: bool = False
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def cut(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        _reset(self.app_side)
        _reset(self.pg_side)


# What to do at a COMMIT: None (let it through), or a callable run instead of forwarding the bytes.
Hook = Callable[[Pair], bool]


class PgProxy:
    """A threaded TCP proxy to PostgreSQL whose connections the test cuts at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.pairs: set[Pair] = set()
        self.guard = threading.Lock()
        self.stopped = False
        # Called when the app sends COMMIT (before it is forwarded) and when PostgreSQL has answered it
        # (before the answer is forwarded); a hook returning True has faulted the connection.
        self.before_commit: Hook | None = None
        self.after_commit: Hook | None = None
        self.commits_seen = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database_url: str) -> str:
        base, name = database_url.rsplit("/", 1)
        host = base.rsplit("@", 1)[0]
        return f"{host}@127.0.0.1:{self.port}/{name}?sslmode=disable&gssencmode=disable"

    def _accept(self) -> None:
        while not self.stopped:
            try:
                app_side, address = self.listener.accept()
            except OSError:
                return
            try:
                pg_side = socket.create_connection(PG, timeout=5)
                pg_side.settimeout(None)
            except OSError:
                _reset(app_side)
                continue
            pair = Pair(app_side, pg_side, app_port=address[1])
            with self.guard:
                self.pairs.add(pair)
            threading.Thread(target=self._pump, args=(pair, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(pair, False), daemon=True).start()

    def _pump(self, pair: Pair, upstream: bool) -> None:
        source, target = (pair.app_side, pair.pg_side) if upstream else (pair.pg_side, pair.app_side)
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if upstream and COMMIT_QUERY in data:
                    self.commits_seen += 1
                    if self.before_commit is not None and self.before_commit(pair):
                        return
                    pair.committing = True
                elif not upstream and pair.committing and COMMIT_DONE in data:
                    pair.committing = False
                    if self.after_commit is not None and self.after_commit(pair):
                        return
                target.sendall(data)
        except OSError:
            pass
        finally:
            pair.cut()
            with self.guard:
                self.pairs.discard(pair)

    def cut_all(self) -> int:
        with self.guard:
            pairs = list(self.pairs)
        for pair in pairs:
            pair.cut()
        return len(pairs)

    def close(self) -> None:
        self.stopped = True
        with contextlib.suppress(OSError):
            self.listener.close()
        self.cut_all()


# --------------------------------------------------------------------------- gunicorn


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _pid_holding_port(pids: list[int], port: int) -> int | None:
    """Which of ``pids`` holds the TCP socket with local port ``port`` (from /proc/net/tcp and its fds)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if int(parts[1].rsplit(":", 1)[1], 16) == port:
            inode = parts[9]
            break
    if inode is None:
        return None
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return pid
    return None


@dataclass
class Gunicorn:
    popen: subprocess.Popen[bytes]
    port: int
    log: Path

    def workers(self) -> list[int]:
        return _children(self.popen.pid)

    def kill_worker(self, pid: int) -> bool:
        if pid not in self.workers():  # only ever a worker of this master
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            return True
        return False

    def tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(lines[-40:])


@contextlib.contextmanager
def gunicorn(env: dict[str, str], folder: Path) -> Iterator[Gunicorn]:
    port = free_port()
    log = folder / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "--workers", "2", "--timeout", "30"]
    with log.open("ab") as out:
        popen = subprocess.Popen(
            [*command, "--bind", f"127.0.0.1:{port}", "hotline.wsgi:app"],
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Gunicorn(popen, port, log)

    def up() -> bool:
        if popen.poll() is not None:
            pytest.fail(f"gunicorn exited with {popen.returncode}\n{server.tail()}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/login")
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    try:
        wait_until(up, 60, interval=0.2, message=lambda: f"gunicorn did not answer\n{server.tail()}")
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGTERM)
        try:
            popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()


# --------------------------------------------------------------------------- the retrying client


@dataclass
class Run:
    """What the client saw in one run."""

    label: str
    with_key: bool
    attempts: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    replayed: int = 0
    latencies: list[float] = field(default_factory=list)
    numbers: dict[int, str] = field(default_factory=dict)  # request index -> number in the final answer
    successes: list[float] = field(default_factory=list)  # monotonic times of the 201s
    faults: list[float] = field(default_factory=list)  # monotonic times of the faults injected
    unexpected: list[str] = field(default_factory=list)
    deadline: float = 0.0  # monotonic time when the client gives up altogether
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault(self) -> None:
        with self.lock:
            self.faults.append(time.monotonic())

    def recovery(self) -> float:
        """The longest time from a fault to the next accepted request."""
        successes = sorted(self.successes)
        worst = 0.0
        for at in self.faults:
            after = next((s for s in successes if s >= at), None)
            if after is not None:
                worst = max(worst, after - at)
        return worst


def _post(port: int, token: str, payload: bytes, key: str | None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=ATTEMPT_TIMEOUT)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        connection.request("POST", "/api/v1/tickets", body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _file_until_accepted(run: Run, port: int, token: str, index: int, title: str, category: str) -> None:
    payload = json.dumps(
        {
            "category": category,
            "title": title,
            "description": "重试客户端：连接断开或服务端 5xx 时重发同一请求。",
            "urgency": "normal",
            "contact_phone": "13800138000",
        },
        ensure_ascii=False,
    ).encode()
    key = f"retry-{uuid.uuid4()}" if run.with_key else None
    start = time.monotonic()
    tries = 0
    while True:
        tries += 1
        with run.lock:
            run.attempts += 1
        try:
            status, headers, body = _post(port, token, payload, key)
        except (OSError, http.client.HTTPException) as error:
            reason = type(error).__name__
        else:
            if status in (200, 201):
                now = time.monotonic()
                with run.lock:
                    run.successes.append(now)
                    run.latencies.append(now - start)
                    run.numbers[index] = json.loads(body)["number"]
                    run.replayed += headers.get("idempotent-replayed") == "true"
                return
            in_flight = status == 409 and b"idempotency_key_in_flight" in body
            if status < 500 and not in_flight:
                with run.lock:
                    run.unexpected.append(f"{index}: {status} {body[:200]!r}")
                return
            reason = "409 in flight" if in_flight else str(status)
        with run.lock:
            run.failures[reason] += 1
        if time.monotonic() > min(start + RUN_DEADLINE, run.deadline):
            with run.lock:
                run.unexpected.append(f"{index}: not accepted after {tries} attempts")
            return
        # a client's backoff between its own attempts (capped: it does not honour Retry-After: 30)
        time.sleep(min(0.5, 0.02 * tries) * random.uniform(0.5, 1.5))


def _client_run(
    run: Run, port: int, tokens: list[str], categories: list[str], prefix: str, requests: int = REQUESTS
) -> list[tuple[int, str]]:
    jobs = [
        (index, f"{prefix}-{index:04d}", tokens[index % len(tokens)], categories[index % len(categories)])
        for index in range(requests)
    ]
    run.deadline = time.monotonic() + RUN_LIMIT
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        list(
            pool.map(
                lambda job: _file_until_accepted(run, port, job[2], job[0], job[1], job[3]),
                jobs,
            )
        )
    return [(index, title) for index, title, _token, _category in jobs]


@contextlib.contextmanager
def _every(seconds: float, action: Callable[[], None]) -> Iterator[None]:
    """Run ``action`` every ``seconds`` (with jitter) in a thread while the block runs."""
    done = threading.Event()

    def loop() -> None:
        while not done.wait(seconds * random.uniform(0.6, 1.4)):
            action()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=10)


# --------------------------------------------------------------------------- the setup


@dataclass
class Setup:
    hotline: Hotline
    proxy: PgProxy
    server: Gunicorn
    tokens: list[str]


@pytest.fixture
def setup(hotline: Hotline, tmp_path: Path) -> Iterator[Setup]:
    from hotline.auth import services as accounts
    from hotline.auth.models import User
    from hotline.db import utcnow
    from hotline.extensions import db

    with hotline.app.app_context():
        tokens = []
        for user_id in hotline.district.contact_ids:
            user = db.session.get(User, user_id)
            assert user is not None
            tokens.append(accounts.issue_token(user, utcnow(), hours=2)[0])
        db.session.commit()
        db.session.remove()
    proxy = PgProxy()
    env = {**hotline.env, "DATABASE_URL": proxy.url(hotline.env["DATABASE_URL"])}
    try:
        with gunicorn(env, tmp_path) as server:
            yield Setup(hotline, proxy, server, tokens)
    finally:
        proxy.close()


def _count_by_title(hotline: Hotline, prefix: str) -> dict[str, int]:
    rows = hotline.rows(
        select(Ticket.title, func.count(Ticket.id))
        .where(Ticket.title.like(f"{prefix}-%"))
        .group_by(Ticket.title)
    )
    return {title: count for title, count in rows}


def _count_title(hotline: Hotline, title: str) -> int:
    return int(hotline.scalar(select(func.count(Ticket.id)).where(Ticket.title == title)) or 0)


def _numbers_by_title(hotline: Hotline, prefix: str) -> dict[str, str]:
    rows = hotline.rows(select(Ticket.title, Ticket.number).where(Ticket.title.like(f"{prefix}-%")))
    return {title: number for title, number in rows}


def _report(
    run: Run, fault: str, faults: int, counts: dict[str, int], titles: list[tuple[int, str]]
) -> dict[str, int]:
    lost = sum(1 for _index, title in titles if counts.get(title, 0) == 0)
    duplicated = sum(count - 1 for count in counts.values() if count > 1)
    accepted = len(run.numbers)
    failures = ", ".join(f"{reason} {n}" for reason, n in run.failures.most_common()) or "none"
    FIGURES.append(
        f"idempotent retries, {fault}, {'with' if run.with_key else 'WITHOUT'} Idempotency-Key: "
        f"{faults} faults injected; {len(titles)} requests sent in {run.attempts} attempts "
        f"(failed attempts: {failures}); {accepted} accepted ({run.replayed} answered from a stored key: "
        f"committed but unanswered before), {lost} lost, {duplicated} duplicated; "
        f"max latency {max(run.latencies, default=0):.2f} s, recovery {run.recovery():.2f} s"
    )
    return {"lost": lost, "duplicated": duplicated, "accepted": accepted}


def _check_exactly_once(setup: Setup, run: Run, prefix: str, titles: list[tuple[int, str]]) -> None:
    assert run.unexpected == [], run.unexpected[:10]
    counts = _count_by_title(setup.hotline, prefix)
    assert {title for _i, title in titles} == set(counts), "some requests were lost"
    assert [t for t, n in counts.items() if n != 1] == [], "some requests were filed twice"
    numbers = _numbers_by_title(setup.hotline, prefix)
    wrong = [i for i, title in titles if run.numbers.get(i) != numbers[title]]
    assert wrong == [], f"the client's answer names another request for {len(wrong)} of them"


# --------------------------------------------------------------------------- (a) kill gunicorn workers


# A worker loads the application when the master starts it (seconds, on a busy machine): only a worker
# seen committing is killed, and only while another one is alive, some time apart, so that the server is
# hurt again and again but never simply down.
KILL_SPACING = 0.5
MAX_KILLS = 8


def _kill_gunicorn_run(
    setup: Setup, with_key: bool, prefix: str, requests: int = REQUESTS, max_kills: int = MAX_KILLS
) -> tuple[Run, int, list[tuple[int, str]]]:
    server, proxy = setup.server, setup.proxy
    run = Run("kill-gunicorn", with_key)
    kills = 0
    last_kill = 0.0
    serving: set[int] = set()  # workers seen committing, not killed since
    guard = threading.Lock()

    def kill(pid: int) -> bool:
        nonlocal kills, last_kill
        with guard:
            alive = set(server.workers())
            serving.intersection_update(alive)
            if kills >= max_kills or time.monotonic() - last_kill < KILL_SPACING:
                return False
            # another worker alive (serving, or started by the master and loading): the server is hurt,
            # never down.  Not "another seen committing": a filing is quick, and one worker may take every
            # call of a sequential client (the run then killed nothing)
            if pid not in serving or len(alive) < 2 or not server.kill_worker(pid):
                return False
            serving.discard(pid)
            last_kill = time.monotonic()
            kills += 1
        run.fault()
        return True

    def after_commit(pair: Pair) -> bool:
        pid = _pid_holding_port(server.workers(), pair.app_port)
        if pid is None:
            return False
        with guard:
            serving.add(pid)
        # the commit is done; the worker that made it dies before it can answer
        return random.random() < 0.5 and kill(pid)

    def random_kill() -> None:
        with guard:
            candidates = list(serving)
        if candidates:
            kill(random.choice(candidates))

    proxy.after_commit = after_commit
    try:
        with _every(1.5, random_kill):
            titles = _client_run(
                run, server.port, setup.tokens, setup.hotline.district.category_codes, prefix, requests
            )
    finally:
        proxy.after_commit = None
    return run, kills, titles


def test_a_retrying_client_across_killed_gunicorn_workers_files_each_request_once(setup: Setup) -> None:
    prefix = f"killgun-{uuid.uuid4().hex[:6]}"
    run, kills, titles = _kill_gunicorn_run(setup, True, prefix)
    counts = _count_by_title(setup.hotline, prefix)
    figures = _report(
        run, "kill-gunicorn (SIGKILL workers, some right after their COMMIT)", kills, counts, titles
    )
    assert kills >= 3, f"only {kills} workers killed: the run did not test much"
    assert run.failures, "no attempt failed: the faults did not reach the client"
    _check_exactly_once(setup, run, prefix, titles)
    assert figures["duplicated"] == 0 and figures["lost"] == 0

    # The same faults, the same client, no key: what a retry does without one (a figure, not asserted).
    bare_prefix = f"killgun-nokey-{uuid.uuid4().hex[:6]}"
    bare, bare_kills, bare_titles = _kill_gunicorn_run(setup, False, bare_prefix, requests=75, max_kills=4)
    _report(bare, "kill-gunicorn", bare_kills, _count_by_title(setup.hotline, bare_prefix), bare_titles)


# --------------------------------------------------------------------------- (b) cut the database connections


def _cut_database_run(setup: Setup, with_key: bool, prefix: str) -> tuple[Run, int, list[tuple[int, str]]]:
    proxy = setup.proxy
    run = Run("kill-the-database", with_key)
    cuts = Counter[str]()

    def before_commit(pair: Pair) -> bool:
        if random.random() >= 0.05:
            return False
        pair.cut()  # the COMMIT never reaches the server: rolled back
        cuts["before COMMIT"] += 1
        run.fault()
        return True

    def after_commit(pair: Pair) -> bool:
        if random.random() >= 0.12:
            return False
        pair.cut()  # committed, and the app never hears it
        cuts["after COMMIT"] += 1
        run.fault()
        return True

    def cut_everything() -> None:
        if proxy.cut_all():
            cuts["all connections"] += 1
            run.fault()

    proxy.before_commit, proxy.after_commit = before_commit, after_commit
    try:
        with _every(1.0, cut_everything):
            titles = _client_run(
                run, setup.server.port, setup.tokens, setup.hotline.district.category_codes, prefix
            )
    finally:
        proxy.before_commit = proxy.after_commit = None
    return run, sum(cuts.values()), titles


def test_a_retrying_client_across_cut_database_connections_files_each_request_once(setup: Setup) -> None:
    prefix = f"cutdb-{uuid.uuid4().hex[:6]}"
    run, cuts, titles = _cut_database_run(setup, True, prefix)
    counts = _count_by_title(setup.hotline, prefix)
    figures = _report(
        run,
        "kill-the-database (TCP resets: all connections, before and right after COMMIT)",
        cuts,
        counts,
        titles,
    )
    assert cuts >= 10, f"only {cuts} cuts: the run did not test much"
    assert run.replayed > 0, "no commit was cut before its answer: the ambiguous case was not tried"
    assert run.failures.get("500", 0) == 0, "a lost database connection must be a 503, never a 500"
    _check_exactly_once(setup, run, prefix, titles)
    assert figures["duplicated"] == 0 and figures["lost"] == 0

    bare_prefix = f"cutdb-nokey-{uuid.uuid4().hex[:6]}"
    bare, bare_cuts, bare_titles = _cut_database_run(setup, False, bare_prefix)
    _report(bare, "kill-the-database", bare_cuts, _count_by_title(setup.hotline, bare_prefix), bare_titles)


# --------------------------------------------------------------------------- concurrent calls with one key


def test_a_call_while_the_first_with_its_key_runs_is_409_and_files_nothing(setup: Setup) -> None:
    """A live call holds its key's row locked: the second is told "being processed", not filed twice."""
    from hotline.tickets.idempotency.models import IdempotencyKey

    port, token = setup.server.port, setup.tokens[0]
    category = setup.hotline.district.category_codes[0]
    title = f"concurrent-{uuid.uuid4().hex[:6]}"
    payload = json.dumps(
        {"category": category, "title": title, "description": "并发", "contact_phone": "13800138000"},
        ensure_ascii=False,
    ).encode()

    # A burst of the same call: one request, every answer its 201 or "being processed".
    key = f"burst-{uuid.uuid4()}"
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _post(port, token, payload, key), range(8)))
    statuses = Counter(status for status, _headers, _body in answers)
    assert set(statuses) <= {201, 409}, statuses
    numbers = {json.loads(body)["number"] for status, _h, body in answers if status == 201}
    assert len(numbers) == 1 and _count_title(setup.hotline, title) == 1
    for status, headers, body in answers:
        if status == 409:
            assert b"idempotency_key_in_flight" in body and headers["retry-after"] == "1"

    # A call in progress, held at its lock by hand: the retry is 409 until it is gone, then files once.
    key = f"held-{uuid.uuid4()}"
    other_title = f"{title}-held"
    held_payload = payload.replace(title.encode(), other_title.encode())
    user_id = setup.hotline.district.contact_ids[0]
    database = setup.hotline.env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(database) as connection:
        with connection.transaction():
            connection.execute(
                "INSERT INTO idempotency_keys (user_id, scope, key, fingerprint, created_at) "
                "VALUES (%s, 'api', %s, '', now())",
                (user_id, key),
            )
        connection.execute("SELECT id FROM idempotency_keys WHERE key = %s FOR UPDATE", (key,))
        status, headers, body = _post(port, token, held_payload, key)
        assert (status, headers.get("retry-after")) == (409, "1"), body
        assert json.loads(body)["error"]["code"] == "idempotency_key_in_flight"
        connection.rollback()  # the call "died": its transaction is gone, and so is the lock
    status, headers, body = _post(port, token, held_payload, key)
    assert status == 201 and "idempotent-replayed" not in headers, body
    assert _post(port, token, held_payload, key)[1]["idempotent-replayed"] == "true"
    assert _count_title(setup.hotline, other_title) == 1
    assert setup.hotline.scalar(select(func.count(IdempotencyKey.id)).where(IdempotencyKey.key == key)) == 1
