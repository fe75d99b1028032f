"""Figures benchmark: the manager's figures pages over HTTP, through gunicorn, over 1,000,000 requests.

Run with ``make bench-stats`` (``make bench-stats TICKETS=20000`` for a quick try, or ``python -m bench.stats
--help``).  It needs the local PostgreSQL on 127.0.0.1:5432 (user postgres); it creates its own database,
loads it, starts two gunicorn servers on free ports of 127.0.0.1, and removes all of it at the end.

Loading, all in SQL (``INSERT … SELECT … FROM generate_series``): 3 streets, 14 buildings, 6 liaisons (one
primary per building), 9 categories, 400 enterprises, a manager who can log in; N requests spread evenly over
the ~3 years before now (the servers' clock: the pages judge what is overdue against it), with channels,
categories, urgency, acknowledge and resolve deadlines, acknowledgement and resolution times (about a third
acknowledged late, a sixth resolved late), handling minutes, reopenings, ratings (the latest kept on the row,
one ``ratings`` row each) and their events (submitted, assigned, acknowledged, resolved, rated/closed).
Requests older than two weeks are nearly all closed (3 % withdrawn, 1 % merged, 1 % still open or awaiting a
rating); the last two weeks hold the live work.  Then the figures' rollup is rebuilt
(:func:`hotline.stats.rollup.rebuild`) and the database is ``VACUUM ANALYZE``-d.

Serving: ``gunicorn hotline.wsgi:app`` (the production entry point) with 2 sync workers and, with the same
settings, ``gunicorn bench.baseline_app:app``: a bare Flask app whose one page runs ``SELECT count(*) FROM
tickets`` on the same database, the baseline.  The hotline runs with ``HOTLINE_ENV=development`` and
``DATABASE_URL`` naming the PostgreSQL database: production mode turns ``SESSION_COOKIE_SECURE`` on (and the
configuration takes no override of it from the environment), so a client over plain HTTP would never send its
session cookie back; nothing else production mode changes lies on these pages' path.

Measured: the client logs in as the manager through the login form (with its CSRF token) and takes an API
token from ``POST /api/v1/tokens``; it warms both workers of each server up, then each run times one request
of each page, in this order: the baseline; ``GET /manage/dashboard`` for a year, for the year filtered by
street and category, for a month; ``GET /api/v1/stats/summary`` for the year; ``GET
/manage/dashboard/requests?figure=resolved_late`` for the year.  The year is the calendar year of the month
before the current one, the month is that month (on 1 December 2026: 2026 and 2026-11).  Each request is a
new connection (a sync worker closes it after each response), timed from connecting to the body's last byte.
The table shows the median of the runs and its ratio to the baseline's median in the same runs (absolute
times drift ±25 % between runs on this machine class; ratios are what to compare).

Checks, each failing the run (exit status 1): every page answers 200 with its content; and in the loader's own
process, :func:`hotline.stats.dashboard.build` (what the dashboard view calls) gives the same figures as a
recount over every request of the cohort, and its queries make no sequential scan of ``tickets``
(``pg_stat_user_tables``).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import text

from bench.routing import free_port, in_private_database, wait_until

ROOT = Path(__file__).resolve().parent.parent
YEARS = 3
MANAGER, PASSWORD = "manager", "bench-pass-2026"
GUNICORN_WORKERS = 2
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# Varied texts for the requests, so that a search benchmark means something (issue 9, point 4): a title is a
# topic and what is asked, a description two topics, a floor and a sentence, a phone 11 digits; each a SQL
# expression drawing its own random numbers per row.
TOPICS = (
    "停车位",
    "社保缴纳",
    "税务登记",
    "水电费",
    "消防验收",
    "电梯故障",
    "网络宽带",
    "用工招聘",
    "租金减免",
    "噪音扰民",
    "垃圾清运",
    "营业执照",
    "融资贷款",
    "知识产权",
    "人才公寓",
    "空调供暖",
    "物业服务",
    "出口退税",
    "高新认定",
    "充电桩",
    "食堂卫生",
    "外卖配送",
    "门禁系统",
    "快递收发",
    "会议场地",
    "装修审批",
    "环评手续",
    "专利申报",
    "落户政策",
    "子女入学",
)
ASKS = (
    "咨询",
    "办理进度",
    "问题反映",
    "申请协助",
    "故障报修",
    "政策解读",
    "费用异议",
    "流程太慢",
    "材料补正",
)
CLOSINGS = (
    "请尽快协调处理。",
    "希望街道帮助对接相关部门。",
    "已多次反映，盼回复。",
    "影响企业正常经营。",
    "员工意见较大。",
    "请告知办理时限。",
)


def _pick(words: tuple[str, ...]) -> str:
    """SQL: one of ``words`` at random."""
    quoted = ", ".join(f"'{word}'" for word in words)
    return f"(ARRAY[{quoted}])[1 + floor(random() * {len(words)})::int]"


TITLE_SQL = f"{_pick(TOPICS)} || {_pick(ASKS)}"
DESCRIPTION_SQL = (
    f"'我司位于' || (1 + floor(random() * 30))::int || '层，' || {_pick(TOPICS)} || '方面' || {_pick(ASKS)}"
    f" || '，另有' || {_pick(TOPICS)} || '的问题，' || {_pick(CLOSINGS)}"
)
PHONE_SQL = (
    "'1' || (ARRAY['38', '39', '35', '36', '86', '58', '77'])[1 + floor(random() * 7)::int]"
    " || lpad(floor(random() * 100000000)::bigint::text, 8, '0')"
)


def load(n: int, now: datetime) -> dict[str, Any]:
    """Reference data through the ORM, then requests, events and ratings in SQL; returns ids to filter by.

    The requests are written in the order they were filed, and numbered in that order (``QH`` and nine
    digits: the start of a number is a word a search takes for one, as of a real ``QH20260103-0001``,
    without ever being one intake issues), as a district's
    table fills: the rows of a day sit together on disk, so a page that walks the newest requests first
    reads few pages of the table (rows written in random order would each be on a page of their own, which
    no real table has)."""
    from hotline.auth.models import Role, User
    from hotline.auth.services import hash_password
    from hotline.enterprises.models import Building, Coverage, CoverageRole, Enterprise, Street
    from hotline.extensions import db
    from hotline.tickets.models import Category

    streets = [Street(code=f"S{i}", name=f"街道{i}") for i in range(1, 4)]
    db.session.add_all(streets)
    db.session.flush()
    buildings = [Building(street_id=streets[i % 3].id, name=f"大厦{i + 1}") for i in range(14)]
    db.session.add_all(buildings)
    liaisons = [
        User(username=f"liaison{i}", password_hash="x", name=f"联络员{i}", role=Role.LIAISON)
        for i in range(1, 7)
    ]
    manager = User(username=MANAGER, password_hash=hash_password(PASSWORD), name="督办", role=Role.MANAGER)
    db.session.add_all([*liaisons, manager])
    categories = [Category(code=f"c{i}", name=f"类别{i}", sort_order=i) for i in range(1, 10)]
    db.session.add_all(categories)
    db.session.flush()
    for i, building in enumerate(buildings):
        db.session.add(
            Coverage(liaison_id=liaisons[i % 6].id, building_id=building.id, role=CoverageRole.PRIMARY)
        )
    db.session.add_all(
        Enterprise(uscc=f"91110105{i:010d}", name=f"企业{i}", building_id=buildings[i % 14].id)
        for i in range(400)
    )
    db.session.commit()

    # building id → primary liaison id, as SQL arrays indexed by building position.
    liaison_of = "ARRAY[" + ",".join(str(liaisons[i % 6].id) for i in range(14)) + "]"
    first_building = buildings[0].id
    first_enterprise = db.session.scalar(text("SELECT min(id) FROM enterprises"))
    params = {
        "n": n,
        "now": now,
        "span": YEARS * 365 * 86400,
        "manager": manager.id,
        "first_ent": first_enterprise,
        "first_cat": categories[0].id,
    }
    db.session.execute(text("SELECT setseed(0.2026)"))
    with _indexes_built_afterwards(("tickets", "ticket_events", "ratings")):
        _insert_rows(n, params, liaison_of, first_building)
    return {"street": streets[0].id, "category": categories[0].id}


@contextmanager
def _indexes_built_afterwards(tables: tuple[str, ...]) -> Iterator[None]:
    """On PostgreSQL, the tables' secondary indexes (neither behind a constraint nor unique: the search's
    GIN indexes among them) dropped for the bulk insert and built again after it, as a restore does:
    building an index over a million rows at once is many times faster than keeping it up to date row by
    row.  The time of the build is in the loader's rate."""
    from hotline.extensions import db

    if db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    rows = db.session.execute(
        text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = ANY(:tables) AND indexname NOT IN (SELECT conname FROM pg_constraint) "
            "AND indexname NOT IN (SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indisunique)"
        ),
        {"tables": list(tables)},
    ).all()
    for name, _definition in rows:
        db.session.execute(text(f'DROP INDEX "{name}"'))
    db.session.commit()
    yield
    db.session.execute(text("SET maintenance_work_mem = '512MB'"))
    for _name, definition in rows:
        db.session.execute(text(definition))
    db.session.commit()


def _insert_rows(n: int, params: dict[str, Any], liaison_of: str, first_building: int) -> None:
    from hotline.extensions import db

    db.session.execute(
        text(
            f"""
        INSERT INTO tickets (
            number, enterprise_id, building_id, street_id, category_id, title, description, urgency, channel,
            contact_phone, state, assignee_id, created_by_id, created_at, updated_at, assigned_at,
            acknowledged_at, resolved_at, closed_at, withdrawn_at, acknowledge_due_at, resolve_due_at,
            resolve_started_at, rating_due_at, answer, rating_score, rating_comment, rated_at, reopen_count,
            handling_minutes, escalation_level)
        SELECT
            'QH' || lpad((row_number() OVER (ORDER BY created, g))::text, 9, '0'), e.id, e.building_id,
            b.street_id,
            :first_cat + least(8, floor(power(r_cat, 1.6) * 9))::int,
            {TITLE_SQL}, {DESCRIPTION_SQL}, CASE WHEN r_urg < 0.05 THEN 'urgent' ELSE 'normal' END,
            CASE WHEN r_chan < 0.45 THEN 'web' WHEN r_chan < 0.70 THEN 'phone'
                 WHEN r_chan < 0.80 THEN 'tea_meeting' WHEN r_chan < 0.88 THEN 'roundtable'
                 WHEN r_chan < 0.95 THEN 'visit' ELSE 'api' END,
            {PHONE_SQL}, state,
            CASE WHEN state = 'submitted' THEN NULL ELSE ({liaison_of})[b.id - {first_building} + 1] END,
            :manager, created, created,
            CASE WHEN state = 'submitted' THEN NULL ELSE created + interval '5 minutes' END,
            ack_at, res_at,
            CASE WHEN state = 'closed' THEN res_at + (r_rate * 7) * interval '1 day' END,
            CASE WHEN state = 'withdrawn' THEN created + interval '1 hour' END,
            CASE WHEN state = 'submitted' THEN NULL ELSE created + interval '125 minutes' END,
            ack_at + interval '7 days', ack_at,
            CASE WHEN state = 'resolved' THEN res_at + interval '7 days' END,
            CASE WHEN res_at IS NOT NULL THEN '已办结' END,
            score, NULL,
            CASE WHEN score IS NOT NULL THEN coalesce(res_at, ack_at) + interval '1 day' END,
            reopens,
            CASE WHEN res_at IS NOT NULL THEN (extract(epoch FROM res_at - created) / 60 * 0.29)::int END,
            0
        FROM (
            SELECT *,
                CASE WHEN state IN ('in_progress', 'resolved', 'closed')
                     THEN created + interval '5 minutes' + r_ack * interval '3 hours' END AS ack_at,
                CASE WHEN state IN ('resolved', 'closed')
                     THEN created + interval '3 hours' + (r_res * 8.4) * interval '1 day' END AS res_at,
                CASE WHEN state = 'closed' AND r_rate < 0.62 THEN 'satisfied'
                     WHEN state = 'closed' AND r_rate < 0.88 THEN 'basically_satisfied'
                     WHEN state = 'closed' THEN NULL
                     WHEN state = 'in_progress' AND r_reopen < 0.06 THEN 'dissatisfied' END AS score,
                CASE WHEN state NOT IN ('resolved', 'closed', 'in_progress') THEN 0
                     WHEN r_reopen < 0.005 THEN 2 WHEN r_reopen < 0.06 THEN 1 ELSE 0 END AS reopens
            FROM (
                SELECT g, created, r_cat, r_chan, r_urg, r_ack, r_res, r_rate, r_reopen, ent,
                    CASE WHEN r_state < 0.03 THEN 'withdrawn' WHEN r_state < 0.04 THEN 'merged'
                         WHEN :now - created > interval '14 days' THEN
                            CASE WHEN r_state < 0.045 THEN 'in_progress' WHEN r_state < 0.047 THEN 'returned'
                                 WHEN r_state < 0.050 THEN 'resolved' ELSE 'closed' END
                         WHEN r_state < 0.10 THEN 'submitted' WHEN r_state < 0.20 THEN 'assigned'
                         WHEN r_state < 0.50 THEN 'in_progress' WHEN r_state < 0.52 THEN 'returned'
                         WHEN r_state < 0.75 THEN 'resolved' ELSE 'closed' END AS state
                FROM (
                    SELECT g, :now - (random() * :span) * interval '1 second' AS created,
                        random() AS r_cat, random() AS r_chan, random() AS r_urg, random() AS r_ack,
                        random() AS r_res, random() AS r_rate, random() AS r_reopen, random() AS r_state,
                        :first_ent + floor(random() * 400)::int AS ent
                    FROM generate_series(1, :n) AS g
                ) raw
            ) staged
        ) s
        JOIN enterprises e ON e.id = s.ent
        JOIN buildings b ON b.id = e.building_id
        ORDER BY created, g
        """
        ),
        params,
    )
    db.session.execute(
        text(
            """
        INSERT INTO ticket_events
            (ticket_id, actor_id, kind, from_state, to_state, public, body, payload, created_at)
        SELECT id, created_by_id, 'submitted', NULL, 'submitted', true, '', '{}'::json, created_at
            FROM tickets
        UNION ALL
        SELECT id, NULL, 'assigned', 'submitted', 'assigned', true, '', '{"method": "routing"}'::json,
            assigned_at
            FROM tickets WHERE assigned_at IS NOT NULL
        UNION ALL
        SELECT id, assignee_id, 'acknowledged', 'assigned', 'in_progress', true, '', '{}'::json,
            acknowledged_at
            FROM tickets WHERE acknowledged_at IS NOT NULL
        UNION ALL
        SELECT id, assignee_id, 'resolved', 'in_progress', 'resolved', true, '已办结', '{}'::json, resolved_at
            FROM tickets WHERE resolved_at IS NOT NULL
        UNION ALL
        SELECT id, NULL, CASE WHEN rating_score IS NULL THEN 'closed' ELSE 'rated' END, 'resolved', 'closed',
            true, '', '{}'::json, closed_at FROM tickets WHERE closed_at IS NOT NULL
        """
        )
    )
    db.session.execute(
        text(
            """
        INSERT INTO ratings (ticket_id, score, comment, rated_by_id, created_at)
        SELECT id, rating_score, '', created_by_id, rated_at FROM tickets WHERE rating_score IS NOT NULL
        """
        )
    )
    db.session.commit()


def rebuild_rollup() -> None:
    from hotline.extensions import db
    from hotline.stats import rollup

    rollup.rebuild(db.session.connection())
    db.session.commit()


def vacuum(url: str) -> None:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def tickets_seq_scans() -> int:
    from hotline.extensions import db

    db.session.execute(text("SELECT pg_stat_force_next_flush()"))
    db.session.commit()  # the stats of this backend are flushed at the end of its transaction
    db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
    return int(
        db.session.scalar(text("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'tickets'")) or 0
    )


def chosen_periods(now: datetime) -> tuple[int, date]:
    """The year and the month timed: the month before the current one (the latest whole one), its year."""
    from hotline.timeutil import local_date

    today = local_date(now)
    month = date(today.year, today.month, 1) - timedelta(days=1)
    return month.year, date(month.year, month.month, 1)


# --------------------------------------------------------------------------- the checks in process


def check_in_process(flt_year: Any, flt_cases: list[Any], now: datetime) -> tuple[bool, int]:
    """Whether the dashboard's figures equal a recount, and the sequential scans of ``tickets`` made by
    :func:`hotline.stats.dashboard.build` over every dashboard case (run within a request context: the
    chart titles are translated)."""
    from flask import current_app

    from hotline.extensions import db
    from hotline.stats import dashboard, queries

    with current_app.test_request_context():
        for flt in flt_cases:  # warm the caches, as the servers' are
            dashboard.build(flt, now)
        db.session.rollback()
        before = tickets_seq_scans()
        for flt in flt_cases:
            dashboard.build(flt, now)
        db.session.rollback()
        seq_scans = tickets_seq_scans() - before
        same = dashboard.build(flt_year, now).figures == queries.recount_summary(flt_year, now) and all(
            queries.breakdown(flt_year, d, now) == queries.recount_breakdown(flt_year, d, now)
            for d in queries.DIMENSIONS
        )
        db.session.rollback()
    return same, seq_scans


# --------------------------------------------------------------------------- HTTP


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer to look at (a login page would otherwise pass for a 200)


class Client:
    """A client over plain HTTP that keeps its cookies, like a browser; every request is a new connection."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.username: str | None = None  # who it logged in as (bench.plans reads the same pages as them)
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def request(
        self, path: str, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, float]:
        """(status, body, milliseconds from connecting to the body's last byte)."""
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=120) as response:
                status, body = int(response.status), response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        return status, body, (time.perf_counter() - started) * 1000

    def log_in(self, username: str, password: str) -> None:
        self.username = username
        status, body, _ms = self.request("/login")
        match = CSRF_RE.search(body.decode())
        if status != 200 or match is None:
            raise RuntimeError(f"GET /login: {status}, no CSRF token on the form")
        form = {"username": username, "password": password, "csrf_token": match.group(1)}
        status, body, _ms = self.request(
            "/login",
            urlencode(form).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 302:
            raise RuntimeError(f"POST /login answered {status}, not a redirect: {body[:300]!r}")

    def api_token(self, username: str, password: str) -> str:
        self.username = username
        payload = json.dumps({"username": username, "password": password}).encode()
        status, body, _ms = self.request("/api/v1/tokens", payload, {"Content-Type": "application/json"})
        if status != 201:
            raise RuntimeError(f"POST /api/v1/tokens answered {status}: {body[:300]!r}")
        return str(json.loads(body)["token"])


@dataclass
class Page:
    """One timed request: who sends it, what it asks, and how to tell the answer is the page itself."""

    label: str
    client: Client
    path: str
    marker: bytes
    headers: dict[str, str] | None = None

    def fetch(self) -> tuple[float, bytes]:
        status, body, ms = self.client.request(self.path, headers=self.headers)
        if status != 200 or self.marker not in body:
            raise RuntimeError(f"{self.label}: GET {self.path} answered {status}: {body[:300]!r}")
        return ms, body


@contextmanager
def gunicorn(app: str, env: dict[str, str], folder: Path, name: str) -> Iterator[str]:
    """``app`` served by gunicorn on a free port of 127.0.0.1 (sync workers); yields its base URL."""
    port = free_port()
    log = folder / f"{name}.log"
    command = [sys.executable, "-m", "gunicorn", "--workers", str(GUNICORN_WORKERS), "--worker-class", "sync"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", app],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"gunicorn {app} exited with {process.returncode}:\n{tail}")
        try:
            Client(base).request("/")
        except OSError:
            return False
        return True

    try:
        wait_until(up, 60, f"gunicorn {app}", interval=0.2)
        yield base
    except BaseException:
        # what the server said, before its folder is removed (a worker killed, the master gone)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:])
        print(f"--- the last lines of {log.name} (exit status {process.poll()}):\n{tail}", file=sys.stderr)
        raise
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --------------------------------------------------------------------------- the run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tickets",
        "--requests",
        dest="tickets",
        type=int,
        default=int(os.environ.get("BENCH_TICKETS") or 1_000_000),
        help="requests to load (default 1,000,000, or the BENCH_TICKETS environment variable)",
    )
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5 (the median of fewer is noise)")
    if args.tickets < 1000:
        parser.error("--tickets must be at least 1000")
    return in_private_database("hotline-bench-stats-", lambda url, folder: _run(args, url, folder))


def _run(args: argparse.Namespace, url: str, folder: Path) -> int:
    from hotline import create_app
    from hotline.db import utcnow
    from hotline.extensions import db
    from hotline.stats.queries import StatsFilter

    now = utcnow().replace(microsecond=0)
    year, month = chosen_periods(now)
    month_end = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    instance = folder / "instance"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "OUTBOX_NUDGE": False, "INSTANCE_DIR": str(instance)})
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        ids = load(args.tickets, now)
        loaded = time.perf_counter()
        rebuild_rollup()
        rolled = time.perf_counter()
        db.session.remove()
        vacuum(url)
        ready = time.perf_counter()
        counts = {
            name: db.session.scalar(text(f"SELECT count(*) FROM {name}"))
            for name in ("tickets", "ticket_events", "ratings", "stats_cells")
        }
        server = str(db.session.scalar(text("SHOW server_version")))
        print(
            f"loaded {counts['tickets']:,} requests, {counts['ticket_events']:,} events, "
            f"{counts['ratings']:,} ratings in {loaded - started:.1f} s; "
            f"rollup {counts['stats_cells']:,} cells in "
            f"{rolled - loaded:.1f} s; VACUUM ANALYZE {ready - rolled:.1f} s",
            flush=True,
        )
        narrowed = {"street_id": ids["street"], "category_id": ids["category"]}
        flt_year = StatsFilter(date(year, 1, 1), date(year + 1, 1, 1))
        cases = [
            flt_year,
            StatsFilter(flt_year.start, flt_year.end, **narrowed),
            StatsFilter(month, month_end),
        ]
        same, seq_scans = check_in_process(flt_year, cases, now)
        db.session.remove()
        db.engine.dispose()  # before the database is dropped

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "HOTLINE_ENV": "development",  # see the module docstring: production's cookie is HTTPS-only
        "HOTLINE_INSTANCE": str(instance),
        "PYTHONUNBUFFERED": "1",
    }
    with (
        gunicorn("hotline.wsgi:app", env, folder, "hotline") as hotline_url,
        gunicorn("bench.baseline_app:app", env, folder, "baseline") as baseline_url,
    ):
        browser, api = Client(hotline_url), Client(hotline_url)
        browser.log_in(MANAGER, PASSWORD)
        bearer = {"Authorization": f"Bearer {api.api_token(MANAGER, PASSWORD)}"}
        year_args = f"period=year&value={year}"
        dashboard, behind = "/manage/dashboard", "/manage/dashboard/requests"
        board = b'id="dashboard-data"'
        pages = [
            Page("baseline: SELECT count(*) FROM tickets", Client(baseline_url), "/", b"requests"),
            Page(f"dashboard, year {year}", browser, f"{dashboard}?{year_args}", board),
            Page(
                "dashboard, year, street+category",
                browser,
                f"{dashboard}?{year_args}&street={ids['street']}&category={ids['category']}",
                board,
            ),
            Page(
                f"dashboard, month {month:%Y-%m}",
                browser,
                f"{dashboard}?period=month&value={month:%Y-%m}",
                board,
            ),
            Page(
                "API stats summary, year",
                api,
                f"/api/v1/stats/summary?from={year}-01-01&to={year}-12-31",
                b'"closure_rate"',
                bearer,
            ),
            Page(
                "requests behind resolved_late, year",
                browser,
                f"{behind}?figure=resolved_late&{year_args}",
                b"requests-total",
            ),
        ]
        for page in pages:  # warm both workers up: imports, connections, templates, caches
            for _ in range(2 * GUNICORN_WORKERS):
                page.fetch()
        times: dict[str, list[float]] = {page.label: [] for page in pages}
        for run in range(args.runs):
            for page in pages:
                times[page.label].append(page.fetch()[0])
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr, flush=True)
        api_figures = json.loads(pages[4].fetch()[1])

    _print_table(args, counts["tickets"], server, times, pages[0].label)
    f = api_figures
    print(
        f"\nyear {year} (from the API): total {f['total']:,}, closure {_rate(f['closure_rate'])}, "
        f"satisfaction {_rate(f['satisfaction_rate'])}, response {_rate(f['response_rate'])}, "
        f"on time {_rate(f['on_time_rate'])}, reopen {_rate(f['reopen_rate'])}, "
        f"{f['avg_handling_hours'] or 0:.1f} h, overdue open {f['overdue_open']:,}"
    )
    print(
        f"checks in process (hotline.stats.dashboard.build, the dashboard cases): same figures as a recount "
        f"over every request: {same}; sequential scans of tickets: {seq_scans}"
    )
    return 0 if same and seq_scans == 0 else 1


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _print_table(
    args: argparse.Namespace, tickets: int, server: str, times: dict[str, list[float]], baseline_label: str
) -> None:
    baseline = statistics.median(times[baseline_label])
    print(
        f"\nmedian of {args.runs} runs, {tickets:,} requests; gunicorn {GUNICORN_WORKERS} sync workers, "
        f"one request at a time, each a new connection; PostgreSQL {server}"
    )
    print(f"{'GET':<42}{'median ms':>11}{'× baseline':>12}   runs (ms)")
    for label, values in times.items():
        median = statistics.median(values)
        runs = " ".join(f"{v:.0f}" for v in values)
        print(f"{label:<42}{median:>11.1f}{median / baseline:>12.2f}   {runs}")


if __name__ == "__main__":
    sys.exit(main())
