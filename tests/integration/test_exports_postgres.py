"""The requests export on PostgreSQL, through the application (issue 9, point 5).

The CSV export used to answer 500 on PostgreSQL (``psycopg.errors.InvalidCursorName``): its rows came from a
server-side cursor that died with the request's transaction before the streamed response read it.  Here the
real application, on its own PostgreSQL database, streams lists of several batches (``exports.BATCH_ROWS``)
and every request of the period must arrive exactly once, newest first, in the CSV and in the Excel file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select, text

from hotline import create_app
from hotline.extensions import db
from hotline.stats import exports
from hotline.tickets.models import Ticket
from tests import factories
from tests.helpers import login
from tests.helpers import test_config as make_config
from tests.integration.conftest import new_postgres_database

FILED_AT = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)
TITLE = '=HYPERLINK("http://evil","x")'
KEPT = ("id", "number", "created_at")
COPIES = 2 * exports.BATCH_ROWS + 500  # three batches, the last one short
YEAR = "period=year&value=2025"


@pytest.fixture(scope="module")
def postgres_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """The app on a database of its own with one request filed through the service and ``COPIES`` more
    copied from it in SQL (a minute apart, each with its own number); the manager's username."""
    with new_postgres_database("hotline_exports") as url:
        instance = tmp_path_factory.mktemp("instance")
        app = create_app(
            make_config(SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS={}, INSTANCE_DIR=str(instance))
        )
        with app.app_context():
            try:
                db.create_all()
                world = factories.World()
                first = world.submit(FILED_AT, title='=HYPERLINK("http://evil","x")')
                db.session.flush()
                copied = [c.name for c in Ticket.__table__.columns if c.name not in KEPT]
                names = ", ".join(copied)
                db.session.execute(
                    text(
                        f"INSERT INTO tickets (number, created_at, {names}) "
                        "SELECT 'QP' || lpad(g::text, 9, '0'), created_at + g * interval '1 minute', "
                        f"{names} "
                        "FROM tickets, generate_series(1, :copies) AS g WHERE id = :first"
                    ),
                    {"copies": COPIES, "first": first.id},
                )
                manager = world.manager.username
                db.session.commit()
            finally:
                db.session.remove()
        try:
            yield app, manager
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()  # before the database is dropped


def _filed_newest_first(app: Flask) -> list[str]:
    with app.app_context():
        try:
            return list(db.session.scalars(select(Ticket.number).order_by(Ticket.id.desc())))
        finally:
            db.session.remove()


@pytest.mark.postgres
def test_the_requests_csv_streams_every_row_once_on_postgres(postgres_app: tuple[Flask, str]) -> None:
    app, manager = postgres_app
    client = app.test_client()
    login(client, manager)
    response = client.get(f"/manage/exports/requests.csv?{YEAR}&figure=total")
    assert response.is_streamed and response.headers["Content-Disposition"].startswith("attachment;")
    body = response.get_data()
    assert response.status_code == 200, body[:300]
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    numbers = [row[0] for row in rows[1:]]
    expected = _filed_newest_first(app)
    assert len(expected) == COPIES + 1 > 2 * exports.BATCH_ROWS
    assert numbers == expected  # each once, none missing, newest first across the batch boundaries
    assert {row[1] for row in rows[1:]} == {'\'=HYPERLINK("http://evil","x")'}  # neutralised in every batch
    assert rows[1][2] == "2025-06-05 12:00"  # the last copy, 4,500 minutes after 09:00 local on 2 June


@pytest.mark.postgres
def test_the_requests_workbook_holds_every_row_once_on_postgres(
    postgres_app: tuple[Flask, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "BATCH_ROWS", 1_000)
    app, manager = postgres_app
    client = app.test_client()
    login(client, manager)
    response = client.get(f"/manage/exports/requests.xlsx?{YEAR}&figure=total")
    data = response.get_data()
    assert response.status_code == 200, data[:300]
    assert response.content_length == len(data)
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    numbers = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert numbers == _filed_newest_first(app)
