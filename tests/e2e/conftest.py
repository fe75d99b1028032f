"""A live server in its own process (SQLite, demo data) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer at {url} within {deadline_s} s")


@pytest.fixture(scope="session")
def live_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The live server's instance folder (its SQLite file): a test may write history into it through the
    services, as the past would have, before the browser reads it."""
    return tmp_path_factory.mktemp("live-instance")


@pytest.fixture(scope="session")
def live_server(live_instance: Path) -> Iterator[str]:
    instance = live_instance
    env = {**os.environ, "HOTLINE_INSTANCE": str(instance), "FLASK_APP": "hotline", "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    # no broker for this server: a free port, so a `make run` on this machine never receives its messages
    env["HOTLINE_REDIS_PORT"] = str(_free_port())
    flask = [sys.executable, "-m", "flask"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([*flask, "seed-demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    log = (instance / "server.log").open("wb")
    process = subprocess.Popen(
        [*flask, "run", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base + "/login", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def live_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The live server with what routes its requests: a private ``redis-server`` (the broker, on a free port),
    a real Celery worker and beat, on a SQLite file with the demo data; as ``make run`` runs, minus
    supervisord."""
    import shutil

    redis_server = shutil.which("redis-server")
    if redis_server is None:
        pytest.fail("redis-server is missing: the browser test of the district's setup needs it")
    instance = tmp_path_factory.mktemp("live-system")
    redis_port = _free_port()
    env = {**os.environ, "HOTLINE_INSTANCE": str(instance), "FLASK_APP": "hotline", "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env["HOTLINE_REDIS_PORT"] = str(redis_port)
    flask = [sys.executable, "-m", "flask"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([*flask, "seed-demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    log = (instance / "system.log").open("wb")
    started = [
        subprocess.Popen(
            [
                redis_server,
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=instance,
            stdout=log,
            stderr=log,
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker.app",
                "worker",
                "--concurrency=1",
                "--loglevel=info",
                "--without-mingle",
                "--without-gossip",
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
            start_new_session=True,
        ),
        # beat, as make run runs it: its relay publishes what the web's nudge left (the nudge is bounded and
        # best effort by design, DESIGN §8); without it a filing whose nudge did not get through waits forever
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker.app",
                "beat",
                "--loglevel=info",
                "--schedule",
                str(instance / "celerybeat-schedule"),
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
            start_new_session=True,
        ),
    ]
    port = _free_port()
    web = subprocess.Popen(
        [*flask, "run", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=log
    )
    started.append(web)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base + "/login", web)
        yield base
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does it as root)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class PageProblems:
    """Console errors and CSP violations seen while a page was open."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: object) -> None:
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))  # type: ignore[attr-defined]
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))  # type: ignore[attr-defined]


@pytest.fixture
def new_page(browser: object) -> Iterator[object]:
    """A fresh browser context per user; every page's console errors fail the test."""
    contexts: list[object] = []
    problems = PageProblems()

    def make(locale: str = "zh-CN") -> object:
        context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        return page

    yield make
    for context in contexts:
        context.close()  # type: ignore[attr-defined]
    assert problems.errors == [], problems.errors


def shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
