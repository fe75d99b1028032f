"""Entering next year from the State Council notice through the calendar pages (issue 11, point 7): the
form, its preview as month grids, saving, errors next to the field, CSRF.

Time is frozen on Thursday 3 December 2026, 10:00 in Shanghai: chinese-calendar does not know 2027.
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
from hotline.sla.calendar import current_calendar, year_is_known
from hotline.sla.models import CalendarDay
from tests.factories import World
from tests.functional.html import field_errors
from tests.helpers import csrf_token, login

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
NOTICE = "元旦 1月1日–3日; 春节 2月6日–14日 休, 2月20日 上班\n国庆节 10月1日至7日 休，9月26日、10月9日 上班"
PAGE = "/manage/calendar/notice"


@pytest.fixture
def frozen() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def manager(client: FlaskClient, world: World, frozen: datetime) -> FlaskClient:
    services.sync_calendar_from_package(frozen, years=[2026])
    db.session.commit()
    login(client, world.manager.username)
    return client


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def submit(client: FlaskClient, data: dict[str, str]):  # type: ignore[no-untyped-def]
    page = client.get(PAGE)
    assert page.status_code == 200
    return client.post(PAGE, data={**data, "csrf_token": csrf_token(text(page))})


def cell(html: str, day: str) -> str:
    match = re.search(rf'<td class="([^"]*)" data-day="{day}"[^>]*>', html)
    assert match, f"no cell for {day}"
    return match.group(0)


def days_2027() -> int:
    return int(
        db.session.scalar(
            select(func.count()).where(CalendarDay.day.between(date(2027, 1, 1), date(2027, 12, 31)))
        )
        or 0
    )


def test_the_calendar_page_links_to_the_notice_form_for_next_year(manager: FlaskClient):
    page = text(manager.get("/manage/calendar?year=2026"))
    assert 'href="/manage/calendar/notice?year=2027"' in page
    form = text(manager.get("/manage/calendar/notice?year=2027"))
    assert 'name="year"' in form and 'value="2027"' in form and 'name="text"' in form
    assert "save-notice" not in form  # no saving before a preview


def test_a_preview_shows_the_year_as_month_grids_and_saves_nothing(manager: FlaskClient):
    response = submit(manager, {"year": "2027", "text": NOTICE, "action": "preview"})
    assert response.status_code == 200
    page = text(response)
    assert 'data-kind="holiday"' in cell(page, "2027-02-08")  # a Monday of 春节
    assert 'data-kind="makeup"' in cell(page, "2027-02-20")  # a Saturday worked
    assert 'data-kind="work"' in cell(page, "2027-03-01")
    assert 'data-kind="rest"' in cell(page, "2027-03-06")
    assert 'title="春节 调休上班"' in cell(page, "2027-02-20")
    assert page.count("calendar-month") == 12
    assert "save-notice" in page and "year-new" in page
    assert NOTICE.split("\n")[0] in page  # the text stays in the form
    assert not year_is_known(2027)


def test_saving_enters_the_year_and_the_calendar_shows_it(manager: FlaskClient):
    response = submit(manager, {"year": "2027", "text": NOTICE, "action": "save"})
    assert response.status_code == 302 and response.location.endswith("/manage/calendar?year=2027")
    assert days_2027() == 365
    assert current_calendar().is_workday(date(2027, 10, 4)) is False
    assert current_calendar().is_workday(date(2027, 10, 9)) is True
    calendar = text(manager.get(response.location))
    assert "year-unknown" not in calendar
    assert 'data-kind="makeup"' in cell(calendar, "2027-09-26")


def test_a_preview_of_a_stored_year_marks_what_changes(manager: FlaskClient, world: World, frozen: datetime):
    services.enter_notice(2027, NOTICE, world.manager, frozen)
    db.session.commit()
    moved = NOTICE.replace("9月26日、", "")
    page = text(submit(manager, {"year": "2027", "text": moved, "action": "preview"}))
    assert "cal-changed" in cell(page, "2027-09-26") and 'data-changed="1"' in cell(page, "2027-09-26")
    assert "cal-changed" not in cell(page, "2027-10-09")
    assert page.count('data-changed="1"') == 1
    assert 'data-day="2027-09-26"' in page.split("notice-changes", 1)[1]  # listed above the grids


@pytest.mark.parametrize(
    ("data", "field", "expected"),
    [
        ({"year": "2027", "text": "元旦 1月1日–3日\n春节 2月30日 休"}, "text", "Line 2"),
        ({"year": "2027", "text": "国庆 十月一日"}, "text", "十月一日"),
        ({"year": "2027", "text": ""}, "text", ""),
        ({"year": "twenty", "text": NOTICE}, "year", ""),
        ({"year": "99999999999999999999999", "text": NOTICE}, "year", ""),
        ({"year": "2027", "text": "元旦 1月1日\n" * 300}, "text", ""),
    ],
)
@pytest.mark.parametrize("action", ["preview", "save"])
def test_a_line_that_cannot_be_read_is_shown_next_to_the_field_and_nothing_is_saved(
    manager: FlaskClient, data: dict[str, str], field: str, expected: str, action: str
):
    manager.get("/lang/en")
    response = submit(manager, {**data, "action": action})
    assert response.status_code == 400
    errors = field_errors(text(response), field)
    assert errors and expected in errors[0], errors
    assert "save-notice" not in text(response)
    assert days_2027() == 0


def test_a_nul_byte_is_refused_and_nothing_is_saved(manager: FlaskClient):
    response = submit(manager, {"year": "2027", "text": "元旦 1月1日\x00", "action": "save"})
    assert response.status_code == 400  # the application's guard refuses control characters in any form
    assert days_2027() == 0


def test_every_bad_line_is_named_at_once(manager: FlaskClient):
    manager.get("/lang/en")
    response = submit(
        manager, {"year": "2027", "text": "春节 2月30日\n元旦 1月1日\n国庆 10月7日至1日", "action": "save"}
    )
    (message,) = field_errors(text(response), "text")
    assert "Line 1 (“春节 2月30日”): “2月30日” is not a date." in message
    assert "Line 3 (“国庆 10月7日至1日”): the range “10月7日–1日” ends before it starts." in message


def test_without_a_csrf_token_nothing_is_saved(manager: FlaskClient):
    response = manager.post(PAGE, data={"year": "2027", "text": NOTICE, "action": "save"})
    assert response.status_code == 400
    assert days_2027() == 0


def test_only_managers_and_admins_enter_a_year(client: FlaskClient, world: World, frozen: datetime):
    login(client, world.liaison.username)
    assert client.get(PAGE).status_code == 403
    token = csrf_token(text(client.get("/workbench/")))
    refused = client.post(PAGE, data={"year": "2027", "text": NOTICE, "action": "save", "csrf_token": token})
    assert refused.status_code == 403
    assert days_2027() == 0
    admin = client.application.test_client()
    login(admin, world.admin.username)
    assert admin.get(PAGE).status_code == 200


# --------------------------------------------------------------------------- the same through the API


def test_the_api_previews_then_saves_a_year_from_the_notice(
    client: FlaskClient, world: World, frozen: datetime
):
    from tests.functional.test_api import API, Api, error_of

    manager = Api(client, world.manager)
    english = {**manager.headers, "Accept-Language": "en"}

    def post(body: object, year: str = "2027"):  # type: ignore[no-untyped-def]
        return client.post(f"{API}/calendar/{year}/notice", json=body, headers=english)

    preview = post({"text": NOTICE})
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert (body["year"], body["saved"], body["known"]) == (2027, False, False)
    assert (body["holidays"], body["makeup_days"]) == (19, 3)
    assert body["ranges"][1] == {
        "start": "2027-02-06",
        "end": "2027-02-14",
        "kind": "restday",
        "name": "春节",
    }
    assert days_2027() == 0
    saved = post({"text": NOTICE, "apply": True})
    assert saved.status_code == 200 and saved.get_json()["saved"] is True
    assert days_2027() == 365
    again = post({"text": NOTICE.replace("9月26日、", "")}).get_json()
    assert again["known"] is True
    assert again["changed"] == [{"date": "2027-09-26", "before": "workday", "after": "restday", "note": ""}]

    bad = error_of(post({"text": "元旦 1月1日\n春节 2月30日", "apply": True}), 400, "validation_failed")
    assert bad["fields"]["text"] == "Line 2 (“春节 2月30日”): “2月30日” is not a date."
    for hostile in (
        {"text": ["元旦"]},
        {"text": {"a": 1}},
        {"text": "元旦 1月1日\x00"},
        {"apply": "yes"},
        [1],
    ):
        assert post(hostile).status_code == 400, hostile
    assert set(error_of(post({"text": NOTICE}, "1999"), 400, "validation_failed")["fields"]) == {"year"}
    error_of(Api(client, world.liaison).post("/calendar/2027/notice", {"text": NOTICE}), 403, "forbidden")
