"""Imports benchmark: the spreadsheet import API over HTTP, through gunicorn, on PostgreSQL.

Issue 10, point 3 asks for "10,000 rows in under a minute".  Run with ``make bench-imports`` (or ``make
bench-imports ROWS=2000``; ``python -m bench.imports -h``).  It needs the local PostgreSQL on 127.0.0.1:5432
(user postgres); it creates its own database (``db.create_all()``, as bench/exports.py), serves ``gunicorn
hotline.wsgi:app`` and ``gunicorn bench.baseline_app:app`` on free ports of 127.0.0.1
(:func:`bench.stats.gunicorn`: 2 sync workers, the default 30 s timeout) and removes all of it at the end.

The district, through the ORM: 5 streets, 200 buildings (each with a primary liaison), 20 liaisons, a manager
with a real password hash.  The client takes an API token (``POST /api/v1/tokens``) and sends each file as
the multipart field ``file``; the files are made here, with openpyxl (the phone numbers as numbers, as Excel
keeps them) and the csv module (UTF-8 with Excel's byte-order mark).  Each run, for N rows (``--rows``,
default 10,000), with codes of its own (:func:`hotline.enterprises.uscc.make`) so that every row creates:

- ``POST /api/v1/imports/enterprises?dry_run=1`` of the N rows as .xlsx, then the same rows as .csv;
- ``POST /api/v1/imports/<id>/apply`` of the .xlsx dry run (it reads and plans the kept file again, then
  inserts the N enterprises in one transaction);
- ``POST /api/v1/imports/buildings?dry_run=0``, N/10 new buildings (.xlsx);
- ``POST /api/v1/imports/coverage?dry_run=0``, N/10 rows over those buildings: each gets a primary and a
  deputy (.xlsx);
- the baselines, in the same run: the N enterprise rows inserted by a bare SQLAlchemy Core ``executemany``
  in one transaction (codes of their own; the same table and indexes), and the .xlsx uploaded to a no-op
  endpoint (``POST /upload`` of bench/baseline_app.py: the multipart body read, its size answered).

Each call is timed from connecting to the last byte of its answer.  The table shows, per row, the median of
the runs with the lowest and highest, rows/s, and its ratio to the baseline: the call's time per row over the
Core insert's time per row (so the rows of a tenth the size compare too).  Checks (exit status 1 when one
fails): every call answers 200 with ``counts`` of N (or N/10) ``create`` and nothing else, one ``rows`` entry
per row, ``applied`` as asked; at the end the database holds every enterprise, building and coverage the runs
created.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.routing import in_private_database
from bench.stats import MANAGER, PASSWORD, Client, gunicorn

STREETS, BUILDINGS, LIAISONS = 5, 200, 20
ENTERPRISE_HEADERS = ("统一社会信用代码", "企业名称", "楼宇", "房间号", "联系人", "手机")
BUILDING_HEADERS = ("街道", "楼宇名称", "地址")
COVERAGE_HEADERS = ("楼宇", "包联干部", "类型")
BASELINE = "baseline: Core executemany, enterprises"
BASELINE_SERIES = 50  # the Core insert's codes: series 50 + run, never those of the imports (series = run)


# --------------------------------------------------------------------------- the files


def usccs(series: int, n: int) -> list[str]:
    """``n`` valid codes of their own: region 110105, organisation code ``series`` then a serial."""
    from hotline.enterprises.uscc import make

    return [make(f"91110105{series:02d}{i:07d}") for i in range(n)]


def enterprise_rows(series: int, n: int) -> list[list[Any]]:
    return [
        [
            code,
            f"北京{series}号科技{i}有限公司",
            f"大厦{i % BUILDINGS + 1}",
            f"{i % 30 + 1}{i % 20 + 1:02d}",
            f"联系人{i}",
            13800000000 + i,
        ]
        for i, code in enumerate(usccs(series, n))
    ]


def building_rows(series: int, n: int) -> list[list[Any]]:
    return [[f"街道{i % STREETS + 1}", f"导入楼宇{series}-{i}", f"某某路{i + 1}号"] for i in range(n)]


def coverage_rows(series: int, n: int) -> list[list[Any]]:
    """Building ``i // 2`` of the series gets a primary (even ``i``) and a deputy (odd), two liaisons."""
    return [
        [f"导入楼宇{series}-{i // 2}", f"liaison{i % LIAISONS + 1}", "主包联" if i % 2 == 0 else "副包联"]
        for i in range(n)
    ]


def xlsx(headers: tuple[str, ...], rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(list(headers))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_file(headers: tuple[str, ...], rows: list[list[Any]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8-sig")


def multipart(filename: str, content: bytes) -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = head + content + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


# --------------------------------------------------------------------------- the district, the baseline


def seed() -> None:
    """Streets, buildings each with a primary liaison, liaisons, the manager (who can log in)."""
    from hotline.auth.models import Role, User
    from hotline.auth.services import hash_password
    from hotline.enterprises.models import Building, Coverage, CoverageRole, Street
    from hotline.extensions import db

    streets = [Street(code=f"S{i}", name=f"街道{i}") for i in range(1, STREETS + 1)]
    db.session.add_all(streets)
    db.session.flush()
    buildings = [
        Building(street_id=streets[i % STREETS].id, name=f"大厦{i + 1}", address=f"大街{i + 1}号")
        for i in range(BUILDINGS)
    ]
    liaisons = [
        User(username=f"liaison{i}", password_hash="x", name=f"联络员{i}", role=Role.LIAISON)
        for i in range(1, LIAISONS + 1)
    ]
    manager = User(username=MANAGER, password_hash=hash_password(PASSWORD), name="督办", role=Role.MANAGER)
    db.session.add_all([*buildings, *liaisons, manager])
    db.session.flush()
    db.session.add_all(
        Coverage(liaison_id=liaisons[i % LIAISONS].id, building_id=b.id, role=CoverageRole.PRIMARY)
        for i, b in enumerate(buildings)
    )
    db.session.commit()


def core_insert(url: str, series: int, n: int) -> float:
    """Seconds to insert ``n`` enterprises by one Core ``executemany`` in one transaction, commit included."""
    from sqlalchemy import create_engine, select

    from hotline.auth.models import User
    from hotline.enterprises.models import Building, Enterprise

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            building_ids = {
                name: id_ for id_, name in connection.execute(select(Building.id, Building.name)).all()
            }
            manager_id = connection.scalar(select(User.id).where(User.username == MANAGER))
        now = datetime.now(UTC)
        values = [
            {
                "uscc": code,
                "name": name,
                "building_id": building_ids[building],
                "room": room,
                "industry": "",
                "contact_name": contact,
                "contact_phone": str(phone),
                "description": "",
                "created_at": now,
                "verified_at": now,
                "verified_by_id": manager_id,
            }
            for code, name, building, room, contact, phone in enterprise_rows(series, n)
        ]
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(Enterprise.__table__.insert(), values)
        return time.perf_counter() - started
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the calls


class Failed(Exception):
    pass


class Api:
    """The import API as the manager, with a bearer token; each call one new connection."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.token = client.api_token(MANAGER, PASSWORD)

    def post(self, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[Any, float]:
        """(the answer's JSON, seconds from connecting to its last byte); :class:`Failed` unless a 200."""
        headers = {**(headers or {}), "Authorization": f"Bearer {self.token}"}
        status, answer, ms = self.client.request(path, body, headers)
        if status != 200:
            raise Failed(f"POST {path} answered {status}: {answer[:500]!r}")
        return json.loads(answer), ms / 1000

    def upload(self, kind: str, filename: str, content: bytes, *, dry_run: bool) -> tuple[Any, float]:
        body, headers = multipart(filename, content)
        return self.post(f"/api/v1/imports/{kind}?dry_run={int(dry_run)}", body, headers)


def upload_noop(noop: Client, content: bytes) -> float:
    body, headers = multipart("e.xlsx", content)
    status, answer, ms = noop.request("/upload", body, headers)
    if status != 200 or json.loads(answer).get("bytes") != len(content):
        raise Failed(f"POST /upload of the baseline app answered {status}: {answer[:300]!r}")
    return ms / 1000


def check(report: dict[str, Any], what: str, n: int, applied: bool) -> None:
    """The report of a file whose ``n`` rows all create."""
    counts = report.get("counts")
    wanted = {"create": n, "update": 0, "unchanged": 0, "refuse": 0}
    refused = [row for row in report.get("rows", []) if row.get("action") == "refuse"][:3]
    if counts != wanted or len(report.get("rows", [])) != n or report.get("applied") is not applied:
        raise Failed(
            f"{what}: counts {counts}, {len(report.get('rows', []))} rows, applied {report.get('applied')}; "
            f"expected {wanted}, {n} rows, applied {applied}; first refused: {refused}"
        )


# --------------------------------------------------------------------------- the run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=int(os.environ.get("BENCH_ROWS") or 10_000),
        help="enterprise rows per file (default 10,000, or BENCH_ROWS); buildings and coverage get a tenth",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each call (default 3, at most 20)")
    args = parser.parse_args(argv)
    if not 100 <= args.rows <= 20_000:  # hotline.imports.reading.MAX_ROWS
        parser.error("--rows must be between 100 and 20,000")
    if not 3 <= args.runs <= 20:
        parser.error("--runs must be between 3 and 20")
    return in_private_database("hotline-bench-imports-", lambda url, folder: _run(args, url, folder))


def _run(args: argparse.Namespace, url: str, folder: Path) -> int:
    from hotline import create_app
    from hotline.extensions import db

    n, small = args.rows, args.rows // 10
    instance = folder / "instance"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "OUTBOX_NUDGE": False, "INSTANCE_DIR": str(instance)})
    with app.app_context():
        db.create_all()
        seed()
        db.session.remove()
        db.engine.dispose()

    env = {**os.environ, "DATABASE_URL": url, "HOTLINE_ENV": "development", "HOTLINE_INSTANCE": str(instance)}
    env["PYTHONUNBUFFERED"] = "1"  # bench.stats' module docstring: production's session cookie is HTTPS-only
    times: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}

    def record(label: str, rows: int, seconds: float) -> None:
        times.setdefault(label, []).append(seconds)
        sizes[label] = rows

    try:
        with (
            gunicorn("hotline.wsgi:app", env, folder, "hotline") as base,
            gunicorn("bench.baseline_app:app", env, folder, "baseline") as baseline_base,
        ):
            api = Api(Client(base))
            noop = Client(baseline_base)
            for run in range(args.runs):
                rows = enterprise_rows(run, n)
                workbook, text = xlsx(ENTERPRISE_HEADERS, rows), csv_file(ENTERPRISE_HEADERS, rows)
                kib = f"{len(workbook) / 1024:,.0f} KiB .xlsx, {len(text) / 1024:,.0f} KiB .csv"
                print(f"run {run + 1}: {n:,} enterprises ({kib}), {small:,} buildings, {small:,} coverage")
                record(BASELINE, n, core_insert(url, BASELINE_SERIES + run, n))
                record("baseline: .xlsx to a no-op upload", n, upload_noop(noop, workbook))
                report, seconds = api.upload("enterprises", "e.xlsx", workbook, dry_run=True)
                check(report, "enterprises dry run .xlsx", n, applied=False)
                record("enterprises dry run, .xlsx", n, seconds)
                kept = int(report["id"])
                report, seconds = api.upload("enterprises", "e.csv", text, dry_run=True)
                check(report, "enterprises dry run .csv", n, applied=False)
                record("enterprises dry run, .csv", n, seconds)
                report, seconds = api.post(f"/api/v1/imports/{kept}/apply")
                check(report, "enterprises apply", n, applied=True)
                record("enterprises apply (the kept .xlsx)", n, seconds)
                made = xlsx(BUILDING_HEADERS, building_rows(run, small))
                report, seconds = api.upload("buildings", "b.xlsx", made, dry_run=False)
                check(report, "buildings dry_run=0", small, applied=True)
                record("buildings dry_run=0, .xlsx", small, seconds)
                made = xlsx(COVERAGE_HEADERS, coverage_rows(run, small))
                report, seconds = api.upload("coverage", "c.xlsx", made, dry_run=False)
                check(report, "coverage dry_run=0", small, applied=True)
                record("coverage dry_run=0, .xlsx", small, seconds)
    except Failed as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1

    ok = _stored(url, args.runs, n, small)
    _print_table(times, sizes, args.runs)
    print(
        f"\nchecks: every call answered its rows as expected; the database holds what the runs created: {ok}"
    )
    return 0 if ok else 1


def _stored(url: str, runs: int, n: int, small: int) -> bool:
    from sqlalchemy import create_engine, func, select

    from hotline.enterprises.models import Building, Coverage, Enterprise

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            enterprises = connection.scalar(select(func.count()).select_from(Enterprise))
            buildings = connection.scalar(select(func.count()).select_from(Building))
            coverage = connection.scalar(select(func.count()).where(Coverage.active.is_(True)))
    finally:
        engine.dispose()
    wanted = (2 * runs * n, BUILDINGS + runs * small, BUILDINGS + runs * small)
    if (enterprises, buildings, coverage) != wanted:
        found = (enterprises, buildings, coverage)
        print(f"stored: enterprises, buildings, active coverage {found}; wanted {wanted}")
        return False
    return True


def _print_table(times: dict[str, list[float]], sizes: dict[str, int], runs: int) -> None:
    per_row = statistics.median(times[BASELINE]) / sizes[BASELINE]
    print(f"\n{'POST (median of ' + str(runs) + ' runs)':<42}{'rows':>7}{'median s':>10}{'min–max s':>14}"
          f"{'rows/s':>11}{'× baseline':>12}")  # fmt: skip
    for label, seconds in times.items():
        median, rows = statistics.median(seconds), sizes[label]
        spread = f"{min(seconds):.2f}–{max(seconds):.2f}"
        ratio = median / rows / per_row
        print(f"{label:<42}{rows:>7,}{median:>10.2f}{spread:>14}{rows / median:>11,.0f}{ratio:>12.2f}")


if __name__ == "__main__":
    sys.exit(main())
