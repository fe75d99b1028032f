"""回访 in a real Chromium: a manager finds a request in the follow-up queue, records an unanswered call, then
a call that reached the contact; the enterprise sees both calls on its timeline, not the manager's note.

The request's history is written into the live server's database through the services, two weeks in the
past (a request resolved today is not due for its call yet), as the past would have written it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline import create_app
from hotline.auth.models import User
from hotline.db import utcnow
from hotline.enterprises.models import Coverage, CoverageRole
from hotline.extensions import db
from hotline.tickets import services
from hotline.timeutil import local
from tests.e2e.conftest import shot
from tests.e2e.test_story import DEMO_PASSWORD, log_in, state_of

pytestmark = pytest.mark.e2e


@pytest.fixture
def resolved_two_weeks_ago(live_server: str, live_instance: Path) -> Iterator[tuple[str, str]]:
    """A request of ent3, resolved by its building's liaison two weeks ago: (its number, ent3)."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{live_instance / 'hotline.sqlite3'}",
            "INSTANCE_DIR": str(live_instance),
            "OUTBOX_NUDGE": False,
        }
    )
    with app.app_context():
        contact = db.session.scalars(select(User).where(User.username == "ent3")).one()
        manager = db.session.scalars(select(User).where(User.username == "manager")).one()
        liaison = db.session.scalars(
            select(User)
            .join(Coverage, Coverage.liaison_id == User.id)
            .where(
                Coverage.building_id == contact.enterprise.building_id,  # type: ignore[union-attr]
                Coverage.role == CoverageRole.PRIMARY,
                Coverage.active.is_(True),
            )
        ).first()
        assert liaison is not None
        start = utcnow() - timedelta(days=15)
        ticket = services.submit_ticket(
            contact,
            category="policy",
            title="申请人才公寓的条件",
            description="想了解本区人才公寓的申请条件和办理流程。",
            urgency="normal",
            contact_phone="13900001111",
            now=start,
        )
        services.assign(ticket.id, manager, liaison.username, start + timedelta(minutes=10))
        services.acknowledge(ticket.id, liaison, start + timedelta(minutes=30))
        services.resolve(ticket.id, liaison, "已将申请条件和流程发送至企业邮箱。", start + timedelta(days=1))
        db.session.commit()
        number, username = ticket.number, contact.username
        db.session.remove()
    yield number, username


def test_a_follow_up_call_from_the_queue(new_page, live_server: str, resolved_two_weeks_ago) -> None:  # type: ignore[no-untyped-def]
    base = live_server
    number, enterprise_user = resolved_two_weeks_ago
    first_call = local(utcnow() - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")

    manager = new_page("zh-CN")
    log_in(manager, base, "manager")
    manager.goto(base + "/manage/followups")
    # another test of this server may have left the manager's account in English: Chinese, as saved
    manager.click("form.lang-switch button[lang=zh-CN]")
    manager.wait_for_load_state()
    row = manager.locator(f'tr[data-number="{number}"]')
    assert row.count() == 1
    assert row.locator(".followup-attempts").inner_text().startswith("0 / 3")
    shot(manager, "followup-01-queue")
    row.locator("a.btn").click()
    manager.wait_for_load_state()
    assert state_of(manager) == "resolved"
    assert manager.locator('form[action$="/rate"]').count() == 0  # nobody rates in the enterprise's place

    # Nobody answers the first call: the note is the manager's, the request stays in the queue.
    unanswered = manager.locator('form[action$="/followup_unanswered"]')
    unanswered.locator('[name="called_at"]').fill(first_call)  # a week ago, recorded today
    unanswered.locator('[name="note"]').fill("无人接听，下午再拨")
    unanswered.locator("button[type=submit]").click()
    manager.wait_for_load_state()
    assert state_of(manager) == "resolved"
    assert manager.locator(".timeline .followup-call").count() == 1
    assert "无人接听" in manager.locator(".timeline .followup-call").first.inner_text()
    manager.goto(base + "/manage/followups")
    assert manager.locator(f'tr[data-number="{number}"] .followup-attempts').inner_text().startswith("1 / 3")

    # The second call reaches the contact, who is basically satisfied: that is the rating, and it closes.
    manager.goto(f"{base}/tickets/{number}")
    call = manager.locator('form[action$="/followup"]')
    call.locator('[name="contact"]').fill("刘女士（人事主管）")
    call.locator('input[name="outcome"][value="solved"]').check()
    call.locator('input[name="score"][value="basically_satisfied"]').check()
    call.locator('[name="comment"]').fill("资料已收到，流程清楚。")
    shot(manager, "followup-02-call-form")
    call.locator("button[type=submit]").click()
    manager.wait_for_load_state()
    assert state_of(manager) == "closed"
    calls = manager.locator(".timeline .followup-call")
    assert calls.count() == 2
    assert "刘女士" in calls.nth(1).inner_text() and "问题已解决" in calls.nth(1).inner_text()
    assert manager.locator("text=回访电话登记").count() >= 1
    shot(manager, "followup-03-closed")
    manager.goto(base + "/manage/followups")
    assert manager.locator(f'tr[data-number="{number}"]').count() == 0

    # The enterprise sees both calls and what it said, not the manager's note.
    enterprise = new_page("zh-CN")
    log_in(enterprise, base, enterprise_user, DEMO_PASSWORD)
    enterprise.goto(f"{base}/tickets/{number}")
    assert state_of(enterprise) == "closed"
    assert enterprise.locator(".timeline .followup-call").count() == 2
    assert "下午再拨" not in enterprise.content()
    assert "资料已收到" in enterprise.content()
    shot(enterprise, "followup-04-enterprise-timeline")
