"""The liaisons' field work (issue 12): scheduling and invitation scope, the enterprises' answers and
questions, the minutes' batch intake (all or nothing, answered at the table), the follow-up agenda, visits
and 走访覆盖, and a liaison's enterprises.

The calendar of 2026 is loaded; a tea meeting at 08:30 on Tuesday 10 March 2026 (Shanghai), scheduled the
week before.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select

from hotline.enterprises.models import CoverageRole
from hotline.errors import Forbidden, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.meetings import queries, services
from hotline.meetings.models import InvitationResponse, MeetingState, TicketOrigin
from hotline.notifications.models import Notification, NotificationKind
from hotline.outbox.models import OutboxMessage
from hotline.sla import services as sla
from hotline.tickets import services as tickets
from hotline.tickets.models import Channel, EventKind, Ticket, TicketEvent, TicketState
from tests import factories
from tests.factories import World

SCHEDULED = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # Tuesday 3 March, 10:00 in Shanghai
STARTS = datetime(2026, 3, 10, 0, 30, tzinfo=UTC)  # Tuesday 10 March, 08:30 in Shanghai
AFTER = STARTS + timedelta(hours=2)


@pytest.fixture(autouse=True)
def english(app: Flask) -> Iterator[None]:
    with force_locale("en"):
        yield


@pytest.fixture(autouse=True)
def year_2026(app: Flask) -> Iterator[None]:
    sla.sync_calendar_from_package(SCHEDULED, years=[2026])
    db.session.commit()
    yield


def _schedule(world: World, actor=None, **values):  # type: ignore[no-untyped-def]
    base = {
        "kind": "tea_meeting",
        "title": "三月政企早茶会",
        "starts_at": "2026-03-10 08:30",
        "place": "大厦一楼会议室",
        "buildings": [world.building.id],
        "invite_buildings": [world.building.id],
    }
    base.update(values)
    return services.schedule_meeting(actor or world.liaison, SCHEDULED, base)


def _item(world: World, enterprise=None, **values):  # type: ignore[no-untyped-def]
    item = {
        "enterprise_uscc": (enterprise or world.enterprise).uscc,
        "category": world.category.code,
        "title": "园区道路照明不足",
        "description": "晚上下班时园区道路太暗。",
        "contact_phone": "13800138000",
        "urgency": "normal",
    }
    item.update(values)
    return item


# --------------------------------------------------------------------------- scheduling


def test_a_liaison_schedules_a_meeting_of_its_building_and_its_enterprises_are_invited_and_told(
    world: World,
) -> None:
    second = factories.enterprise(world.building)
    contact2 = factories.enterprise_user(second)
    meeting = _schedule(world)
    assert meeting.state == MeetingState.SCHEDULED
    assert meeting.host_id == world.liaison.id
    assert meeting.ends_at - meeting.starts_at == timedelta(minutes=90)
    assert meeting.starts_at == STARTS
    assert {i.enterprise_id for i in meeting.invitations} == {world.enterprise.id, second.id}
    told = db.session.scalars(
        select(Notification.user_id).where(Notification.kind == NotificationKind.MEETING_INVITED)
    ).all()
    assert set(told) == {world.contact.id, contact2.id}


def test_a_liaison_cannot_invite_enterprises_of_buildings_it_does_not_cover(world: World) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _schedule(world, buildings=[world.other_enterprise.building_id], invite_buildings=[])
    assert "buildings it covers" in refused.value.fields["buildings"]
    with pytest.raises(ValidationFailed) as refused:
        _schedule(world, invite=[world.other_enterprise.uscc], invite_buildings=[])
    assert "building the meeting serves" in refused.value.fields["invite"]


def test_a_manager_schedules_for_a_street_hosted_by_a_liaison_and_may_invite_anyone_of_it(
    world: World,
) -> None:
    meeting = _schedule(
        world,
        actor=world.manager,
        buildings=[],
        street=world.street.code,
        host=world.liaison.username,
        invite=[world.enterprise.uscc, world.other_enterprise.uscc],
        invite_buildings=[],
        departments=[world.department.code],
    )
    assert meeting.host_id == world.liaison.id
    assert {b.street_id for b in meeting.buildings} == {world.street.id}
    assert len(meeting.invitations) == 2
    assert meeting.departments == [world.department]


def test_every_bad_field_of_a_schedule_is_named_at_once(world: World) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _schedule(world, kind="party", title="", starts_at="next tuesday", place="", host="someone")
    assert set(refused.value.fields) >= {"kind", "title", "starts_at", "place", "host"}
    with pytest.raises(ValidationFailed) as refused:
        _schedule(world, ends_at="2026-03-10 08:00")
    assert refused.value.fields == {"ends_at": "The meeting ends after it starts."}


def test_an_enterprise_cannot_schedule_nor_see_a_meeting_it_is_not_invited_to(world: World) -> None:
    with pytest.raises(Forbidden):
        services.schedule_meeting(world.contact, SCHEDULED, {})
    meeting = _schedule(world)
    assert services.get_meeting(world.contact, meeting.id) is meeting
    with pytest.raises(NotFound):
        services.get_meeting(world.other_contact, meeting.id)
    with pytest.raises(NotFound):
        services.get_meeting(world.other_liaison, meeting.id)
    with pytest.raises(NotFound):
        services.get_meeting(world.contact, "9" * 30)


def test_moving_a_meeting_tells_the_invited_and_cancelling_it_too(world: World) -> None:
    meeting = _schedule(world)
    services.update_meeting(meeting.id, world.liaison, SCHEDULED, {"starts_at": "2026-03-11 08:30"})
    assert meeting.ends_at - meeting.starts_at == timedelta(minutes=90)
    services.update_meeting(meeting.id, world.liaison, SCHEDULED, {"state": "cancelled"})
    kinds = db.session.scalars(
        select(Notification.kind).where(Notification.user_id == world.contact.id).order_by(Notification.id)
    ).all()
    assert kinds == [
        NotificationKind.MEETING_INVITED,
        NotificationKind.MEETING_MOVED,
        NotificationKind.MEETING_CANCELLED,
    ]
    with pytest.raises(ValidationFailed):
        services.update_meeting(meeting.id, world.liaison, SCHEDULED, {"title": "x"})
    with pytest.raises(NotFound):  # a cancelled meeting leaves the enterprise's portal
        services.get_meeting(world.contact, meeting.id)


def test_another_liaison_may_not_change_a_meeting(world: World) -> None:
    meeting = _schedule(world)
    deputy = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    with pytest.raises(Forbidden):
        services.update_meeting(meeting.id, deputy, SCHEDULED, {"title": "改名"})


# --------------------------------------------------------------------------- the enterprise's side


def test_an_invited_enterprise_confirms_and_sends_a_question_in_advance(world: World) -> None:
    meeting = _schedule(world)
    invitation = services.respond(meeting.id, world.contact, "declined", SCHEDULED)
    assert invitation.response == InvitationResponse.DECLINED
    question = services.ask_question(
        meeting.id,
        world.contact,
        SCHEDULED,
        {
            "category": world.category.code,
            "title": "人才公寓申请",
            "description": "流程？",
            "contact_phone": "13800138000",
        },
    )
    assert question.ticket_id is None
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0  # a draft, not a request
    with pytest.raises(ValidationFailed) as refused:
        services.ask_question(meeting.id, world.contact, SCHEDULED, {"title": ""})
    assert {"category", "title", "description", "contact_phone"} <= set(refused.value.fields)
    with pytest.raises(ValidationFailed):
        services.respond(meeting.id, world.contact, "confirmed", AFTER)  # it has begun


# --------------------------------------------------------------------------- minutes and batch intake


def test_five_requests_at_the_table_one_answered_on_the_spot_the_rest_routed(world: World) -> None:
    third = factories.enterprise(world.building)
    meeting = _schedule(world)
    items = [
        _item(world, title="停车难"),
        _item(world, title="招聘补贴", answer="现场答复：符合条件，下周可申报。"),
        _item(world, title="网络故障"),
        _item(world, enterprise=third, title="电梯维修"),
        _item(world, enterprise=third, title="政策咨询"),
    ]
    filed = services.file_meeting_requests(meeting.id, world.liaison, AFTER, items)
    assert [t.channel for t in filed] == [Channel.TEA_MEETING] * 5
    assert [t.state for t in filed] == [
        TicketState.SUBMITTED,
        TicketState.RESOLVED,
        TicketState.SUBMITTED,
        TicketState.SUBMITTED,
        TicketState.SUBMITTED,
    ]
    answered = filed[1]
    assert answered.assignee_id == world.liaison.id
    assert answered.rating_due_at is not None  # it still gets its rating step
    kinds = db.session.scalars(
        select(TicketEvent.kind).where(TicketEvent.ticket_id == answered.id).order_by(TicketEvent.id)
    ).all()
    assert kinds == [EventKind.SUBMITTED, EventKind.ASSIGNED, EventKind.ACKNOWLEDGED, EventKind.RESOLVED]
    origins = db.session.scalars(select(TicketOrigin).order_by(TicketOrigin.ticket_id)).all()
    assert [o.meeting_id for o in origins] == [meeting.id] * 5
    assert [o.answered_on_the_spot for o in origins] == [False, True, False, False, False]
    routed = db.session.scalars(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.ticket_id.in_([t.id for t in filed]))
    ).one()
    assert routed >= 5  # each filing's routing message (the answered one's finds it assigned)
    assert meeting.state == MeetingState.HELD
    attended = {i.enterprise_id: i.attended for i in meeting.invitations}
    assert attended == {world.enterprise.id: True, third.id: True}
    # the enterprise rates the answer given at the table like any other
    tickets.rate(answered.id, world.contact, "satisfied", "", AFTER + timedelta(hours=1))
    assert answered.state == TicketState.CLOSED


def test_one_bad_row_saves_nothing_and_is_named_at_its_row(world: World) -> None:
    meeting = _schedule(world)
    items = [
        _item(world),
        _item(world, title="", contact_phone="12"),
        _item(world, enterprise=world.other_enterprise),
        _item(world, answer="现场答复"),
    ]
    with pytest.raises(ValidationFailed) as refused:
        services.file_meeting_requests(meeting.id, world.liaison, AFTER, items)
    assert set(refused.value.fields) == {"items.1.title", "items.1.contact_phone", "items.2.enterprise_uscc"}
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert db.session.scalar(select(func.count()).select_from(TicketOrigin)) == 0
    assert meeting.state == MeetingState.SCHEDULED


def test_requests_are_entered_only_once_the_meeting_has_begun_and_never_for_a_cancelled_one(
    world: World,
) -> None:
    meeting = _schedule(world)
    with pytest.raises(ValidationFailed):
        services.file_meeting_requests(meeting.id, world.liaison, SCHEDULED, [_item(world)])
    with pytest.raises(ValidationFailed) as refused:
        services.file_meeting_requests(meeting.id, world.liaison, AFTER, [])
    assert "items" in refused.value.fields


def test_a_question_sent_in_advance_is_filed_once(world: World) -> None:
    meeting = _schedule(world)
    question = services.ask_question(
        meeting.id,
        world.contact,
        SCHEDULED,
        {
            "category": world.category.code,
            "title": "人才公寓",
            "description": "流程？",
            "contact_phone": "13800138000",
        },
    )
    [ticket] = services.file_meeting_requests(
        meeting.id, world.liaison, AFTER, [_item(world, question=question.id)]
    )
    assert question.ticket_id == ticket.id
    with pytest.raises(ValidationFailed) as refused:
        services.file_meeting_requests(meeting.id, world.liaison, AFTER, [_item(world, question=question.id)])
    assert "already filed" in refused.value.fields["items.0.question"]


def test_minutes_record_attendance_and_who_raised_a_request_stays_attended(world: World) -> None:
    second = factories.enterprise(world.building)
    meeting = _schedule(world)
    services.file_meeting_requests(meeting.id, world.liaison, AFTER, [_item(world)])
    with pytest.raises(ValidationFailed) as refused:
        services.record_minutes(meeting.id, world.liaison, AFTER, {"attended": [second.uscc]})
    assert "attended" in refused.value.fields
    services.record_minutes(
        meeting.id, world.liaison, AFTER, {"attended": [world.enterprise.uscc], "minutes": "交流了停车问题。"}
    )
    attended = {i.enterprise_id: i.attended for i in meeting.invitations}
    assert attended == {world.enterprise.id: True, second.id: False}
    assert meeting.minutes == "交流了停车问题。"


# --------------------------------------------------------------------------- the follow-up agenda


def test_the_next_meetings_agenda_shows_what_is_open_and_what_was_resolved_since(world: World) -> None:
    first = _schedule(world)
    filed = services.file_meeting_requests(
        first.id,
        world.liaison,
        AFTER,
        [_item(world, title=f"问题{k}") for k in range(4)]
        + [_item(world, title="当场答复", answer="已答复")],
    )
    tickets.rate(filed[4].id, world.contact, "basically_satisfied", "", AFTER + timedelta(hours=1))
    second = _schedule(world, starts_at="2026-04-14 08:30", title="四月政企早茶会")
    agenda = queries.agenda(second, world.liaison)
    assert agenda.previous is first
    assert agenda.since == first.starts_at
    [entry] = agenda.enterprises
    assert [t.title for t in entry.open] == ["问题0", "问题1", "问题2", "问题3"]
    assert [(t.title, t.rating_score) for t in entry.resolved] == [("当场答复", "basically_satisfied")]
    assert entry.attended_previous is True


# --------------------------------------------------------------------------- visits and coverage


def test_a_visit_with_a_request_and_the_buildings_field_coverage(world: World) -> None:
    second = factories.enterprise(world.building)
    visit, filed = services.log_visit(
        world.liaison,
        AFTER,
        {
            "enterprise_uscc": world.enterprise.uscc,
            "visited_on": "2026-03-10",
            "met": "张总（总经理）",
            "notes": "了解了扩租需求。",
            "items": [{k: v for k, v in _item(world).items() if k != "enterprise_uscc"}],
        },
    )
    assert [t.channel for t in filed] == [Channel.VISIT]
    assert db.session.get(TicketOrigin, filed[0].id).visit_id == visit.id  # type: ignore[union-attr]
    march = (date(2026, 3, 1), date(2026, 4, 1))
    coverage = queries.field_coverage(*march, building_id=world.building.id)
    assert (coverage.buildings, coverage.covered) == (1, 0)  # the second enterprise was not seen
    services.log_visit(
        world.liaison, AFTER, {"enterprise_uscc": second.uscc, "visited_on": "2026-03-10", "met": "李经理"}
    )
    coverage = queries.field_coverage(*march, building_id=world.building.id)
    assert (coverage.buildings, coverage.covered, coverage.rate) == (1, 1, 1.0)
    assert (
        queries.field_coverage(date(2026, 4, 1), date(2026, 5, 1), building_id=world.building.id).covered == 0
    )


def test_a_visit_is_refused_for_another_building_and_in_the_future(world: World) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.log_visit(
            world.liaison,
            AFTER,
            {"enterprise_uscc": world.other_enterprise.uscc, "visited_on": "2026-03-11", "met": ""},
        )
    assert set(refused.value.fields) == {"enterprise_uscc", "visited_on", "met"}


def test_attending_a_held_meeting_counts_for_the_field_coverage(world: World) -> None:
    meeting = _schedule(world)
    services.record_minutes(meeting.id, world.liaison, AFTER, {"attended": [world.enterprise.uscc]})
    coverage = queries.field_coverage(date(2026, 3, 1), date(2026, 4, 1), building_id=world.building.id)
    assert coverage.covered == 1


def test_my_enterprises_puts_the_ones_never_seen_first(world: World) -> None:
    second = factories.enterprise(world.building, name="甲乙科技")
    services.log_visit(
        world.liaison,
        AFTER,
        {"enterprise_uscc": world.enterprise.uscc, "visited_on": "2026-03-10", "met": "张总"},
    )
    world.submit(AFTER)
    page = db.session.scalars(queries.my_enterprises_query(world.liaison)).all()
    assert page == [second, world.enterprise]
    rows = queries.contacts_of(page)
    assert [(r.open_count, r.last_visit) for r in rows] == [(0, None), (1, date(2026, 3, 10))]


def test_a_managers_answer_at_the_table_goes_to_the_buildings_liaison_of_record(world: World) -> None:
    meeting = _schedule(world, actor=world.manager, host="")
    assert meeting.host_id == world.manager.id
    [ticket] = services.file_meeting_requests(
        meeting.id, world.manager, AFTER, [_item(world, answer="区里的政策是这样的：……")]
    )
    assert ticket.state == TicketState.RESOLVED
    assert ticket.assignee_id == world.liaison.id  # routing's choice: the building's primary liaison
    resolved = db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.RESOLVED)
    ).one()
    assert resolved.actor_id == world.manager.id
    assert resolved.payload["on_the_spot"] is True


def test_with_nobody_to_take_it_a_managers_answer_at_the_table_is_refused_at_its_row(world: World) -> None:
    lonely = factories.building(factories.street())
    enterprise = factories.enterprise(lonely)
    meeting = _schedule(
        world, actor=world.manager, host="", buildings=[lonely.id], invite_buildings=[lonely.id]
    )
    with pytest.raises(ValidationFailed) as refused:
        services.file_meeting_requests(
            meeting.id, world.manager, AFTER, [_item(world, enterprise=enterprise, answer="现场答复")]
        )
    assert set(refused.value.fields) == {"items.0.answer"}
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    [ticket] = services.file_meeting_requests(
        meeting.id, world.manager, AFTER, [_item(world, enterprise=enterprise)]
    )
    assert ticket.state == TicketState.SUBMITTED  # without an answer it is filed, and waits for routing


# --------------------------------------------------------------------------- after review: who reads what


def _street_meeting(world: World):  # type: ignore[no-untyped-def]
    """A manager's meeting of the whole street, hosted by the liaison of the first building: the street's
    other building is covered by another liaison."""
    return _schedule(
        world,
        actor=world.manager,
        buildings=[],
        street=world.street.code,
        host=world.liaison.username,
        invite=[world.enterprise.uscc, world.other_enterprise.uscc],
        invite_buildings=[],
    )


def test_a_liaison_reads_a_street_meetings_agenda_and_questions_for_its_own_buildings_only(
    world: World,
) -> None:
    meeting = _street_meeting(world)
    other_building_liaison = factories.liaison([world.other_enterprise.building])
    for contact in (world.contact, world.other_contact):
        services.ask_question(
            meeting.id,
            contact,
            SCHEDULED,
            {
                "category": world.category.code,
                "title": "问题",
                "description": "说明",
                "contact_phone": "13800138000",
            },
        )
    mine = world.submit(SCHEDULED, title="本楼的诉求")
    theirs = tickets.submit_ticket(
        world.other_contact,
        category=world.category.code,
        title="别的楼的诉求",
        description="说明",
        contact_phone="13800138000",
        now=SCHEDULED,
    )
    # the host covers only the first building: it reads that enterprise's part, and is told of the other
    agenda = queries.agenda(meeting, world.liaison)
    assert [e.enterprise for e in agenda.enterprises] == [world.enterprise]
    assert agenda.left_out == 1
    assert [t.id for t in agenda.enterprises[0].open] == [mine.id]
    # the other building's liaison sees the meeting (it serves its building) and only its part of it
    agenda = queries.agenda(services.get_meeting(other_building_liaison, meeting.id), other_building_liaison)
    assert [[t.id for t in e.open] for e in agenda.enterprises] == [[theirs.id]]
    assert [q.enterprise_id for q in services.questions_for(meeting, other_building_liaison)] == [
        world.other_enterprise.id
    ]
    assert [i.enterprise_id for i in services.invitations_for(meeting, other_building_liaison)] == [
        world.other_enterprise.id
    ]
    # the manager who scheduled it reads everything; a contact its own; a department no question
    assert len(queries.agenda(meeting, world.manager).enterprises) == 2
    assert len(services.questions_for(meeting, world.manager)) == 2
    assert [q.enterprise_id for q in services.questions_for(meeting, world.contact)] == [world.enterprise.id]
    assert services.questions_for(meeting, world.department_user) == []


def test_an_agenda_shows_at_most_twenty_requests_of_an_enterprise_and_says_so(world: World) -> None:
    meeting = _schedule(world)
    for k in range(queries.AGENDA_PER_ENTERPRISE + 2):
        world.submit(SCHEDULED + timedelta(minutes=k), title=f"诉求{k:02d}")
    [entry] = queries.agenda(meeting, world.liaison).enterprises
    assert [t.title for t in entry.open] == [f"诉求{k:02d}" for k in range(queries.AGENDA_PER_ENTERPRISE)]
    assert entry.more is True
    # the previous meeting's attendance was never recorded: neither attended nor absent
    later = _schedule(world, starts_at="2026-04-14 08:30")
    [entry] = queries.agenda(later, world.liaison).enterprises
    assert entry.attended_previous is None


def test_correcting_the_summary_alone_keeps_the_attendance(world: World) -> None:
    meeting = _schedule(world)
    services.record_minutes(meeting.id, world.liaison, AFTER, {"attended": [world.enterprise.uscc.lower()]})
    services.record_minutes(meeting.id, world.liaison, AFTER, {"minutes": "补充：停车问题会后跟进。"})
    assert {i.enterprise_id: i.attended for i in meeting.invitations} == {world.enterprise.id: True}
    assert meeting.minutes == "补充：停车问题会后跟进。"


def test_a_walk_in_recorded_by_mistake_is_taken_off_when_unticked(world: World) -> None:
    neighbour = factories.enterprise(world.building)
    meeting = _schedule(world, invite_buildings=[], invite=[world.enterprise.uscc])
    services.record_minutes(
        meeting.id, world.liaison, AFTER, {"attended": [world.enterprise.uscc, neighbour.uscc]}
    )
    assert {i.enterprise_id: (i.invited, i.attended) for i in meeting.invitations} == {
        world.enterprise.id: (True, True),
        neighbour.id: (False, True),
    }
    services.record_minutes(meeting.id, world.liaison, AFTER, {"attended": [world.enterprise.uscc]})
    assert {i.enterprise_id for i in meeting.invitations} == {world.enterprise.id}
    with pytest.raises(NotFound):  # it neither was invited nor came: the meeting is not its to see
        services.get_meeting(factories.enterprise_user(neighbour), meeting.id)


def test_a_meeting_is_not_moved_into_the_far_past_nor_to_a_far_offset_nor_changes_kind_once_held(
    world: World,
) -> None:
    meeting = _schedule(world)
    for moment in ("1900-01-01 00:00+08:00", "2026-03-10 08:30+23:59", "2024-01-01 08:30"):
        with pytest.raises(ValidationFailed) as refused:
            services.update_meeting(meeting.id, world.liaison, SCHEDULED, {"starts_at": moment})
        assert "starts_at" in refused.value.fields, moment
    moved = services.update_meeting(
        meeting.id, world.liaison, SCHEDULED, {"starts_at": "2026-03-10T09:00+08:00", "ends_at": ""}
    )
    assert moved.ends_at - moved.starts_at == timedelta(minutes=90)
    services.record_minutes(meeting.id, world.liaison, AFTER, {"attended": [world.enterprise.uscc]})
    with pytest.raises(ValidationFailed) as refused:
        services.update_meeting(meeting.id, world.liaison, AFTER, {"kind": "roundtable"})
    assert "kind" in refused.value.fields
