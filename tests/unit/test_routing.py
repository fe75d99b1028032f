"""Automatic routing (DESIGN §6): the policy, the pool, returns, idempotence, and the reconcile job."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from hotline.auth.models import Role, User
from hotline.enterprises.models import Building, Coverage, CoverageRole, Enterprise
from hotline.extensions import db
from hotline.notifications.models import Notification, NotificationKind
from hotline.notifications.services import render_notification
from hotline.outbox import services as outbox
from hotline.outbox.models import OutboxMessage
from hotline.routing.labels import PassedOver, ReasonCode, describe, rule_label
from hotline.routing.services import (
    Reason,
    RoutingDecision,
    reconcile_unrouted,
    route_ticket,
    route_tickets,
)
from hotline.sla import services as sla
from hotline.sla.models import ClockSchedule
from hotline.tickets import services as tickets
from hotline.tickets.models import EventKind, Ticket, TicketEvent, TicketState
from tests import factories
from tests.factories import World

# 10:00 on a Tuesday in Shanghai.
T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)


@pytest.fixture(autouse=True)
def english(app) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


# --------------------------------------------------------------------------- helpers


def submit_for(enterprise: Enterprise, now: datetime = T0) -> Ticket:
    contact = factories.enterprise_user(enterprise)
    category = factories.category()
    return tickets.submit_ticket(
        contact,
        category=category.code,
        title="办公楼停车位不足",
        description="员工停车困难。",
        contact_phone="13800138000",
        now=now,
    )


def give_open_requests(liaison: User, count: int, manager: User) -> None:
    """``count`` open requests assigned to ``liaison`` (its load), in a building of their own."""
    enterprise = factories.enterprise()
    for _ in range(count):
        ticket = submit_for(enterprise)
        tickets.assign(ticket.id, manager, liaison.username, T0)


def events(ticket: Ticket, kind: EventKind) -> list[TicketEvent]:
    return list(
        db.session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == kind)
            .order_by(TicketEvent.id)
        )
    )


def cover(liaison: User, building: Building, role: CoverageRole) -> None:
    db.session.add(Coverage(liaison_id=liaison.id, building_id=building.id, role=role))
    db.session.flush()


# --------------------------------------------------------------------------- the policy


def test_the_primary_liaison_gets_the_request_with_the_reason_on_the_event(world: World) -> None:
    ticket = world.submit(T0)

    decision = route_ticket(ticket.id, T1)

    assert decision == RoutingDecision(
        "primary", world.liaison.id, Reason(ReasonCode.PRIMARY_LIAISON, {"building": world.building.name})
    )
    assert ticket.state == TicketState.ASSIGNED
    assert ticket.assignee_id == world.liaison.id
    assert ticket.acknowledge_due_at is None or ticket.acknowledge_due_at > T1
    [assigned] = events(ticket, EventKind.ASSIGNED)
    assert assigned.actor_id is None
    assert assigned.payload["method"] == "routing"
    assert assigned.payload["rule"] == "primary"
    assert assigned.payload["reason"] == {
        "code": "primary_liaison",
        "params": {"building": world.building.name},
    }


def test_a_primary_on_leave_is_skipped_and_a_deputy_takes_the_request(world: World) -> None:
    deputy = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    world.liaison.available = False
    ticket = world.submit(T0)

    decision = route_ticket(ticket.id, T1)

    assert (decision.rule, decision.liaison_id) == ("deputy", deputy.id)
    assert ticket.assignee_id == deputy.id
    assert events(ticket, EventKind.ASSIGNED)[0].payload["reason"] == {
        "code": "deputy_of_building",
        "params": {
            "building": world.building.name,
            "open_count": 0,
            "passed_over": "on_leave",
            "primary": world.liaison.username,
        },
    }


def test_an_inactive_primary_is_passed_over_with_its_username(world: World) -> None:
    deputy = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    world.liaison.active = False
    ticket = world.submit(T0)

    decision = route_ticket(ticket.id, T1)

    assert (decision.rule, decision.liaison_id) == ("deputy", deputy.id)
    assert decision.reason.params["passed_over"] == "inactive"
    assert decision.reason.params["primary"] == world.liaison.username


def test_a_building_without_a_primary_goes_to_its_deputy(world: World) -> None:
    building = factories.building(world.street)
    deputy = factories.liaison([building], role=CoverageRole.DEPUTY)
    give_open_requests(deputy, 2, world.manager)
    ticket = submit_for(factories.enterprise(building))

    decision = route_ticket(ticket.id, T1)

    assert (decision.rule, decision.liaison_id) == ("deputy", deputy.id)
    assert decision.reason == Reason(
        ReasonCode.DEPUTY_OF_BUILDING, {"building": building.name, "open_count": 2, "passed_over": "not_set"}
    )


def test_the_log_line_is_built_from_the_code_and_params(world: World) -> None:
    factories.liaison([world.building], role=CoverageRole.DEPUTY)
    world.liaison.available = False
    ticket = world.submit(T0)

    decision = route_ticket(ticket.id, T1)

    assert str(decision.reason) == (
        f"deputy_of_building building={world.building.name} open_count=0 passed_over=on_leave "
        f"primary={world.liaison.username}"
    )
    assert str(route_ticket(ticket.id, T1).reason) == "not_waiting state=assigned"


def test_the_deputy_with_the_fewest_open_requests_is_chosen(world: World) -> None:
    busy = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    idle = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    give_open_requests(busy, 2, world.manager)
    give_open_requests(idle, 1, world.manager)
    world.liaison.available = False
    ticket = world.submit(T0)

    assert route_ticket(ticket.id, T1).liaison_id == idle.id


def test_equal_loads_go_to_the_first_deputy(world: World) -> None:
    first = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    factories.liaison([world.building], role=CoverageRole.DEPUTY)
    world.liaison.available = False
    ticket = world.submit(T0)

    assert route_ticket(ticket.id, T1).liaison_id == first.id


def test_closed_and_resolved_requests_do_not_count_as_load(world: World) -> None:
    a = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    b = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    give_open_requests(b, 1, world.manager)
    # a resolved request of ``a`` is not open work
    done = submit_for(factories.enterprise())
    tickets.assign(done.id, world.manager, a.username, T0)
    tickets.acknowledge(done.id, a, T0)
    tickets.resolve(done.id, a, "已解决。", T0)
    world.liaison.available = False
    ticket = world.submit(T0)

    assert route_ticket(ticket.id, T1).liaison_id == a.id


def test_an_uncovered_building_goes_to_the_street_liaison_with_the_fewest_open_requests(world: World) -> None:
    uncovered = factories.building(world.street)
    busy = world.other_liaison  # covers another building of the street
    idle = factories.liaison([factories.building(world.street)])
    give_open_requests(world.liaison, 3, world.manager)
    give_open_requests(busy, 2, world.manager)
    give_open_requests(idle, 1, world.manager)
    factories.liaison([factories.building()])  # another street, no load: never a candidate
    ticket = submit_for(factories.enterprise(uncovered))

    decision = route_ticket(ticket.id, T1)

    assert (decision.rule, decision.liaison_id) == ("street", idle.id)
    assert ticket.assignee_id == idle.id
    assert events(ticket, EventKind.ASSIGNED)[0].payload["reason"] == {
        "code": "street_fewest_open",
        "params": {"building": uncovered.name, "street": world.street.name, "open_count": 1},
    }


def test_liaisons_that_cannot_take_work_are_never_candidates(world: World) -> None:
    street = factories.street()
    building = factories.building(street)
    inactive = factories.liaison([building])
    inactive.active = False
    on_leave = factories.liaison([building], role=CoverageRole.DEPUTY)
    on_leave.available = False
    ended = factories.liaison([factories.building(street)])
    for coverage in db.session.scalars(select(Coverage).where(Coverage.liaison_id == ended.id)):
        coverage.active = False
    not_a_liaison = factories.user(Role.MANAGER)
    cover(not_a_liaison, building, CoverageRole.DEPUTY)  # the building has its (inactive) primary
    ticket = submit_for(factories.enterprise(building))

    decision = route_ticket(ticket.id, T1)

    assert decision.rule == "pool"
    assert ticket.assignee_id is None


def test_nobody_available_puts_the_request_in_the_pool_with_a_pooled_event(world: World) -> None:
    lonely = factories.building()  # a street of its own, nobody covers it
    ticket = submit_for(factories.enterprise(lonely))

    decision = route_ticket(ticket.id, T1)

    assert decision.rule == "pool" and decision.liaison_id is None
    assert ticket.state == TicketState.SUBMITTED
    assert ticket.pooled_at == T1
    [pooled] = events(ticket, EventKind.POOLED)
    assert pooled.public is False
    assert pooled.actor_id is None
    assert pooled.payload == {
        "rule": "pool",
        "reason": {
            "code": "nobody_available",
            "params": {"building": lonely.name, "street": lonely.street.name},
        },
    }
    assert decision.reason.as_payload() == pooled.payload["reason"]
    # a second delivery leaves it in the pool, without a second event
    assert route_ticket(ticket.id, T1).rule == "skipped"
    assert len(events(ticket, EventKind.POOLED)) == 1


# --------------------------------------------------------------------------- returns


def _return_and_accept(world: World, ticket: Ticket, liaison: User) -> None:
    tickets.acknowledge(ticket.id, liaison, T1)
    tickets.return_ticket(ticket.id, liaison, "不属于本楼宇。", T1)
    tickets.review_return(ticket.id, world.manager, True, "", T1)


def test_a_returned_request_never_goes_back_to_the_liaison_who_returned_it(world: World) -> None:
    deputy = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    ticket = world.submit(T0)
    route_ticket(ticket.id, T1)
    _return_and_accept(world, ticket, world.liaison)

    decision = route_ticket(ticket.id, T1)

    assert (decision.rule, decision.liaison_id) == ("deputy", deputy.id)
    assert events(ticket, EventKind.ASSIGNED)[-1].payload["reason"] == {
        "code": "deputy_of_building",
        "params": {
            "building": world.building.name,
            "open_count": 0,
            "passed_over": "returned_it",
            "primary": world.liaison.username,
            "returned_by": world.liaison.username,
        },
    }


def test_the_primary_back_from_leave_gets_what_a_deputy_returned_and_the_reason_names_the_deputy(
    world: World,
) -> None:
    deputy = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    world.liaison.available = False
    ticket = world.submit(T0)
    assert route_ticket(ticket.id, T1).liaison_id == deputy.id
    _return_and_accept(world, ticket, deputy)
    world.liaison.available = True

    decision = route_ticket(ticket.id, T1)

    assert (decision.rule, decision.liaison_id) == ("primary", world.liaison.id)
    assert events(ticket, EventKind.ASSIGNED)[-1].payload["reason"] == {
        "code": "primary_liaison",
        "params": {"building": world.building.name, "returned_by": deputy.username},
    }


def test_a_return_by_the_only_liaison_of_the_street_goes_to_the_pool(world: World) -> None:
    street = factories.street()
    building = factories.building(street)
    only = factories.liaison([building])
    ticket = submit_for(factories.enterprise(building))
    assert route_ticket(ticket.id, T1).liaison_id == only.id
    _return_and_accept(world, ticket, only)

    decision = route_ticket(ticket.id, T1)
    assert decision.rule == "pool"
    assert decision.reason == Reason(
        ReasonCode.NOBODY_AVAILABLE,
        {"building": building.name, "street": street.name, "returned_by": only.username},
    )
    assert ticket.assignee_id is None


def test_a_request_does_not_bounce_back_to_a_liaison_who_returned_it_before(world: World) -> None:
    """A returns it, B gets it and returns it too: routing gives it to neither of them (not back to A), but
    to C, the other liaison of the street; once C returned it as well, it waits in the pool."""
    b = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    c = world.other_liaison
    ticket = world.submit(T0)
    assert route_ticket(ticket.id, T1).liaison_id == world.liaison.id
    _return_and_accept(world, ticket, world.liaison)
    assert route_ticket(ticket.id, T1).liaison_id == b.id
    _return_and_accept(world, ticket, b)

    decision = route_ticket(ticket.id, T1)

    assert (decision.rule, decision.liaison_id) == ("street", c.id)
    assert decision.reason.params["returned_by"] == b.username
    _return_and_accept(world, ticket, c)
    assert route_ticket(ticket.id, T1).rule == "pool"
    assert ticket.assignee_id is None


# --------------------------------------------------------------------------- idempotence


def test_routing_twice_assigns_once(world: World) -> None:
    ticket = world.submit(T0)

    first = route_ticket(ticket.id, T1)
    second = route_ticket(ticket.id, T1 + timedelta(seconds=5))

    assert first.rule == "primary"
    assert second.rule == "skipped"
    assert second.liaison_id == world.liaison.id
    assert len(events(ticket, EventKind.ASSIGNED)) == 1
    assert ticket.assigned_at == T1


def test_a_request_handled_in_between_is_left_alone(world: World) -> None:
    ticket = world.submit(T0)
    tickets.withdraw(ticket.id, world.contact, "已自行解决。", T0)

    assert route_ticket(ticket.id, T1).rule == "skipped"
    assert ticket.state == TicketState.WITHDRAWN
    assert events(ticket, EventKind.ASSIGNED) == []


def test_a_missing_request_is_skipped(world: World) -> None:
    assert route_ticket(999_999, T1).rule == "skipped"


# --------------------------------------------------------------------------- a batch (a backlog)


def test_a_batch_balances_the_load_as_one_request_after_the_other_would(world: World) -> None:
    a = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    b = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    give_open_requests(a, 1, world.manager)
    world.liaison.available = False  # the primary is on leave: the deputies share the backlog
    sla.enter_year(2026, world.manager, T0)  # so that the acknowledge clocks start
    waiting = [world.submit(T0) for _ in range(5)]

    decisions = route_tickets([t.id for t in reversed(waiting)], T1)  # any order: routed in id order

    # b (0 open) takes the first, then they alternate as their loads stay level: b, a, b, a, b
    assert [d.liaison_id for d in decisions] == [b.id, a.id, b.id, a.id, b.id]
    assert [d.reason.params["open_count"] for d in decisions] == [0, 1, 1, 2, 2]
    assert [t.assignee_id for t in waiting] == [b.id, a.id, b.id, a.id, b.id]
    for ticket in waiting:  # each with its event, its clock and the assignee's notification
        assert ticket.state == TicketState.ASSIGNED and ticket.acknowledge_due_at is not None
        assert len(events(ticket, EventKind.ASSIGNED)) == 1
        assert db.session.get(ClockSchedule, ticket.id) is not None
        notified = db.session.scalars(
            select(Notification.user_id).where(
                Notification.ticket_id == ticket.id, Notification.kind == NotificationKind.ASSIGNED
            )
        ).all()
        assert notified == [ticket.assignee_id]
    # as the load query counts them once written
    assert route_ticket(world.submit(T0).id, T1).reason.params["open_count"] == 3


def test_a_batch_skips_what_is_routed_missing_or_repeated_and_assigns_each_once(world: World) -> None:
    routed = world.submit(T0)
    route_ticket(routed.id, T1)
    fresh = world.submit(T0)
    pooled_before = world.submit(T0)
    pooled_before.pooled_at = T0
    db.session.flush()

    decisions = route_tickets([fresh.id, routed.id, 999_999, fresh.id, pooled_before.id], T1)

    assert [(d.rule, d.reason.code.value) for d in decisions] == [
        ("skipped", "not_waiting"),  # in id order: routed, fresh, pooled, the missing one
        ("primary", "primary_liaison"),
        ("skipped", "already_pooled"),
        ("skipped", "missing"),
    ]
    assert len(events(routed, EventKind.ASSIGNED)) == 1
    assert len(events(fresh, EventKind.ASSIGNED)) == 1
    assert route_tickets([fresh.id], T1 + timedelta(seconds=5))[0].rule == "skipped"
    assert route_tickets([], T1) == []


def test_a_batch_pools_what_nobody_can_take_and_tells_the_managers(world: World) -> None:
    world.liaison.available = False
    world.other_liaison.available = False
    first, second = world.submit(T0), world.submit(T0)

    decisions = route_tickets([first.id, second.id], T1)

    assert [d.rule for d in decisions] == ["pool", "pool"]
    assert [t.pooled_at for t in (first, second)] == [T1, T1]
    for ticket in (first, second):
        assert len(events(ticket, EventKind.POOLED)) == 1
        alerted = db.session.scalars(
            select(Notification.user_id).where(
                Notification.ticket_id == ticket.id, Notification.kind == NotificationKind.POOLED
            )
        ).all()
        assert world.manager.id in alerted


def test_routing_rereads_the_request_under_the_lock(world: World) -> None:
    """The row is re-read under the lock, not taken from the session's identity map."""
    ticket = world.submit(T0)
    ticket_id = ticket.id
    # as if another worker had assigned it: the row changes behind the loaded object's back
    db.session.execute(
        Ticket.__table__.update()  # type: ignore[attr-defined]
        .where(Ticket.__table__.c.id == ticket_id)  # type: ignore[attr-defined]
        .values(state=TicketState.ASSIGNED.value, assignee_id=world.other_liaison.id)
    )

    assert route_ticket(ticket_id, T1).rule == "skipped"
    assert ticket.assignee_id == world.other_liaison.id


# --------------------------------------------------------------------------- reconcile


def _route_messages(ticket: Ticket) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.ticket_id == ticket.id, OutboxMessage.topic == outbox.ROUTE_TICKET)
            .order_by(OutboxMessage.id)
        )
    )


def _mark_published(ticket: Ticket, at: datetime) -> None:
    for message in _route_messages(ticket):
        message.published_at = at
    db.session.flush()


def test_reconcile_requeues_a_request_whose_routing_was_lost(world: World) -> None:
    lost = world.submit(T0)
    _mark_published(lost, T0)
    later = T0 + timedelta(minutes=10)

    assert reconcile_unrouted(later, older_than=timedelta(minutes=3)) == 1
    assert len(_route_messages(lost)) == 2
    assert _route_messages(lost)[-1].payload == {"ticket_id": lost.id}
    # the new message is pending: the next run does not queue it again
    assert reconcile_unrouted(later + timedelta(minutes=1), older_than=timedelta(minutes=3)) == 0


def test_reconcile_leaves_alone_what_is_young_pending_routed_or_pooled(world: World) -> None:
    young = world.submit(T0 + timedelta(minutes=9))
    _mark_published(young, T0 + timedelta(minutes=9))
    pending = world.submit(T0)  # its message is still waiting for the relay
    routed = world.submit(T0)
    _mark_published(routed, T0)
    route_ticket(routed.id, T1)
    pooled = submit_for(factories.enterprise(factories.building()))
    _mark_published(pooled, T0)
    route_ticket(pooled.id, T1)
    later = T0 + timedelta(minutes=10)

    assert reconcile_unrouted(later, older_than=timedelta(minutes=3)) == 0
    for ticket in (young, pending, routed, pooled):
        assert len(_route_messages(ticket)) == 1


def test_reconcile_waits_after_a_return_is_accepted(world: World) -> None:
    """An old request re-queued by an accepted return has a fresh routing message: not queued again."""
    ticket = world.submit(T0)
    _mark_published(ticket, T0)
    route_ticket(ticket.id, T1)
    returned_at = T0 + timedelta(hours=1)
    tickets.acknowledge(ticket.id, world.liaison, returned_at)
    tickets.return_ticket(ticket.id, world.liaison, "不属于本楼宇。", returned_at)
    tickets.review_return(ticket.id, world.manager, True, "", returned_at)
    _mark_published(ticket, returned_at)

    assert reconcile_unrouted(returned_at + timedelta(minutes=1), older_than=timedelta(minutes=3)) == 0
    assert reconcile_unrouted(returned_at + timedelta(minutes=4), older_than=timedelta(minutes=3)) == 1


# --------------------------------------------------------------------------- how a decision reads

BUILDING, STREET, PRIMARY, RETURNER = "光谷大厦", "关山街道", "liaison1", "liaison7"


def reason(code: str, **params: Any) -> dict[str, Any]:
    return {"code": code, "params": params}


def deputy(passed_over: str, **extra: Any) -> dict[str, Any]:
    primary = {} if passed_over == "not_set" else {"primary": PRIMARY}
    return reason(
        "deputy_of_building", building=BUILDING, open_count=3, passed_over=passed_over, **primary, **extra
    )


DEPUTY = f"Assigned to the deputy of {BUILDING} with the fewest open requests (3)"
LEFT_OUT = f"{RETURNER}, who returned the request, was left out."

# Every code and sub-case: the reason, its English sentence, and words its Chinese sentence must use.
SENTENCES = [
    (
        reason("primary_liaison", building=BUILDING),
        f"Assigned to the primary liaison of {BUILDING}.",
        ["主包联"],
    ),
    (
        reason("primary_liaison", building=BUILDING, returned_by=RETURNER),
        f"Assigned to the primary liaison of {BUILDING}; {LEFT_OUT}",
        ["主包联", "退单"],
    ),
    (deputy("not_set"), f"{DEPUTY}; the building has no primary liaison.", ["副包联", "主包联"]),
    (
        deputy("not_set", returned_by=RETURNER),
        f"{DEPUTY}; the building has no primary liaison, and {LEFT_OUT}",
        ["副包联", "主包联", "退单"],
    ),
    (
        deputy("returned_it", returned_by=PRIMARY),
        f"{DEPUTY}; the primary liaison {PRIMARY} returned the request.",
        ["副包联", "主包联", "退单"],
    ),
    (deputy("inactive"), f"{DEPUTY}; the primary liaison {PRIMARY} was inactive.", ["副包联", "停用"]),
    (
        deputy("inactive", returned_by=RETURNER),
        f"{DEPUTY}; the primary liaison {PRIMARY} was inactive, and {LEFT_OUT}",
        ["副包联", "停用", "退单"],
    ),
    (deputy("on_leave"), f"{DEPUTY}; the primary liaison {PRIMARY} was on leave.", ["副包联", "休假"]),
    (
        deputy("on_leave", returned_by=RETURNER),
        f"{DEPUTY}; the primary liaison {PRIMARY} was on leave, and {LEFT_OUT}",
        ["副包联", "休假", "退单"],
    ),
    (deputy("unavailable"), f"{DEPUTY}; the primary liaison {PRIMARY} was unavailable.", ["副包联"]),
    (
        deputy("unavailable", returned_by=RETURNER),
        f"{DEPUTY}; the primary liaison {PRIMARY} was unavailable, and {LEFT_OUT}",
        ["副包联", "退单"],
    ),
    (
        reason("street_fewest_open", building=BUILDING, street=STREET, open_count=1),
        f"No available liaison covered {BUILDING}: assigned to the liaison of street {STREET} "
        "with the fewest open requests (1).",
        [],
    ),
    (
        reason("street_fewest_open", building=BUILDING, street=STREET, open_count=1, returned_by=RETURNER),
        f"No available liaison covered {BUILDING}: assigned to the liaison of street {STREET} "
        f"with the fewest open requests (1); {LEFT_OUT}",
        ["退单"],
    ),
    (
        reason("nobody_available", building=BUILDING, street=STREET),
        f"No available liaison covered {BUILDING} or street {STREET}.",
        [],
    ),
    (
        reason("nobody_available", building=BUILDING, street=STREET, returned_by=RETURNER),
        f"Once {RETURNER}, who returned the request, was left out, no available liaison covered "
        f"{BUILDING} or street {STREET}.",
        ["退单"],
    ),
]


def case_id(stored: dict[str, Any]) -> str:
    """``deputy_of_building/on_leave+returned_by``: the code, the sub-case, whether someone was left out."""
    params = stored["params"]
    passed_over = f"/{params['passed_over']}" if "passed_over" in params else ""
    return stored["code"] + passed_over + ("+returned_by" if "returned_by" in params else "")


CASE_IDS = [case_id(stored) for stored, _sentence, _words in SENTENCES]


def test_every_code_and_sub_case_has_a_sentence() -> None:
    cases = {
        (stored["code"], stored["params"].get("passed_over"), "returned_by" in stored["params"])
        for stored, _sentence, _words in SENTENCES
    }
    assert {code for code, _p, _r in cases} == set(ReasonCode)
    assert {p for code, p, _r in cases if code == ReasonCode.DEPUTY_OF_BUILDING} == set(PassedOver)
    assert len(set(CASE_IDS)) == len(SENTENCES)


# (not named ``english``: that is the autouse fixture's name, which a parameter would shadow)
@pytest.mark.parametrize(("stored", "sentence", "_words"), SENTENCES, ids=CASE_IDS)
def test_a_reason_reads_in_english(stored: dict[str, Any], sentence: str, _words: list[str]) -> None:
    with force_locale("en"):
        assert describe(stored) == sentence


@pytest.mark.parametrize(("stored", "_sentence", "words"), SENTENCES, ids=CASE_IDS)
def test_a_reason_reads_in_chinese(stored: dict[str, Any], _sentence: str, words: list[str]) -> None:
    with force_locale("zh"):
        chinese = describe(stored)
    for key, value in stored["params"].items():
        if key != "passed_over":  # a code: the sentence says it in words
            assert str(value) in chinese, (key, chinese)
    for word in words:
        assert word in chinese, chinese
    # translated, not the English sentence: no English word is left once the usernames are taken out
    assert not re.search(r"[A-Za-z]{3,}", chinese.replace(PRIMARY, "").replace(RETURNER, "")), chinese


def test_each_sub_case_reads_differently_in_chinese() -> None:
    with force_locale("zh"):
        sentences = [describe(stored) for stored, _sentence, _words in SENTENCES]
    assert len(set(sentences)) == len(sentences)


def test_a_legacy_or_unknown_reason_is_shown_as_is() -> None:
    legacy = "deputy of 光谷大厦 with 3 open requests; primary liaison liaison1 on leave"
    for locale in ("zh", "en"):
        with force_locale(locale):
            assert describe(legacy) == legacy
            assert describe(reason("some_later_code", building=BUILDING)) == "some_later_code"
            assert describe(None) == ""
            assert rule_label("manual_override") == "manual_override"


def test_a_missing_param_reads_as_a_dash() -> None:
    with force_locale("en"):
        assert describe({"code": "primary_liaison"}) == "Assigned to the primary liaison of —."


def test_every_rule_has_a_label_in_both_languages() -> None:
    with force_locale("en"):
        english = {rule: rule_label(rule) for rule in ("primary", "deputy", "street", "pool")}
    with force_locale("zh"):
        chinese = {rule: rule_label(rule) for rule in ("primary", "deputy", "street", "pool")}
    assert english == {
        "primary": "Primary liaison",
        "deputy": "Deputy liaison",
        "street": "Liaison of the street",
        "pool": "Dispatch pool",
    }
    assert "主包联" in chinese["primary"] and "副包联" in chinese["deputy"]
    assert "街道" in chinese["street"] and "派单池" in chinese["pool"]


def test_the_managers_read_why_a_request_was_pooled_in_their_language(world: World) -> None:
    lonely = factories.building()
    ticket = submit_for(factories.enterprise(lonely))

    route_ticket(ticket.id, T1)

    [note] = db.session.scalars(
        select(Notification).where(
            Notification.user_id == world.manager.id, Notification.kind == NotificationKind.POOLED
        )
    )
    stored = {"code": "nobody_available", "params": {"building": lonely.name, "street": lonely.street.name}}
    assert note.params["reason"] == stored  # facts, rendered when read
    with force_locale("en"):
        _subject, text = render_notification(note)
    assert text.endswith(f"for a manager to dispatch it. {describe(stored)}")
    with force_locale("zh"):
        _subject, text = render_notification(note)
        assert text.endswith(describe(stored)) and "派单池" in text
    assert "No available liaison" not in text


def test_an_older_pooled_notification_shows_its_reason_as_it_was(world: World) -> None:
    note = Notification(
        kind=NotificationKind.POOLED,
        params={"number": "QH20260310-0001", "title": "停车", "actor": "", "reason": "no liaison covers it"},
    )
    with force_locale("en"):
        _subject, text = render_notification(note)
    assert text.endswith("for a manager to dispatch it. no liaison covers it")
