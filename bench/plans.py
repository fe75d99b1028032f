"""The query plans behind the pages a benchmark times (issue 9: "with the query plans checked into the
benchmark's output").

Each page is fetched once more, in this process, through the application itself (Flask's test client, the
same database) while every SQL statement it runs is recorded; the slowest few statements that read requests,
their events or the rollup are then run again under ``EXPLAIN (ANALYZE)`` and summarised: the scan nodes
(which index, index-only or not) and the execution time.  A sequential scan of ``tickets`` or
``ticket_events`` is what DESIGN §10 forbids on a page: it is flagged, and counted at the end.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.stats import PASSWORD, Page

BIG_TABLES = ("tickets", "ticket_events", "stats_cells")
SHOWN_PER_PAGE = 3
UNBOUNDED_RE = re.compile(r"Seq Scan on (tickets|ticket_events)\b")
SCAN_RE = re.compile(
    r"((?:Parallel )?(?:Index Only Scan|Index Scan|Bitmap Index Scan|Bitmap Heap Scan|Seq Scan)"
    r"(?: Backward)?(?: using \w+)? on \w+)"
)


@dataclass
class Statement:
    ms: float
    sql: str
    params: Any


@contextmanager
def recording(engine: Any) -> Iterator[list[Statement]]:
    """Every statement ``engine`` runs inside the block, with its parameters and time."""
    seen: list[Statement] = []

    def before(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        context._bench_started = time.perf_counter()

    def after(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        ms = (time.perf_counter() - context._bench_started) * 1000
        seen.append(Statement(ms, sql, params))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def _reads_big_table(sql: str) -> bool:
    head = sql.lstrip().upper()
    return head.startswith("SELECT") and any(re.search(rf"\b{t}\b", sql) for t in BIG_TABLES)


def explain(connection: Any, statement: Statement) -> tuple[list[str], str]:
    """(the scan nodes, the execution time) of ``statement`` run again under EXPLAIN ANALYZE."""
    rows = connection.exec_driver_sql(
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + statement.sql, statement.params
    ).all()
    lines = [str(row[0]) for row in rows]
    scans = [m.group(1) for line in lines for m in [SCAN_RE.search(line)] if m]
    executed = next((line.strip() for line in lines if line.startswith("Execution Time")), "")
    return scans, executed


def page_plans(database_url: str, instance: Path, pages: Iterable[Page]) -> tuple[list[str], int]:
    """The summary lines of every page's slowest statements, and how many plans scan a big table whole."""
    from hotline import create_app
    from hotline.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "OUTBOX_NUDGE": False,
            "INSTANCE_DIR": str(instance),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        engine = db.engine
    out: list[str] = []
    unbounded = 0
    clients: dict[tuple[str, bool], Any] = {}
    # No application context is held around the requests: each pushes its own, or one user's login (kept in
    # flask.g) would answer for the next.
    for page in pages:
        username = getattr(page.client, "username", None)
        if username is None:  # a baseline app's page: no plan of ours
            continue
        api = bool(page.headers)
        client = clients.get((username, api))
        if client is None:
            client = clients[(username, api)] = app.test_client()
            if not api:
                answer = client.post("/login", data={"username": username, "password": PASSWORD})
                if answer.status_code != 302:
                    raise RuntimeError(f"{username} could not log in: {answer.status_code}")
        headers = None
        if api:  # an API page: this process's own token
            answer = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {answer.get_json()['token']}"}
        with recording(engine) as seen:
            response = client.get(page.path, headers=headers)
            response.get_data()  # read and closed, as a browser does: a streamed download (the CSV) holds
            response.close()  # its request's context until then, and the next request would run in it
        reads = sorted((s for s in seen if _reads_big_table(s.sql)), key=lambda s: -s.ms)
        out.append(f"{page.label}  ({response.status_code}, {len(seen)} statements)")
        with engine.connect() as connection:
            for statement in reads[:SHOWN_PER_PAGE]:
                scans, executed = explain(connection, statement)
                flagged = [s for s in scans if UNBOUNDED_RE.search(s)]
                unbounded += bool(flagged)
                mark = "  UNBOUNDED" if flagged else ""
                out.append(f"    {executed:<28} {'; '.join(dict.fromkeys(scans)) or '(no scan)'}{mark}")
    engine.dispose()
    return out, unbounded
