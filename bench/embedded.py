"""10,000 real tasks through the embedded default as ``make run`` starts it, and what it took.

Run with ``make bench-embedded`` (or ``.venv/bin/python -m bench.embedded --help``).  It starts
``scripts/run.sh`` — migrations, the demo district, then supervisord with the private Redis server, the web
under gunicorn, worker-routing, worker and beat (deploy/supervisord.conf) — in a temporary instance folder on
SQLite (the embedded default) and free ports, and removes all of it at the end.

The load is what users cause: clients (threads, one API token each, demo enterprise accounts) file requests
with ``POST /api/v1/tickets`` until the outbox holds the target number of tasks (each request is routed, and
its routing notifies people by e-mail: ``route_ticket`` on the routing queue, ``send_email`` on the default
one; beat's periodic jobs run besides).  Then it waits until every request is routed and every e-mail
handled (no mail server in the embedded run: each is marked skipped).

It prints:

* submissions: how many the clients filed, at what rate, and every answer that was not 201 (a 503 is what
  a user would see of a SQLite ``database is locked``);
* tasks: how many the workers ran (their logs' ``succeeded`` lines, by task) and tasks per second, from the
  first submission to the last task;
* crashes: programs supervisord saw exit unexpectedly, and ``Unrecoverable error`` in the workers' logs;
* lost: requests never routed and e-mails never handled by the end (tasks sent but not done);
* ``database is locked`` lines in the logs, task failures and retries.

The exit status is 1 when a program crashed or anything was lost.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from bench.routing import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = {"redis", "web", "worker-routing", "worker", "beat"}
DEMO_PASSWORD = "demo-pass-2026"
TASK_LINE = re.compile(r"Task (\S+)\[[0-9a-f-]+\] (succeeded|retry|raised)")


def program_states(status: str) -> dict[str, tuple[str, int | None]]:
    """Each program's state and pid, from what ``supervisorctl status`` prints."""
    states: dict[str, tuple[str, int | None]] = {}
    for line in status.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            pid = re.search(r"pid (\d+),", line)
            states[parts[0]] = (parts[1], int(pid.group(1)) if pid else None)
    return states


class Stack:
    """``scripts/run.sh`` (then supervisord) in a temporary instance folder."""

    def __init__(self, instance: Path) -> None:
        self.instance = instance
        self.port = free_port()
        self.redis_port = free_port()
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        self.env.update(
            HOTLINE_INSTANCE=str(instance),
            HOTLINE_ENV="development",
            PORT=str(self.port),
            HOTLINE_REDIS_PORT=str(self.redis_port),
            VENV=str(ROOT / ".venv"),
        )
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = (self.instance / "run.out").open("wb")
        self.process = subprocess.Popen(
            [str(ROOT / "scripts" / "run.sh")],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        wait_until(self.all_running, 240, "every program RUNNING")
        wait_until(
            lambda: (
                all(" ready." in self.log_text(w) for w in ("worker-routing", "worker"))
                and self.answers("/login")
            ),
            90,
            "workers ready and the web answering",
        )

    def ctl(self, *args: str) -> str:
        result = subprocess.run(
            [str(ROOT / "scripts" / "run.sh"), "ctl", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.stdout

    def status(self) -> dict[str, tuple[str, int | None]]:
        return program_states(self.ctl("status"))

    def all_running(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"scripts/run.sh exited:\n{(self.instance / 'run.out').read_text()[-3000:]}")
        states = self.status()
        return set(states) == PROGRAMS and all(s == "RUNNING" for s, _ in states.values())

    def stop(self) -> None:
        if self.process is None:
            return
        pids = [pid for _, pid in self.status().values() if pid]
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)

    def log_text(self, program: str) -> str:
        """A program's log, the rotated parts first."""
        paths = sorted((self.instance / "logs").glob(f"{program}.log.*"), reverse=True)
        paths.append(self.instance / "logs" / f"{program}.log")
        return "".join(p.read_text(errors="replace") for p in paths if p.exists())

    def answers(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def request(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")[:300]

    def database(self) -> sqlite3.Connection:
        """A read-only connection to the stack's SQLite file (it waits up to 30 s for a writer's lock)."""
        return sqlite3.connect(f"file:{self.instance / 'hotline.sqlite3'}?mode=ro", uri=True, timeout=30)


class Clients:
    """Threads filing requests over the API until told to stop; they count every answer."""

    def __init__(self, stack: Stack, tokens: list[str], category: str) -> None:
        self.stack = stack
        self.tokens = tokens
        self.category = category
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answers: Counter[int] = Counter()
        self.errors: list[str] = []
        self.numbers: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(t,), daemon=True) for t in tokens]

    def _run(self, token: str) -> None:
        index = 0
        while not self.stop.is_set():
            index += 1
            body = {
                "category": self.category,
                "title": f"压测诉求 {index}",
                "description": "园区停车位不足，希望协调。",
                "urgency": "normal",
                "contact_phone": "13800138000",
            }
            try:
                status, answer = self.stack.request("POST", "/api/v1/tickets", body, token)
            except OSError as error:  # no answer at all
                status, answer = 0, repr(error)
            with self.lock:
                self.answers[status] += 1
                if status == 201:
                    self.numbers.append(answer["number"])
                elif len(self.errors) < 10:
                    self.errors.append(f"{status}: {answer}")

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def count(connection: sqlite3.Connection, sql: str) -> int:
    return int(connection.execute(sql).fetchone()[0])


def run(target: int, clients: int, drain_timeout: float) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-embedded-") as tmp:
        stack = Stack(Path(tmp))
        print(f"starting make run's stack in {tmp} (migrations, demo data, supervisord) …", flush=True)
        started = time.monotonic()
        try:
            stack.start()
            print(
                f"up in {time.monotonic() - started:.0f} s: {', '.join(sorted(PROGRAMS))} RUNNING", flush=True
            )
            return _load(stack, target, clients, drain_timeout)
        finally:
            stack.stop()


def _load(stack: Stack, target: int, clients: int, drain_timeout: float) -> int:
    tokens = []
    for n in range(1, clients + 1):
        status, answer = stack.request(
            "POST", "/api/v1/tokens", {"username": f"ent{n}", "password": DEMO_PASSWORD}
        )
        if status != 201:
            raise RuntimeError(f"no token for ent{n}: {status} {answer}")
        tokens.append(answer["token"])
    status, categories = stack.request("GET", "/api/v1/categories", token=tokens[0])
    assert status == 200 and categories, categories
    # Only what the load causes is counted: rows past the last id of each table before it starts.
    with contextlib.closing(stack.database()) as db:
        last = {t: count(db, f"SELECT coalesce(max(id), 0) FROM {t}") for t in ("tickets", "notifications")}
        last["outbox_messages"] = count(db, "SELECT coalesce(max(id), 0) FROM outbox_messages")
    queued_sql = f"SELECT count(*) FROM outbox_messages WHERE id > {last['outbox_messages']}"
    unpublished_sql = queued_sql + " AND published_at IS NULL"
    unrouted_sql = f"SELECT count(*) FROM tickets WHERE id > {last['tickets']} AND state = 'submitted'"
    pending_sql = (
        f"SELECT count(*) FROM notifications WHERE id > {last['notifications']} AND email_state = 'pending'"
    )

    load = Clients(stack, tokens, categories[0]["code"])
    first = time.monotonic()
    load.start()
    db = stack.database()
    try:
        while True:
            time.sleep(2)
            queued = count(db, queued_sql)
            print(
                f"  {len(load.numbers)} requests filed, {queued} tasks queued through the outbox", flush=True
            )
            if queued >= target:
                break
        load.join()
        filed_seconds = time.monotonic() - first
        filed = len(load.numbers)
        print(f"filed {filed} requests in {filed_seconds:.0f} s; waiting for the workers …", flush=True)

        def drained() -> bool:
            return count(db, unpublished_sql) + count(db, unrouted_sql) + count(db, pending_sql) == 0

        with contextlib.suppress(TimeoutError):
            wait_until(drained, drain_timeout, "every request routed and every e-mail handled", interval=1)
        done_seconds = time.monotonic() - first
        queued = count(db, queued_sql)
        unpublished = count(db, unpublished_sql)
        unrouted = count(db, unrouted_sql)
        pending = count(db, pending_sql)
    finally:
        db.close()

    outcomes: Counter[tuple[str, str]] = Counter()
    logs = {name: stack.log_text(name) for name in ("worker-routing", "worker", "beat", "web", "supervisord")}
    for name in ("worker-routing", "worker"):
        for task, outcome in TASK_LINE.findall(logs[name]):
            outcomes[(task.rsplit(".", 1)[-1], outcome)] += 1
    ran = sum(n for (_, outcome), n in outcomes.items() if outcome == "succeeded")
    failed = sum(n for (_, outcome), n in outcomes.items() if outcome == "raised")
    retried = sum(n for (_, outcome), n in outcomes.items() if outcome == "retry")
    exits = re.findall(r"exited: (\S+) \(.*not expected\)", logs["supervisord"])
    unrecoverable = sum(logs[n].count("Unrecoverable error") for n in ("worker-routing", "worker", "beat"))
    locked = sum(text.count("database is locked") for text in logs.values())
    lost = unrouted + pending
    by_task = ", ".join(
        f"{task} {n}" for (task, outcome), n in sorted(outcomes.items()) if outcome == "succeeded"
    )
    not_201 = {status: n for status, n in load.answers.items() if status != 201}

    print()
    print(
        "embedded default (make run: supervisord, private Redis, SQLite, gunicorn 2 workers, 2 Celery workers"
    )
    print(f"of concurrency 1, beat), {os.cpu_count()} cores, {clients} API clients")
    print(
        f"submissions  {filed} filed (201) in {filed_seconds:.1f} s = {filed / filed_seconds:.1f}/s; "
        f"other answers: {not_201 or 'none'}"
    )
    for line in load.errors:
        print(f"             {line}")
    print(f"tasks        {ran} run in {done_seconds:.1f} s = {ran / done_seconds:.1f} tasks/s ({by_task})")
    print(
        f"             {queued} queued through the outbox ({unpublished} never published); "
        f"{failed} failed, {retried} retried"
    )
    print(
        f"crashes      {len(exits) + unrecoverable} (supervisord saw {len(exits)} unexpected exits"
        f"{': ' + ', '.join(exits) if exits else ''}; 'Unrecoverable error' {unrecoverable})"
    )
    print(f"lost         {lost} ({unrouted} requests never routed, {pending} e-mails never handled)")
    print(f"'database is locked' in the logs: {locked}")
    return 1 if exits or unrecoverable or lost or unpublished else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks to queue (default 10,000)")
    parser.add_argument("--clients", type=int, default=4, help="API clients filing requests (default 4)")
    parser.add_argument("--drain-timeout", type=float, default=900, help="seconds to wait for the workers")
    args = parser.parse_args(argv)
    if args.clients > 40:
        parser.error("the demo has 40 enterprise accounts (ent1 … ent40)")
    return run(args.tasks, args.clients, args.drain_timeout)


if __name__ == "__main__":
    sys.exit(main())
