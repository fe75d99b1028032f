"""Clock-sweep benchmark: a backlog of overdue requests swept by a real worker while liaisons acknowledge.

Run with ``make bench-sweep`` (or ``python -m bench.sweep --requests 5000``).  It needs the local PostgreSQL
on 127.0.0.1:5432 and the ``redis-server`` binary; it creates its own database and Redis, serves the app with
gunicorn (``hotline.wsgi:app``, 2 sync workers, as in production) and starts one worker
(``celery -A worker.app worker``, concurrency 2, no beat: the bench sends the sweep task itself), and removes
all of it at the end.

The backlog: four requests filed, routed and (two of them) acknowledged through the services twenty days ago,
then copied in SQL with their events and clock rows up to ``--requests`` (:func:`clone_requests`), so every
alert level of every clock is due, as after a long stop of the beat.  Liaisons and managers have e-mail
addresses, so each alert also writes its notifications and e-mails, as in production.

It measures, in one run:

* baseline: a liaison acknowledges ``--acks`` of those requests over HTTP (GET the request's page, POST its
  acknowledge form; the POST is timed) with no sweep running;
* the sweep: one ``sweep_clocks`` task; its duration, batches, clocks examined and alerts raised come from the
  summary it logs; whether it drained the backlog in one pass (``out_of_time`` false, nothing left due);
* during the sweep: the same acknowledgement of other requests of the backlog, one a second, until it ends.

Absolute times drift between runs on this machine class; compare the two acknowledgement rows of one run.
"""

from __future__ import annotations

import argparse
import ast
import html
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.routing import Workers, postgres_database, redis_server, wait_until
from bench.stats import Client, gunicorn

# How long ago the template requests were assigned: every alert of both clocks is long due.
OVERDUE_DAYS = 20


def overdue_templates(contact_ids: list[int], category_code: str, now: datetime) -> list[int]:
    """File one request per contact ``OVERDUE_DAYS`` ago through the services and assign it to the primary
    liaison of its building; every other one is acknowledged too (its resolve clock runs), the rest wait
    on the acknowledge clock.  Commits; returns the ids.  Their deadlines and the sweep's schedule rows are
    what the services make, so the clones below are truthful."""
    from hotline.auth.models import User
    from hotline.extensions import db
    from hotline.routing.services import route_ticket
    from hotline.tickets import services as tickets

    past = now - timedelta(days=OVERDUE_DAYS)
    ids: list[int] = []
    for index, contact_id in enumerate(contact_ids):
        contact = db.session.get(User, contact_id)
        assert contact is not None
        ticket = tickets.submit_ticket(
            contact,
            category=category_code,
            title=f"久拖未办的诉求 {index}",
            description="楼宇停车位不足，希望协调。",
            contact_phone="13800138000",
            now=past,
        )
        route_ticket(ticket.id, past)
        if index % 2 and ticket.assignee_id is not None:
            liaison = db.session.get(User, ticket.assignee_id)
            assert liaison is not None
            tickets.acknowledge(ticket.id, liaison, past + timedelta(minutes=5))
        ids.append(int(ticket.id))
    db.session.commit()
    return ids


def clone_requests(template_ids: list[int], copies: int) -> int:
    """Copy each template request ``copies`` times in SQL, with its events and its clock-schedule row.

    A copy is the template as the services left it (state, deadlines, events, next alert moment) under a
    number of its own, so a sweep meets exactly what it would meet had each been filed and dispatched.
    Commits; returns how many requests were added.
    """
    from hotline.extensions import db
    from hotline.sla.models import ClockSchedule
    from hotline.tickets.models import Ticket, TicketEvent

    ticket_columns = [c.name for c in Ticket.__table__.columns if c.name not in ("id", "number")]
    event_columns = [c.name for c in TicketEvent.__table__.columns if c.name not in ("id", "ticket_id")]
    schedule_columns = [c.name for c in ClockSchedule.__table__.columns if c.name != "ticket_id"]
    tc = ", ".join(ticket_columns)
    ec = ", ".join(event_columns)
    sc = ", ".join(schedule_columns)
    added = 0
    for template_id in template_ids:
        params: dict[str, Any] = {
            "template": template_id,
            "copies": copies,
            "prefix": f"QC{template_id:06d}-",
        }
        db.session.execute(
            text(
                f"""
                INSERT INTO tickets (number, {tc})
                SELECT :prefix || lpad(g::text, 7, '0'), {tc}
                FROM tickets CROSS JOIN generate_series(1, :copies) AS g WHERE tickets.id = :template
                """
            ),
            params,
        )
        copied = "SELECT id FROM tickets WHERE number LIKE :prefix || '%'"
        db.session.execute(
            text(
                f"""
                INSERT INTO ticket_events (ticket_id, {ec})
                SELECT c.id, {", ".join("e." + name for name in event_columns)}
                FROM ({copied}) AS c CROSS JOIN ticket_events AS e
                WHERE e.ticket_id = :template ORDER BY c.id, e.id
                """
            ),
            params,
        )
        db.session.execute(
            text(
                f"""
                INSERT INTO clock_schedules (ticket_id, {sc})
                SELECT c.id, {", ".join("s." + name for name in schedule_columns)}
                FROM ({copied}) AS c CROSS JOIN clock_schedules AS s WHERE s.ticket_id = :template
                """
            ),
            params,
        )
        added += copies
    db.session.commit()
    return added


# --------------------------------------------------------------------------- the run

PASSWORD = "correct-horse-9"  # tests/factories.py: every seeded account's password
SWEEP_TASK = "hotline.sla.tasks.sweep_clocks"
FORM_RE = re.compile(r'<form[^>]*action="([^"]*/acknowledge)"[^>]*>(.*?)</form>', re.S)
HIDDEN_RE = re.compile(r'<input[^>]*type="hidden"[^>]*>')
ATTR_RE = re.compile(r'(name|value)="([^"]*)"')


def acknowledge(client: Client, number: str) -> float:
    """签收 one request over HTTP as its liaison; returns the POST's milliseconds (raises if it failed)."""
    status, body, _ms = client.request(f"/tickets/{number}")
    match = FORM_RE.search(body.decode())
    if status != 200 or match is None:
        raise RuntimeError(f"GET /tickets/{number}: {status}, no acknowledge form")
    fields = {}
    for tag in HIDDEN_RE.findall(match.group(2)):
        attrs = dict(ATTR_RE.findall(tag))
        if "name" in attrs:
            fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    status, body, ms = client.request(
        html.unescape(match.group(1)),
        urllib.parse.urlencode(fields).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    if status != 302:
        raise RuntimeError(f"acknowledge {number}: {status} {body[:300]!r}")
    return ms


def summaries(log: Path) -> list[dict[str, Any]]:
    marker = "clock sweep: "
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [ast.literal_eval(line.split(marker, 1)[1]) for line in lines if marker in line and "{" in line]


def start_worker(workers: Workers, folder: Path) -> Path:
    """``celery -A worker.app worker --concurrency=2 --loglevel=info``: the sweep logs its summary at info."""
    import subprocess

    from bench.routing import QUIET_WORKER, ROOT

    log = folder / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "worker.app", "worker", "--loglevel=info"),
                *("-n", "sweeper@%h", "--concurrency=2", *QUIET_WORKER),
            ],
            cwd=ROOT,
            env=workers.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    workers.started.append((process, log))
    wait_until(lambda: " ready." in log.read_text(errors="replace") or workers.check_alive(), 60, "worker")
    return log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_REQUESTS", 5000)))
    parser.add_argument("--acks", type=int, default=7, help="acknowledgements without and during the sweep")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hotline-bench-sweep-") as tmp:
        folder = Path(tmp)
        with postgres_database() as database_url, redis_server(folder) as port:
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": f"redis://127.0.0.1:{port}/0",
                "HOTLINE_INSTANCE": str(folder),
                # plain HTTP: see bench/README.md (bench-stats) on production's Secure cookies
                "HOTLINE_ENV": "development",
                "RATELIMIT_ENABLED": "0",
            }
            os.environ.update(env)
            return _run(args, env, folder)


def _run(args: argparse.Namespace, env: dict[str, str], folder: Path) -> int:
    from sqlalchemy import func, select, update

    from hotline import create_app
    from hotline.auth.models import Role, User
    from hotline.db import utcnow
    from hotline.extensions import db
    from hotline.sla.models import ClockAlert, ClockSchedule
    from hotline.tickets.models import Ticket, TicketState
    from tests.integration.conftest import seed_calendar, seed_district

    app = create_app({"INSTANCE_DIR": str(folder), "PASSWORD_HASH_FAST": True, "OUTBOX_NUDGE": False})
    with app.app_context():
        db.create_all()
        now = utcnow()
        district = seed_district(now)
        seed_calendar(district.manager_id, now)
        db.session.execute(
            update(User)
            .where(User.role.in_([Role.LIAISON, Role.MANAGER]))
            .values(email=User.username + "@example.org")
        )
        db.session.commit()
        loading = time.perf_counter()
        templates = overdue_templates(district.contact_ids[:4], district.category_codes[0], now)
        clone_requests(templates, max(0, args.requests // len(templates) - 1))
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        rows = db.session.execute(
            select(Ticket.number, User.username)
            .join(User, User.id == Ticket.assignee_id)
            .where(Ticket.state == TicketState.ASSIGNED)
            .order_by(Ticket.id)
        ).all()
        total = db.session.scalar(select(func.count()).select_from(Ticket))
        print(f"{total} overdue requests loaded in {time.perf_counter() - loading:.1f} s", flush=True)
    # Spread over the backlog, so some are met by the sweep early, some late; none acknowledged twice.
    step = max(1, len(rows) // (2 * args.acks + 1))
    picked = rows[step // 2 :: step][: 2 * args.acks]
    baseline_picks, sweep_picks = picked[0::2], picked[1::2]

    workers = Workers(env, folder)
    with gunicorn("hotline.wsgi:app", env, folder, "web") as base:
        clients: dict[str, Client] = {}
        for _number, username in [*picked, rows[-1]]:
            if username not in clients:
                clients[username] = Client(base)
                clients[username].log_in(username, PASSWORD)
        for number, username in rows[-2:]:  # warm-up, not measured (each gunicorn worker's first pages)
            if username in clients:
                acknowledge(clients[username], number)
        baseline = [acknowledge(clients[u], n) for n, u in baseline_picks]

        log = start_worker(workers, folder)
        started = utcnow()
        sent = time.perf_counter()
        app.extensions["celery"].send_task(SWEEP_TASK)
        with app.app_context():
            wait_until(
                lambda: (
                    db.session.scalar(select(func.count()).select_from(ClockAlert)) or db.session.rollback()
                ),
                120,
                "the sweep's first alerts",
            )
            db.session.remove()
        during: list[float] = []
        for number, username in sweep_picks:
            if summaries(log):
                break
            during.append(acknowledge(clients[username], number))
            time.sleep(1.0)  # pacing the liaisons, not waiting for a worker
        passes = wait_until(lambda: summaries(log) or workers.check_alive(), 3600, "the sweep's end")
        elapsed = time.perf_counter() - sent
        workers.stop()
    first = passes[0]
    with app.app_context():
        left = db.session.scalar(
            select(func.count()).select_from(ClockSchedule).where(ClockSchedule.next_alert_at <= started)
        )
        alerts = db.session.scalar(select(func.count()).select_from(ClockAlert))
        db.session.remove()
        db.engine.dispose()

    def row(label: str, values: list[float]) -> str:
        if not values:
            return f"{label:<36} (none: the sweep ended first)"
        median, most = statistics.median(values), max(values)
        return f"{label:<36} n={len(values):<3} median {median:7.0f} ms  max {most:7.0f} ms"

    print()
    print(f"sweep of {total} overdue requests (one worker, concurrency 2; gunicorn 2 sync workers)")
    print(
        f"  duration {first['seconds']:.1f} s (send to summary {elapsed:.1f} s), {first['batches']} batches, "
        f"{first['examined']} clocks examined, {first['raised']} alerts raised ({alerts} in the database)"
    )
    one_pass = not first["out_of_time"] and left == 0
    print(
        f"  one pass: {'yes' if one_pass else 'no'} (out of time: {first['out_of_time']}, still due: {left})"
    )
    print("acknowledge over HTTP (POST /tickets/<number>/acknowledge)")
    print("  " + row("no sweep running (baseline)", baseline))
    print("  " + row("during the sweep", during))
    if during and baseline:
        print(f"  ratio of medians {statistics.median(during) / statistics.median(baseline):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
