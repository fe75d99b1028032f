"""Working-time pages through the test client, real forms with CSRF on: clock lights, the overdue board, the
calendar, the categories' clocks and extensions (issue 3, items 4 and 7).

Time is frozen on Tuesday 16 June 2026, 10:00 in Shanghai, so that lights and deadlines are exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import func, select

from hotline.extensions import db
from hotline.sla import services
from hotline.sla.calendar import current_calendar
from hotline.sla.models import CalendarDay, DaySource, Extension, ExtensionState, Setting
from hotline.tickets.models import Category, EventKind, Ticket, TicketEvent, TicketState
from tests.factories import World
from tests.functional.html import field_errors
from tests.helpers import login, post_form

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 16, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)  # a Tuesday, a working day


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)  # type: ignore[misc]


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


@pytest.fixture
def frozen() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def calendar_2026(app, frozen):  # type: ignore[no-untyped-def]
    assert services.sync_calendar_from_package(frozen, years=[2026]) == [2026]
    db.session.commit()


def english(client: FlaskClient) -> None:
    client.get("/lang/en")


def as_user(client: FlaskClient, username: str) -> None:
    login(client, username)
    english(client)


def browser(client: FlaskClient, username: str) -> FlaskClient:
    """Another browser, logged in as ``username``, in English."""
    other = client.application.test_client()
    as_user(other, username)
    return other


def reload(ticket: Ticket) -> Ticket:
    db.session.expire_all()
    row = db.session.get(Ticket, ticket.id)
    assert row is not None
    return row


def list_row(html: str, number: str) -> str:
    """The row of request ``number`` in a request list."""
    match = re.search(rf'<tr>\s*<td[^>]*><a href="/tickets/{number}">.*?</tr>', html, re.S)
    assert match, f"no row for {number}"
    return match.group(0)


def light_of(fragment: str) -> tuple[str, str] | None:
    """(colour, text) of the first clock light in ``fragment``."""
    match = re.search(r'class="clock-light[^"]*" data-colour="(\w+)"[^>]*>([^<]*)<', fragment)
    return (match.group(1), match.group(2).strip()) if match else None


def on_clock(world: World, start: datetime, due: datetime) -> Ticket:
    """A request in progress with the liaison whose resolve clock runs from ``start`` to ``due``."""
    ticket = world.in_progress(start)
    ticket.resolve_started_at = start
    ticket.resolve_due_at = due
    db.session.commit()
    return ticket


# --------------------------------------------------------------------------- who may see the pages

MANAGER_PAGES = ["/manage/overdue", "/manage/calendar", "/manage/categories", "/manage/extensions"]


def test_only_managers_and_admins_reach_the_working_time_pages(client, world, calendar_2026):  # type: ignore[no-untyped-def]
    login(client, world.liaison.username)
    for url in [*MANAGER_PAGES, f"/manage/categories/{world.category.id}"]:
        assert client.get(url).status_code == 403, url
    page = text(client.get("/workbench/"))
    for url in MANAGER_PAGES:
        assert f'href="{url}"' not in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    refused = client.post(
        "/manage/calendar/day", data={"day": "2026-06-17", "kind": "rest", "csrf_token": token.group(1)}
    )
    assert refused.status_code == 403
    assert db.session.get(CalendarDay, date(2026, 6, 17)).is_workday  # type: ignore[union-attr]

    for user in (world.manager, world.admin):
        other = browser(client, user.username)
        home = text(other.get("/manage/pool"))
        for url in MANAGER_PAGES:
            assert f'href="{url}"' in home, url  # in the navigation
            assert other.get(url).status_code == 200, url


# --------------------------------------------------------------------------- the calendar


def test_calendar_shows_a_known_year_with_holidays_and_make_up_days(client, world, calendar_2026):  # type: ignore[no-untyped-def]
    as_user(client, world.manager.username)
    page = text(client.get("/manage/calendar?year=2026"))
    assert "calendar-missing" not in page and "year-unknown" not in page
    cells = dict(re.findall(r'data-day="(\d{4}-\d\d-\d\d)" data-kind="(\w*)"', page))
    assert len(cells) == 365
    assert cells["2026-10-01"] == "holiday"  # National Day, a Thursday
    assert cells["2026-10-10"] == "makeup"  # 调休: a Saturday worked
    assert cells["2026-02-14"] == "makeup"
    assert cells["2026-06-16"] == "work"
    assert cells["2026-06-20"] == "rest"  # an ordinary Saturday
    assert "09:00-12:00,13:30-17:30" in page  # the working hours in force


def test_a_missing_year_shows_a_banner_on_the_calendar_and_the_pool(client, world, frozen):  # type: ignore[no-untyped-def]
    as_user(client, world.manager.username)
    page = text(client.get("/manage/calendar?year=2026"))
    assert 'data-years="2026"' in page
    assert "year-unknown" in page
    assert 'data-kind="work"' not in page
    assert 'data-years="2026"' in text(client.get("/manage/pool"))

    services.sync_calendar_from_package(frozen, years=[2026])
    db.session.commit()
    assert "calendar-missing" not in text(client.get("/manage/calendar?year=2026"))
    assert "calendar-missing" not in text(client.get("/manage/pool"))
    later = text(client.get("/manage/calendar?year=2031"))
    assert "year-unknown" in later and "calendar-missing" not in later


def test_from_november_next_year_missing_is_announced(client, world, calendar_2026):  # type: ignore[no-untyped-def]
    with time_machine.travel(local(2026, 11, 2, 9, 30), tick=False):
        as_user(client, world.manager.username)
        assert 'data-years="2027"' in text(client.get("/manage/pool"))


def test_a_manager_marks_a_day_as_rest_and_open_deadlines_follow(client, world, calendar_2026):  # type: ignore[no-untyped-def]
    ticket = world.in_progress(NOW)
    db.session.commit()
    before = reload(ticket).resolve_due_at
    as_user(client, world.manager.username)
    response = post_form(
        client,
        "/manage/calendar?year=2026",
        "/manage/calendar/day?year=2026",
        {"day": "2026-06-17", "kind": "rest", "note": "大楼停电检修"},
    )
    assert response.status_code == 302 and response.location.endswith("/manage/calendar?year=2026")
    row = db.session.get(CalendarDay, date(2026, 6, 17))
    assert row is not None and not row.is_workday and row.source == DaySource.OVERRIDE
    assert row.note == "大楼停电检修"
    page = text(client.get(response.location))
    assert "alert-success" in page
    assert re.search(r'class="cal-rest cal-holiday cal-override" data-day="2026-06-17"', page)
    assert before is not None and reload(ticket).resolve_due_at > before  # a working day fewer


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"day": "2026-13-40", "kind": "rest"}, "day", "Enter a date like 2026-10-01."),
        ({"day": "", "kind": "rest"}, "day", "Enter a date like 2026-10-01."),
        ({"day": "2026-06-17", "kind": ""}, "kind", "Choose working day or rest day."),
        ({"day": "2031-03-02", "kind": "rest"}, "day", "The calendar has no 2031 yet: enter the year first."),
    ],
)
def test_a_bad_day_is_refused_next_to_its_field_and_nothing_is_saved(  # type: ignore[no-untyped-def]
    client, world, calendar_2026, data, field, message
):
    as_user(client, world.manager.username)
    response = post_form(client, "/manage/calendar", "/manage/calendar/day", data)
    assert response.status_code == 400
    assert field_errors(text(response), field) == [message]
    assert db.session.get(CalendarDay, date(2026, 6, 17)).is_workday  # type: ignore[union-attr]
    assert not db.session.scalar(select(func.count()).where(CalendarDay.source == DaySource.OVERRIDE))


def test_working_hours_are_set_through_the_form_and_bad_ones_refused(client, world, calendar_2026):  # type: ignore[no-untyped-def]
    as_user(client, world.manager.username)
    bad = post_form(
        client, "/manage/calendar", "/manage/calendar/hours", {"hours": "09:00-12:00,11:00-17:00"}
    )
    assert bad.status_code == 400
    assert field_errors(text(bad), "hours") == ["“11:00-17:00” overlaps the period before it."]
    assert 'value="09:00-12:00,11:00-17:00"' in text(bad)  # what was typed stays in the box
    assert db.session.get(Setting, "working_hours") is None

    good = post_form(
        client, "/manage/calendar", "/manage/calendar/hours", {"hours": "08:30-12:00, 13:00-17:00"}
    )
    assert good.status_code == 302
    assert current_calendar().minutes_per_day == 210 + 240
    assert "08:30-12:00,13:00-17:00" in text(client.get("/manage/calendar"))


def test_a_year_the_package_does_not_know_is_entered_through_the_form(client, world, calendar_2026):  # type: ignore[no-untyped-def]
    as_user(client, world.manager.username)
    bad = post_form(
        client, "/manage/calendar?year=2031", "/manage/calendar/year?year=2031", {"year": "twenty"}
    )
    assert bad.status_code == 400
    assert field_errors(text(bad), "year") == ["Enter a whole number."]
    assert not db.session.scalar(select(func.count()).where(CalendarDay.day >= date(2031, 1, 1)))

    done = post_form(
        client, "/manage/calendar?year=2031", "/manage/calendar/year?year=2031", {"year": "2031"}
    )
    assert done.status_code == 302 and done.location.endswith("/manage/calendar?year=2031")
    page = text(client.get(done.location))
    assert "year-unknown" not in page
    assert "entered as Monday to Friday" in page
    cells = dict(re.findall(r'data-day="(\d{4}-\d\d-\d\d)" data-kind="(\w*)"', page))
    # Entered Monday to Friday for the manager to correct: New Year's Day (a Wednesday) is a working day.
    assert cells["2031-01-01"] == "work" and cells["2031-01-04"] == "rest"
    assert len(cells) == 365

    again = post_form(
        client, "/manage/calendar?year=2031", "/manage/calendar/year?year=2031", {"year": "2031"}
    )
    assert again.status_code == 302
    assert "The calendar already has 2031" in text(client.get(again.location))


def test_a_year_the_package_knows_is_loaded_with_its_holidays(client, world, calendar_2026):  # type: ignore[no-untyped-def]
    as_user(client, world.manager.username)
    done = post_form(
        client, "/manage/calendar?year=2025", "/manage/calendar/year?year=2025", {"year": "2025"}
    )
    page = text(client.get(done.location))
    assert "loaded from the official holiday schedule" in page
    assert "entered as Monday to Friday" not in page
    cells = dict(re.findall(r'data-day="(\d{4}-\d\d-\d\d)" data-kind="(\w*)"', page))
    assert cells["2025-01-01"] == "holiday"  # New Year's Day, a Wednesday


# --------------------------------------------------------------------------- categories and clocks


def test_a_manager_edits_a_categorys_clocks(client, world, calendar_2026):  # type: ignore[no-untyped-def]
    as_user(client, world.manager.username)
    listing = text(client.get("/manage/categories"))
    assert f'id="category-{world.category.id}"' in listing
    url = f"/manage/categories/{world.category.id}"
    form = text(client.get(url))
    assert 'value="120"' in form and 'value="5"' in form  # the current values to start from

    response = post_form(
        client,
        url,
        url,
        {
            "acknowledge_minutes": "240",
            "acknowledge_minutes_urgent": "60",
            "resolve_days": "10",
            "resolve_days_urgent": "2",
        },
    )
    assert response.status_code == 302 and response.location.endswith("/manage/categories")
    db.session.expire_all()
    category = db.session.get(Category, world.category.id)
    assert category is not None
    assert (category.acknowledge_minutes, category.acknowledge_minutes_urgent) == (240, 60)
    assert (category.resolve_days, category.resolve_days_urgent) == (10, 2)
    row = re.search(
        rf'<tr id="category-{category.id}">.*?</tr>', text(client.get("/manage/categories")), re.S
    )
    assert row and '<td class="text-end" data-clock="resolve_days">10</td>' in row.group(0)


def test_bad_clock_values_are_shown_next_to_their_fields_and_nothing_is_saved(client, world, calendar_2026):  # type: ignore[no-untyped-def]
    as_user(client, world.manager.username)
    url = f"/manage/categories/{world.category.id}"
    response = post_form(
        client,
        url,
        url,
        {
            "acknowledge_minutes": "two hours",
            "acknowledge_minutes_urgent": "30",
            "resolve_days": "3",
            "resolve_days_urgent": "4",
        },
    )
    assert response.status_code == 400
    page = text(response)
    assert field_errors(page, "acknowledge_minutes") == ["Enter a whole number."]
    assert field_errors(page, "resolve_days_urgent") == [
        "The urgent limit may not be longer than the normal one."
    ]
    assert field_errors(page, "resolve_days") == []
    assert 'value="two hours"' in page
    db.session.expire_all()
    category = db.session.get(Category, world.category.id)
    assert category is not None and (category.acknowledge_minutes, category.resolve_days) == (120, 5)
    assert client.get("/manage/categories/99999").status_code == 404


# --------------------------------------------------------------------------- extensions (延期)


def test_extension_requested_by_the_assignee_and_approved_by_a_manager_moves_the_deadline(  # type: ignore[no-untyped-def]
    client, world, calendar_2026
):
    ticket = world.in_progress(NOW)
    db.session.commit()
    due = reload(ticket).resolve_due_at
    assert due is not None
    detail = f"/tickets/{ticket.number}"

    as_user(client, world.liaison.username)
    page = text(client.get(detail))
    assert 'id="action-extend"' in page
    bad = post_form(client, detail, f"{detail}/extend", {"working_days": "", "reason": ""})
    assert bad.status_code == 400
    assert field_errors(text(bad), "working_days") == ["Enter a whole number."]
    assert field_errors(text(bad), "reason") == ["This field is required."]
    assert not db.session.scalar(select(func.count(Extension.id)))

    asked = post_form(
        client, detail, f"{detail}/extend", {"working_days": "3", "reason": "需协调区住建委现场勘查"}
    )
    assert asked.status_code == 302 and asked.location.endswith(detail)
    page = text(client.get(detail))
    assert "alert-success" in page
    assert 'id="action-extend"' not in page  # one request at a time
    extension = db.session.scalars(select(Extension)).one()
    assert extension.state == ExtensionState.PENDING and extension.days == 3

    other = browser(client, world.other_liaison.username)
    assert other.get(detail).status_code == 404  # another building's liaison does not even see it
    sneaked = post_form(
        other, "/workbench/", f"/manage/extensions/{extension.id}/decision", {"approve": "true"}
    )
    assert sneaked.status_code == 403

    manager = browser(client, world.manager.username)
    listing = text(manager.get("/manage/extensions"))
    assert f'id="extension-{extension.id}"' in listing and "需协调区住建委现场勘查" in listing
    decide = f"/manage/extensions/{extension.id}/decision"
    refused_without_note = post_form(manager, "/manage/extensions", decide, {"approve": "false", "note": ""})
    assert refused_without_note.status_code == 400
    assert field_errors(text(refused_without_note), "note") == ["This field is required."]
    assert reload(ticket).resolve_due_at == due

    on_ticket = text(manager.get(detail))
    assert 'id="action-decide_extension"' in on_ticket and "extension-pending" in on_ticket
    assert 'id="decide_extension-note"' in on_ticket
    on_page = f"{detail}/decide_extension"
    no_choice = post_form(manager, detail, on_page, {"note": "?"})
    assert no_choice.status_code == 400
    assert field_errors(text(no_choice), "approve") == ["Choose approve or refuse."]
    assert ticket.number in text(no_choice)  # the request's page again, with the error in place

    approved = post_form(manager, detail, on_page, {"approve": "true", "note": "同意"})
    assert approved.status_code == 302 and approved.location.endswith(detail)
    moved = reload(ticket).resolve_due_at
    assert moved == current_calendar().add_working_days(due, 3)
    db.session.expire_all()
    assert db.session.get(Extension, extension.id).state == ExtensionState.APPROVED  # type: ignore[union-attr]
    assert db.session.scalar(
        select(func.count()).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.EXTENSION_APPROVED
        )
    )
    page = text(manager.get(detail))
    assert "extension-pending" not in page
    assert moved.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") in page
    assert "No extension is waiting" in text(manager.get("/manage/extensions"))


def test_a_refused_extension_leaves_the_deadline_alone(client, world, calendar_2026):  # type: ignore[no-untyped-def]
    ticket = world.in_progress(NOW)
    db.session.commit()
    due = reload(ticket).resolve_due_at
    detail = f"/tickets/{ticket.number}"
    as_user(client, world.liaison.username)
    post_form(client, detail, f"{detail}/extend", {"working_days": "2", "reason": "等待企业补充材料"})
    extension = db.session.scalars(select(Extension)).one()

    manager = browser(client, world.manager.username)
    response = post_form(
        manager,
        "/manage/extensions",
        f"/manage/extensions/{extension.id}/decision",
        {"approve": "false", "note": "材料已齐，请按期办结"},
    )
    assert response.status_code == 302 and response.location.endswith("/manage/extensions")
    db.session.expire_all()
    assert db.session.get(Extension, extension.id).state == ExtensionState.REFUSED  # type: ignore[union-attr]
    assert reload(ticket).resolve_due_at == due
    again = post_form(
        manager, "/manage/extensions", f"/manage/extensions/{extension.id}/decision", {"approve": "true"}
    )
    assert again.status_code == 302
    assert "already been decided" in text(manager.get(again.location))
    assert reload(ticket).resolve_due_at == due


# --------------------------------------------------------------------------- lights and the overdue board


@pytest.fixture
def three_clocks(world, calendar_2026):  # type: ignore[no-untyped-def]
    """Green, yellow and red requests at NOW (Tuesday 10:00), on the 09:00-12:00, 13:30-17:30 day."""
    monday = local(2026, 6, 15, 9, 0)
    green = on_clock(world, NOW, current_calendar().add_working_days(NOW, 5))
    # 9 working hours in all, 8 used: 89 %, one working hour left.
    yellow = on_clock(world, monday, local(2026, 6, 16, 11, 0))
    # Due Monday 17:00: late by Monday's last half hour and Tuesday's first hour.
    red = on_clock(world, monday, local(2026, 6, 15, 17, 0))
    red.escalation_level = 1
    db.session.commit()
    return green, yellow, red


def test_the_workbench_shows_green_yellow_and_red_lights(client, world, three_clocks):  # type: ignore[no-untyped-def]
    green, yellow, red = three_clocks
    as_user(client, world.liaison.username)
    page = text(client.get("/workbench/"))
    assert light_of(list_row(page, green.number)) == ("green", "5.0 working days left")
    assert light_of(list_row(page, yellow.number)) == ("yellow", "1.0 working hours left")
    assert light_of(list_row(page, red.number)) == ("red", "overdue by 1.5 working hours")

    detail = text(client.get(f"/tickets/{red.number}"))
    assert light_of(detail) == ("red", "overdue by 1.5 working hours")
    assert "due 2026-06-15 17:00" in detail  # the deadline in Beijing time

    manager = browser(client, world.manager.username)
    assert light_of(list_row(text(manager.get("/manage/tickets")), yellow.number)) == (
        "yellow",
        "1.0 working hours left",
    )


def test_the_enterprise_does_not_see_the_lights(client, world, three_clocks):  # type: ignore[no-untyped-def]
    as_user(client, world.contact.username)
    assert "clock-light" not in text(client.get("/portal/"))
    assert "clock-light" not in text(client.get(f"/tickets/{three_clocks[2].number}"))


def test_the_overdue_board_lists_late_requests_not_on_time_ones(client, world, three_clocks):  # type: ignore[no-untyped-def]
    green, yellow, red = three_clocks
    late_ack = world.submit(local(2026, 6, 15, 9, 0))
    late_ack.state = TicketState.ASSIGNED
    late_ack.assignee_id = world.other_liaison.id
    late_ack.assigned_at = local(2026, 6, 15, 9, 0)
    late_ack.acknowledge_due_at = local(2026, 6, 15, 11, 0)  # later than red's deadline: less late
    db.session.commit()

    as_user(client, world.manager.username)
    page = text(client.get("/manage/overdue"))
    assert f'id="overdue-{red.number}"' in page and f'id="overdue-{late_ack.number}"' in page
    assert f'id="overdue-{green.number}"' not in page and f'id="overdue-{yellow.number}"' not in page
    assert page.index(f'id="overdue-{late_ack.number}"') < page.index(f'id="overdue-{red.number}"')
    row = re.search(rf'<tr id="overdue-{red.number}">.*?</tr>', page, re.S)
    assert row
    assert 'data-level="1"' in row.group(0) and world.liaison.name in row.group(0)
    assert world.building.name in row.group(0) and "overdue by 1.5 working hours" in row.group(0)

    approaching = text(client.get("/manage/overdue?show=yellow"))
    assert f'id="overdue-{yellow.number}"' in approaching
    assert (
        f'id="overdue-{green.number}"' not in approaching and f'id="overdue-{red.number}"' not in approaching
    )
