"""The audit trail (issue 11, point 6) through the test client: the export of every event of a period (CSV
and Excel, formula-safe), the audit log's page and ``GET /api/v1/audit``, and who may see them.

The clock is frozen on Tuesday 16 June 2026, 10:00 in Shanghai; the requests were filed in March.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from hotline.audit import services as audit
from hotline.audit.models import AuditAction, AuditEntry
from hotline.auth.models import User
from hotline.auth.services import issue_token
from hotline.db import utcnow
from hotline.extensions import db
from hotline.sla import services as sla
from hotline.stats import exports
from hotline.tickets import services as tickets
from hotline.tickets.models import Ticket, TicketEvent
from tests.factories import World
from tests.functional.html import field_errors
from tests.helpers import login, post_form

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 16, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
MARCH = "period=month&value=2026-03"
EN = {"Accept-Language": "en"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOTE = "=1+1 内部备注"
HEADER = [
    "Number",
    "When it happened",
    "Event",
    "By",
    "Role",
    "Visibility",
    "From state",
    "To state",
    "Details",
    "Text",
]


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)  # type: ignore[misc]


@pytest.fixture
def frozen() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


@dataclass
class Trail:
    world: World
    worked: Ticket  # assigned by hand, acknowledged, a formula-like internal note, resolved, rated
    withdrawn: Ticket  # filed in March and withdrawn: its events are exported too
    april: Ticket  # filed outside the period


@pytest.fixture
def trail(app, world: World, frozen: datetime) -> Trail:  # type: ignore[no-untyped-def]
    sla.sync_calendar_from_package(frozen, years=[2026])
    w = world
    worked = w.submit(local(2026, 3, 2, 9, 0), title="停车难")
    tickets.assign(worked.id, w.manager, w.liaison.username, local(2026, 3, 2, 9, 10))
    tickets.acknowledge(worked.id, w.liaison, local(2026, 3, 2, 9, 30))
    tickets.add_note(worked.id, w.liaison, NOTE, local(2026, 3, 2, 10, 0))
    tickets.resolve(worked.id, w.liaison, "已协调。", local(2026, 3, 3, 10, 0))
    tickets.rate(worked.id, w.contact, "satisfied", "", local(2026, 3, 4, 9, 0))
    withdrawn = w.submit(local(2026, 3, 11, 9, 0), title="已撤回的诉求")
    tickets.withdraw(withdrawn.id, w.contact, "", local(2026, 3, 11, 10, 0))
    april = w.submit(local(2026, 4, 1, 9, 0), title="四月的诉求")
    db.session.commit()
    return Trail(w, worked, withdrawn, april)


def events_of(*ticket_list: Ticket) -> int:
    ids = [t.id for t in ticket_list]
    return db.session.scalar(select(func.count()).where(TicketEvent.ticket_id.in_(ids))) or 0


def downloads(user: User) -> list[AuditEntry]:
    query = select(AuditEntry).where(
        AuditEntry.action == AuditAction.EXPORT_DOWNLOADED.value, AuditEntry.actor_id == user.id
    )
    return list(db.session.scalars(query.order_by(AuditEntry.id)))


# --------------------------------------------------------------------------- the events' export


def test_a_manager_downloads_every_event_of_march_as_csv(client: FlaskClient, trail: Trail) -> None:
    w = trail.world
    login(client, w.manager.username)
    response = client.get(f"/manage/exports/events.csv?{MARCH}&lang=en")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.content_type == "text/csv; charset=utf-8"
    assert 'filename="events_2026-03.csv"' in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))
    assert rows[0] == HEADER
    body = rows[1:]
    assert len(body) == events_of(trail.worked, trail.withdrawn)  # every event, and no other
    numbers = {row[0] for row in body}
    assert numbers == {trail.worked.number, trail.withdrawn.number}  # April's request is not in March

    by_kind = {row[2]: row for row in body if row[0] == trail.worked.number}
    assert {"Submitted", "Assigned", "Acknowledged", "Internal note", "Resolved", "Rated"} <= set(by_kind)
    note = by_kind["Internal note"]
    assert note[1] == "2026-03-02 10:00"  # Shanghai time
    assert note[3:6] == [w.liaison.name, "Liaison", "Internal"]
    assert note[9] == "'" + NOTE  # a formula never runs when the file is opened
    assigned = by_kind["Assigned"]
    assert assigned[3:5] == [w.manager.name, "Manager"]
    assert assigned[8].startswith(f"To {w.liaison.name}")
    assert assigned[6:8] == ["Awaiting dispatch", "Awaiting acknowledgement"]
    assert by_kind["Rated"][8] == "Satisfied" and by_kind["Rated"][5] == "Public"
    assert [row[2] for row in body if row[0] == trail.withdrawn.number].count("Withdrawn") == 1

    (entry,) = downloads(w.manager)
    assert entry.target == "events.csv 2026-03"
    assert entry.details["rows"] == len(body) and entry.details["filters"]["value"] == "2026-03"


def test_events_read_in_small_batches_arrive_whole_and_once(
    client: FlaskClient, trail: Trail, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "BATCH_ROWS", 2)
    login(client, trail.world.manager.username)
    response = client.get(f"/manage/exports/events.csv?{MARCH}")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))[1:]
    expected = db.session.scalars(
        select(TicketEvent.id).where(TicketEvent.ticket_id.in_([trail.worked.id, trail.withdrawn.id]))
    ).all()
    assert len(rows) == len(expected) == len({tuple(row) for row in rows})


def test_the_events_workbook_holds_text_never_a_formula(client: FlaskClient, trail: Trail) -> None:
    login(client, trail.world.manager.username)
    response = client.get(f"/manage/exports/events.xlsx?{MARCH}&lang=en")
    assert response.status_code == 200 and response.mimetype == XLSX
    book = load_workbook(io.BytesIO(response.get_data()))
    sheet = book["Events"]
    assert [c.value for c in sheet[1]] == HEADER and sheet.freeze_panes == "A2"
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    (note,) = [row for row in sheet.iter_rows(min_row=2) if row[2].value == "Internal note"]
    assert note[9].value == "'" + NOTE and note[9].data_type == "s"
    assert note[1].value == datetime(2026, 3, 2, 10, 0)  # a real date cell, local time
    assert sheet.max_row - 1 == events_of(trail.worked, trail.withdrawn)
    assert downloads(trail.world.manager)[0].target == "events.xlsx 2026-03"


def test_the_events_export_is_for_managers_and_a_bad_period_is_refused(
    app: Flask, client: FlaskClient, trail: Trail
) -> None:
    liaison = app.test_client()
    login(liaison, trail.world.liaison.username)
    assert liaison.get(f"/manage/exports/events.csv?{MARCH}").status_code == 403
    login(client, trail.world.manager.username)
    refused = client.get("/manage/exports/events.csv?period=month&value=2026-13&lang=en")
    assert refused.status_code == 400
    assert "A month is from 01 to 12." in refused.get_data(as_text=True)
    assert downloads(trail.world.manager) == []  # nothing was downloaded, nothing recorded
    dashboard = client.get(f"/manage/dashboard?{MARCH}").get_data(as_text=True)
    assert "/manage/exports/events.xlsx?" in dashboard and "/manage/exports/events.csv?" in dashboard


def test_every_other_download_is_in_the_audit_log(client: FlaskClient, trail: Trail) -> None:
    login(client, trail.world.manager.username)
    assert client.get(f"/manage/exports/figures.xlsx?{MARCH}").status_code == 200
    assert client.get(f"/manage/exports/requests.csv?{MARCH}&figure=resolved").status_code == 200
    targets = [
        (e.target, e.details.get("figure"), e.details.get("rows")) for e in downloads(trail.world.manager)
    ]
    assert targets == [("figures.xlsx 2026-03", None, None), ("requests.csv 2026-03", "resolved", 1)]


# --------------------------------------------------------------------------- the audit log's page


def test_an_account_created_on_the_admin_page_is_found_in_the_log(client: FlaskClient, world: World) -> None:
    login(client, world.admin.username)
    created = post_form(
        client,
        "/admin/users/new",
        "/admin/users/new",
        {
            "username": "zhao.lei",
            "name": "赵磊",
            "role": "manager",
            "password": "Lantern-Orchard-58",
            "confirm": "Lantern-Orchard-58",
        },
    )
    assert created.status_code == 302
    page = client.get("/manage/audit?action=user_created&target=zhao&lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('data-action="user_created"') == 1
    assert "zhao.lei" in html and f"({world.admin.username})" in html and "Administrator" in html
    by_actor = client.get(f"/manage/audit?actor={world.admin.name}&target=zhao").get_data(as_text=True)
    assert "zhao.lei" in by_actor
    nobody = client.get("/manage/audit?actor=nobody-at-all&target=zhao").get_data(as_text=True)
    assert "zhao.lei" not in nobody


def test_the_log_is_searched_by_dates_and_paginated(client: FlaskClient, world: World) -> None:
    for i in range(25):
        audit.record(world.manager, AuditAction.CALENDAR_DAY_SET, f"day-{i:02d}", {}, local(2026, 5, 1, 9, i))
    audit.record(world.manager, AuditAction.CALENDAR_DAY_SET, "day-late", {}, local(2026, 5, 2, 23, 30))
    db.session.commit()
    login(client, world.manager.username)  # managers read the log too
    first = client.get("/manage/audit?start=2026-05-01&end=2026-05-01").get_data(as_text=True)
    assert first.count('data-action="calendar_day_set"') == 20
    assert "day-24" in first and "day-late" not in first  # newest first
    second = client.get("/manage/audit?start=2026-05-01&end=2026-05-01&page=2").get_data(as_text=True)
    assert second.count('data-action="calendar_day_set"') == 5 and "day-00" in second
    late = client.get("/manage/audit?start=2026-05-02&end=2026-05-02").get_data(as_text=True)
    assert "day-late" in late and "day-24" not in late  # 23:30 in Shanghai is still the 2nd

    bad = client.get("/manage/audit?start=2026-13-01&end=2026-05-01&action=bogus")
    assert bad.status_code == 200
    html = bad.get_data(as_text=True)
    assert field_errors(html, "start") and field_errors(html, "action")
    backwards = client.get("/manage/audit?start=2026-05-02&end=2026-05-01").get_data(as_text=True)
    assert field_errors(backwards, "end")


def test_only_admins_and_managers_read_the_log(app: Flask, client: FlaskClient, world: World) -> None:
    assert client.get("/manage/audit").status_code == 302  # to the login page
    for user in (world.liaison, world.department_user, world.contact):
        other = app.test_client()
        login(other, user.username)
        assert other.get("/manage/audit").status_code == 403, user.role
    login(client, world.admin.username)
    assert client.get("/manage/audit").status_code == 200
    assert client.get("/manage/audit?actor=%00").status_code == 400  # refused at the edge (hotline/urls.py)
    assert client.get("/manage/audit?page=99999999999999999999999").status_code == 400


# --------------------------------------------------------------------------- GET /api/v1/audit


def bearer(user: User) -> dict[str, str]:
    token, _row = issue_token(user, utcnow(), hours=1)
    db.session.commit()
    return {"Authorization": f"Bearer {token}", **EN}


def test_the_api_lists_and_searches_the_log(client: FlaskClient, world: World) -> None:
    audit.record(
        world.admin, AuditAction.RESET_LINK_ISSUED, "ent-x", {"expires_at": "…"}, local(2026, 5, 1, 9)
    )
    audit.record(None, AuditAction.CALENDAR_SYNCED, "2027", {"years": [2027]}, local(2026, 5, 3, 9))
    db.session.commit()
    headers = bearer(world.manager)
    answer = client.get("/api/v1/audit?start=2026-05-01&end=2026-05-31", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    page = answer.get_json()
    assert page["total"] == 2 and [e["target"] for e in page["items"]] == ["2027", "ent-x"]
    synced, issued = page["items"]
    assert synced["actor"] is None and synced["details"] == {"years": [2027]}
    assert synced["action_label"] == "Calendar loaded from the package"
    assert issued["actor"] == {"username": world.admin.username, "name": world.admin.name, "role": "admin"}
    assert issued["at"] == "2026-05-01T09:00:00+08:00"
    only = client.get("/api/v1/audit?action=reset_link_issued&actor=" + world.admin.username, headers=headers)
    assert [e["target"] for e in only.get_json()["items"]] == ["ent-x"]


def test_the_api_refuses_bad_queries_and_other_roles(client: FlaskClient, world: World) -> None:
    headers = bearer(world.admin)
    bad = client.get("/api/v1/audit?start=2026-13-01&end=yesterday&action=bogus", headers=headers)
    assert bad.status_code == 400
    problems = bad.get_json()["error"]["fields"]
    assert "action" in problems
    dates = client.get("/api/v1/audit?start=2026-13-01&end=yesterday", headers=headers).get_json()
    assert set(dates["error"]["fields"]) == {"start", "end"}
    assert dates["error"]["fields"]["start"] == "Enter a date like 2026-12-31."
    for query in ("actor=%00", "page=99999999999999999999", "per_page=1000", "target=" + "x" * 201):
        assert client.get(f"/api/v1/audit?{query}", headers=headers).status_code == 400, query
    liaison = client.get("/api/v1/audit", headers=bearer(world.liaison))
    assert liaison.status_code == 403


def test_days_far_outside_the_log_are_answered_not_a_500(client: FlaskClient, world: World) -> None:
    audit.record(world.admin, AuditAction.RESET_LINK_ISSUED, "ent-y", {}, local(2026, 5, 1, 9))
    db.session.commit()
    headers = bearer(world.manager)
    everything = client.get("/api/v1/audit", headers=headers).get_json()["total"]
    wide = client.get("/api/v1/audit?start=0001-01-01&end=9999-12-31", headers=headers)
    assert wide.status_code == 200 and wide.get_json()["total"] == everything >= 1
    before = client.get("/api/v1/audit?end=0001-01-02", headers=headers)
    assert before.status_code == 200 and before.get_json()["total"] == 0


def test_a_year_entered_from_the_notice_is_in_the_log(world: World) -> None:
    year = local(2026, 5, 1, 9).year + 3
    sla.enter_notice(year, "元旦 1月1日–3日", world.manager, utcnow())
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == AuditAction.CALENDAR_YEAR_ENTERED.value)
    ).all()
    assert [(e.target, e.details.get("source")) for e in entries] == [(str(year), "notice")]
