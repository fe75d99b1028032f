"""Downloads of the figures and of the requests behind them (issue 4, item 4), through the test client.

A hand-built cohort for March 2026, played through the services with explicit times; the clock is frozen on
Tuesday 16 June 2026, 10:00 in Shanghai.  The files are opened back with openpyxl / the csv module.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask.testing import FlaskClient
from openpyxl import load_workbook

from hotline.extensions import db
from hotline.sla import services as sla
from hotline.stats import exports
from hotline.tickets import services as tickets
from hotline.tickets.labels import RATING_SOURCE_LABELS
from hotline.tickets.models import RatingSource, Ticket
from hotline.tickets.queries import latest_rating
from tests.factories import World
from tests.helpers import login

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 16, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
MARCH = "period=month&value=2026-03"

INJECTIONS = ['=HYPERLINK("http://evil","x")', "+1+1", "-2", "@SUM(A1)", "\t=1"]
CHINESE_TITLE = "停车难：请协调“周边”车位！（急）"
ENTERPRISE = "东湖云智科技有限公司"
CATEGORY = "审批服务"

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)  # type: ignore[misc]


def naive_local(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(SHANGHAI).replace(tzinfo=None)


@pytest.fixture
def frozen() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


@dataclass
class Cohort:
    world: World
    closed: Ticket  # =HYPERLINK…, resolved after 8 working hours, rated satisfied
    open_late: Ticket  # the Chinese title, in progress past its resolve deadline
    resolved: Ticket  # +1+1, resolved after 2 working hours, not rated
    waiting: list[Ticket]  # -2, @SUM(A1), \t=1: submitted, not dispatched


@pytest.fixture
def cohort(app, world: World, frozen) -> Cohort:  # type: ignore[no-untyped-def]
    assert sla.sync_calendar_from_package(frozen, years=[2026]) == [2026]
    world.enterprise.name = ENTERPRISE
    world.category.name = CATEGORY
    w = world

    def progress(title: str, submitted: datetime, acknowledged: datetime) -> Ticket:
        ticket = w.submit(submitted, title=title)
        tickets.assign(ticket.id, w.manager, w.liaison.username, acknowledged)
        tickets.acknowledge(ticket.id, w.liaison, acknowledged)
        return ticket

    closed = progress(INJECTIONS[0], local(2026, 3, 2, 9, 0), local(2026, 3, 2, 9, 30))
    tickets.resolve(closed.id, w.liaison, "已协调。", local(2026, 3, 3, 10, 0))  # 7 h on Monday + 1 h
    tickets.rate(closed.id, w.contact, "satisfied", "", local(2026, 3, 4, 9, 0))
    open_late = progress(CHINESE_TITLE, local(2026, 3, 4, 10, 0), local(2026, 3, 4, 10, 30))
    resolved = progress(INJECTIONS[1], local(2026, 3, 5, 9, 0), local(2026, 3, 5, 9, 10))
    tickets.resolve(resolved.id, w.liaison, "已答复。", local(2026, 3, 5, 11, 0))
    waiting = [w.submit(local(2026, 3, 10, 9, i), title=title) for i, title in enumerate(INJECTIONS[2:])]
    # The services strip a title; a tab-led one can still come from older data or another system.
    waiting[-1].title = "\t=1"
    withdrawn = w.submit(local(2026, 3, 11, 9, 0), title="已撤回的诉求")
    tickets.withdraw(withdrawn.id, w.contact, "", local(2026, 3, 11, 10, 0))
    w.submit(local(2026, 4, 1, 9, 0), title="四月的诉求")  # outside the period
    db.session.commit()
    return Cohort(w, closed, open_late, resolved, waiting)


def download(client: FlaskClient, url: str, mimetype: str):  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == mimetype
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and "filename*=UTF-8''" in disposition
    assert response.headers["Cache-Control"] == "private, no-store"
    return response


def workbook(response):  # type: ignore[no-untyped-def]
    return load_workbook(io.BytesIO(response.get_data()))


# --------------------------------------------------------------------------- the figures


def test_a_manager_downloads_the_figures_of_march_in_excel(client, cohort) -> None:  # type: ignore[no-untyped-def]
    login(client, cohort.world.manager.username)
    response = download(client, f"/manage/exports/figures.xlsx?{MARCH}&lang=en", XLSX)
    disposition = response.headers["Content-Disposition"]
    assert 'filename="figures_2026-03.xlsx"' in disposition
    assert unquote(disposition.split("''")[1]) == "Figures_2026-03.xlsx"
    book = workbook(response)
    assert book.sheetnames == [
        "Summary",
        "By month",
        "By category",
        "By street",
        "By building",
        "By channel",
        "By liaison",
    ]
    summary = book["Summary"]
    assert summary.freeze_panes == "A2" and summary["A1"].font.b
    values = {row[0].value: row[1] for row in summary.iter_rows(min_row=2)}
    assert values["Period"].value == "2026-03-01 – 2026-03-31"
    counts = {
        "Requests received": 6,  # the withdrawn one and April's are not counted
        "Requests resolved": 2,
        "Rated requests": 1,
        "Satisfied": 1,
        "Acknowledged in time": 3,
        "Open past the deadline": 1,
    }
    for label, expected in counts.items():
        assert values[label].value == expected, label
        assert values[label].data_type == "n"
    assert values["Closure rate"].value == pytest.approx(2 / 6)
    assert values["Closure rate"].number_format == "0.0%"
    assert values["Satisfaction rate"].value == 1.0
    assert values["Reopen rate"].value == 0.0  # 0 reopened of 2 resolved: a real 0 %
    assert values["Average handling time (working hours)"].value == pytest.approx(5.0)  # (8 + 2) / 2

    by_category = [[c.value for c in row] for row in book["By category"].iter_rows(min_row=2)]
    assert by_category[0][:4] == [world_category_label(cohort), 6, 2, pytest.approx(2 / 6)]
    by_channel = [[c.value for c in row] for row in book["By channel"].iter_rows(min_row=2)]
    # closure, rated, satisfaction, first-rating satisfaction, rating rate (1 of 2 resolved), response, ...
    assert by_channel == [
        ["Web", 6, 2, pytest.approx(2 / 6), 1, 1.0, 1.0, 0.5, 1.0, 1.0, 0.0, pytest.approx(5.0), 1]
    ]


def world_category_label(cohort: Cohort) -> str:
    return cohort.world.category.name_en  # the English page shows the English name


def test_the_figures_are_in_chinese_by_default_and_a_filter_is_named(client, cohort) -> None:  # type: ignore[no-untyped-def]
    login(client, cohort.world.manager.username)
    street = cohort.world.street
    response = download(client, f"/manage/exports/figures.xlsx?{MARCH}&street={street.id}", XLSX)
    book = workbook(response)
    summary = book.worksheets[0]
    assert summary["B2"].value == "2026-03-01 – 2026-03-31"
    assert summary["B3"].value == street.name  # the filter, by the street's name
    category = book.worksheets[2]
    assert category["A2"].value == CATEGORY
    assert category["B2"].value == 6


def test_a_breakdown_downloads_as_csv(client, cohort) -> None:  # type: ignore[no-untyped-def]
    login(client, cohort.world.manager.username)
    response = download(client, f"/manage/exports/figures.csv?{MARCH}&what=category", "text/csv")
    assert response.content_type == "text/csv; charset=utf-8"
    assert 'filename="figures_2026-03_category.csv"' in response.headers["Content-Disposition"]
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[1][:4] == [CATEGORY, "6", "2", "33.3%"]
    refused = client.get(f"/manage/exports/figures.csv?{MARCH}&what=tickets")
    assert refused.status_code == 400


def test_a_bad_period_is_refused_with_a_message(client, cohort) -> None:  # type: ignore[no-untyped-def]
    login(client, cohort.world.manager.username)
    response = client.get("/manage/exports/figures.xlsx?period=month&value=2026-13&lang=en")
    assert response.status_code == 400
    assert "A month is from 01 to 12." in response.get_data(as_text=True)


# --------------------------------------------------------------------------- the requests behind a figure


def expected_row(ticket: Ticket, state: str, rating: str | None, hours: float | None) -> list[object]:
    w_ticket = db.session.get(Ticket, ticket.id)
    assert w_ticket is not None
    return [
        w_ticket.number,
        w_ticket.title,
        naive_local(w_ticket.created_at),
        ENTERPRISE,
        "已核验"
        if w_ticket.enterprise.verified
        else "未核验",  # requests of unverified enterprises are marked
        w_ticket.building.name,
        w_ticket.building.street.name,
        CATEGORY,
        "网上提交",
        "一般",
        state,
        w_ticket.assignee.name if w_ticket.assignee else None,
        naive_local(w_ticket.acknowledged_at),
        naive_local(w_ticket.resolved_at),
        naive_local(w_ticket.acknowledge_due_at),
        naive_local(w_ticket.resolve_due_at),
        rating,
        # the latest rating's provenance, then the first rating (issue 11)
        str(RATING_SOURCE_LABELS[w_ticket.rating_source]) if w_ticket.rating_source else None,
        recorder.rated_by.name if (recorder := latest_rating(w_ticket.id)) else None,
        naive_local(w_ticket.rated_at) if w_ticket.rating_score else None,
        rating,  # rated once: the first rating is the latest
        0,
        hours,
    ]


def test_the_requests_behind_a_figure_in_excel(client, cohort) -> None:  # type: ignore[no-untyped-def]
    login(client, cohort.world.manager.username)
    response = download(client, f"/manage/exports/requests.xlsx?{MARCH}&figure=total", XLSX)
    assert 'filename="requests_total_2026-03.xlsx"' in response.headers["Content-Disposition"]
    sheet = workbook(response).worksheets[0]
    assert sheet.freeze_panes == "A2" and all(c.font.b for c in sheet[1])
    assert [c.value for c in sheet[1]][:2] == ["诉求编号", "诉求标题"]
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert len(rows) == 6

    open_late = rows[cohort.open_late.number]
    assert [c.value for c in open_late] == expected_row(cohort.open_late, "办理中", None, None)
    assert open_late[2].is_date and open_late[2].number_format == "yyyy-mm-dd hh:mm"
    closed = rows[cohort.closed.number]
    assert [c.value for c in closed][2:] == expected_row(cohort.closed, "已关闭", "满意", 8.0)[2:]
    assert [c.value for c in closed][1] == "'" + INJECTIONS[0]

    # Every formula attempt is text with a leading quote; the numbers stay numbers.
    titled = {
        ticket.number: title
        for ticket, title in zip([cohort.closed, cohort.resolved, *cohort.waiting], INJECTIONS, strict=True)
    }
    for number, title in titled.items():
        cell = rows[number][1]
        assert cell.data_type == "s", title
        assert cell.value == "'" + title
        assert rows[number][21].data_type == "n"  # times reopened


def test_the_requests_behind_a_figure_in_csv(client, cohort) -> None:  # type: ignore[no-untyped-def]
    login(client, cohort.world.manager.username)
    response = download(client, f"/manage/exports/requests.csv?{MARCH}&figure=resolved", "text/csv")
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.count("\r\n") == 3 and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][:2] == ["诉求编号", "诉求标题"]
    by_number = {row[0]: row for row in rows[1:]}
    assert set(by_number) == {cohort.closed.number, cohort.resolved.number}
    closed = by_number[cohort.closed.number]
    assert closed[1] == "'" + INJECTIONS[0]
    assert closed[2:11] == [
        "2026-03-02 09:00",
        ENTERPRISE,
        "未核验",
        *closed[5:7],
        CATEGORY,
        "网上提交",
        "一般",
        "已关闭",
    ]
    source = str(RATING_SOURCE_LABELS[RatingSource.ENTERPRISE])
    assert closed[16:] == ["满意", source, cohort.world.contact.name, "2026-03-04 09:00", "满意", "0", "8.0"]
    assert by_number[cohort.resolved.number][1] == "'+1+1"

    everything = client.get(f"/manage/exports/requests.csv?{MARCH}")
    lines = list(csv.reader(io.StringIO(everything.get_data().decode("utf-8-sig"), newline="")))
    titles = {row[1] for row in lines[1:]}
    assert CHINESE_TITLE in titles
    assert {"'" + title for title in INJECTIONS} <= titles


def test_a_list_too_long_for_excel_is_refused_but_the_csv_is_not(client, cohort, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(exports, "MAX_XLSX_ROWS", 5)
    login(client, cohort.world.manager.username)
    response = client.get(f"/manage/exports/requests.xlsx?{MARCH}&figure=total&lang=en")
    assert response.status_code == 400
    assert "This list has 6 requests; an Excel file holds at most 5." in response.get_data(as_text=True)
    assert "download the CSV file" in response.get_data(as_text=True)
    assert client.get(f"/manage/exports/requests.csv?{MARCH}&figure=total").status_code == 200
    assert client.get(f"/manage/exports/requests.xlsx?{MARCH}&figure=resolved").status_code == 200
    assert client.get(f"/manage/exports/requests.xlsx?{MARCH}&figure=everything").status_code == 400

    monkeypatch.setattr(exports, "MAX_CSV_ROWS", 5)
    response = client.get(f"/manage/exports/requests.csv?{MARCH}&figure=total&lang=en")
    assert response.status_code == 400
    assert "Content-Disposition" not in response.headers
    assert "This list has 6 requests; a download holds at most 5." in response.get_data(as_text=True)


def test_the_dashboard_and_its_lists_link_to_their_downloads(client, cohort) -> None:  # type: ignore[no-untyped-def]
    login(client, cohort.world.manager.username)
    pages = [f"/manage/dashboard?{MARCH}", f"/manage/dashboard/requests?{MARCH}&figure=resolved"]
    links = []
    for page in pages:
        html_text = client.get(page).get_data(as_text=True)
        links += [
            html.unescape(h) for h in re.findall(r'class="[^"]*export-link[^"]*" href="([^"]+)"', html_text)
        ]
    assert len(links) == 6  # the figures, the events of the period (issue 11) and the list, in Excel and CSV
    for link in links:
        response = client.get(link)
        assert response.status_code == 200, link
        assert response.headers["Content-Disposition"].startswith("attachment;")
        if "/events." in link:
            assert "events_2026-03" in response.headers["Content-Disposition"]
        elif "/requests." in link:
            assert "_resolved_2026-03." in response.headers["Content-Disposition"]  # the list that was shown
        else:
            assert "figures_2026-03" in response.headers["Content-Disposition"]  # the dashboard's period


# --------------------------------------------------------------------------- who may download

EXPORTS = [
    f"/manage/exports/figures.xlsx?{MARCH}",
    f"/manage/exports/figures.csv?{MARCH}&what=summary",
    f"/manage/exports/requests.xlsx?{MARCH}&figure=total",
    f"/manage/exports/requests.csv?{MARCH}&figure=total",
    f"/manage/exports/events.xlsx?{MARCH}",
    f"/manage/exports/events.csv?{MARCH}",
]


@pytest.mark.parametrize("url", EXPORTS)
def test_only_managers_and_admins_download(app, client, cohort, url: str) -> None:  # type: ignore[no-untyped-def]
    w = cohort.world
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    for user in (w.liaison, w.contact, w.department_user):
        other = app.test_client()
        login(other, user.username)
        refused = other.get(url)
        assert refused.status_code == 403, user.username
        assert "Content-Disposition" not in refused.headers
    for user in (w.manager, w.admin):
        other = app.test_client()
        login(other, user.username)
        assert other.get(url).status_code == 200, user.username


# --------------------------------------------------------------------------- long lists, in batches


def test_a_list_longer_than_a_batch_arrives_whole_newest_first(client, cohort, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(exports, "BATCH_ROWS", 2)  # 6 requests: three full batches and an empty read
    login(client, cohort.world.manager.username)
    filed = [cohort.closed, cohort.open_late, cohort.resolved, *cohort.waiting]
    newest_first = [ticket.number for ticket in reversed(filed)]

    response = download(client, f"/manage/exports/requests.csv?{MARCH}&figure=total", "text/csv")
    assert response.is_streamed
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))
    assert [row[0] for row in rows[1:]] == newest_first
    assert rows[1 + newest_first.index(cohort.closed.number)][1] == "'" + INJECTIONS[0]

    response = download(client, f"/manage/exports/requests.xlsx?{MARCH}&figure=total", XLSX)
    data = response.get_data()
    assert response.content_length == len(data)  # streamed from the finished file, its length known
    sheet = workbook(response).worksheets[0]
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == newest_first
    closed = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == cohort.closed.number)
    assert [c.value for c in closed][2:] == expected_row(cohort.closed, "已关闭", "满意", 8.0)[2:]
