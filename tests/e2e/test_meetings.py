"""A 政企早茶会 in a real Chromium (issue 12): a liaison schedules it for three enterprises of its building,
enters the five requests raised there in one form (two rows added with the button), one answered at the
table; the next meeting's agenda shows the four still open and the one resolved since.  The enterprise sees
the invitation on its portal and the answered request on its list.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline import create_app
from hotline.auth.models import User
from hotline.db import utcnow
from hotline.enterprises.models import Coverage, CoverageRole, Enterprise
from hotline.extensions import db
from hotline.timeutil import local
from tests.e2e.conftest import shot
from tests.e2e.test_story import log_in

pytestmark = pytest.mark.e2e

TITLES = ["停车位不足", "人才公寓咨询", "网络线路故障", "电梯维修缓慢", "稳岗补贴申报"]
ANSWERED = 1  # the row answered at the table


@pytest.fixture
def building_of_three(live_server: str, live_instance: Path) -> Iterator[tuple[str, int, list[str], str]]:
    """A building of the demo covered by a liaison as its primary, with at least three enterprises:
    (the liaison's username, the building's id, three credit codes, the first one's contact)."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{live_instance / 'hotline.sqlite3'}",
            "INSTANCE_DIR": str(live_instance),
            "OUTBOX_NUDGE": False,
        }
    )
    with app.app_context():
        building_id, _count = db.session.execute(
            select(Enterprise.building_id, func.count())
            .group_by(Enterprise.building_id)
            .having(func.count() >= 3)
            .order_by(Enterprise.building_id)
            .limit(1)
        ).one()
        liaison = db.session.scalars(
            select(User)
            .join(Coverage, Coverage.liaison_id == User.id)
            .where(
                Coverage.building_id == building_id,
                Coverage.role == CoverageRole.PRIMARY,
                Coverage.active.is_(True),
            )
        ).one()
        enterprises = db.session.scalars(
            select(Enterprise).where(Enterprise.building_id == building_id).order_by(Enterprise.id).limit(3)
        ).all()
        contact = db.session.scalars(select(User).where(User.enterprise_id == enterprises[0].id)).first()
        assert contact is not None
        found = (liaison.username, building_id, [e.uscc for e in enterprises], contact.username)
        db.session.remove()
    yield found


def _schedule(page, base: str, title: str, starts: str, building_id: int, invite: list[str]) -> str:  # type: ignore[no-untyped-def]
    """Schedule through the form; returns the meeting page's address."""
    page.goto(base + "/meetings/new")
    page.fill("input[name=title]", title)
    page.fill("input[name=starts_at]", starts)
    page.fill("input[name=place]", "大厦一楼茶歇区")
    page.check(f"input[name=buildings][value='{building_id}']")
    for uscc in invite:
        page.check(f"input[name=invite][value='{uscc}']")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert "/meetings/new" not in page.url, page.content()[:3000]
    return page.url


def test_a_tea_meeting_from_invitation_to_the_next_agenda(
    new_page, live_server: str, building_of_three
) -> None:  # type: ignore[no-untyped-def]
    base = live_server
    username, building_id, usccs, contact = building_of_three
    now = local(utcnow())
    page = new_page("en-US")
    log_in(page, base, username)
    page.goto(base + "/lang/en")

    meeting_url = _schedule(
        page,
        base,
        "E2E 十二月政企早茶会",
        (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
        building_id,
        usccs,
    )
    assert page.locator("h1", has_text="E2E 十二月政企早茶会").is_visible()
    for uscc in usccs:  # the three invited, each with its row on the meeting's page
        assert page.locator(f"#invitation-{uscc}").is_visible(), uscc

    # the minutes: attendance, and five requests in one form (three rows on the page, two added)
    page.goto(meeting_url + "/minutes")
    for uscc in usccs:
        page.check(f"input[name=attended][value='{uscc}']")
    page.fill("textarea[name=minutes]", "三家企业参会，提出五项诉求。")
    add_row = page.locator("button.add-row")
    add_row.click()
    add_row.click()
    assert page.locator("[data-row]").count() >= 5
    for n, title in enumerate(TITLES):
        row = f"items-{n}-"
        page.select_option(f"select[name={row}enterprise_uscc]", usccs[n % 3])
        page.select_option(f"select[name={row}category]", "policy")
        page.fill(f"input[name={row}title]", title)
        page.fill(f"textarea[name={row}description]", f"{title}，会上提出。")
        page.fill(f"input[name={row}contact_phone]", "13800138000")
    page.fill(f"textarea[name=items-{ANSWERED}-answer]", "现场答复：符合条件，下周一起可在线申请。")
    shot(page, "meeting-minutes")
    page.click("main form.minutes-form button[type=submit]")
    page.wait_for_load_state()
    assert page.url.rstrip("/") == meeting_url.rstrip("/"), page.content()[:3000]
    raised = page.locator(".meeting-requests").inner_text()
    for title in TITLES:
        assert title in raised, title
    assert page.locator(".meeting-state", has_text="Held").is_visible()

    # the next meeting of the same building: its agenda follows up this one
    next_url = _schedule(
        page,
        base,
        "E2E 下次政企早茶会",
        (now + timedelta(days=2)).replace(hour=8, minute=30).strftime("%Y-%m-%dT%H:%M"),
        building_id,
        usccs,
    )
    page.goto(next_url + "/agenda")
    shot(page, "meeting-agenda")
    open_titles = page.locator("tr.agenda-open").all_inner_texts()
    resolved_titles = page.locator("tr.agenda-resolved").all_inner_texts()
    still_open = [t for k, t in enumerate(TITLES) if k != ANSWERED]
    for title in still_open:
        assert sum(title in row for row in open_titles) == 1, (title, open_titles)
    assert sum(TITLES[ANSWERED] in row for row in resolved_titles) == 1, resolved_titles
    assert not any(TITLES[ANSWERED] in row for row in open_titles)
    assert "E2E 十二月政企早茶会" in page.locator(".agenda-previous").inner_text()

    # the enterprise: the next meeting on its portal, the answer given at the table among its requests
    enterprise = new_page("en-US")
    log_in(enterprise, base, contact)
    enterprise.goto(base + "/lang/en")
    enterprise.goto(base + "/portal/")
    invitations = enterprise.locator(".meeting-invitations").inner_text()
    assert "E2E 下次政企早茶会" in invitations
    assert TITLES[0] in enterprise.content()
