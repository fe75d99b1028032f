"""Exports benchmark: the requests CSV and Excel downloads over HTTP, through gunicorn, on PostgreSQL.

Run with ``make bench-exports`` (or ``make bench-exports TICKETS=200000``; ``python -m bench.exports -h``).
It needs the local PostgreSQL on 127.0.0.1:5432 (user postgres); it creates its own database, loads it with
:func:`bench.stats.load` (requests spread over the 3 years before now, all in SQL), serves the application
with ``gunicorn hotline.wsgi:app`` (:func:`bench.stats.gunicorn`: 2 sync workers, the default 30 s timeout)
and removes all of it at the end.

Timed over HTTP, as a manager logged in through the login form, one download at a time, the body read in
1 MiB blocks and thrown away (the client holds none of it): ``/manage/exports/requests.csv`` of the calendar
year before the current one (about a third of the requests), then ``requests.xlsx`` of one month and of a
quarter of that year, when the list is under ``MAX_XLSX_ROWS`` (a longer one is refused, and the refusal is
what is timed).  For each: status, rows (lines of the CSV; the workbook's rows are counted by opening it),
seconds to the last byte, rows/s, and the peak resident memory (``VmHWM``) of each gunicorn worker after it.

Then, in a subprocess of its own each (so ``VmHWM`` is that run's peak): :func:`exports.iter_csv` and
:func:`exports.save_xlsx` over every request, read in keyset batches from the same database, as the views
do, outside HTTP: ``--file-rows`` rows at most for the workbook (default 100,000), all of them for the CSV.

Checks (exit status 1 when one fails): each download answers 200 (or 400 for a list over the Excel cap) and
the CSV has one line per request of the year plus its header.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select

from bench.routing import in_private_database
from bench.stats import MANAGER, PASSWORD, Client, chosen_periods, gunicorn, load, vacuum

ROOT = Path(__file__).resolve().parent.parent
BLOCK = 1 << 20


def _peak_rss_kib(port: int) -> list[int]:
    """``VmHWM`` (kB) of each gunicorn worker serving ``port``: the children of the master bound to it."""
    masters = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if f"127.0.0.1:{port}".encode() in cmdline.read_bytes() and b"gunicorn" in cmdline.read_bytes():
                masters.add(cmdline.parent.name)
        except OSError:
            continue
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() in masters:
            peaks.append(int(fields["VmHWM"].split()[0]))
    return sorted(peaks)


def download(client: Client, path: str) -> tuple[int, int, bytes, float]:
    """(status, CRLF line ends seen, the body unless it is a CSV, seconds to the last byte)."""
    request = urllib.request.Request(client.base + path)
    started = time.perf_counter()
    kept = io.BytesIO()
    lines = 0
    try:
        with client.opener.open(request, timeout=600) as response:
            status, keep = int(response.status), "csv" not in response.headers.get("Content-Type", "")
            while block := response.read(BLOCK):
                lines += block.count(b"\r\n")
                if keep:
                    kept.write(block)
    except urllib.error.HTTPError as error:
        status = error.code
        kept.write(error.read())
    seconds = time.perf_counter() - started
    return status, lines, kept.getvalue(), seconds


def _rows_of(workbook: bytes) -> int:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(workbook), read_only=True).worksheets[0]
    return sum(1 for _row in sheet.iter_rows(min_row=2, values_only=True))


# --------------------------------------------------------------------------- in a subprocess: the files alone


def measure_file(fmt: str, url: str, limit: int | None) -> None:
    """Build one file from every request (at most ``limit``), as the views do; print time and peak memory."""
    from hotline import create_app
    from hotline.stats import exports
    from hotline.stats.export_views import request_records
    from hotline.stats.queries import StatsFilter, tickets_behind

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "OUTBOX_NUDGE": False, "INSTANCE_DIR": tempfile.mkdtemp()}
    )
    with app.test_request_context():
        everything = StatsFilter(date(2000, 1, 1), date(2100, 1, 1))
        records = request_records(tickets_behind(everything, "total", datetime.now()))
        rows = itertools.islice(records, limit) if limit else records
        table = exports.requests_table(rows)
        started = time.perf_counter()
        count = 0
        if fmt == "csv":
            for chunk in exports.iter_csv(table):
                count += chunk.count(b"\r\n")
            count -= 1  # the header
        else:
            exports.MAX_XLSX_ROWS = 1_048_575  # the file alone: what a longer cap would cost
            counted = (row for row in table.rows if (count := count + 1))
            with tempfile.TemporaryFile() as file:
                exports.save_xlsx([exports.Table(table.title, table.headers, table.widths, counted)], file)
        seconds = time.perf_counter() - started
    peak = next(
        line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM")
    )
    print(
        f"{fmt:<5} file alone, {count:>9,} rows: {seconds:7.1f} s, {count / seconds:8,.0f} rows/s, "
        f"peak RSS {int(peak.split()[1]) / 1024:6.0f} MiB",
        flush=True,
    )


# --------------------------------------------------------------------------- the run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tickets",
        type=int,
        default=int(os.environ.get("BENCH_TICKETS") or 1_000_000),
        help="requests to load (default 1,000,000, or the BENCH_TICKETS environment variable)",
    )
    parser.add_argument("--file-rows", type=int, default=100_000, help="rows of the workbook built alone")
    parser.add_argument("--measure-file", nargs=2, metavar=("FORMAT", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_file:
        fmt, url = args.measure_file
        measure_file(fmt, url, args.file_rows if fmt == "xlsx" else None)
        return 0
    if args.tickets < 1000:
        parser.error("--tickets must be at least 1000")
    return in_private_database("hotline-bench-exports-", lambda url, folder: _run(args, url, folder))


def _run(args: argparse.Namespace, url: str, folder: Path) -> int:
    from hotline import create_app
    from hotline.db import utcnow
    from hotline.extensions import db
    from hotline.stats import exports
    from hotline.stats.queries import StatsFilter, tickets_behind

    now = utcnow().replace(microsecond=0)
    year, month = chosen_periods(now)
    quarter = (month.month - 1) // 3 + 1
    instance = folder / "instance"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "OUTBOX_NUDGE": False, "INSTANCE_DIR": str(instance)})
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        load(args.tickets, now)
        loaded = time.perf_counter() - started
        db.session.remove()
        vacuum(url)
        in_year = tickets_behind(StatsFilter(date(year, 1, 1), date(year + 1, 1, 1)), "total", now)
        year_rows = db.session.scalar(select(func.count()).select_from(in_year.order_by(None).subquery()))
        db.session.remove()
        db.engine.dispose()  # before the database is dropped
    print(
        f"loaded {args.tickets:,} requests in {loaded:.1f} s ({args.tickets / loaded:,.0f}/s); "
        f"{year_rows:,} in {year}; MAX_CSV_ROWS {exports.MAX_CSV_ROWS:,}, MAX_XLSX_ROWS "
        f"{exports.MAX_XLSX_ROWS:,}, BATCH_ROWS {exports.BATCH_ROWS:,}",
        flush=True,
    )

    env = {**os.environ, "DATABASE_URL": url, "HOTLINE_ENV": "development", "HOTLINE_INSTANCE": str(instance)}
    env["PYTHONUNBUFFERED"] = "1"  # bench.stats' module docstring: production's session cookie is HTTPS-only
    ok = True
    with gunicorn("hotline.wsgi:app", env, folder, "hotline") as base:
        port = int(base.rsplit(":", 1)[1])
        client = Client(base)
        client.log_in(MANAGER, PASSWORD)
        downloads = [
            (f"CSV, year {year}", f"requests.csv?period=year&value={year}"),
            (f"Excel, month {month:%Y-%m}", f"requests.xlsx?period=month&value={month:%Y-%m}"),
            (f"Excel, quarter {year}-Q{quarter}", f"requests.xlsx?period=quarter&value={year}-Q{quarter}"),
        ]
        print(f"\n{'GET /manage/exports/…':<28}{'status':>7}{'rows':>10}{'s':>8}{'rows/s':>9}   peak RSS")
        for label, path in downloads:
            status, counted, body, seconds = download(client, f"/manage/exports/{path}&figure=total")
            if "csv" in path:
                rows = counted - 1
                ok = ok and status == 200 and rows == year_rows
            elif status == 200:
                rows = _rows_of(body)
            else:
                rows = 0
                ok = ok and status == 400 and b"Excel" in body
            rate = f"{rows / seconds:9,.0f}" if rows else f"{'refused':>9}"
            peaks = ", ".join(f"{kib / 1024:.0f} MiB" for kib in _peak_rss_kib(port))
            print(f"{label:<28}{status:>7}{rows:>10,}{seconds:>8.1f}{rate}   {peaks}", flush=True)

    print()
    for fmt in ("xlsx", "csv"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.exports",
                "--file-rows",
                str(args.file_rows),
                "--measure-file",
                fmt,
                url,
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            check=True,
        )
    print(f"\nchecks: every download answered as expected, the CSV whole: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
