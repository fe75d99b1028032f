"""The field work's pages (issue 12) through the test client, with real forms and CSRF tokens: scheduling a
meeting, the invited enterprise's answer and question, the minutes' rows all or nothing (each message at its
row), the follow-up agenda, the calendar feed with its signed key, who gets a 404, and a visit.

The calendar of 2026 is loaded; the clock is frozen on Tuesday 3 March 2026, 10:00 in Shanghai, a week
before a tea meeting at 08:30 on Tuesday 10 March, and moved to that morning for its minutes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import func, select

from hotline.auth import services as accounts
from hotline.auth.models import User
from hotline.extensions import db
from hotline.meetings import services
from hotline.meetings.models import (
    InvitationResponse,
    Meeting,
    MeetingQuestion,
    MeetingState,
    TicketOrigin,
    Visit,
)
from hotline.notifications.models import Notification, NotificationKind
from hotline.routing.services import route_ticket
from hotline.sla import services as sla
from hotline.tickets.models import Channel, Ticket, TicketState
from hotline.timeutil import local
from tests import factories
from tests.factories import World
from tests.functional.html import field_errors
from tests.functional.test_hostile_input import like_postgres  # noqa: F401  (a fixture, used by name)
from tests.helpers import csrf_token, login

SCHEDULED = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # Tuesday 3 March, 10:00 in Shanghai
STARTS = datetime(2026, 3, 10, 0, 30, tzinfo=UTC)  # Tuesday 10 March, 08:30 in Shanghai
AFTER = STARTS + timedelta(hours=2)
REQUIRED = "This field is required."
BAD_PHONE = "Enter a phone number of 7 to 20 digits (a leading + and dashes allowed)."


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


@pytest.fixture
def clock(world: World) -> Iterator[time_machine.Traveller]:
    with time_machine.travel(SCHEDULED, tick=False) as traveller:
        sla.sync_calendar_from_package(SCHEDULED, years=[2026])
        db.session.commit()
        yield traveller


def as_user(client: FlaskClient, user: User) -> FlaskClient:
    """Logged in (again: a login lasts 8 hours, the clock moves on a week) and reading English."""
    client.delete_cookie("session")
    login(client, user.username)
    client.get("/lang/en")
    return client


def submit(client: FlaskClient, page_url: str, action_url: str, data: dict[str, Any]) -> Any:
    """The form of ``page_url`` sent to ``action_url`` with its CSRF token and one-time token (if any)."""
    page = text(client.get(page_url))
    payload = dict(data)
    payload["csrf_token"] = csrf_token(page)
    token = re.search(r'name="submission_token" type="hidden" value="([^"]+)"', page)
    if token and "submission_token" not in payload:
        payload["submission_token"] = token.group(1)
    return client.post(action_url, data=payload)


def schedule(world: World, **values: Any) -> Meeting:
    base: dict[str, Any] = {
        "kind": "tea_meeting",
        "title": "三月政企早茶会",
        "starts_at": "2026-03-10 08:30",
        "place": "大厦一楼会议室",
        "buildings": [world.building.id],
        "invite_buildings": [world.building.id],
    }
    base.update(values)
    meeting = services.schedule_meeting(world.liaison, SCHEDULED, base)
    db.session.commit()
    return meeting


def row(world: World, n: int, enterprise: Any = None, **values: str) -> dict[str, str]:
    fields = {
        "enterprise_uscc": (enterprise or world.enterprise).uscc,
        "category": world.category.code,
        "title": "园区道路照明不足",
        "description": "晚上下班时园区道路太暗。",
        "contact_phone": "13800138000",
        "urgency": "normal",
        "answer": "",
    }
    fields.update(values)
    return {f"items-{n}-{name}": value for name, value in fields.items()}


def count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


# --------------------------------------------------------------------------- scheduling


def test_a_liaison_schedules_a_meeting_through_the_form_and_a_refused_one_says_why_at_its_fields(
    client: FlaskClient, world: World, clock: time_machine.Traveller
) -> None:
    second = factories.enterprise(world.building, name="乙方科技有限公司")
    db.session.commit()
    as_user(client, world.liaison)
    home = text(client.get("/meetings/"))
    assert 'href="/meetings/"' in home and 'href="/visits/new"' in home  # in the navigation
    page = text(client.get("/meetings/new"))
    assert f'value="{world.building.id}"' in page  # its building, ticked (its only one)
    assert second.name in page and world.other_enterprise.name not in page  # its enterprises only

    refused = submit(
        client,
        "/meetings/new",
        "/meetings/new",
        {"kind": "tea_meeting", "title": "", "starts_at": "next tuesday", "place": "会议室A"},
    )
    assert refused.status_code == 400
    html = text(refused)
    assert field_errors(html, "title") == [REQUIRED]
    assert field_errors(html, "starts_at") == ["Give the time as YYYY-MM-DD HH:MM."]
    assert field_errors(html, "buildings") == ["Choose the buildings the meeting serves, or a street."]
    assert 'value="会议室A"' in html  # what was typed stays
    assert count(Meeting) == 0

    done = submit(
        client,
        "/meetings/new",
        "/meetings/new",
        {
            "kind": "roundtable",
            "title": "三月恳谈会",
            "starts_at": "2026-03-10T08:30",
            "place": "大厦一楼会议室",
            "buildings": [str(world.building.id)],
            "invite": [world.enterprise.uscc],
            "departments": [world.department.code],
        },
    )
    assert done.status_code == 302
    meeting = db.session.scalars(select(Meeting)).one()
    assert done.headers["Location"].endswith(f"/meetings/{meeting.id}")
    detail = text(client.get(f"/meetings/{meeting.id}"))
    assert "三月恳谈会" in detail and "Roundtable" in detail
    assert "2026-03-10 08:30–10:00" in detail  # Shanghai time, 90 minutes by default
    assert world.department.name_en in detail  # its English name: the page is in English
    assert f'id="invitation-{world.enterprise.uscc}"' in detail
    assert f'id="invitation-{second.uscc}"' not in detail  # not ticked: not invited
    listed = text(client.get("/meetings/"))
    assert f'id="meeting-{meeting.id}"' in listed
    told = db.session.scalars(
        select(Notification.user_id).where(Notification.kind == NotificationKind.MEETING_INVITED)
    ).all()
    assert told == [world.contact.id]

    as_user(client, world.department_user)  # its department attends: it sees the meeting
    assert f'id="meeting-{meeting.id}"' in text(client.get("/meetings/"))
    assert client.get(f"/meetings/{meeting.id}").status_code == 200
    assert client.get(f"/meetings/{meeting.id}/edit").status_code == 403


def test_a_manager_schedules_a_street_meeting_hosted_by_a_liaison(
    client: FlaskClient, world: World, clock: time_machine.Traveller
) -> None:
    as_user(client, world.manager)
    page = text(client.get("/meetings/new"))
    assert f'value="{world.street.code}"' in page and f'value="{world.liaison.username}"' in page
    done = submit(
        client,
        "/meetings/new",
        "/meetings/new",
        {
            "kind": "tea_meeting",
            "title": "街道政企早茶会",
            "starts_at": "2026-03-10T08:30",
            "place": "街道会议中心",
            "street": world.street.code,
            "host": world.liaison.username,
            "invite": [world.enterprise.uscc, world.other_enterprise.uscc],
        },
    )
    assert done.status_code == 302
    meeting = db.session.scalars(select(Meeting)).one()
    assert meeting.host_id == world.liaison.id and meeting.street_id == world.street.id
    assert {b.street_id for b in meeting.buildings} == {world.street.id} and len(meeting.buildings) == 3
    as_user(client, world.liaison)  # its host sees it and may record its minutes
    assert "街道政企早茶会" in text(client.get("/meetings/"))


def test_the_host_changes_the_place_and_cancels_only_when_it_confirms(
    client: FlaskClient, world: World, clock: time_machine.Traveller
) -> None:
    meeting = schedule(world)
    as_user(client, world.liaison)
    url = f"/meetings/{meeting.id}"
    changed = submit(
        client,
        f"{url}/edit",
        f"{url}/edit",
        {
            "title": meeting.title,
            "starts_at": "2026-03-10T08:30",
            "ends_at": "2026-03-10T10:00",
            "place": "大厦二楼多功能厅",
        },
    )
    assert changed.status_code == 302
    assert "大厦二楼多功能厅" in text(client.get(url))
    kinds = db.session.scalars(
        select(Notification.kind).where(Notification.user_id == world.contact.id).order_by(Notification.id)
    ).all()
    assert kinds == [NotificationKind.MEETING_INVITED, NotificationKind.MEETING_MOVED]

    kept = submit(client, url, f"{url}/cancel", {})
    assert kept.status_code == 302
    assert "Tick the box to confirm" in text(client.get(url))
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).state == MeetingState.SCHEDULED  # type: ignore[union-attr]
    submit(client, url, f"{url}/cancel", {"confirm": "y"})
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).state == MeetingState.CANCELLED  # type: ignore[union-attr]

    as_user(client, world.contact)  # a cancelled meeting leaves the enterprise's portal
    assert client.get(url).status_code == 404
    notifications = text(client.get("/notifications/"))
    cancelled = db.session.scalars(
        select(Notification.id).where(
            Notification.user_id == world.contact.id, Notification.kind == NotificationKind.MEETING_CANCELLED
        )
    ).one()
    opened = client.post(f"/notifications/{cancelled}/read", data={"csrf_token": csrf_token(notifications)})
    assert opened.headers["Location"].endswith("/notifications/")
    assert "You can no longer see this meeting." in text(client.get("/notifications/"))


# --------------------------------------------------------------------------- the invited enterprise


def test_the_invited_enterprise_sees_its_invitation_confirms_and_sends_a_question(
    client: FlaskClient, world: World, clock: time_machine.Traveller
) -> None:
    meeting = schedule(world)
    url = f"/meetings/{meeting.id}"
    as_user(client, world.contact)
    listed = text(client.get("/meetings/"))
    assert f'id="meeting-{meeting.id}"' in listed and "No answer yet" in listed
    notifications = text(client.get("/notifications/"))
    assert "Open the meeting" in notifications
    [notification] = db.session.scalars(
        select(Notification.id).where(Notification.user_id == world.contact.id)
    )
    opened = client.post(
        f"/notifications/{notification}/read", data={"csrf_token": csrf_token(notifications)}
    )
    assert opened.headers["Location"].endswith(url)

    confirmed = submit(client, url, f"{url}/respond", {"response": "confirmed"})
    assert confirmed.status_code == 302
    page = text(client.get(url))
    assert "Will attend" in page

    refused = submit(
        client,
        url,
        f"{url}/questions",
        {"category": world.category.code, "title": "", "description": "流程？", "contact_phone": "12"},
    )
    assert refused.status_code == 400
    assert field_errors(text(refused), "title") == [REQUIRED]
    assert field_errors(text(refused), "contact_phone") == [BAD_PHONE]
    sent = submit(
        client,
        url,
        f"{url}/questions",
        {
            "category": world.category.code,
            "title": "人才公寓申请流程",
            "description": "想了解申请条件。",
            "contact_phone": "13800138000",
            "urgency": "normal",
        },
    )
    assert sent.status_code == 302
    assert "人才公寓申请流程" in text(client.get(url))
    assert count(Ticket) == 0  # a draft for the host, not a request yet

    as_user(client, world.other_contact)
    assert client.get(url).status_code == 404


# --------------------------------------------------------------------------- the minutes


def test_the_minutes_save_nothing_while_a_row_is_bad_then_file_every_row_once(
    client: FlaskClient, world: World, clock: time_machine.Traveller
) -> None:
    second = factories.enterprise(world.building, name="乙方科技有限公司")
    db.session.commit()
    meeting = schedule(world, invite=[world.enterprise.uscc], invite_buildings=[])
    question = services.ask_question(
        meeting.id,
        world.contact,
        SCHEDULED,
        {
            "category": world.category.code,
            "title": "人才公寓申请流程",
            "description": "想了解申请条件。",
            "contact_phone": "13800138000",
        },
    )
    db.session.commit()
    clock.move_to(AFTER)
    as_user(client, world.liaison)
    url = f"/meetings/{meeting.id}/minutes"
    page = text(client.get(url))
    assert 'value="人才公寓申请流程"' in page  # the question sent in advance, its row filled in
    assert f'name="items-0-question" type="hidden" value="{question.id}"' in page
    assert 'name="items-3-title"' in page  # and empty rows beneath
    assert 'name="items-__index__-title"' in page  # the row "add a row" copies, numbered by the script
    assert f'name="walk_ins" type="checkbox" value="{second.uscc}"' in page  # not invited: may walk in

    attendance = {
        "attended": [world.enterprise.uscc],
        "walk_ins": [second.uscc],
        "minutes": "交流了停车问题。",
    }
    rows = {
        **row(world, 0, title="人才公寓申请流程", question=str(question.id)),
        **{f"items-1-{name}": "" for name in ("enterprise_uscc", "title", "description", "contact_phone")},
        **row(world, 2, enterprise=second, title="", contact_phone="12"),
        **row(world, 3, title="招聘补贴", answer="现场答复：符合条件，下周可申报。"),
    }
    refused = submit(client, url, url, {**attendance, **rows})
    assert refused.status_code == 400
    html = text(refused)
    # the third row (the second filled one) is the bad one: its messages at its fields, none elsewhere
    assert field_errors(html, "items-2-title") == [REQUIRED]
    assert field_errors(html, "items-2-contact_phone") == [BAD_PHONE]
    assert field_errors(html, "items-0-title") == [] and field_errors(html, "items-3-title") == []
    assert "现场答复：符合条件，下周可申报。" in html  # what was typed stays
    assert count(Ticket) == 0 and count(TicketOrigin) == 0
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).state == MeetingState.SCHEDULED  # type: ignore[union-attr]

    token = re.search(r'name="submission_token" type="hidden" value="([^"]+)"', html)
    assert token, "the refused form keeps its one-time token"
    fixed = {**attendance, **rows, **row(world, 2, enterprise=second, title="电梯维修")}
    sent = {**fixed, "csrf_token": csrf_token(html), "submission_token": token.group(1)}
    done = client.post(url, data=sent)
    assert done.status_code == 302
    detail = text(client.get(f"/meetings/{meeting.id}"))
    assert "3 requests filed, 1 of them answered at the table" in detail
    filed = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert [t.title for t in filed] == ["人才公寓申请流程", "电梯维修", "招聘补贴"]
    assert [t.channel for t in filed] == [Channel.TEA_MEETING] * 3
    answered = filed[2]
    assert answered.state == TicketState.RESOLVED
    assert re.search(
        rf'id="raised-{answered.number}".*?Resolved, awaiting rating.*?Answered at the table', detail, re.S
    )
    assert detail.count("Answered at the table") == 1
    assert "交流了停车问题。" in detail
    db.session.expire_all()
    assert db.session.get(MeetingQuestion, question.id).ticket_id == filed[0].id  # type: ignore[union-attr]
    attended = {
        i.enterprise_id: (i.invited, i.attended) for i in db.session.get(Meeting, meeting.id).invitations
    }  # type: ignore[union-attr]
    assert attended == {world.enterprise.id: (True, True), second.id: (False, True)}

    again = client.post(url, data=sent)  # sent twice (back and resubmit): filed once
    assert again.status_code == 302
    assert "This form was already submitted" in text(client.get(f"/meetings/{meeting.id}"))
    assert count(Ticket) == 3


def test_the_agenda_of_the_next_meeting_lists_what_is_still_open(
    client: FlaskClient, world: World, clock: time_machine.Traveller
) -> None:
    first = schedule(world)
    clock.move_to(AFTER)
    filed = services.file_meeting_requests(
        first.id,
        world.liaison,
        AFTER,
        [
            {k.split("-", 2)[2]: v for k, v in row(world, 0, title=title, answer=answer).items()}
            for title, answer in (("停车难", ""), ("网络故障", ""), ("当场答复", "已答复"))
        ],
    )
    second = services.schedule_meeting(
        world.liaison,
        AFTER,
        {
            "kind": "tea_meeting",
            "title": "四月政企早茶会",
            "starts_at": "2026-04-14 08:30",
            "place": "大厦一楼会议室",
            "buildings": [world.building.id],
            "invite_buildings": [world.building.id],
        },
    )
    routed = route_ticket(filed[0].id, AFTER)  # assigned: its time to acknowledge runs
    db.session.commit()
    as_user(client, world.liaison)
    page = text(client.get(f"/meetings/{second.id}/agenda"))
    open_rows = re.findall(r'class="agenda-open" data-number="([^"]+)"', page)
    assert open_rows == [filed[0].number, filed[1].number]
    assert re.findall(r'class="agenda-resolved" data-number="([^"]+)"', page) == [filed[2].number]
    assert "Previous meeting: 三月政企早茶会 on 2026-03-10" in page
    assert "not rated yet" in page
    assert "css/agenda.css" in page and "data-print" in page  # the print stylesheet and button
    assert routed.liaison_id == world.liaison.id
    due = filed[0].acknowledge_due_at
    assert due is not None and f"acknowledge by {local(due):%Y-%m-%d %H:%M}" in page
    assert "Awaiting dispatch" in page  # the other one, not routed yet

    as_user(client, world.contact)
    assert client.get(f"/meetings/{second.id}/agenda").status_code == 403
    as_user(client, world.other_liaison)
    assert client.get(f"/meetings/{second.id}/agenda").status_code == 404


# --------------------------------------------------------------------------- the calendar feed


def test_the_calendar_feed_parses_with_its_key_and_is_refused_without(
    app: Any, client: FlaskClient, world: World, clock: time_machine.Traveller
) -> None:
    meeting = schedule(world)
    cancelled = schedule(world, title="取消的早茶会", starts_at="2026-03-12 08:30")
    services.update_meeting(cancelled.id, world.liaison, SCHEDULED, {"state": "cancelled"})
    db.session.commit()
    as_user(client, world.liaison)
    index = text(client.get("/meetings/"))
    found = re.search(r'value="(http://[^"]+/meetings\.ics\?key=[^"]+)"', index)
    assert found, "the index shows its owner the subscription link"
    feed_url = found.group(1).replace("&amp;", "&")
    logged_in = client.get("/meetings.ics")
    assert logged_in.status_code == 200

    phone = app.test_client()
    answer = phone.get(feed_url)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(answer.data)
    events = {str(e.get("uid")): e for e in calendar.walk("VEVENT")}
    assert set(events) == {f"meeting-{meeting.id}@127.0.0.1", f"meeting-{cancelled.id}@127.0.0.1"}
    event = events[f"meeting-{meeting.id}@127.0.0.1"]
    assert event.decoded("dtstart") == STARTS
    assert event.decoded("dtend") == STARTS + timedelta(minutes=90)
    assert str(event.get("location")) == "大厦一楼会议室"
    assert world.building.name in str(event.get("description"))
    assert str(events[f"meeting-{cancelled.id}@127.0.0.1"].get("status")) == "CANCELLED"

    assert phone.get("/meetings.ics").status_code == 404  # no key, not logged in
    assert phone.get(feed_url[:-3] + "xyz").status_code == 404  # a key tampered with
    assert phone.get("/meetings.ics?key=" + "9" * 5000).status_code == 404
    accounts.reset_password(world.liaison.username, "a-new-passphrase-42", SCHEDULED)
    db.session.commit()
    assert phone.get(feed_url).status_code == 404  # a new password revokes the link

    as_user(client, world.other_liaison)
    mine = Calendar.from_ical(client.get("/meetings.ics").data)
    assert mine.walk("VEVENT") == []  # another liaison's calendar holds none of them


# --------------------------------------------------------------------------- who sees what


def test_another_liaison_gets_a_404_and_hostile_ids_are_404_not_500(
    client: FlaskClient, world: World, clock: time_machine.Traveller
) -> None:
    meeting = schedule(world)
    as_user(client, world.other_liaison)
    for path in ("", "/edit", "/minutes", "/agenda"):
        assert client.get(f"/meetings/{meeting.id}{path}").status_code == 404, path
    as_user(client, world.liaison)
    for url in (
        "/meetings/99999999999999999999",
        f"/meetings/{2**63}",
        "/meetings/0",
        "/meetings/99999999999999999999/minutes",
        "/visits/99999999999999999999",
        "/visits/0",
    ):
        assert client.get(url).status_code == 404, url
    page = text(client.get(f"/meetings/{meeting.id}"))
    refused = client.post(
        "/meetings/99999999999999999999/cancel", data={"csrf_token": csrf_token(page), "confirm": "y"}
    )
    assert refused.status_code == 404


# --------------------------------------------------------------------------- visits


def test_a_visit_is_logged_with_a_request_all_or_nothing(
    client: FlaskClient, world: World, clock: time_machine.Traveller
) -> None:
    as_user(client, world.liaison)
    page = text(client.get(f"/visits/new?enterprise={world.enterprise.uscc}"))
    assert f'<option selected value="{world.enterprise.uscc}">' in page
    assert world.other_enterprise.name not in page  # not of its buildings
    visit = {"enterprise_uscc": world.enterprise.uscc, "visited_on": "2026-03-03", "met": "张总（总经理）"}
    # as a browser sends it: the first row left empty, the request in the second
    empty = {
        f"items-0-{name}": "" for name in ("category", "title", "description", "contact_phone", "answer")
    }
    request = {
        k.replace("items-0-", "items-1-"): v for k, v in row(world, 0).items() if "enterprise" not in k
    }
    request.update(empty)
    refused = submit(
        client, "/visits/new", "/visits/new", {**visit, **request, "items-1-contact_phone": "12"}
    )
    assert refused.status_code == 400
    assert field_errors(text(refused), "items-1-contact_phone") == [BAD_PHONE]
    assert count(Visit) == 0 and count(Ticket) == 0

    done = submit(client, "/visits/new", "/visits/new", {**visit, **request, "notes": "了解了扩租需求。"})
    assert done.status_code == 302
    logged = db.session.scalars(select(Visit)).one()
    assert done.headers["Location"].endswith(f"/visits/{logged.id}")
    [ticket] = db.session.scalars(select(Ticket)).all()
    assert ticket.channel == Channel.VISIT
    shown = text(client.get(f"/visits/{logged.id}"))
    assert "张总（总经理）" in shown and ticket.number in shown
    assert f'id="visit-{logged.id}"' in text(client.get("/visits/"))

    as_user(client, world.other_liaison)
    assert client.get(f"/visits/{logged.id}").status_code == 404
    as_user(client, world.contact)
    assert client.get("/visits/new").status_code == 403


def test_a_response_is_not_taken_once_the_meeting_has_begun(
    client: FlaskClient, world: World, clock: time_machine.Traveller
) -> None:
    meeting = schedule(world)
    url = f"/meetings/{meeting.id}"
    clock.move_to(AFTER)
    as_user(client, world.contact)
    page = text(client.get(url))
    assert "We cannot attend" not in page and "Send a question in advance" not in page
    late = client.post(f"{url}/respond", data={"csrf_token": csrf_token(page), "response": "declined"})
    assert late.status_code == 302
    assert "The meeting has begun" in text(client.get(url))
    db.session.expire_all()
    [invitation] = db.session.get(Meeting, meeting.id).invitations  # type: ignore[union-attr]
    assert invitation.response == InvitationResponse.PENDING


HOSTILE = ["9" * 20, str(2**63), "-1", "x" * 4_000, "2026-02-30T25:61", "%FF", "<script>"]


@pytest.mark.usefixtures("like_postgres")
def test_hostile_values_in_every_form_are_refused_never_a_500(
    client: FlaskClient, world: World, clock: time_machine.Traveller
) -> None:
    meeting = schedule(world)
    url = f"/meetings/{meeting.id}"
    names = {
        "kind", "title", "starts_at", "ends_at", "place", "description", "buildings", "street", "host",
        "departments", "invite", "invite_buildings", "uninvite", "response", "attended", "walk_ins",
        "minutes", "enterprise_uscc", "visited_on", "met", "notes", "submission_token", "category",
        "contact_phone", "urgency", "invite_codes", "action",
    }  # fmt: skip
    row_names = ("enterprise_uscc", "category", "title", "description", "contact_phone", "urgency", "answer")

    def send(pages: list[str]) -> None:
        token = csrf_token(text(client.get("/meetings/")))
        for value in HOSTILE:
            fields: dict[str, Any] = dict.fromkeys(names, value)
            fields.update({f"items-{n}-{name}": value for n in (0, 7, 10**20) for name in row_names})
            fields.update({"items-0-question": value, "items-1-question": "1", "csrf_token": token})
            for page in pages:
                answer = client.post(page, data=fields)
                assert answer.status_code < 500, (page, value[:20], text(answer)[:300])
                assert answer.status_code in (302, 400), (page, value[:20], answer.status_code)

    as_user(client, world.contact)  # before the meeting: answers and questions are taken
    send([f"{url}/respond", f"{url}/questions"])
    clock.move_to(AFTER)  # after its start: the minutes are
    as_user(client, world.liaison)
    send(["/meetings/new", f"{url}/edit", f"{url}/minutes", "/visits/new"])
    assert count(Ticket) == 0 and count(Visit) == 0
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).state == MeetingState.SCHEDULED  # type: ignore[union-attr]
    assert client.get(f"/meetings.ics?key={HOSTILE[3]}").status_code == 404


def test_the_portal_lists_coming_invitations_and_a_request_names_its_meeting(
    client: FlaskClient, world: World, clock: time_machine.Traveller
) -> None:
    meeting = services.schedule_meeting(
        world.liaison,
        SCHEDULED,
        {
            "kind": "tea_meeting",
            "title": "三月政企早茶会",
            "starts_at": "2026-03-10 08:30",
            "place": "大厦一楼会议室",
            "buildings": [world.building.id],
            "invite_buildings": [world.building.id],
        },
    )
    db.session.commit()
    page = text(as_user(client, world.contact).get("/portal/"))
    assert "Meetings you are invited to" in page and "三月政企早茶会" in page and "No answer yet" in page
    assert "三月政企早茶会" not in text(as_user(client, world.other_contact).get("/portal/"))

    clock.move_to(AFTER)
    item = {
        "enterprise_uscc": world.enterprise.uscc,
        "category": world.category.code,
        "title": "园区道路照明不足",
        "description": "晚上下班时园区道路太暗。",
        "contact_phone": "13800138000",
        "answer": "已安排物业今晚加装路灯。",
    }
    [ticket] = services.file_meeting_requests(meeting.id, world.liaison, AFTER, [item])
    db.session.commit()
    detail = text(as_user(client, world.contact).get(f"/tickets/{ticket.number}"))
    assert "三月政企早茶会" in detail and "Answered on the spot" in detail
    assert f'href="/meetings/{meeting.id}"' in detail
    # the meeting has begun: it is no longer among the invitations still to come
    assert "Meetings you are invited to" not in text(client.get("/portal/"))
    plain = world.submit(AFTER)
    db.session.commit()
    assert "ticket-origin" not in text(client.get(f"/tickets/{plain.number}"))


def _selects_of(client: FlaskClient, path: str) -> int:
    from sqlalchemy import event

    seen: list[str] = []

    def remember(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        response = client.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    assert response.status_code == 200, path
    return len(seen)


def test_a_meetings_pages_read_its_invitations_in_a_few_statements_however_many(
    client: FlaskClient, world: World, clock: time_machine.Traveller
) -> None:
    def meeting_of(count: int) -> Meeting:
        building = factories.building(world.street)
        db.session.add(
            factories.Coverage(liaison_id=world.liaison.id, building_id=building.id, role="deputy")
        )
        for _k in range(count):
            factories.enterprise(building)
        return services.schedule_meeting(
            world.liaison,
            SCHEDULED,
            {
                "kind": "tea_meeting",
                "title": f"{count} 家企业的早茶会",
                "starts_at": "2026-03-10 08:30",
                "place": "一楼",
                "buildings": [building.id],
                "invite_buildings": [building.id],
            },
        )

    small, large = meeting_of(3), meeting_of(30)
    db.session.commit()
    as_user(client, world.liaison)
    for page in ("", "/agenda", "/edit"):
        assert _selects_of(client, f"/meetings/{small.id}{page}") == _selects_of(
            client, f"/meetings/{large.id}{page}"
        ), page
