"""The embedded default as ``make run`` starts it: scripts/run.sh, supervisord, a private Redis, SQLite.

The stack runs exactly as on an operator's machine — ``scripts/run.sh`` migrates and seeds the demo into a
SQLite file of a temporary instance folder, then becomes ``supervisord -c deploy/supervisord.conf`` with its
five programs (redis, web under gunicorn, worker-routing, worker, beat) — on free ports, so it never meets a
``make run`` or the shared Redis of this machine.  What the tests look at is what an operator and a user see:
``supervisorctl status``, the web over HTTP, the API's answers, supervisord's log.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bench.embedded import program_states
from tests.integration.conftest import FIGURES, ROOT, _tail, free_port, wait_until, worker_knobs

pytestmark = pytest.mark.integration

PROGRAMS = {"redis", "web", "worker-routing", "worker", "beat"}
DEMO_PASSWORD = "demo-pass-2026"
READY_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): INFO/MainProcess\] \S+ ready\.$", re.M)
# supervisord's log: "2026-12-02 01:38:43,718 INFO success: worker-routing entered RUNNING state, …"
SUPERVISOR_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ (.*)$", re.M)
STAMP = "%Y-%m-%d %H:%M:%S,%f"


@dataclass
class Embedded:
    """A running ``scripts/run.sh`` (now supervisord) and the means to look at it."""

    instance: Path
    env: dict[str, str]
    base_url: str
    redis_port: int
    supervisord: subprocess.Popen[bytes]
    output: Path

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``scripts/run.sh ctl …``: what ``make status`` runs (supervisorctl with the same configuration)."""
        return subprocess.run(
            [str(ROOT / "scripts" / "run.sh"), "ctl", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def status(self) -> dict[str, tuple[str, int | None]]:
        """Each program's state and pid, as ``supervisorctl status`` prints them."""
        return program_states(self.ctl("status").stdout)

    def all_running(self) -> bool:
        states = self.status()
        return set(states) == PROGRAMS and all(state == "RUNNING" for state, _ in states.values())

    def log(self, program: str) -> Path:
        return self.instance / "logs" / f"{program}.log"

    def ready_times(self, program: str) -> list[datetime]:
        """When a worker said ``… ready.`` (from its log's timestamps, in this machine's local time)."""
        text = self.log(program).read_text(errors="replace") if self.log(program).exists() else ""
        return [datetime.strptime(stamp, STAMP) for stamp in READY_LINE.findall(text)]

    def supervisor_events(self, since: datetime) -> list[tuple[datetime, str]]:
        """supervisord's log lines from ``since`` on: (when, what)."""
        text = self.log("supervisord").read_text(errors="replace")
        events = [(datetime.strptime(stamp, STAMP), what) for stamp, what in SUPERVISOR_LINE.findall(text)]
        return [(when, what) for when, what in events if when >= since]

    def tails(self) -> str:
        names = ["supervisord", *sorted(PROGRAMS)]
        return "\n\n".join([_tail(self.output, 40), *(_tail(self.log(n), 30) for n in names)])

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, dict[str, str], Any]:
        """One HTTP request to the web; the status, the headers and the JSON body (or the text)."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=15) as response:
                status, raw, head = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, raw, head = error.code, error.read(), dict(error.headers)
        try:
            return status, head, json.loads(raw)
        except ValueError:
            return status, head, raw.decode(errors="replace")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedded]:
    """``scripts/run.sh`` in a temporary instance folder (SQLite, the embedded default) on free ports."""
    instance = tmp_path_factory.mktemp("embedded")
    port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        HOTLINE_INSTANCE=str(instance),
        HOTLINE_ENV="development",
        PORT=str(port),
        HOTLINE_REDIS_PORT=str(redis_port),
        VENV=str(ROOT / ".venv"),
        **worker_knobs(),  # a message a killed worker held is queued again within seconds, not minutes
    )
    output = instance / "run.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [str(ROOT / "scripts" / "run.sh")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = Embedded(instance, env, f"http://127.0.0.1:{port}", redis_port, process, output)
    try:
        wait_until(
            lambda: process.poll() is None and stack.all_running(),
            180,  # migrating and seeding the demo district come first
            interval=0.5,
            message=lambda: f"make run did not bring every program up\n{stack.tails()}",
        )
        wait_until(
            lambda: (
                all(stack.ready_times(w) for w in ("worker-routing", "worker"))
                and "beat: Starting" in stack.log("beat").read_text(errors="replace")
                and _answers(stack.base_url + "/login")
            ),
            60,
            interval=0.5,
            message=lambda: f"the workers, beat or the web did not get ready\n{stack.tails()}",
        )
        yield stack
    finally:
        pids = [pid for _, pid in stack.status().values() if pid]
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)  # what Ctrl-C does: supervisord stops every program
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        for pid in pids:  # anything supervisord failed to stop (each program is its own process group)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


def _token(stack: Embedded, username: str = "ent1") -> str:
    status, _, body = stack.request(
        "POST", "/api/v1/tokens", {"username": username, "password": DEMO_PASSWORD}
    )
    assert status == 201, body
    return str(body["token"])


def _file(stack: Embedded, token: str, category: str, index: int) -> str:
    status, _, body = stack.request(
        "POST",
        "/api/v1/tickets",
        {
            "category": category,
            "title": f"停车位不足 {index}",
            "description": "园区停车位不足，希望协调。",
            "urgency": "normal",
            "contact_phone": "13800138000",
        },
        token,
    )
    assert status == 201, body
    return str(body["number"])


def _unrouted(stack: Embedded, token: str, numbers: set[str]) -> set[str]:
    """The requests of ``numbers`` the API still shows as submitted (not assigned to anyone yet)."""
    left = set()
    for number in numbers:
        status, _, body = stack.request("GET", f"/api/v1/tickets/{number}", token=token)
        assert status == 200, body
        if body["state"] == "submitted":
            left.add(number)
    return left


def test_make_run_starts_every_program_under_supervisord(embedded: Embedded) -> None:
    states = embedded.status()
    assert set(states) == PROGRAMS
    assert {state for state, _ in states.values()} == {"RUNNING"}

    # the web is gunicorn, not the development server (which announces Werkzeug and Python)
    status, headers, _ = embedded.request("GET", "/login")
    assert status == 200
    assert headers.get("Server", "").startswith("gunicorn"), headers.get("Server")

    # the broker is the private Redis server: on 127.0.0.1 only, appending to a file in the instance folder
    import redis

    stranger = redis.Redis(port=embedded.redis_port, socket_timeout=2)
    try:  # another local user, without the password, is refused
        with pytest.raises(redis.AuthenticationError):
            stranger.ping()
    finally:
        stranger.close()
    conf = embedded.instance / "redis" / "redis.conf"
    assert conf.stat().st_mode & 0o077 == 0  # the password file is the user's own
    password = conf.read_text().split()[1]
    client = redis.Redis(port=embedded.redis_port, password=password, socket_timeout=2)
    try:
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("bind") == {"bind": "127.0.0.1"}
        assert client.config_get("dir") == {"dir": str(embedded.instance / "redis")}
    finally:
        client.close()
    assert (embedded.instance / "redis" / "appendonlydir").is_dir()
    assert (embedded.instance / "supervisor.sock").is_socket()


def test_a_killed_worker_is_back_within_10_s_and_nothing_filed_meanwhile_is_lost(embedded: Embedded) -> None:
    token = _token(embedded)
    status, _, categories = embedded.request("GET", "/api/v1/categories", token=token)
    assert status == 200 and categories, categories
    category = categories[0]["code"]

    first = _file(embedded, token, category, 0)
    wait_until(lambda: not _unrouted(embedded, token, {first}), 60, message="routing works before the kill")

    _, old_pid = embedded.status()["worker-routing"]
    assert old_pid is not None
    readies = len(embedded.ready_times("worker-routing"))
    killed_at = datetime.now()
    started = time.monotonic()
    os.kill(old_pid, signal.SIGKILL)  # the crash: no warm shutdown, no goodbye to the broker

    filed = {_file(embedded, token, category, i) for i in range(1, 21)}  # every one answered 201
    filed_seconds = time.monotonic() - started

    wait_until(
        lambda: len(embedded.ready_times("worker-routing")) > readies,
        30,
        interval=0.1,
        message=lambda: f"worker-routing did not come back\n{embedded.tails()}",
    )
    ready_seconds = (embedded.ready_times("worker-routing")[-1] - killed_at).total_seconds()
    # supervisord says STARTING until the program has lived `startsecs`, which a quick worker can outrun
    wait_until(
        lambda: embedded.status()["worker-routing"][0] == "RUNNING",
        10,
        interval=0.1,
        message=lambda: f"worker-routing is not RUNNING: {embedded.status()}",
    )
    state, new_pid = embedded.status()["worker-routing"]
    assert state == "RUNNING" and new_pid not in (None, old_pid)
    # what the operator reads in supervisord.log: the crash, the restart, the new process up
    events = embedded.supervisor_events(killed_at.replace(microsecond=0))
    said = [what for _, what in events]
    assert "exited: worker-routing (terminated by SIGKILL; not expected)" in said, said
    assert f"spawned: 'worker-routing' with pid {new_pid}" in said, said
    running_at = next(
        when for when, what in events if what.startswith("success: worker-routing entered RUNNING")
    )
    restart_seconds = (running_at - killed_at).total_seconds()

    wait_until(
        lambda: not _unrouted(embedded, token, filed),
        60,
        interval=0.5,
        message=lambda: f"requests filed while the worker was down stayed unrouted\n{embedded.tails()}",
    )
    routed_seconds = time.monotonic() - started
    FIGURES.append(
        f"embedded (make run, supervisord, SQLite): worker-routing SIGKILLed; restarted and RUNNING in "
        f"{restart_seconds:.1f} s, consuming again in {ready_seconds:.1f} s; {len(filed)} requests filed "
        f"over HTTP in {filed_seconds:.1f} s meanwhile, {len(filed)} of {len(filed)} routed "
        f"{routed_seconds:.1f} s after the kill, 0 lost"
    )
    assert restart_seconds < 10, f"supervisord took {restart_seconds:.1f} s to have worker-routing RUNNING"
    # Ready means the app imported and the broker connected: ~4 s of CPU, so on a machine this busy it can
    # take longer than the restart itself; bounded all the same.
    assert ready_seconds < 30, f"worker-routing took {ready_seconds:.1f} s to consume again"
