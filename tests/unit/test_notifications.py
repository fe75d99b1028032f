"""Who is told what about a request (issue 3 item 6), how it reads in each language, and its email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select

from hotline.auth.models import Role, User
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.notifications import email as mail
from hotline.notifications import services as notifications
from hotline.notifications.models import Notification, NotificationKind
from hotline.outbox import services as outbox
from hotline.outbox.models import OutboxMessage
from hotline.tickets import services as tickets
from hotline.tickets.models import EventKind, Ticket
from tests import factories
from tests.factories import World

K = NotificationKind
# 10:00 on a Monday in Shanghai.
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
DUE = datetime(2026, 3, 5, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai


# --------------------------------------------------------------------------- helpers


def all_notifications() -> list[Notification]:
    return list(db.session.scalars(select(Notification).order_by(Notification.id)))


def since(mark: int) -> list[Notification]:
    return [n for n in all_notifications() if n.id > mark]


def last_id() -> int:
    rows = all_notifications()
    return rows[-1].id if rows else 0


def told(rows: list[Notification]) -> dict[int, K]:
    """Recipient id → kind (each recipient told once per event)."""
    result: dict[int, K] = {}
    for row in rows:
        assert row.user_id not in result, f"user {row.user_id} told twice"
        result[row.user_id] = row.kind
    return result


def manager(active: bool = True) -> User:
    user = factories.user(Role.MANAGER)
    user.active = active
    db.session.flush()
    return user


def assigned(world: World) -> Ticket:
    ticket = world.submit(NOW)
    tickets.assign(ticket.id, world.manager, world.liaison.username, NOW)
    return ticket


def in_progress(world: World) -> Ticket:
    ticket = assigned(world)
    tickets.acknowledge(ticket.id, world.liaison, NOW)
    return ticket


def record(ticket: Ticket, actor: User | None, kind: EventKind, **args: Any) -> list[Notification]:
    mark = last_id()
    tickets.record_event(ticket, actor, kind, LATER, **args)
    return since(mark)


# --------------------------------------------------------------------------- the mapping


def test_every_event_kind_is_either_mapped_or_deliberately_silent() -> None:
    silent = {
        EventKind.SUBMITTED,  # routing assigns it within seconds: the assignment is the news
        EventKind.ACKNOWLEDGED,
        EventKind.NOTED,
        EventKind.HANDED_BACK,
        EventKind.RETURN_ACCEPTED,
        EventKind.RETURN_REFUSED,
        EventKind.RATED,
        EventKind.CLOSED,
        EventKind.CLOCKS_RECOMPUTED,
        EventKind.FOLLOWUP_CALLED,  # the enterprise was on the call; a reopening it causes is news
        EventKind.MERGED,  # hotline.merge.notices tells the merged request's enterprise
        EventKind.UNMERGED,  # the request is back where it was: nobody needs telling
        EventKind.LINKED,  # internal bookkeeping between staff
        EventKind.UNLINKED,
    }
    assert set(notifications.RULES) | silent == set(EventKind)
    assert not set(notifications.RULES) & silent


def test_submission_tells_nobody(world: World) -> None:
    world.submit(NOW)
    assert all_notifications() == []


def test_dispatch_tells_the_assignee_and_not_the_manager_who_dispatched(world: World) -> None:
    ticket = assigned(world)
    rows = all_notifications()
    assert told(rows) == {world.liaison.id: K.ASSIGNED}
    params = rows[0].params
    assert params["number"] == ticket.number and params["title"] == ticket.title
    assert params["actor"] == world.manager.name
    assert rows[0].ticket_id == ticket.id and rows[0].created_at == NOW and rows[0].read_at is None


def test_routing_assignment_tells_the_assignee(world: World) -> None:
    ticket = world.submit(NOW)
    tickets.assign_by_routing(ticket, world.liaison, NOW, {"rule": "primary", "reason": "primary liaison"})
    rows = all_notifications()
    assert told(rows) == {world.liaison.id: K.ASSIGNED}
    assert rows[0].params["actor"] == ""  # the system


def test_pool_tells_every_active_manager(world: World) -> None:
    second, retired = manager(), manager(active=False)
    ticket = world.submit(NOW)
    rows = record(ticket, None, EventKind.POOLED, payload={"reason": "no liaison covers the building"})
    assert told(rows) == {world.manager.id: K.POOLED, second.id: K.POOLED}
    assert retired.id not in told(rows) and world.admin.id not in told(rows)
    assert rows[0].params["reason"] == "no liaison covers the building"


def test_a_reply_tells_the_enterprises_active_contacts_only(world: World) -> None:
    colleague = factories.enterprise_user(world.enterprise)
    gone = factories.enterprise_user(world.enterprise)
    gone.active = False
    ticket = in_progress(world)
    mark = last_id()
    tickets.reply(ticket.id, world.liaison, "已联系物业，明天答复。", LATER)
    rows = since(mark)
    assert told(rows) == {world.contact.id: K.REPLIED, colleague.id: K.REPLIED}
    assert rows[0].params["actor"] == world.liaison.name
    assert rows[0].params["excerpt"] == "已联系物业，明天答复。"


def test_internal_events_never_reach_the_enterprise(world: World) -> None:
    ticket = in_progress(world)
    mark = last_id()
    tickets.add_note(ticket.id, world.liaison, "内部：需协调交通局。", LATER)
    assert since(mark) == []
    assert record(ticket, world.liaison, EventKind.REPLIED, body="internal", public=False) == []
    assert record(ticket, world.liaison, EventKind.RESOLVED, body="internal", public=False) == []


def test_resolution_tells_the_contacts_with_the_answer(world: World) -> None:
    ticket = in_progress(world)
    mark = last_id()
    tickets.resolve(ticket.id, world.liaison, "已协调周边停车场。", LATER)
    rows = since(mark)
    assert told(rows) == {world.contact.id: K.RESOLVED}
    assert rows[0].params["excerpt"] == "已协调周边停车场。"


def test_a_dissatisfied_rating_reopens_to_the_assignee(world: World) -> None:
    ticket = in_progress(world)
    tickets.resolve(ticket.id, world.liaison, "已协调。", LATER)
    mark = last_id()
    tickets.rate(ticket.id, world.contact, "dissatisfied", "车位仍然不够。", LATER)
    rows = since(mark)
    assert told(rows) == {world.liaison.id: K.REOPENED}
    assert rows[0].params["excerpt"] == "车位仍然不够。"


def test_a_transfer_tells_the_departments_active_staff(world: World) -> None:
    colleague = factories.department_user(world.department)
    elsewhere = factories.department_user(factories.department())
    ticket = in_progress(world)
    mark = last_id()
    tickets.transfer(ticket.id, world.liaison, world.department.code, LATER)
    rows = since(mark)
    assert told(rows) == {world.department_user.id: K.TRANSFERRED, colleague.id: K.TRANSFERRED}
    assert elsewhere.id not in told(rows)
    assert rows[0].params["department"] == world.department.name
    assert rows[0].params["department_en"] == world.department.name_en


def test_information_from_the_enterprise_tells_whoever_holds_the_request(world: World) -> None:
    ticket = in_progress(world)
    tickets.transfer(ticket.id, world.liaison, world.department.code, LATER)
    mark = last_id()
    tickets.add_information(ticket.id, world.contact, "补充：周边有闲置车位。", LATER)
    rows = since(mark)
    assert told(rows) == {world.liaison.id: K.INFO_ADDED, world.department_user.id: K.INFO_ADDED}
    assert rows[0].params["excerpt"] == "补充：周边有闲置车位。"


def test_a_withdrawal_tells_the_assignee(world: World) -> None:
    ticket = in_progress(world)
    mark = last_id()
    tickets.withdraw(ticket.id, world.contact, "问题已自行解决。", LATER)
    assert told(since(mark)) == {world.liaison.id: K.WITHDRAWN}


def test_a_withdrawal_before_assignment_tells_nobody(world: World) -> None:
    ticket = world.submit(NOW)
    mark = last_id()
    tickets.withdraw(ticket.id, world.contact, "", LATER)
    assert since(mark) == []


def test_a_return_tells_the_managers(world: World) -> None:
    ticket = in_progress(world)
    mark = last_id()
    tickets.return_ticket(ticket.id, world.liaison, "不属于本楼宇。", LATER)
    rows = since(mark)
    assert told(rows) == {world.manager.id: K.RETURNED}
    assert rows[0].params["excerpt"] == "不属于本楼宇。"


@pytest.mark.parametrize(
    ("event", "kind", "assignee", "managers", "level"),
    [
        (EventKind.WARNING, K.WARNING, True, False, None),
        (EventKind.OVERDUE, K.OVERDUE, True, True, 1),
        (EventKind.ESCALATED, K.ESCALATED, False, True, 2),
    ],
)
def test_clock_alerts(
    world: World, event: EventKind, kind: K, assignee: bool, managers: bool, level: int | None
) -> None:
    second = manager()
    ticket = in_progress(world)
    rows = record(ticket, None, event, payload={"clock": "resolve", "due_at": DUE.isoformat()})
    expected = {}
    if assignee:
        expected[world.liaison.id] = kind
    if managers:
        expected.update({world.manager.id: kind, second.id: kind})
    assert told(rows) == expected
    params = rows[0].params
    assert params["clock"] == "resolve" and params["due_at"] == DUE.isoformat()
    assert params.get("level") == level


def test_an_acknowledge_warning_without_payload_reads_the_clock_from_the_request(world: World) -> None:
    ticket = assigned(world)
    ticket.acknowledge_due_at = DUE
    rows = record(ticket, None, EventKind.WARNING)
    assert rows[0].params["clock"] == "acknowledge"
    assert datetime.fromisoformat(rows[0].params["due_at"]) == DUE


def test_extensions_go_to_managers_and_their_decision_to_the_assignee(world: World) -> None:
    ticket = in_progress(world)
    rows = record(
        ticket, world.liaison, EventKind.EXTENSION_REQUESTED, body="需等待审批", payload={"days": 3}
    )
    assert told(rows) == {world.manager.id: K.EXTENSION_REQUESTED}
    assert rows[0].params["days"] == 3 and rows[0].params["actor"] == world.liaison.name

    new_due = DUE + timedelta(days=3)
    payload = {"days": 3, "new_due_at": new_due.isoformat()}
    rows = record(ticket, world.manager, EventKind.EXTENSION_APPROVED, payload=payload)
    assert told(rows) == {world.liaison.id: K.EXTENSION_DECIDED}
    assert rows[0].params["approved"] is True and rows[0].params["due_at"] == new_due.isoformat()

    rows = record(ticket, world.manager, EventKind.EXTENSION_REFUSED, body="理由不充分")
    assert told(rows) == {world.liaison.id: K.EXTENSION_DECIDED}
    assert rows[0].params["approved"] is False


def test_the_actor_is_never_told_about_their_own_action(world: World) -> None:
    second = manager()
    ticket = in_progress(world)
    rows = record(ticket, world.manager, EventKind.OVERDUE, payload={"clock": "resolve"})
    assert told(rows) == {world.liaison.id: K.OVERDUE, second.id: K.OVERDUE}
    rows = record(ticket, second, EventKind.EXTENSION_REQUESTED)
    assert told(rows) == {world.manager.id: K.EXTENSION_REQUESTED}


def test_an_inactive_assignee_is_not_told(world: World) -> None:
    ticket = in_progress(world)
    world.liaison.active = False
    assert record(ticket, None, EventKind.WARNING) == []


def test_an_email_is_queued_for_each_notification_to_a_user_with_an_address(world: World) -> None:
    world.liaison.email = "liaison@example.gov.cn"
    db.session.flush()
    ticket = world.submit(NOW)
    before = list(db.session.scalars(select(OutboxMessage.id)))
    tickets.assign(ticket.id, world.manager, world.liaison.username, NOW)
    (row,) = all_notifications()
    assert row.email_state == "pending"
    emails = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == outbox.SEND_EMAIL, OutboxMessage.id.not_in(before))
    ).all()
    assert [(m.payload, m.ticket_id) for m in emails] == [({"notification_id": row.id}, ticket.id)]

    # the manager has no address: told in the app, no email queued
    rows = record(ticket, None, EventKind.RETURNED)
    assert told(rows) == {world.manager.id: K.RETURNED} and rows[0].email_state is None
    assert (
        len(db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == outbox.SEND_EMAIL)).all())
        == 1
    )


# --------------------------------------------------------------------------- reading and marking


def test_unread_count_and_marking_read(world: World) -> None:
    ticket = in_progress(world)
    for _ in range(2):
        record(ticket, None, EventKind.WARNING)
    assert notifications.unread_count(world.liaison.id) == 3
    first = all_notifications()[0]
    notifications.mark_read(world.liaison, first.id, LATER)
    assert first.read_at == LATER and notifications.unread_count(world.liaison.id) == 2
    with pytest.raises(NotFound):
        notifications.mark_read(world.other_liaison, first.id, LATER)
    assert notifications.mark_all_read(world.liaison, LATER) == 2
    assert notifications.unread_count(world.liaison.id) == 0
    assert notifications.mark_all_read(world.liaison, LATER) == 0


# --------------------------------------------------------------------------- rendering


def note(kind: K, **params: Any) -> Notification:
    base = {"number": "QH20260302-0001", "title": "办公楼停车位不足", "actor": "王联络"}
    return Notification(kind=kind, params={**base, **params})


def test_rendered_in_english(app: Flask) -> None:
    with force_locale("en"):
        subject, text = notifications.render_notification(
            note(K.WARNING, clock="resolve", due_at=DUE.isoformat())
        )
        assert subject == "Request QH20260302-0001 is close to its deadline"
        # the deadline is shown in Asia/Shanghai
        assert text == "Request QH20260302-0001 “办公楼停车位不足” must be resolved by 2026-03-05 17:30."
        subject, text = notifications.render_notification(
            note(K.TRANSFERRED, department="区交通局", department_en="Transport Bureau")
        )
        assert "Transport Bureau" in subject and "区交通局" not in text
        _, text = notifications.render_notification(note(K.ESCALATED, level=2, due_at=DUE.isoformat()))
        assert "level 2" in text and "2026-03-05 17:30" in text


def test_rendered_in_chinese(app: Flask) -> None:
    with force_locale("zh"):
        subject, text = notifications.render_notification(
            note(K.TRANSFERRED, department="区交通局", department_en="Transport Bureau")
        )
        assert "区交通局" in subject and "Transport Bureau" not in subject + text
        _, text = notifications.render_notification(note(K.ASSIGNED, due_at=DUE.isoformat()))
        assert "QH20260302-0001" in text and "2026-03-05 17:30" in text


@pytest.mark.parametrize("locale", ["zh", "en"])
@pytest.mark.parametrize("kind", list(K))
def test_every_kind_renders_in_both_languages(app: Flask, locale: str, kind: K) -> None:
    """Guards the catalog too: a translation that drops or misspells a placeholder fails here."""
    params = {
        "clock": "acknowledge",
        "due_at": DUE.isoformat(),
        "level": 2,
        "department": "区交通局",
        "days": 3,
        "approved": kind == K.EXTENSION_DECIDED,
        "year": 2027,
        "enterprise": "星河科技",
        "claimant": "王经理",
        "meeting": 7,
        "meeting_title": "三月政企早茶会",
        "starts_at": DUE.isoformat(),
        "place": "一楼会议室",
        "host": "李明",
    }
    with force_locale(locale):
        subject, text = notifications.render_notification(note(kind, **params))
    assert subject and text
    if kind in notifications.CLAIM_KINDS:  # a claim is about an enterprise, not a request
        assert "星河科技" in subject and "星河科技" in text
        return
    if kind in notifications.MEETING_KINDS:  # a meeting: its title, and when (in Asia/Shanghai)
        assert "三月政企早茶会" in subject and "三月政企早茶会" in text and "2026-03-05 17:30" in text
        return
    assert ("2027" if kind == K.CALENDAR_MISSING else "QH20260302-0001") in subject


# --------------------------------------------------------------------------- email


def parts(message: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}  # type: ignore[attr-defined]


def test_the_email_is_multipart_and_in_the_recipients_language(app: Flask, world: World) -> None:
    app.config["PUBLIC_BASE_URL"] = "https://hotline.example.gov.cn/"
    world.liaison.email = "liaison@example.gov.cn"
    ticket = assigned(world)
    (row,) = all_notifications()

    chinese = mail.build_message(row, world.liaison)  # no locale chosen: the default, Chinese
    assert chinese["Subject"].startswith("[企呼我应] ") and ticket.number in chinese["Subject"]
    assert chinese["To"] == "liaison@example.gov.cn" and chinese.get_content_type() == "multipart/alternative"
    body = parts(chinese)
    assert set(body) == {"text/plain", "text/html"}
    link = f"https://hotline.example.gov.cn/tickets/{ticket.number}"
    assert link in body["text/plain"] and f'href="{link}"' in body["text/html"]
    assert "诉求编号" in body["text/plain"] and "诉求编号" in body["text/html"]

    world.liaison.locale = "en"
    english = mail.build_message(row, world.liaison)
    assert english["Subject"] == f"[QiHu WoYing] Request {ticket.number} is assigned to you"
    body = parts(english)
    assert f"Number: {ticket.number}" in body["text/plain"] and "is assigned to you" in body["text/html"]
    assert "诉求编号" not in body["text/plain"]


def test_without_a_mail_server_the_email_is_skipped(app: Flask, world: World) -> None:
    app.config["MAIL_SERVER"] = ""
    world.liaison.email = "liaison@example.gov.cn"
    assigned(world)
    (row,) = all_notifications()
    assert mail.send_notification_email(row.id, LATER) is False
    assert row.email_state == "skipped" and row.emailed_at is None
    assert mail.send_notification_email(row.id, LATER) is False  # final: never retried


def test_a_notification_without_email_is_not_sent(app: Flask, world: World) -> None:
    app.config["MAIL_SERVER"] = "127.0.0.1"
    assigned(world)  # the liaison has no address
    (row,) = all_notifications()
    assert row.email_state is None
    assert mail.send_notification_email(row.id, LATER) is False
    assert mail.send_notification_email(10_000, LATER) is False  # no such notification
