"""并单 (issue 13 point 3): merging a repeated request into the main one, who may, the refusals, the events,
the merged request's enterprise told of the main answer, unmerging the same day only, the figures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from hotline.errors import Forbidden, InvalidTransition, ValidationFailed
from hotline.extensions import db
from hotline.merge import services as merging
from hotline.merge import similar
from hotline.notifications.models import Notification, NotificationKind
from hotline.notifications.services import render_notification
from hotline.sla import services as sla
from hotline.stats import queries as stats
from hotline.stats.queries import StatsFilter
from hotline.tickets import services as tickets
from hotline.tickets import workflow
from hotline.tickets.models import EventKind, Ticket, TicketEvent, TicketState
from tests import factories
from tests.factories import World

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 Tuesday in Shanghai
ANSWER = "已协调周边停车场提供月租车位。"


@pytest.fixture(autouse=True)
def english(app) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


@pytest.fixture(autouse=True)
def year_2026(app) -> None:  # type: ignore[no-untyped-def]
    sla.sync_calendar_from_package(T0, years=[2026])
    db.session.commit()


def submitted_by(world: World, contact, **fields: object) -> Ticket:  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "category": world.category.code,
        "title": "办公楼停车位不足",
        "description": "员工停车困难，希望协调周边停车资源。",
        "contact_phone": "13800138000",
    }
    values.update(fields)
    return tickets.submit_ticket(contact, now=T0, **values)  # type: ignore[arg-type]


def assigned(world: World, ticket: Ticket) -> Ticket:
    return tickets.assign(ticket.id, world.manager, world.liaison.username, T0)


def events_of(ticket: Ticket, kind: EventKind) -> list[TicketEvent]:
    return list(
        db.session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == kind)
            .order_by(TicketEvent.id)
        )
    )


def notices(user, kind: NotificationKind) -> list[Notification]:  # type: ignore[no-untyped-def]
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
        )
    )


def test_the_assignee_merges_a_repeat_into_the_main_request_with_events_on_both(world):
    main = world.in_progress(T0)
    repeat = assigned(world, world.submit(T0))
    merging.merge(repeat.id, world.liaison, main.number, "同一诉求重复提交", T0 + timedelta(hours=1))
    assert repeat.state == TicketState.MERGED and repeat.merged_into_id == main.id
    (on_repeat,) = events_of(repeat, EventKind.MERGED)
    assert on_repeat.from_state == TicketState.ASSIGNED and on_repeat.payload["into"] == main.number
    assert on_repeat.public and on_repeat.body == "同一诉求重复提交"
    (on_main,) = events_of(main, EventKind.MERGED)
    assert on_main.payload["merged"] == repeat.number and on_main.to_state == TicketState.IN_PROGRESS
    assert merging.merged_into(main) == [repeat]
    (told,) = notices(world.contact, NotificationKind.MERGED)
    assert main.number in render_notification(told)[1]


def test_merge_is_offered_to_the_assignee_and_managers_only(world):
    ticket = assigned(world, world.submit(T0))
    offered = lambda user: "merge" in [a.name for a in workflow.offered(ticket, user)]  # noqa: E731
    assert offered(world.liaison) and offered(world.manager)
    assert (
        not offered(world.contact) and not offered(world.other_liaison) and not offered(world.department_user)
    )
    main = world.in_progress(T0)
    with pytest.raises(Forbidden, match="Only the assignee or a manager"):
        merging.merge(ticket.id, world.contact, main.number, "重复", T0)


@pytest.mark.parametrize("case", ["itself", "unknown", "merged", "closed", "other_enterprise", "empty"])
def test_the_main_request_must_be_another_live_one_of_the_same_enterprise_or_building(world, case):
    ticket = assigned(world, world.submit(T0))
    if case == "itself":
        into, message = ticket.number, "cannot be merged into itself"
    elif case == "unknown":
        into, message = "QH20260310-9999", "No request with this number"
    elif case == "merged":
        main = world.in_progress(T0)
        other = assigned(world, world.submit(T0))
        merging.merge(other.id, world.manager, main.number, "重复", T0)
        into, message = other.number, "is merged itself"
    elif case == "closed":
        main = world.resolved(T0)
        tickets.rate(main.id, world.contact, "satisfied", "", T0)
        into, message = main.number, "no longer open"
    elif case == "other_enterprise":
        into = submitted_by(world, world.other_contact).number  # another building too
        message = "same enterprise or the same building"
    else:
        into, message = "  ", "Enter the number"
    with pytest.raises(ValidationFailed) as refused:
        merging.merge(ticket.id, world.manager, into, "重复", T0)
    assert message in refused.value.fields["into"]
    db.session.refresh(ticket)
    assert ticket.state == TicketState.ASSIGNED and ticket.merged_into_id is None


def test_a_reason_is_required_and_a_resolved_request_cannot_be_merged(world):
    main = world.in_progress(T0)
    ticket = assigned(world, world.submit(T0))
    with pytest.raises(ValidationFailed) as refused:
        merging.merge(ticket.id, world.manager, main.number, " ", T0)
    assert "reason" in refused.value.fields
    done = world.resolved(T0)
    with pytest.raises(InvalidTransition, match="cannot be merged"):
        merging.merge(done.id, world.manager, main.number, "重复", T0)


def test_a_request_of_another_enterprise_of_the_same_building_can_be_merged_and_is_told_of_the_answer(world):
    neighbour = factories.enterprise(world.building)
    neighbour_contact = factories.enterprise_user(neighbour)
    main = world.in_progress(T0)
    theirs = assigned(world, submitted_by(world, neighbour_contact))
    merging.merge(theirs.id, world.liaison, main.number, "同楼同一故障", T0)
    (on_main,) = events_of(main, EventKind.MERGED)
    assert not on_main.public  # the main's enterprise is not shown another enterprise's request
    assert notices(neighbour_contact, NotificationKind.MERGED_ANSWERED) == []
    tickets.resolve(main.id, world.liaison, ANSWER, T0 + timedelta(hours=2))
    (told,) = notices(neighbour_contact, NotificationKind.MERGED_ANSWERED)
    assert told.ticket_id == theirs.id
    subject, text = render_notification(told)
    assert theirs.number in subject and main.number in text
    assert notices(world.contact, NotificationKind.MERGED_ANSWERED) == []  # the main's own: RESOLVED


def test_a_manager_unmerges_the_same_day_back_to_the_former_state(world):
    main = world.in_progress(T0)
    ticket = assigned(world, world.submit(T0))
    merging.merge(ticket.id, world.liaison, main.number, "重复", T0)
    with pytest.raises(Forbidden, match="Only a manager"):
        merging.unmerge(ticket.id, world.liaison, "", T0)
    merging.unmerge(ticket.id, world.manager, "并错了", T0 + timedelta(hours=3))
    assert ticket.state == TicketState.ASSIGNED and ticket.merged_into_id is None
    assert events_of(ticket, EventKind.UNMERGED)[0].payload["from"] == main.number
    assert events_of(main, EventKind.UNMERGED)[0].payload["merged"] == ticket.number
    assert merging.merged_into(main) == []


def test_unmerging_on_a_later_day_is_refused(world):
    main = world.in_progress(T0)
    ticket = assigned(world, world.submit(T0))
    merging.merge(ticket.id, world.liaison, main.number, "重复", T0)
    with pytest.raises(ValidationFailed, match="on the day it was made"):
        merging.unmerge(ticket.id, world.manager, "", T0 + timedelta(days=1))
    assert ticket.state == TicketState.MERGED


def test_merged_requests_are_left_out_of_the_figures(world):
    main = world.in_progress(T0)
    ticket = assigned(world, world.submit(T0))
    march = StatsFilter(start=date(2026, 3, 1), end=date(2026, 4, 1))
    assert stats.summary(march, T0 + timedelta(days=1)).total == 2
    merging.merge(ticket.id, world.liaison, main.number, "重复", T0)
    assert stats.summary(march, T0 + timedelta(days=1)).total == 1


def test_similar_requests_are_of_the_same_enterprise_and_category_and_scored(world):
    mine = world.submit(T0)
    submitted_by(world, world.other_contact)  # the same text, another enterprise
    world.submit(T0, title="申请人才公寓", description="新引进人才申请人才公寓入住。")
    found = similar.similar_requests(
        world.contact,
        category_id=world.category.id,
        title="办公楼停车位不够",
        description="员工停车很困难，希望协调停车资源",
        now=T0,
        enterprise_id=world.enterprise.id,
    )
    assert [s.ticket.number for s in found] == [mine.number]
    assert 60 <= found[0].score <= 100


def test_requests_merged_into_a_request_follow_it_when_it_is_merged_in_turn(world):
    main = world.in_progress(T0)
    middle = assigned(world, world.submit(T0))
    first = assigned(world, world.submit(T0))
    merging.merge(first.id, world.manager, middle.number, "重复", T0)
    merging.merge(middle.id, world.manager, main.number, "重复", T0)
    assert first.merged_into_id == main.id and set(merging.merged_into(main)) == {first, middle}
    assert events_of(main, EventKind.MERGED)[0].payload["with"] == [first.number]


def test_staff_link_related_requests_once_and_each_lists_the_other(world):
    from hotline.merge import links

    first, second = world.submit(T0), world.submit(T0, title="园区道路破损")
    links.link(first.id, world.liaison, second.number, T0)
    assert links.linked(first, world.liaison) == [second] and links.linked(second, world.liaison) == [first]
    assert events_of(second, EventKind.LINKED)[0].payload["other"] == first.number
    assert not events_of(first, EventKind.LINKED)[0].public
    with pytest.raises(ValidationFailed, match="already linked"):
        links.link(second.id, world.manager, first.number, T0)
    with pytest.raises(ValidationFailed, match="itself"):
        links.link(first.id, world.manager, first.number, T0)
    with pytest.raises(Forbidden, match="Only staff"):
        links.link(first.id, world.contact, second.number, T0)
    theirs = submitted_by(world, world.other_contact)  # in a building the liaison does not cover
    with pytest.raises(ValidationFailed, match="No request with this number"):
        links.link(first.id, world.liaison, theirs.number, T0)
    links.unlink(second.id, world.manager, first.number, T0)
    assert links.linked(first, world.manager) == []
    with pytest.raises(ValidationFailed, match="not linked"):
        links.unlink(second.id, world.manager, first.number, T0)


def test_the_merged_requests_enterprise_is_asked_to_rate_the_answer_and_its_rating_stays_outside_the_figures(
    world,
):  # type: ignore[no-untyped-def]
    neighbour = factories.enterprise(world.building)
    neighbour_contact = factories.enterprise_user(neighbour)
    main = world.in_progress(T0)
    theirs = assigned(world, submitted_by(world, neighbour_contact))
    merging.merge(theirs.id, world.liaison, main.number, "同楼同一故障", T0)
    # not before the main request is answered
    assert "rate_merged" not in [a.name for a in workflow.offered(theirs, neighbour_contact)]
    with pytest.raises(ValidationFailed, match="not answered yet"):
        merging.rate_merged(theirs.id, neighbour_contact, "satisfied", "", T0)
    tickets.resolve(main.id, world.liaison, ANSWER, T0 + timedelta(hours=2))
    (told,) = notices(neighbour_contact, NotificationKind.MERGED_ANSWERED)
    assert "rate" in render_notification(told)[1]
    assert "rate_merged" in [a.name for a in workflow.offered(theirs, neighbour_contact)]
    assert "rate_merged" not in [a.name for a in workflow.offered(theirs, world.contact)]  # not its request
    with pytest.raises(ValidationFailed) as refused:
        merging.rate_merged(theirs.id, neighbour_contact, "dissatisfied", "", T0 + timedelta(hours=3))
    assert "comment" in refused.value.fields
    flt = StatsFilter(start=date(2026, 1, 1), end=date(2027, 1, 1))
    before = stats.summary(flt, T0 + timedelta(hours=3))
    merging.rate_merged(theirs.id, neighbour_contact, "dissatisfied", "道闸还是坏的", T0 + timedelta(hours=3))
    assert theirs.state == TicketState.MERGED and theirs.rating_score == "dissatisfied"
    (noted,) = [e for e in events_of(main, EventKind.NOTED) if e.payload.get("merged") == theirs.number]
    assert not noted.public and "道闸还是坏的" in noted.body
    after = stats.summary(flt, T0 + timedelta(hours=3))
    assert (after.total, after.rated) == (before.total, before.rated)  # merged: outside the figures
    with pytest.raises(ValidationFailed, match="rated already"):
        merging.rate_merged(theirs.id, neighbour_contact, "satisfied", "", T0 + timedelta(hours=4))
