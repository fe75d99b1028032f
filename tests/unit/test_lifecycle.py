"""The request lifecycle of DESIGN §4: every transition allowed and refused, who may make it, its events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from hotline.auth.models import User
from hotline.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.outbox import services as outbox
from hotline.outbox.models import OutboxMessage
from hotline.tickets import services as tickets
from hotline.tickets.labels import state_label
from hotline.tickets.models import (
    OPEN_STATES,
    Channel,
    EventKind,
    Rating,
    RatingScore,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketState,
)
from hotline.tickets.workflow import ACTIONS
from tests import factories
from tests.factories import World

S = TicketState
# 10:00 on a Tuesday in Shanghai.
T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


@pytest.fixture(autouse=True)
def english(app) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


# --------------------------------------------------------------------------- helpers


def count(model: type) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def events_of(ticket: Ticket) -> list[TicketEvent]:
    return list(
        db.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        )
    )


def snapshot(ticket: Ticket) -> list[tuple[Any, ...]]:
    return [
        (e.id, e.kind, e.from_state, e.to_state, e.actor_id, e.public, e.body, e.payload, e.created_at)
        for e in events_of(ticket)
    ]


def route_messages(ticket: Ticket) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.ticket_id == ticket.id, OutboxMessage.topic == outbox.ROUTE_TICKET)
            .order_by(OutboxMessage.id)
        )
    )


def in_state(w: World, state: TicketState) -> Ticket:
    """A request of ``w.contact``'s enterprise, assigned to ``w.liaison`` where it has an assignee."""
    if state == S.SUBMITTED:
        return w.submit(T0)
    if state == S.ASSIGNED:
        ticket = w.submit(T0)
        tickets.assign(ticket.id, w.manager, w.liaison.username, T0)
        return ticket
    if state == S.IN_PROGRESS:
        return w.in_progress(T0)
    if state == S.RETURNED:
        ticket = w.in_progress(T0)
        tickets.return_ticket(ticket.id, w.liaison, "不属于本人职责范围", T0)
        return ticket
    if state == S.RESOLVED:
        return w.resolved(T0)
    if state == S.CLOSED:
        ticket = w.resolved(T0)
        tickets.rate(ticket.id, w.contact, "satisfied", "", T0)
        return ticket
    if state == S.WITHDRAWN:
        ticket = w.submit(T0)
        tickets.withdraw(ticket.id, w.contact, "已自行解决", T0)
        return ticket
    assert state == S.MERGED  # no service merges yet: put one there by hand
    ticket = w.submit(T0)
    ticket.state = S.MERGED
    db.session.flush()
    return ticket


def transferred(w: World) -> Ticket:
    ticket = w.in_progress(T0)
    tickets.transfer(ticket.id, w.liaison, w.department.code, T0)
    return ticket


Call = Callable[[World, Ticket, User, datetime], Ticket]


@dataclass(frozen=True)
class Action:
    name: str
    actor: str  # the World attribute of the user allowed to act
    call: Call
    allowed: frozenset[TicketState]
    to: TicketState | None  # None: the state does not change
    kind: EventKind
    public: bool
    stays: frozenset[TicketState] = frozenset()  # allowed states it moves from and to (a handover)

    def __str__(self) -> str:
        return self.name


ACTIONS = [
    Action(
        "assign",
        "manager",
        lambda w, t, a, now: tickets.assign(t.id, a, w.other_liaison.username, now),
        frozenset({S.SUBMITTED, S.ASSIGNED, S.IN_PROGRESS, S.RETURNED}),
        S.ASSIGNED,
        EventKind.ASSIGNED,
        True,
        stays=frozenset({S.IN_PROGRESS}),  # handed over as it stands
    ),
    Action(
        "acknowledge",
        "liaison",
        lambda w, t, a, now: tickets.acknowledge(t.id, a, now),
        frozenset({S.ASSIGNED}),
        S.IN_PROGRESS,
        EventKind.ACKNOWLEDGED,
        True,
    ),
    Action(
        "reply",
        "liaison",
        lambda w, t, a, now: tickets.reply(t.id, a, "正在与物业协调。", now),
        frozenset({S.IN_PROGRESS}),
        None,
        EventKind.REPLIED,
        True,
    ),
    Action(
        "add_information",
        "contact",
        lambda w, t, a, now: tickets.add_information(t.id, a, "补充：共需20个车位。", now),
        frozenset(OPEN_STATES),
        None,
        EventKind.INFO_ADDED,
        True,
    ),
    Action(
        "transfer",
        "liaison",
        lambda w, t, a, now: tickets.transfer(t.id, a, w.department.code, now, "请协助办理"),
        frozenset({S.IN_PROGRESS}),
        None,
        EventKind.TRANSFERRED,
        True,
    ),
    Action(
        "return",
        "liaison",
        lambda w, t, a, now: tickets.return_ticket(t.id, a, "该企业不在本人包联楼宇", now),
        frozenset({S.ASSIGNED, S.IN_PROGRESS}),
        S.RETURNED,
        EventKind.RETURNED,
        False,
    ),
    Action(
        "accept_return",
        "manager",
        lambda w, t, a, now: tickets.review_return(t.id, a, True, "", now),
        frozenset({S.RETURNED}),
        S.SUBMITTED,
        EventKind.RETURN_ACCEPTED,
        False,
    ),
    Action(
        "refuse_return",
        "manager",
        lambda w, t, a, now: tickets.review_return(t.id, a, False, "属于你的楼宇，请继续办理", now),
        frozenset({S.RETURNED}),
        S.IN_PROGRESS,  # in_state(RETURNED) returns from in_progress
        EventKind.RETURN_REFUSED,
        False,
    ),
    Action(
        "resolve",
        "liaison",
        lambda w, t, a, now: tickets.resolve(t.id, a, "已协调周边停车场。", now),
        frozenset({S.IN_PROGRESS}),
        S.RESOLVED,
        EventKind.RESOLVED,
        True,
    ),
    Action(
        "withdraw",
        "contact",
        lambda w, t, a, now: tickets.withdraw(t.id, a, "已自行解决", now),
        frozenset(ACTIONS["withdraw"].states),
        S.WITHDRAWN,
        EventKind.WITHDRAWN,
        True,
    ),
    Action(
        "rate",
        "contact",
        lambda w, t, a, now: tickets.rate(t.id, a, "satisfied", "很及时", now),
        frozenset({S.RESOLVED}),
        S.CLOSED,
        EventKind.RATED,
        True,
    ),
]
# Hand back has the same state rule but needs a department holding the request; tested on its own below.
HANDBACK = Action(
    "handback",
    "manager",
    lambda w, t, a, now: tickets.handback(t.id, a, "已转回", now),
    frozenset({S.IN_PROGRESS}),
    None,
    EventKind.HANDED_BACK,
    False,
)


# --------------------------------------------------------------------------- the transition table


@pytest.mark.parametrize(
    ("action", "state"),
    [(a, s) for a in ACTIONS for s in sorted(a.allowed)],
    ids=lambda v: str(v),
)
def test_allowed_transition(world: World, action: Action, state: TicketState) -> None:
    ticket = in_state(world, state)
    actor = getattr(world, action.actor)
    before = snapshot(ticket)

    result = action.call(world, ticket, actor, T1)

    assert result.id == ticket.id
    expected = state if state in action.stays else (action.to or state)
    assert ticket.state == expected
    after = snapshot(ticket)
    assert after[: len(before)] == before, "earlier events changed"
    assert len(after) == len(before) + 1
    event = events_of(ticket)[-1]
    assert event.kind == action.kind
    assert event.actor_id == actor.id
    assert event.public is action.public
    assert event.created_at == T1
    assert event.to_state == expected
    # A move records where it came from; a remark (reply, information, transfer) records no move.
    assert event.from_state == (state if action.to else None)
    assert ticket.updated_at == T1


@pytest.mark.parametrize(
    ("action", "state"),
    [(a, s) for a in [*ACTIONS, HANDBACK] for s in TicketState if s not in a.allowed],
    ids=lambda v: str(v),
)
def test_illegal_transition_is_refused_naming_the_state(
    world: World, action: Action, state: TicketState
) -> None:
    ticket = in_state(world, state)
    actor = getattr(world, action.actor)
    before = snapshot(ticket)
    ratings_before = count(Rating)

    with pytest.raises(InvalidTransition) as info:
        action.call(world, ticket, actor, T1)

    assert f"“{state_label(state)}”" in info.value.message
    assert info.value.status == 409
    assert ticket.state == state
    assert snapshot(ticket) == before
    assert count(Rating) == ratings_before


def test_state_labels_are_distinct_and_cover_every_state(app) -> None:  # type: ignore[no-untyped-def]
    with force_locale("en"):
        labels = {state_label(s) for s in TicketState}
    assert len(labels) == len(TicketState)


# --------------------------------------------------------------------------- who may act


def _other_department_user(w: World) -> User:
    return factories.department_user()


def _assigned_to_other(w: World) -> Ticket:
    """Assigned to ``other_liaison``; ``w.liaison`` covers the building (sees it) but is not the assignee."""
    ticket = w.submit(T0)
    tickets.assign(ticket.id, w.manager, w.other_liaison.username, T0)
    return ticket


def _in_progress_with_other(w: World) -> Ticket:
    ticket = _assigned_to_other(w)
    tickets.acknowledge(ticket.id, w.other_liaison, T0)
    return ticket


def _transferred_resolved(w: World) -> Ticket:
    ticket = transferred(w)
    tickets.resolve(ticket.id, w.department_user, "已由区部门办结。", T0)
    return ticket


SCENARIOS: dict[str, Callable[[World], Ticket]] = {
    "submitted": lambda w: in_state(w, S.SUBMITTED),
    "assigned": lambda w: in_state(w, S.ASSIGNED),
    "in_progress": lambda w: in_state(w, S.IN_PROGRESS),
    "returned": lambda w: in_state(w, S.RETURNED),
    "resolved": lambda w: in_state(w, S.RESOLVED),
    "transferred": transferred,
    "transferred_resolved": _transferred_resolved,
    "assigned_to_other": _assigned_to_other,
    "in_progress_with_other": _in_progress_with_other,
}

CALLS: dict[str, Call] = {a.name: a.call for a in [*ACTIONS, HANDBACK]}
CALLS["note"] = lambda w, t, a, now: tickets.add_note(t.id, a, "内部备注", now)
CALLS["rate_dissatisfied"] = lambda w, t, a, now: tickets.rate(t.id, a, "dissatisfied", "没有解决", now)

ACTORS: dict[str, Callable[[World], User]] = {
    "contact": lambda w: w.contact,
    "other_contact": lambda w: w.other_contact,
    "liaison": lambda w: w.liaison,
    "other_liaison": lambda w: w.other_liaison,
    "department_user": lambda w: w.department_user,
    "other_department_user": _other_department_user,
    "manager": lambda w: w.manager,
}

UNAUTHORISED = [
    # another liaison: neither covering the building nor assigned, so the request does not exist for it
    ("other_liaison", "acknowledge", "assigned", NotFound),
    ("other_liaison", "reply", "in_progress", NotFound),
    ("other_liaison", "note", "in_progress", NotFound),
    ("other_liaison", "transfer", "in_progress", NotFound),
    ("other_liaison", "return", "in_progress", NotFound),
    ("other_liaison", "resolve", "in_progress", NotFound),
    ("other_liaison", "handback", "transferred", NotFound),
    ("other_liaison", "rate", "resolved", NotFound),
    # another enterprise
    ("other_contact", "add_information", "in_progress", NotFound),
    ("other_contact", "withdraw", "submitted", NotFound),
    ("other_contact", "rate", "resolved", NotFound),
    ("other_contact", "rate_dissatisfied", "resolved", NotFound),
    ("other_contact", "acknowledge", "assigned", NotFound),
    # a department the request was not transferred to
    ("other_department_user", "reply", "transferred", NotFound),
    ("other_department_user", "resolve", "transferred", NotFound),
    ("other_department_user", "handback", "transferred", NotFound),
    ("other_department_user", "note", "transferred", NotFound),
    ("department_user", "reply", "in_progress", NotFound),  # not (yet) transferred to it
    # the enterprise trying staff actions on its own request
    ("contact", "assign", "submitted", Forbidden),
    ("contact", "acknowledge", "assigned", Forbidden),
    ("contact", "reply", "in_progress", Forbidden),
    ("contact", "note", "in_progress", Forbidden),
    ("contact", "transfer", "in_progress", Forbidden),
    ("contact", "handback", "transferred", Forbidden),
    ("contact", "return", "in_progress", Forbidden),
    ("contact", "accept_return", "returned", Forbidden),
    ("contact", "refuse_return", "returned", Forbidden),
    ("contact", "resolve", "in_progress", Forbidden),
    # the covering liaison on a request assigned to someone else
    ("liaison", "acknowledge", "assigned_to_other", Forbidden),
    ("liaison", "return", "assigned_to_other", Forbidden),
    ("liaison", "reply", "in_progress_with_other", Forbidden),
    ("liaison", "transfer", "in_progress_with_other", Forbidden),
    ("liaison", "resolve", "in_progress_with_other", Forbidden),
    # liaisons do not dispatch or review returns
    ("liaison", "assign", "submitted", Forbidden),
    ("liaison", "accept_return", "returned", Forbidden),
    ("liaison", "refuse_return", "returned", Forbidden),
    # the department holding the request: no transfer, return, acknowledgement; no enterprise actions
    ("department_user", "transfer", "transferred", Forbidden),
    ("department_user", "return", "transferred", Forbidden),
    ("department_user", "withdraw", "transferred", Forbidden),
    ("department_user", "add_information", "transferred", Forbidden),
    ("department_user", "rate", "transferred_resolved", Forbidden),
    # only the enterprise withdraws or adds information; only it or a manager rates
    ("liaison", "withdraw", "in_progress", Forbidden),
    ("manager", "withdraw", "in_progress", Forbidden),
    ("manager", "add_information", "in_progress", Forbidden),
    ("liaison", "rate", "resolved", Forbidden),
    ("liaison", "rate_dissatisfied", "resolved", Forbidden),
]


@pytest.mark.parametrize(
    ("actor_key", "action", "scenario", "error"),
    UNAUTHORISED,
    ids=[f"{a}-{b}-{c}" for a, b, c, _ in UNAUTHORISED],
)
def test_unauthorised_actor_is_refused(
    world: World, actor_key: str, action: str, scenario: str, error: type[Exception]
) -> None:
    ticket = SCENARIOS[scenario](world)
    actor = ACTORS[actor_key](world)
    state = ticket.state
    before = snapshot(ticket)

    with pytest.raises(error) as info:
        CALLS[action](world, ticket, actor, T1)

    assert type(info.value) is error
    assert ticket.state == state
    assert snapshot(ticket) == before


def test_not_found_does_not_reveal_the_request(world: World) -> None:
    ticket = world.submit(T0)
    with pytest.raises(NotFound) as info:
        tickets.withdraw(ticket.id, world.other_contact, "", T1)
    assert ticket.number not in info.value.message
    assert info.value.message == "No such request."


# --------------------------------------------------------------------------- submission


def _stored_counts() -> tuple[int, ...]:
    return tuple(count(m) for m in (Ticket, TicketEvent, TicketCounter, OutboxMessage, Rating))


def test_enterprise_submits(world: World) -> None:
    ticket = world.submit(T0, urgency="urgent", contact_phone="+86 138-0013-8000")
    assert ticket.state == S.SUBMITTED
    assert ticket.enterprise_id == world.enterprise.id
    assert ticket.building_id == world.building.id
    assert ticket.created_by_id == world.contact.id
    assert ticket.channel == Channel.WEB
    assert ticket.created_at == T0
    assert ticket.assignee_id is None
    [event] = events_of(ticket)
    assert (event.kind, event.from_state, event.to_state) == (EventKind.SUBMITTED, None, S.SUBMITTED)
    assert event.actor_id == world.contact.id
    assert event.public is True
    assert event.payload == {"channel": "web", "urgency": "urgent"}
    [message] = route_messages(ticket)
    assert message.payload == {"ticket_id": ticket.id}
    assert message.published_at is None


def test_enterprise_submits_through_the_api_channel(world: World) -> None:
    assert world.submit(T0, channel="api").channel == Channel.API
    # An enterprise cannot claim a channel only liaisons record.
    assert world.submit(T0, channel="tea_meeting").channel == Channel.WEB


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("category", "no-such-category"),
        ("category", ""),
        ("category", "inactive"),
        ("title", "   "),
        ("title", "长" * (tickets.TITLE_MAX + 1)),
        ("description", ""),
        ("description", "长" * (tickets.TEXT_MAX + 1)),
        ("urgency", "very"),
        ("contact_phone", ""),
        ("contact_phone", "call me"),
        ("contact_phone", "12345"),
    ],
)
def test_submit_refuses_each_bad_field_and_saves_nothing(world: World, field: str, value: str) -> None:
    if value == "inactive":  # a category managers have retired
        world.category.active = False
        value = world.category.code
    before = _stored_counts()
    with pytest.raises(ValidationFailed) as info:
        world.submit(T0, **{field: value})
    assert set(info.value.fields) == {field}
    assert info.value.fields[field]
    assert _stored_counts() == before


def test_submit_reports_every_bad_field_at_once(world: World) -> None:
    before = _stored_counts()
    with pytest.raises(ValidationFailed) as info:
        world.submit(T0, category="?", title="", description=" ", urgency="x", contact_phone="?")
    assert set(info.value.fields) == {"category", "title", "description", "urgency", "contact_phone"}
    assert _stored_counts() == before


def test_submit_accepts_the_longest_title(world: World) -> None:
    assert world.submit(T0, title="长" * tickets.TITLE_MAX).title == "长" * tickets.TITLE_MAX


def test_a_refused_submission_uses_no_number(world: World) -> None:
    first = world.submit(T0)
    with pytest.raises(ValidationFailed):
        world.submit(T0, title="")
    second = world.submit(T0)
    assert first.number == "QH20260310-0001"
    assert second.number == "QH20260310-0002"


def _record(w: World, actor: User, **fields: object) -> Ticket:
    values: dict[str, object] = {
        "category": w.category.code,
        "title": "早茶会反映：人才公寓申请",
        "description": "企业在早茶会上提出人才公寓申请流程不清楚。",
        "urgency": "normal",
        "contact_phone": "13800138000",
        "enterprise_uscc": w.enterprise.uscc,
        "channel": "tea_meeting",
    }
    values.update(fields)
    return tickets.submit_ticket(actor, now=T0, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("channel", ["phone", "tea_meeting", "roundtable", "visit"])
def test_liaison_records_on_behalf_of_a_covered_enterprise(world: World, channel: str) -> None:
    ticket = _record(world, world.liaison, channel=channel)
    assert ticket.state == S.SUBMITTED
    assert ticket.channel == Channel(channel)
    assert ticket.enterprise_id == world.enterprise.id
    assert ticket.created_by_id == world.liaison.id
    [event] = events_of(ticket)
    assert event.actor_id == world.liaison.id
    assert event.payload["channel"] == channel
    assert len(route_messages(ticket)) == 1


def test_liaison_may_type_the_code_in_lower_case_with_spaces(world: World) -> None:
    code = world.enterprise.uscc.lower()
    spaced = " ".join(code[i : i + 6] for i in range(0, 18, 6))
    assert _record(world, world.liaison, enterprise_uscc=f" {spaced} ").enterprise_id == world.enterprise.id


@pytest.mark.parametrize("channel", [None, "", "web", "api", "email"])
def test_recording_needs_a_recorded_channel(world: World, channel: str | None) -> None:
    before = _stored_counts()
    with pytest.raises(ValidationFailed) as info:
        _record(world, world.liaison, channel=channel)
    assert set(info.value.fields) == {"channel"}
    assert _stored_counts() == before


def test_liaison_cannot_record_for_an_enterprise_outside_its_buildings(world: World) -> None:
    before = _stored_counts()
    with pytest.raises(ValidationFailed) as info:
        _record(world, world.liaison, enterprise_uscc=world.other_enterprise.uscc)
    assert set(info.value.fields) == {"enterprise_uscc"}
    assert "not in a building you cover" in info.value.fields["enterprise_uscc"]
    assert _stored_counts() == before


def test_recording_for_an_unknown_code_is_refused(world: World) -> None:
    with pytest.raises(ValidationFailed) as info:
        _record(world, world.liaison, enterprise_uscc=factories.make_uscc(987654321))
    assert set(info.value.fields) == {"enterprise_uscc"}


def test_manager_records_for_any_enterprise(world: World) -> None:
    ticket = _record(world, world.manager, enterprise_uscc=world.other_enterprise.uscc, channel="phone")
    assert ticket.enterprise_id == world.other_enterprise.id
    assert ticket.building_id == world.other_enterprise.building_id


def test_department_staff_cannot_file(world: World) -> None:
    before = _stored_counts()
    with pytest.raises(Forbidden):
        _record(world, world.department_user)
    assert _stored_counts() == before


# --------------------------------------------------------------------------- request numbers


def test_numbers_follow_the_shanghai_day_and_restart_each_day(world: World) -> None:
    # 16:00 UTC is midnight in Shanghai.
    late = datetime(2026, 3, 9, 15, 59, 58, tzinfo=UTC)  # 23:59:58 on 9 March in Shanghai
    numbers = [
        world.submit(late).number,
        world.submit(late + timedelta(seconds=1)).number,
        world.submit(datetime(2026, 3, 9, 16, 0, tzinfo=UTC)).number,  # 00:00 on 10 March
        world.submit(datetime(2026, 3, 9, 16, 5, tzinfo=UTC)).number,
        # Still 9 March in UTC but the same Shanghai day as the two before.
        world.submit(datetime(2026, 3, 10, 1, 0, tzinfo=UTC)).number,
        world.submit(datetime(2026, 3, 10, 16, 0, tzinfo=UTC)).number,  # 00:00 on 11 March
    ]
    assert numbers == [
        "QH20260309-0001",
        "QH20260309-0002",
        "QH20260310-0001",
        "QH20260310-0002",
        "QH20260310-0003",
        "QH20260311-0001",
    ]


def test_numbers_are_unique_within_a_day(world: World) -> None:
    numbers = [world.submit(T0 + timedelta(minutes=i)).number for i in range(12)]
    assert len(set(numbers)) == 12
    assert numbers[-1] == "QH20260310-0012"


# --------------------------------------------------------------------------- dispatch


def test_manager_assigns(world: World) -> None:
    ticket = world.submit(T0)
    tickets.assign(ticket.id, world.manager, world.liaison.username, T1, reason="主包联人")
    assert ticket.state == S.ASSIGNED
    assert ticket.assignee_id == world.liaison.id
    assert ticket.assigned_at == T1
    event = events_of(ticket)[-1]
    assert (event.kind, event.from_state, event.to_state) == (EventKind.ASSIGNED, S.SUBMITTED, S.ASSIGNED)
    assert event.actor_id == world.manager.id
    assert event.body == ""  # the public timeline does not carry the dispatcher's reason …
    assert event.payload["reason"] == "主包联人"  # … staff read it from the payload
    assert event.payload["assignee"] == world.liaison.username
    assert event.payload["method"] == "manual"


def test_reassigning_before_acknowledgement(world: World) -> None:
    ticket = in_state(world, S.ASSIGNED)
    tickets.assign(ticket.id, world.manager, world.other_liaison.username, T1)
    assert ticket.assignee_id == world.other_liaison.id
    event = events_of(ticket)[-1]
    assert (event.from_state, event.to_state) == (S.ASSIGNED, S.ASSIGNED)
    with pytest.raises(ValidationFailed) as info:
        tickets.assign(ticket.id, world.manager, world.other_liaison.username, T1)
    assert set(info.value.fields) == {"liaison"}


@pytest.mark.parametrize("problem", ["inactive", "on_leave", "unknown", "not_a_liaison"])
def test_assignment_needs_an_active_available_liaison(world: World, problem: str) -> None:
    ticket = world.submit(T0)
    username = world.liaison.username
    if problem == "inactive":
        world.liaison.active = False
    elif problem == "on_leave":
        world.liaison.available = False
    elif problem == "unknown":
        username = "nobody"
    else:
        username = world.department_user.username
    before = snapshot(ticket)
    with pytest.raises(ValidationFailed) as info:
        tickets.assign(ticket.id, world.manager, username, T1)
    assert set(info.value.fields) == {"liaison"}
    assert ticket.state == S.SUBMITTED
    assert ticket.assignee_id is None
    assert snapshot(ticket) == before


def test_never_assigned_back_to_the_liaison_who_returned_it(world: World) -> None:
    ticket = in_state(world, S.RETURNED)
    tickets.review_return(ticket.id, world.manager, True, "", T1)
    with pytest.raises(ValidationFailed) as info:
        tickets.assign(ticket.id, world.manager, world.liaison.username, T1)
    assert world.liaison.name in info.value.fields["liaison"]
    assert ticket.state == S.SUBMITTED

    tickets.assign(ticket.id, world.manager, world.other_liaison.username, T1)
    assert ticket.assignee_id == world.other_liaison.id
    # The rule is "not twice in a row": once someone else returned it, the first liaison may have it again.
    tickets.return_ticket(ticket.id, world.other_liaison, "不在本人楼宇", T1)
    tickets.review_return(ticket.id, world.manager, True, "", T1)
    tickets.assign(ticket.id, world.manager, world.liaison.username, T1)
    assert ticket.assignee_id == world.liaison.id


def test_a_request_in_progress_is_handed_over_as_it_stands(world: World) -> None:
    """Reassigned in progress: the new liaison holds it at once; the acknowledgement, the resolve deadline,
    the escalation and the department handling it stay; the event says who had it and why."""
    ticket = transferred(world)
    ticket.escalation_level = 1
    acknowledged, due, assigned = ticket.acknowledged_at, ticket.resolve_due_at, ticket.assigned_at
    acknowledge_due = ticket.acknowledge_due_at

    tickets.assign(ticket.id, world.manager, world.other_liaison.username, T1, reason="原包联人离职")

    assert (ticket.state, ticket.assignee_id) == (S.IN_PROGRESS, world.other_liaison.id)
    assert (ticket.acknowledged_at, ticket.resolve_due_at, ticket.assigned_at) == (
        acknowledged,
        due,
        assigned,
    )
    assert ticket.acknowledge_due_at == acknowledge_due  # no new acknowledge clock
    assert ticket.escalation_level == 1 and ticket.department_id == world.department.id
    event = events_of(ticket)[-1]
    assert (event.kind, event.from_state, event.to_state) == (
        EventKind.ASSIGNED,
        S.IN_PROGRESS,
        S.IN_PROGRESS,
    )
    assert event.payload == {
        "assignee": world.other_liaison.username,
        "assignee_name": world.other_liaison.name,
        "method": "handover",
        "previous_assignee": world.liaison.username,
        "previous_assignee_name": world.liaison.name,
        "reason": "原包联人离职",
    }
    # the new assignee works it: the former one no longer may
    tickets.reply(ticket.id, world.other_liaison, "我来接手。", T1)
    with pytest.raises(Forbidden):
        tickets.resolve(ticket.id, world.liaison, "已办结", T1)


def test_a_returned_request_reassigned_settles_the_return(world: World) -> None:
    ticket = in_state(world, S.RETURNED)
    with pytest.raises(ValidationFailed) as info:
        tickets.assign(ticket.id, world.manager, world.liaison.username, T1)  # the returner
    assert world.liaison.name in info.value.fields["liaison"]

    tickets.assign(ticket.id, world.manager, world.other_liaison.username, T1)

    assert (ticket.state, ticket.assignee_id) == (S.ASSIGNED, world.other_liaison.id)
    assert ticket.returned_from_state is None and ticket.acknowledged_at is None
    assert ticket.assigned_at == T1
    event = events_of(ticket)[-1]
    assert (event.kind, event.from_state, event.to_state) == (EventKind.ASSIGNED, S.RETURNED, S.ASSIGNED)
    tickets.acknowledge(ticket.id, world.other_liaison, T1)
    assert ticket.state == S.IN_PROGRESS


@pytest.mark.parametrize("state", [S.RESOLVED, S.CLOSED, S.WITHDRAWN, S.MERGED])
def test_a_request_no_longer_open_is_not_reassigned(world: World, state: TicketState) -> None:
    ticket = in_state(world, state)
    before = snapshot(ticket)
    with pytest.raises(InvalidTransition):
        tickets.assign(ticket.id, world.manager, world.other_liaison.username, T1)
    assert snapshot(ticket) == before


def test_a_liaisons_open_work_is_handed_over_in_one_step(world: World) -> None:
    assigned = in_state(world, S.ASSIGNED)
    working = in_state(world, S.IN_PROGRESS)
    returned = in_state(world, S.RETURNED)
    done = in_state(world, S.RESOLVED)
    # one the other liaison returned before: it may not have it back straight away, and it stays
    bounced = world.in_progress(T0)
    tickets.assign(bounced.id, world.manager, world.other_liaison.username, T0)
    tickets.return_ticket(bounced.id, world.other_liaison, "不在本人楼宇", T0)
    tickets.review_return(bounced.id, world.manager, True, "", T0)
    tickets.assign(bounced.id, world.manager, world.liaison.username, T0)

    with pytest.raises(ValidationFailed) as info:
        tickets.hand_over_workload(world.liaison.username, world.manager, world.liaison.username, "", T1)
    assert set(info.value.fields) == {"to", "reason"}
    with pytest.raises(Forbidden):
        tickets.hand_over_workload(
            world.liaison.username, world.liaison, world.other_liaison.username, "x", T1
        )
    with pytest.raises(NotFound):
        tickets.hand_over_workload("nobody", world.manager, world.other_liaison.username, "离职", T1)

    result = tickets.hand_over_workload(
        world.liaison.username, world.manager, world.other_liaison.username, "离职交接", T1
    )

    assert sorted(result.handed_over) == sorted([assigned.number, working.number, returned.number])
    assert [number for number, _why in result.kept] == [bounced.number]
    assert world.other_liaison.name in result.kept[0][1]
    for ticket in (assigned, working, returned):
        assert ticket.assignee_id == world.other_liaison.id
        assert events_of(ticket)[-1].payload["reason"] == "离职交接"
    assert (working.state, assigned.state, returned.state) == (S.IN_PROGRESS, S.ASSIGNED, S.ASSIGNED)
    assert done.assignee_id == world.liaison.id and bounced.assignee_id == world.liaison.id
    assert tickets.held_count(world.liaison.id) == 1


# --------------------------------------------------------------------------- the assignee's work


def test_acknowledge(world: World) -> None:
    ticket = in_state(world, S.ASSIGNED)
    tickets.acknowledge(ticket.id, world.liaison, T1)
    assert ticket.state == S.IN_PROGRESS
    assert ticket.acknowledged_at == T1
    event = events_of(ticket)[-1]
    assert (event.kind, event.from_state, event.to_state) == (
        EventKind.ACKNOWLEDGED,
        S.ASSIGNED,
        S.IN_PROGRESS,
    )
    assert event.actor_id == world.liaison.id


def test_reply_is_public_and_needs_a_body(world: World) -> None:
    ticket = in_state(world, S.IN_PROGRESS)
    before = snapshot(ticket)
    with pytest.raises(ValidationFailed) as info:
        tickets.reply(ticket.id, world.liaison, "  ", T1)
    assert set(info.value.fields) == {"body"}
    assert snapshot(ticket) == before
    tickets.reply(ticket.id, world.liaison, " 已联系物业 ", T1)
    event = events_of(ticket)[-1]
    assert (event.kind, event.body, event.public) == (EventKind.REPLIED, "已联系物业", True)


def test_manager_may_reply(world: World) -> None:
    ticket = in_state(world, S.IN_PROGRESS)
    tickets.reply(ticket.id, world.manager, "区办已督办。", T1)
    assert events_of(ticket)[-1].actor_id == world.manager.id


def test_internal_note_is_not_public(world: World) -> None:
    ticket = in_state(world, S.IN_PROGRESS)
    tickets.add_note(ticket.id, world.liaison, "企业负责人电话不通，明天再联系", T1)
    event = events_of(ticket)[-1]
    assert event.kind == EventKind.NOTED
    assert event.public is False
    assert event.actor_id == world.liaison.id
    assert ticket.state == S.IN_PROGRESS
    with pytest.raises(ValidationFailed) as info:
        tickets.add_note(ticket.id, world.liaison, "", T1)
    assert set(info.value.fields) == {"body"}


def test_notes_are_allowed_on_finished_requests_without_changing_them(world: World) -> None:
    ticket = in_state(world, S.CLOSED)
    tickets.add_note(ticket.id, world.manager, "回访记录归档", T1)
    assert ticket.state == S.CLOSED
    assert events_of(ticket)[-1].public is False


def test_enterprise_adds_information(world: World) -> None:
    ticket = in_state(world, S.ASSIGNED)
    tickets.add_information(ticket.id, world.contact, "附近有一处空地可作停车场。", T1)
    event = events_of(ticket)[-1]
    assert (event.kind, event.public, event.actor_id) == (EventKind.INFO_ADDED, True, world.contact.id)
    assert ticket.state == S.ASSIGNED
    with pytest.raises(ValidationFailed) as info:
        tickets.add_information(ticket.id, world.contact, "", T1)
    assert set(info.value.fields) == {"body"}


def test_transfer_to_a_department_and_back(world: World) -> None:
    ticket = in_state(world, S.IN_PROGRESS)
    tickets.transfer(ticket.id, world.liaison, world.department.code, T1, "请区交通局协调")
    assert ticket.state == S.IN_PROGRESS
    assert ticket.department_id == world.department.id
    assert ticket.assignee_id == world.liaison.id  # the liaison stays the enterprise's contact
    event = events_of(ticket)[-1]
    assert event.kind == EventKind.TRANSFERRED
    assert event.payload["department"] == world.department.code

    # The department now sees it and can work it.
    tickets.reply(ticket.id, world.department_user, "交通局已受理。", T1)
    tickets.handback(ticket.id, world.department_user, "需街道协调场地", T1)
    assert ticket.department_id is None
    assert ticket.state == S.IN_PROGRESS
    event = events_of(ticket)[-1]
    assert (event.kind, event.public, event.actor_id) == (
        EventKind.HANDED_BACK,
        False,
        world.department_user.id,
    )
    assert event.payload["department"] == world.department.code
    # Handed back, the request is no longer the department's to see.
    with pytest.raises(NotFound):
        tickets.reply(ticket.id, world.department_user, "补充", T1)


def test_transfer_needs_an_active_different_department(world: World) -> None:
    ticket = in_state(world, S.IN_PROGRESS)
    closed_bureau = factories.department()
    closed_bureau.active = False
    for code in ("", "nope", closed_bureau.code):
        with pytest.raises(ValidationFailed) as info:
            tickets.transfer(ticket.id, world.liaison, code, T1)
        assert set(info.value.fields) == {"department"}
    tickets.transfer(ticket.id, world.liaison, world.department.code, T1)
    with pytest.raises(ValidationFailed):
        tickets.transfer(ticket.id, world.liaison, world.department.code, T1)
    assert [e.kind for e in events_of(ticket)].count(EventKind.TRANSFERRED) == 1


def test_handback_needs_a_department_and_a_note(world: World) -> None:
    ticket = in_state(world, S.IN_PROGRESS)
    with pytest.raises(InvalidTransition) as info:
        tickets.handback(ticket.id, world.liaison, "收回", T1)
    assert "not with a department" in info.value.message
    tickets.transfer(ticket.id, world.liaison, world.department.code, T1)
    with pytest.raises(ValidationFailed) as error:
        tickets.handback(ticket.id, world.department_user, "", T1)
    assert set(error.value.fields) == {"body"}
    # The liaison may also take the request back.
    tickets.handback(ticket.id, world.liaison, "收回自办", T1)
    assert ticket.department_id is None


@pytest.mark.parametrize("state", [S.ASSIGNED, S.IN_PROGRESS])
def test_return_needs_a_reason_and_remembers_where_from(world: World, state: TicketState) -> None:
    ticket = in_state(world, state)
    before = snapshot(ticket)
    with pytest.raises(ValidationFailed) as info:
        tickets.return_ticket(ticket.id, world.liaison, "   ", T1)
    assert set(info.value.fields) == {"reason"}
    assert ticket.state == state
    assert snapshot(ticket) == before

    tickets.return_ticket(ticket.id, world.liaison, "企业已迁出本楼宇", T1)
    assert ticket.state == S.RETURNED
    assert ticket.returned_from_state == state
    assert ticket.last_returned_by_id == world.liaison.id
    event = events_of(ticket)[-1]
    assert (event.kind, event.from_state, event.to_state) == (EventKind.RETURNED, state, S.RETURNED)
    assert event.body == "企业已迁出本楼宇"


def test_accepting_a_return_puts_it_back_in_the_pool_for_routing(world: World) -> None:
    ticket = in_state(world, S.RETURNED)
    assert len(route_messages(ticket)) == 1  # from the submission
    tickets.review_return(ticket.id, world.manager, True, "重新派单", T1)
    assert ticket.state == S.SUBMITTED
    assert ticket.assignee_id is None
    assert ticket.acknowledged_at is None
    assert ticket.last_returned_by_id == world.liaison.id
    event = events_of(ticket)[-1]
    assert (event.kind, event.from_state, event.to_state) == (
        EventKind.RETURN_ACCEPTED,
        S.RETURNED,
        S.SUBMITTED,
    )
    assert event.actor_id == world.manager.id
    messages = route_messages(ticket)
    assert len(messages) == 2
    assert messages[-1].payload == {"ticket_id": ticket.id}
    assert messages[-1].created_at == T1


@pytest.mark.parametrize("state", [S.ASSIGNED, S.IN_PROGRESS])
def test_refusing_a_return_needs_a_note_and_restores_the_state(world: World, state: TicketState) -> None:
    ticket = in_state(world, state)
    tickets.return_ticket(ticket.id, world.liaison, "不归我管", T0)
    before = snapshot(ticket)
    with pytest.raises(ValidationFailed) as info:
        tickets.review_return(ticket.id, world.manager, False, "", T1)
    assert set(info.value.fields) == {"note"}
    assert ticket.state == S.RETURNED
    assert snapshot(ticket) == before

    tickets.review_return(ticket.id, world.manager, False, "该企业在你包联的楼宇", T1)
    assert ticket.state == state
    assert ticket.assignee_id == world.liaison.id
    assert ticket.returned_from_state is None
    event = events_of(ticket)[-1]
    assert (event.kind, event.from_state, event.to_state) == (EventKind.RETURN_REFUSED, S.RETURNED, state)
    assert len(route_messages(ticket)) == 1  # nothing to route


def test_resolve_needs_an_answer_and_opens_the_rating_window(world: World) -> None:
    ticket = in_state(world, S.IN_PROGRESS)
    before = snapshot(ticket)
    with pytest.raises(ValidationFailed) as info:
        tickets.resolve(ticket.id, world.liaison, "", T1)
    assert set(info.value.fields) == {"answer"}
    assert ticket.state == S.IN_PROGRESS
    assert snapshot(ticket) == before

    tickets.resolve(ticket.id, world.liaison, "已协调周边停车场提供月租车位。", T1)
    assert ticket.state == S.RESOLVED
    assert ticket.answer == "已协调周边停车场提供月租车位。"
    assert ticket.resolved_at == T1
    assert ticket.rating_due_at == ticket.resolved_at + timedelta(days=7)
    event = events_of(ticket)[-1]
    assert (event.kind, event.from_state, event.to_state) == (EventKind.RESOLVED, S.IN_PROGRESS, S.RESOLVED)
    assert event.public is True


def test_the_department_holding_a_request_may_resolve_it(world: World) -> None:
    ticket = transferred(world)
    tickets.resolve(ticket.id, world.department_user, "区交通局已增设临时车位。", T1)
    assert ticket.state == S.RESOLVED
    assert events_of(ticket)[-1].actor_id == world.department_user.id


# --------------------------------------------------------------------------- the enterprise's side


@pytest.mark.parametrize("state", [S.SUBMITTED, S.ASSIGNED, S.IN_PROGRESS, S.RETURNED])
def test_withdraw_before_resolution(world: World, state: TicketState) -> None:
    ticket = in_state(world, state)
    tickets.withdraw(ticket.id, world.contact, "问题已自行解决", T1)
    assert ticket.state == S.WITHDRAWN
    assert ticket.withdrawn_at == T1
    event = events_of(ticket)[-1]
    assert (event.kind, event.from_state, event.to_state) == (EventKind.WITHDRAWN, state, S.WITHDRAWN)
    assert (event.actor_id, event.body, event.public) == (world.contact.id, "问题已自行解决", True)


@pytest.mark.parametrize("score", ["satisfied", "basically_satisfied"])
def test_a_good_rating_closes(world: World, score: str) -> None:
    ticket = in_state(world, S.RESOLVED)
    tickets.rate(ticket.id, world.contact, score, "", T1)
    assert ticket.state == S.CLOSED
    assert ticket.closed_at == T1
    assert (ticket.rating_score, ticket.rated_at) == (RatingScore(score), T1)
    [event] = events_of(ticket)[-1:]
    assert (event.kind, event.from_state, event.to_state) == (EventKind.RATED, S.RESOLVED, S.CLOSED)
    assert event.payload == {"score": score, "via": "enterprise"}
    assert [r.score for r in db.session.scalars(select(Rating).where(Rating.ticket_id == ticket.id))] == [
        RatingScore(score)
    ]


def test_an_unknown_score_is_refused(world: World) -> None:
    ticket = in_state(world, S.RESOLVED)
    with pytest.raises(ValidationFailed) as info:
        tickets.rate(ticket.id, world.contact, "great", "", T1)
    assert set(info.value.fields) == {"score"}
    assert ticket.state == S.RESOLVED
    assert count(Rating) == 0


def test_dissatisfied_needs_a_comment_and_reopens(world: World) -> None:
    ticket = in_state(world, S.RESOLVED)
    before = snapshot(ticket)
    with pytest.raises(ValidationFailed) as info:
        tickets.rate(ticket.id, world.contact, "dissatisfied", "  ", T1)
    assert set(info.value.fields) == {"comment"}
    assert ticket.state == S.RESOLVED
    assert snapshot(ticket) == before
    assert count(Rating) == 0

    tickets.rate(ticket.id, world.contact, "dissatisfied", "车位仍然不够", T1)
    assert ticket.state == S.IN_PROGRESS
    assert ticket.reopen_count == 1
    assert ticket.resolved_at is None
    assert ticket.rating_due_at is None
    assert ticket.assignee_id == world.liaison.id
    assert (ticket.rating_score, ticket.rating_comment) == (RatingScore.DISSATISFIED, "车位仍然不够")
    after = events_of(ticket)
    assert len(after) == len(before) + 2
    rated, reopened = after[-2:]
    assert (rated.kind, rated.actor_id, rated.public) == (EventKind.RATED, world.contact.id, True)
    assert rated.payload == {"score": "dissatisfied", "via": "enterprise"}
    assert (reopened.kind, reopened.from_state, reopened.to_state) == (
        EventKind.REOPENED,
        S.RESOLVED,
        S.IN_PROGRESS,
    )
    assert reopened.actor_id == world.contact.id

    # Worked again, resolved again, rated again: the row keeps the latest, the table keeps all.
    tickets.resolve(ticket.id, world.liaison, "新增20个车位。", T1 + timedelta(days=1))
    tickets.rate(ticket.id, world.contact, "basically_satisfied", "", T1 + timedelta(days=2))
    assert ticket.state == S.CLOSED
    assert ticket.reopen_count == 1
    assert ticket.rating_score == RatingScore.BASICALLY_SATISFIED
    assert ticket.rated_at == T1 + timedelta(days=2)
    ratings = list(
        db.session.scalars(select(Rating).where(Rating.ticket_id == ticket.id).order_by(Rating.id))
    )
    assert [(r.score, r.comment, r.rated_by_id) for r in ratings] == [
        (RatingScore.DISSATISFIED, "车位仍然不够", world.contact.id),
        (RatingScore.BASICALLY_SATISFIED, "", world.contact.id),
    ]


def test_a_second_reopen_counts_again(world: World) -> None:
    ticket = in_state(world, S.RESOLVED)
    for round_ in (1, 2):
        tickets.rate(ticket.id, world.contact, "dissatisfied", f"第{round_}次不满意", T1)
        assert ticket.reopen_count == round_
        tickets.resolve(ticket.id, world.liaison, "再次答复。", T1)
    assert count(Rating) == 2


# --------------------------------------------------------------------------- the rating window


def test_close_unrated_only_after_the_window_and_only_once(world: World) -> None:
    ticket = in_state(world, S.RESOLVED)
    rated = in_state(world, S.CLOSED)
    due = ticket.rating_due_at
    assert due == T0 + timedelta(days=7)
    rated_events = snapshot(rated)

    assert tickets.close_unrated(due - timedelta(seconds=1)) == 0
    assert ticket.state == S.RESOLVED

    assert tickets.close_unrated(due + timedelta(seconds=1)) == 1
    assert ticket.state == S.CLOSED
    assert ticket.closed_at == due + timedelta(seconds=1)
    assert ticket.rating_score is None

    assert tickets.close_unrated(due + timedelta(days=1)) == 0
    closed = [e for e in events_of(ticket) if e.kind == EventKind.CLOSED]
    assert len(closed) == 1
    [event] = closed
    assert (event.from_state, event.to_state, event.actor_id) == (S.RESOLVED, S.CLOSED, None)
    assert event.payload == {"unrated": True}
    assert snapshot(rated) == rated_events  # a rated request is not touched


def test_close_unrated_leaves_open_and_reopened_requests(world: World) -> None:
    reopened = in_state(world, S.RESOLVED)
    tickets.rate(reopened.id, world.contact, "dissatisfied", "没解决", T0)
    working = in_state(world, S.IN_PROGRESS)
    assert tickets.close_unrated(T0 + timedelta(days=30)) == 0
    assert (reopened.state, working.state) == (S.IN_PROGRESS, S.IN_PROGRESS)


# --------------------------------------------------------------------------- the timeline


def test_events_are_append_only_one_per_action(world: World) -> None:
    steps: list[tuple[str, Callable[[Ticket], object], int]] = [
        ("assign", lambda t: tickets.assign(t.id, world.manager, world.liaison.username, T1), 1),
        ("acknowledge", lambda t: tickets.acknowledge(t.id, world.liaison, T1), 1),
        ("reply", lambda t: tickets.reply(t.id, world.liaison, "处理中", T1), 1),
        ("note", lambda t: tickets.add_note(t.id, world.liaison, "内部", T1), 1),
        ("info", lambda t: tickets.add_information(t.id, world.contact, "补充", T1), 1),
        ("transfer", lambda t: tickets.transfer(t.id, world.liaison, world.department.code, T1), 1),
        ("dept reply", lambda t: tickets.reply(t.id, world.department_user, "部门答复", T1), 1),
        ("handback", lambda t: tickets.handback(t.id, world.department_user, "转回", T1), 1),
        ("resolve", lambda t: tickets.resolve(t.id, world.liaison, "答复", T1), 1),
        ("dissatisfied", lambda t: tickets.rate(t.id, world.contact, "dissatisfied", "不满意", T1), 2),
        ("resolve again", lambda t: tickets.resolve(t.id, world.liaison, "再答复", T1), 1),
        ("satisfied", lambda t: tickets.rate(t.id, world.contact, "satisfied", "", T1), 1),
    ]
    ticket = world.submit(T0)
    history = snapshot(ticket)
    assert len(history) == 1
    for name, step, added in steps:
        step(ticket)
        db.session.expire_all()  # read back what is stored, not what is in memory
        now = snapshot(ticket)
        assert now[: len(history)] == history, f"{name} changed an earlier event"
        assert len(now) == len(history) + added, name
        history = now
    assert ticket.state == S.CLOSED
    assert [e[1] for e in history] == [
        EventKind.SUBMITTED,
        EventKind.ASSIGNED,
        EventKind.ACKNOWLEDGED,
        EventKind.REPLIED,
        EventKind.NOTED,
        EventKind.INFO_ADDED,
        EventKind.TRANSFERRED,
        EventKind.REPLIED,
        EventKind.HANDED_BACK,
        EventKind.RESOLVED,
        EventKind.RATED,
        EventKind.REOPENED,
        EventKind.RESOLVED,
        EventKind.RATED,
    ]
    # Each recorded move chains: a move starts from the state the previous move ended in.
    state = None
    for _id, _kind, from_state, to_state, *_rest in history:
        if from_state is not None:
            assert from_state == state
        state = to_state
