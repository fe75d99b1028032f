"""The pages people use and the filing of a request, over HTTP through gunicorn, at a city's scale.

Run with ``make bench-web`` (1,000,000 requests; ``make bench-web TICKETS=100000`` shows how each cost grows
with the table), or ``python -m bench.web --help``.  It needs the local PostgreSQL on 127.0.0.1:5432 (user
postgres); it creates its own database, loads it with :func:`bench.stats.load` (SQL ``generate_series``:
three years of a large district, see that module), adds a liaison, an enterprise contact and a department
clerk who can log in, starts two gunicorn servers on free ports of 127.0.0.1 and removes all of it at the end.

Servers (2 sync workers each, the same settings): ``gunicorn hotline.wsgi:app`` (the production entry point,
``HOTLINE_ENV=development`` for the reason given in :mod:`bench.stats`, outbox nudge off unless
``--nudge-redis``: no broker runs here)
and ``gunicorn bench.baseline_app:app``, the baselines measured in the same run: ``GET /`` runs ``SELECT
count(*) FROM tickets``, ``GET /hello`` answers a constant, ``POST /insert`` inserts one row through the ORM.

Measured, each request a new connection, from connecting to the body's last byte:

- reads, one client: every list and page of every role (the table below names them), the median of
  ``--runs`` runs and its ratio to the ``count(*)`` page;
- reads, four clients at once: the same pages, each client its own login; median and 95th percentile;
- intake: the web form (``POST /portal/new``: see :func:`form_intake`) and ``POST /api/v1/tickets``, without
  and with an ``Idempotency-Key``, one client and four, next to ``POST /insert`` and ``GET /hello``: requests
  a second and the ratio to the bare insert, in ``--rounds`` rounds that each time every row in turn (each
  ratio against its own round's baseline: the machine's speed drifts; the median and the range are
  printed).  ``--only intake`` times these alone (no pages, no plans: a
  small load is enough, ``--tickets 20000``); ``--nudge-redis URL`` serves with the outbox nudge on,
  publishing to that Redis (production does; without it no broker runs and the nudge is off).

Every answer is checked (status and a marker of the page's own content): a page that answers anything else
is named at the end and left out of the timings, and the run exits 1.

Then the query plans (:mod:`bench.plans`): each page fetched once more in this process, its slowest statements
over requests, events and the rollup run again under ``EXPLAIN ANALYZE`` and summarised (scan nodes, index
names, execution time); a sequential scan of ``tickets`` or ``ticket_events`` is flagged and fails the run.
The deep pages timed include the middle page of each big list, the worst one (hotline.tickets.paging reads a
page from the nearer end).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import secrets
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor

from sqlalchemy import text

from bench.plans import page_plans
from bench.routing import in_private_database, percentile
from bench.stats import (
    GUNICORN_WORKERS,
    MANAGER,
    PASSWORD,
    Client,
    Page,
    chosen_periods,
    gunicorn,
    load,
    rebuild_rollup,
    vacuum,
)

LIAISON, CONTACT, CLERK = "liaison1", "contact1", "clerk1"
HIDDEN_RE = re.compile(r'<input[^>]*type="hidden"[^>]*>')  # attributes in any order (WTForms: id first)
NAME_RE, VALUE_RE = re.compile(r'name="([^"]+)"'), re.compile(r'value="([^"]*)"')
CATEGORY_RE = re.compile(r'<option[^>]*value="(c\d+)"')
CONCURRENCY = 4


def add_people(now: datetime) -> None:
    """A liaison (the first one, who covers three buildings), an enterprise contact and a department clerk
    with a password, and a share of the open work transferred to the clerk's department."""
    from hotline.auth.models import Role, User
    from hotline.auth.services import hash_password
    from hotline.enterprises.models import Department
    from hotline.extensions import db

    hashed = hash_password(PASSWORD)
    db.session.execute(
        text("UPDATE users SET password_hash = :h WHERE username = :u"), {"h": hashed, "u": LIAISON}
    )
    department = Department(code="d1", name="区市场监管局")
    db.session.add(department)
    db.session.flush()
    first_enterprise = db.session.scalar(text("SELECT min(id) FROM enterprises"))
    db.session.add_all(
        [
            User(
                username=CONTACT,
                password_hash=hashed,
                name="企业联系人",
                role=Role.ENTERPRISE,
                enterprise_id=first_enterprise,
                phone="13800138000",
            ),
            User(
                username=CLERK,
                password_hash=hashed,
                name="部门办理人",
                role=Role.DEPARTMENT,
                department_id=department.id,
            ),
        ]
    )
    db.session.execute(
        text("UPDATE tickets SET department_id = :d WHERE state = 'in_progress' AND id % 20 = 0"),
        {"d": department.id},
    )
    db.session.commit()


@dataclass
class Intake:
    """One way of filing: ``send()`` files one request and returns the milliseconds of the timed part."""

    label: str
    send: Callable[[], float]


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden fields of a page's forms, by name (the CSRF token, a filing form's one-time token)."""
    fields = {}
    for tag in HIDDEN_RE.findall(page):
        name, value = NAME_RE.search(tag), VALUE_RE.search(tag)
        if name is not None:
            fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
    return fields


def form_intake(client: Client) -> Callable[[], float]:
    """Filing through the portal's form: the form is fetched once, untimed (its CSRF token and a category);
    each timed ``POST /portal/new`` then carries a fresh one-time token, made as the server makes them (the
    server takes any token of that shape: the POST does the same work as after a GET of the form, and the
    rate is that of filing, not of filing plus a page view)."""
    status, body, _ms = client.request("/portal/new")
    page = body.decode()
    if status != 200:
        raise RuntimeError(f"GET /portal/new answered {status}")
    form = hidden_fields(page)
    category = CATEGORY_RE.search(page)
    if "csrf_token" not in form or "submission_token" not in form or category is None:
        raise RuntimeError("the filing form has no CSRF token, no one-time token or no category")
    form.update(
        category=category.group(1),
        title="楼宇停车位不足",
        description="地下车库车位紧张，希望协调增加临时车位。",
        urgency="normal",
        contact_phone="13800138000",
    )

    jar = next(h for h in client.opener.handlers if isinstance(h, HTTPCookieProcessor)).cookiejar
    session = list(jar)

    def send() -> float:
        filled = {**form, "submission_token": secrets.token_urlsafe(32)}
        status, body, ms = client.request(
            "/portal/new", urlencode(filled).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 302:
            raise RuntimeError(f"POST /portal/new answered {status}: {body[:300]!r}")
        # The answer's session holds the flash "request … filed", which a browser shows on the page it is
        # redirected to, and so drops: back to the session before it, or the cookie would grow with every
        # filing (hundreds of flashes, read and signed again on each request).
        jar.clear()
        for cookie in session:
            jar.set_cookie(cookie)
        return ms

    return send


def api_intake(client: Client, token: str, *, keyed: bool = False) -> Callable[[], float]:
    """``POST /api/v1/tickets``; ``keyed``: each call with an ``Idempotency-Key`` of its own, as a client that
    retries safely sends it."""
    body = json.dumps(
        {
            "category": "c1",
            "title": "楼宇停车位不足",
            "description": "地下车库车位紧张，希望协调增加临时车位。",
            "urgency": "normal",
            "contact_phone": "13800138000",
        }
    ).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def send() -> float:
        sent = {**headers, "Idempotency-Key": str(uuid.uuid4())} if keyed else headers
        status, answer, ms = client.request("/api/v1/tickets", body, sent)
        if status != 201:
            raise RuntimeError(f"POST /api/v1/tickets answered {status}: {answer[:300]!r}")
        return ms

    return send


def plain(client: Client, path: str, data: bytes | None, expected: int) -> Callable[[], float]:
    def send() -> float:
        status, answer, ms = client.request(
            path, data, {"Content-Type": "application/json"} if data else None
        )
        if status != expected:
            raise RuntimeError(f"{path} answered {status}: {answer[:200]!r}")
        return ms

    return send


def concurrently(work: list[Callable[[], float]], seconds: float) -> tuple[list[float], float]:
    """Run each of ``work`` in its own thread, over and over, for ``seconds``; (latencies, requests/s)."""
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    stop = time.monotonic() + seconds

    def loop(send: Callable[[], float]) -> None:
        try:
            while time.monotonic() < stop:
                ms = send()
                with lock:
                    latencies.append(ms)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=loop, args=(send,)) for send in work]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"a client failed: {errors[0]}") from errors[0]
    return latencies, len(latencies) / (time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tickets",
        type=int,
        default=int(os.environ.get("BENCH_TICKETS") or 1_000_000),
        help="requests to load (default 1,000,000, or the BENCH_TICKETS environment variable)",
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--seconds",
        type=float,
        default=10,
        help="duration of each timed load phase, and of each intake row (split over --rounds)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="intake: rounds, each timing every kind for --seconds/--rounds in turn (ratios per round)",
    )
    parser.add_argument(
        "--only",
        choices=["intake"],
        help="time only this part (intake: the filing rows, next to the baselines; no pages, no plans)",
    )
    parser.add_argument(
        "--nudge-redis",
        metavar="URL",
        help="serve with the outbox nudge on, publishing to the Redis at URL (as production does; the "
        "default is the nudge off: no broker runs here); e.g. redis://127.0.0.1:6379/7",
    )
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5 (the median of fewer is noise)")
    return in_private_database("hotline-bench-web-", lambda url, folder: _run(args, url, folder))


def _prepare(args: argparse.Namespace, url: str, instance: Path, now: datetime) -> tuple[int, str, int]:
    from hotline import create_app
    from hotline.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "OUTBOX_NUDGE": False, "INSTANCE_DIR": str(instance)})
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        load(args.tickets, now)
        loaded = time.perf_counter() - started
        add_people(now)
        rebuild_rollup()
        db.session.remove()
        vacuum(url)
        count = int(db.session.scalar(text("SELECT count(*) FROM tickets")) or 0)
        events = int(db.session.scalar(text("SELECT count(*) FROM ticket_events")) or 0)
        print(
            f"inserted {count:,} requests and {events:,} events in {loaded:.1f} s "
            f"({(count + events) / loaded:,.0f} rows/s, {count / loaded:,.0f} requests/s)",
            flush=True,
        )
        server = str(db.session.scalar(text("SHOW server_version")))
        street_id = int(db.session.scalar(text("SELECT min(id) FROM streets")) or 0)
        print(
            f"ready in {time.perf_counter() - started:.1f} s (with the rollup, indexes and VACUUM)",
            flush=True,
        )
        db.session.remove()
        db.engine.dispose()
    return count, server, street_id


def q(words: str) -> str:
    """The query string of a search for ``words``."""
    return urlencode({"q": words})


def _pages(hotline_url: str, baseline_url: str, now: datetime, count: int, street_id: int) -> list[Page]:
    year, month = chosen_periods(now)
    manager, liaison, contact, clerk, api, api_liaison, api_contact = (Client(hotline_url) for _ in range(7))
    manager.log_in(MANAGER, PASSWORD)
    liaison.log_in(LIAISON, PASSWORD)
    contact.log_in(CONTACT, PASSWORD)
    clerk.log_in(CLERK, PASSWORD)
    bearer = {"Authorization": f"Bearer {api.api_token(MANAGER, PASSWORD)}"}
    bearer_liaison = {"Authorization": f"Bearer {api_liaison.api_token(LIAISON, PASSWORD)}"}
    bearer_contact = {"Authorization": f"Bearer {api_contact.api_token(CONTACT, PASSWORD)}"}
    year_args = f"period=year&value={year}"
    deep = max(1, min(500, count // 20))  # a deep page (500 at 1M), one that exists at a small load too
    # The worst page of a list read by hotline.tickets.paging is the middle one (either end is near).
    middle = max(1, count // 20 // 2)
    liaison_middle = max(1, count * 3 // 14 // 20 // 2)  # liaison1 covers 3 of the 14 buildings
    filtered = f"{year_args}&street={street_id}&channel=phone"
    filtered_deep = max(1, count // 20 // 60)  # the filter keeps about a fortieth of the table
    return [
        Page("baseline: SELECT count(*) FROM tickets", Client(baseline_url), "/", b"requests"),
        Page(f"dashboard, year {year}", manager, f"/manage/dashboard?{year_args}", b'id="dashboard-data"'),
        Page(
            "API stats summary, year",
            api,
            f"/api/v1/stats/summary?from={year}-01-01&to={year}-12-31",
            b'"closure_rate"',
            bearer,
        ),
        Page("API tickets, manager, page 1", api, "/api/v1/tickets?page=1", b'"items"', bearer),
        Page(f"API tickets, manager, page {deep}", api, f"/api/v1/tickets?page={deep}", b'"items"', bearer),
        Page(
            f"API tickets, manager, page {middle}", api, f"/api/v1/tickets?page={middle}", b'"items"', bearer
        ),
        Page("API tickets, liaison, page 1", api_liaison, "/api/v1/tickets", b'"items"', bearer_liaison),
        Page(
            f"API tickets, liaison, page {liaison_middle}",
            api_liaison,
            f"/api/v1/tickets?page={liaison_middle}",
            b'"items"',
            bearer_liaison,
        ),
        Page("API tickets, enterprise, page 1", api_contact, "/api/v1/tickets", b'"items"', bearer_contact),
        Page("API tickets, manager, q=000000123", api, "/api/v1/tickets?q=000000123", b"QH000000123", bearer),
        Page(
            "API tickets, liaison, q=停车",
            api_liaison,
            f"/api/v1/tickets?{q('停车')}",
            b'"items"',
            bearer_liaison,
        ),
        Page("all requests, page 1", manager, "/manage/tickets", b"<table"),
        Page(f"all requests, page {deep}", manager, f"/manage/tickets?page={deep}", b"<table"),
        Page(f"all requests, page {middle}", manager, f"/manage/tickets?page={middle}", b"<table"),
        Page("all requests, state closed", manager, "/manage/tickets?state=closed", b"<table"),
        Page("all requests, search 'QH00012'", manager, "/manage/tickets?q=QH00012", b"QH00012"),
        # Chinese words: two characters (the bigram index), a word and a two-character one (both indexes),
        # a part of enterprise names (企业12, 企业120 … 企业129)
        Page("all requests, search '停车'", manager, f"/manage/tickets?{q('停车')}", b"<table"),
        Page(
            "all requests, search '社保缴纳 电梯'", manager, f"/manage/tickets?{q('社保缴纳 电梯')}", b"<main"
        ),
        Page("all requests, search '企业12'", manager, f"/manage/tickets?{q('企业12')}", b"<table"),
        Page("dispatch pool", manager, "/manage/pool", b"<main"),
        Page("overdue board", manager, "/manage/overdue", b"<main"),
        Page(
            "drill-down: resolved late, year",
            manager,
            f"/manage/dashboard/requests?figure=resolved_late&{year_args}",
            b"requests-total",
        ),
        Page(
            f"requests CSV, {month:%Y-%m}",
            manager,
            f"/manage/exports/requests.csv?period=month&value={month:%Y-%m}",
            b"QH",
        ),
        Page(
            "drill-down: total, a street and a channel",
            manager,
            f"/manage/dashboard/requests?figure=total&{filtered}&page={filtered_deep}",
            b"requests-total",
        ),
        Page(
            "dashboard, a street and a channel",
            manager,
            f"/manage/dashboard?{filtered}",
            b'id="dashboard-data"',
        ),
        Page("liaison workbench", liaison, "/workbench/", b"<main"),
        Page(
            f"liaison workbench, page {liaison_middle}",
            liaison,
            f"/workbench/?page={liaison_middle}",
            b"<main",
        ),
        Page("liaison workbench, search 'QH0000'", liaison, "/workbench/?q=QH0000", b"<main"),
        Page("liaison workbench, search '停车'", liaison, f"/workbench/?{q('停车')}", b"<main"),
        Page("liaison workbench, search '企业12'", liaison, f"/workbench/?{q('企业12')}", b"<main"),
        Page("liaison workbench, search '社保 电梯'", liaison, f"/workbench/?{q('社保 电梯')}", b"<main"),
        Page("department queue, search '停车'", clerk, f"/department/?{q('停车')}", b"<main"),
        Page("department queue", clerk, "/department/", b"<main"),
        Page("enterprise portal", contact, "/portal/", b"<main"),
        Page("enterprise portal, search 'QH0000'", contact, "/portal/?q=QH0000", b"<main"),
        Page("enterprise portal, search '停车'", contact, f"/portal/?{q('停车')}", b"<main"),
    ]


def _run(args: argparse.Namespace, url: str, folder: Path) -> int:
    from hotline.db import utcnow

    now = utcnow().replace(microsecond=0)
    instance = folder / "instance"
    count, server, street_id = _prepare(args, url, instance, now)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "HOTLINE_ENV": "development",
        "HOTLINE_INSTANCE": str(instance),
        "OUTBOX_NUDGE": "0",
        "RATELIMIT_ENABLED": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    if args.nudge_redis:
        env.update(OUTBOX_NUDGE="1", REDIS_URL=args.nudge_redis)
    if args.only == "intake":
        with (
            gunicorn("hotline.wsgi:app", env, folder, "hotline") as hotline_url,
            gunicorn("bench.baseline_app:app", env, folder, "baseline") as baseline_url,
        ):
            intake = _intake_table(args, hotline_url, baseline_url)
        _print_intake(intake, count, server, bool(args.nudge_redis))
        return 0
    with (
        gunicorn("hotline.wsgi:app", env, folder, "hotline") as hotline_url,
        gunicorn("bench.baseline_app:app", env, folder, "baseline") as baseline_url,
    ):
        pages, failed = [], []
        for page in _pages(hotline_url, baseline_url, now, count, street_id):  # warm both workers up
            try:
                for _ in range(2 * GUNICORN_WORKERS):
                    page.fetch()
            except RuntimeError as error:  # shown at the end, and the run fails; the other pages go on
                failed.append(str(error)[:200])
            else:
                pages.append(page)
        times: dict[str, list[float]] = {page.label: [] for page in pages}
        for run in range(args.runs):
            for page in pages:
                times[page.label].append(page.fetch()[0])
            print(f"reads: run {run + 1}/{args.runs}", file=sys.stderr, flush=True)
        loaded: dict[str, list[float]] = {}
        for page in pages:
            clients = [page] + [_same_page_new_client(page, hotline_url, baseline_url) for _ in range(3)]
            loaded[page.label], _rate = concurrently([_timer(p) for p in clients], 3)
        print("reads at 4 clients done", file=sys.stderr, flush=True)
        intake = _intake_table(args, hotline_url, baseline_url)
    plans, unbounded = page_plans(url, instance, pages)

    baseline = statistics.median(times[pages[0].label])
    print(
        f"\n{count:,} requests; PostgreSQL {server}; gunicorn {GUNICORN_WORKERS} sync workers; "
        f"each request a new connection; median of {args.runs} runs at 1 client, "
        f"median/p95 over 3 s at {CONCURRENCY} clients"
    )
    print(f"{'GET':<42}{'1 client ms':>12}{'× count(*)':>12}{'4 clients p50':>15}{'p95':>8}")
    slow = 0
    for label, values in times.items():
        median = statistics.median(values)
        under = loaded[label]
        slow += median > 300
        print(
            f"{label:<42}{median:>12.1f}{median / baseline:>12.2f}"
            f"{statistics.median(under):>15.1f}{percentile(under, 0.95):>8.1f}"
        )
    print(f"pages over 300 ms at 1 client: {slow}")
    for error in failed:
        print(f"FAILED {error}")
    if failed:  # what the server said about it
        log = (folder / "hotline.log").read_text(errors="replace")
        start = log.rfind("Traceback")
        print(log[start : start + 4000] if start >= 0 else "(no traceback in the server's log)")
    print("\nquery plans: the slowest statements of each page over tickets, events and the rollup, run again")
    print("under EXPLAIN ANALYZE (bench/plans.py)")
    for line in plans:
        print(line)
    print(f"plans scanning a whole table of requests or events: {unbounded}")
    _print_intake(intake, count, server, bool(args.nudge_redis), header=False)
    return 1 if failed or unbounded else 0


def _print_intake(lines: list[str], count: int, server: str, nudge: bool, *, header: bool = True) -> None:
    if header:
        print(f"\n{count:,} requests; PostgreSQL {server}; gunicorn {GUNICORN_WORKERS} sync workers")
    print(f"outbox nudge: {'on (Redis broker)' if nudge else 'off'}")
    print(
        f"\n{'intake':<42}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'× insert':>10}{'rounds':>10}"
    )
    for line in lines:
        print(line)


def _timer(page: Page) -> Callable[[], float]:
    return lambda: page.fetch()[0]


def _same_page_new_client(page: Page, hotline_url: str, baseline_url: str) -> Page:
    """The page for another client of the same role (its own login, cookies and connection)."""
    base = page.client.base
    client = Client(base)
    if base == hotline_url and page.headers is None:
        client.opener = page.client.opener  # the same logged-in session, a new connection per request
    return Page(page.label, client, page.path, page.marker, page.headers)


def _intake_table(args: argparse.Namespace, hotline_url: str, baseline_url: str) -> list[str]:
    def clients(make: Callable[[], Callable[[], float]], n: int) -> list[Callable[[], float]]:
        return [make() for _ in range(n)]

    def contact_form() -> Callable[[], float]:
        client = Client(hotline_url)
        client.log_in(CONTACT, PASSWORD)
        return form_intake(client)

    def contact_api() -> Callable[[], float]:
        client = Client(hotline_url)
        return api_intake(client, client.api_token(CONTACT, PASSWORD))

    def contact_api_keyed() -> Callable[[], float]:
        client = Client(hotline_url)
        return api_intake(client, client.api_token(CONTACT, PASSWORD), keyed=True)

    def insert() -> Callable[[], float]:
        return plain(Client(baseline_url), "/insert", b"{}", 201)

    def hello() -> Callable[[], float]:
        return plain(Client(baseline_url), "/hello", None, 200)

    kinds = [
        ("baseline: bare ORM insert (POST /insert)", insert),
        ("baseline: Flask hello (GET /hello)", hello),
        ("file a request: web form", contact_form),
        ("file a request: POST /api/v1/tickets", contact_api),
        ("  the same with an Idempotency-Key", contact_api_keyed),
    ]
    # Rounds, each timing every kind in turn: the machine's speed drifts over a minute (other tenants of
    # the host), so each ratio is taken against the baseline of its own round, and the medians reported.
    prepared = {(label, n): clients(make, n) for label, make in kinds for n in (1, CONCURRENCY)}
    for work in prepared.values():
        for send in work:  # warm up
            send()
    latencies: dict[tuple[str, int], list[float]] = {key: [] for key in prepared}
    rates: dict[tuple[str, int], list[float]] = {key: [] for key in prepared}
    ratios: dict[tuple[str, int], list[float]] = {key: [] for key in prepared}
    for round_ in range(args.rounds):
        for n in (1, CONCURRENCY):
            for label, _make in kinds:
                times, rate = concurrently(prepared[(label, n)], args.seconds / args.rounds)
                latencies[(label, n)].extend(times)
                rates[(label, n)].append(rate)
            base_rate = rates[(kinds[0][0], n)][-1]
            for label, _make in kinds:
                ratios[(label, n)].append(rates[(label, n)][-1] / base_rate)
        print(f"intake: round {round_ + 1} of {args.rounds} done", file=sys.stderr, flush=True)
    lines = []
    for n in (1, CONCURRENCY):
        for label, _make in kinds:
            key = (label, n)
            lines.append(
                f"{label:<42}{n:>8}{statistics.median(rates[key]):>9.1f}"
                f"{statistics.median(latencies[key]):>9.1f}{percentile(latencies[key], 0.95):>9.1f}"
                f"{statistics.median(ratios[key]):>10.2f}{min(ratios[key]):>7.2f}-{max(ratios[key]):.2f}"
            )
    return lines


if __name__ == "__main__":
    sys.exit(main())
