"""Figures benchmark: the manager dashboard's full query set over 1,000,000 requests in PostgreSQL.

Run with ``make bench-stats`` (or ``python -m bench.stats --help``).  It needs the local PostgreSQL on
127.0.0.1:5432 (user postgres); it creates its own database, loads it, and drops it at the end.

Loading, all in SQL (``INSERT … SELECT … FROM generate_series``): 3 streets, 14 buildings, 6 liaisons (one
primary per building), 9 categories, 400 enterprises; N requests spread evenly over the ~3 years before
``--now``, with channels, categories, urgency, acknowledge and resolve deadlines, acknowledgement and
resolution times (about a third acknowledged late, a sixth resolved late), handling minutes, reopenings,
ratings (the latest kept on the row, one ``ratings`` row each) and their events (submitted, assigned,
acknowledged, resolved, rated/closed).  Requests older than two weeks are nearly all closed (3 % withdrawn,
1 % merged, 1 % still open or awaiting a rating); the last two weeks hold the live work.  Then the figures'
rollup is rebuilt (:func:`hotline.stats.rollup.rebuild`) and the database is ``VACUUM ANALYZE``-d.

Measured, each ``--runs`` times, in this order within a run: a bare ``SELECT count(*) FROM tickets`` (the
baseline), then :func:`hotline.stats.queries.dashboard` — summary, the six breakdowns, coverage, the first
page of the overdue board — for a year and for a month, each without and with filters.  The table shows the
median of the runs and its ratio to the count's median (absolute times drift ±25 % between runs on this
machine class; ratios are what to compare).  Once, for comparison, it also times the same dashboard computed
the straightforward way (:func:`hotline.stats.queries.recount_summary`/``recount_breakdown``: one aggregate
over every request of the cohort) and checks that both give the same figures; and it counts sequential scans
of ``tickets`` during one fast dashboard (``pg_stat_user_tables``), which must be 0.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text

from bench.routing import postgres_database

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)  # noon in Shanghai
YEARS = 3


def load(n: int, now: datetime) -> dict[str, Any]:
    """Reference data through the ORM, then requests, events and ratings in SQL; returns ids to filter by."""
    from hotline.auth.models import Role, User
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
    manager = User(username="manager", password_hash="x", name="督办", role=Role.MANAGER)
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
            'QB' || lpad(g::text, 9, '0'), e.id, e.building_id, b.street_id,
            :first_cat + least(8, floor(power(r_cat, 1.6) * 9))::int,
            '诉求标题', '诉求描述', CASE WHEN r_urg < 0.05 THEN 'urgent' ELSE 'normal' END,
            CASE WHEN r_chan < 0.45 THEN 'web' WHEN r_chan < 0.70 THEN 'phone'
                 WHEN r_chan < 0.80 THEN 'tea_meeting' WHEN r_chan < 0.88 THEN 'roundtable'
                 WHEN r_chan < 0.95 THEN 'visit' ELSE 'api' END,
            '13800138000', state,
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
    return {
        "street": streets[0].id,
        "category": categories[0].id,
        "liaison": liaisons[0].id,
    }


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


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return (time.perf_counter() - start) * 1000, result


def tickets_seq_scans() -> int:
    from hotline.extensions import db

    db.session.execute(text("SELECT pg_stat_force_next_flush()"))
    db.session.commit()  # the stats of this backend are flushed at the end of its transaction
    db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
    return int(
        db.session.scalar(text("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'tickets'")) or 0
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5 (the median of fewer is noise)")
    with postgres_database() as url:
        return _run(args, url)


def _run(args: argparse.Namespace, url: str) -> int:
    from hotline import create_app
    from hotline.extensions import db
    from hotline.stats import queries
    from hotline.stats.queries import StatsFilter

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "OUTBOX_NUDGE": False})
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        ids = load(args.requests, NOW)
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
        print(
            f"loaded {counts['tickets']:,} requests, {counts['ticket_events']:,} events, "
            f"{counts['ratings']:,} ratings in {loaded - started:.1f} s; "
            f"rollup {counts['stats_cells']:,} cells in "
            f"{rolled - loaded:.1f} s; VACUUM ANALYZE {ready - rolled:.1f} s"
        )

        year = (date(2026, 1, 1), date(2027, 1, 1))
        month = (date(2026, 11, 1), date(2026, 12, 1))
        narrowed = {"street_id": ids["street"], "category_id": ids["category"]}
        cases = {
            "year": StatsFilter(*year),
            "year, street+category": StatsFilter(*year, **narrowed),
            "year, liaison+channel": StatsFilter(*year, liaison_id=ids["liaison"], channel="phone"),
            "month": StatsFilter(*month),
            "month, street+category": StatsFilter(*month, **narrowed),
        }

        def count() -> int:
            return int(db.session.scalar(text("SELECT count(*) FROM tickets")) or 0)

        # Warm the caches once (both are read from memory in production too), then the timed runs.
        count()
        for flt in cases.values():
            queries.dashboard(flt, NOW)
        db.session.rollback()
        times: dict[str, list[float]] = {"SELECT count(*) FROM tickets": []}
        times.update({name: [] for name in cases})
        for _ in range(args.runs):
            times["SELECT count(*) FROM tickets"].append(timed(count)[0])
            for name, flt in cases.items():
                times[name].append(timed(lambda flt=flt: queries.dashboard(flt, NOW))[0])
                db.session.rollback()  # each dashboard is its own web request

        before = tickets_seq_scans()
        for flt in cases.values():
            queries.dashboard(flt, NOW)
        db.session.rollback()
        seq_scans = tickets_seq_scans() - before

        # The straightforward way, once, for comparison and as a check of the fast path.
        def recount_dashboard(flt: StatsFilter) -> tuple[Any, Any]:
            return queries.recount_summary(flt, NOW), {
                d: queries.recount_breakdown(flt, d, NOW) for d in queries.DIMENSIONS
            }

        straight_ms, (straight_summary, straight_breakdowns) = timed(lambda: recount_dashboard(cases["year"]))
        fast = queries.dashboard(cases["year"], NOW)
        same = fast.summary == straight_summary and fast.breakdowns == straight_breakdowns

        baseline = statistics.median(times["SELECT count(*) FROM tickets"])
        print(f"\nmedian of {args.runs} runs, {counts['tickets']:,} requests (PostgreSQL, {_server(db)})")
        print(f"{'query set':<34}{'median ms':>11}{'× count(*)':>12}   runs (ms)")
        for name, values in times.items():
            label = name if name.startswith("SELECT") else f"dashboard, {name}"
            median = statistics.median(values)
            runs = " ".join(f"{v:.0f}" for v in values)
            print(f"{label:<34}{median:>11.1f}{median / baseline:>12.2f}   {runs}")
        print(
            "\nthe year's dashboard recounted over every request of the cohort (no rollup): "
            f"{straight_ms:.0f} ms "
            f"({straight_ms / baseline:.1f} × count(*)); same figures as the fast path: {same}"
        )
        print(f"sequential scans of tickets during one fast dashboard of each case: {seq_scans}")
        total = fast.summary
        print(
            f"year 2026: total {total.total:,}, closure {total.closure_rate:.3f}, "
            f"satisfaction {total.satisfaction_rate:.3f}, response {total.response_rate:.3f}, "
            f"on time {total.on_time_rate:.3f}, reopen {total.reopen_rate:.3f}, "
            f"{total.avg_handling_hours:.1f} h, overdue open {total.overdue_open:,}"
        )
        db.session.remove()
        db.engine.dispose()  # before the database is dropped
        return 0 if same and seq_scans == 0 else 1


def _server(db: Any) -> str:
    return str(db.session.scalar(text("SHOW server_version")))


if __name__ == "__main__":
    sys.exit(main())
