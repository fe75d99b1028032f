"""Figures by meeting (issue 12, point 7): :func:`hotline.stats.queries.breakdown_by_channel` gives, for each
channel at once, the breakdown a channel filter gives — closed requests of whole months from the rollup, the
partial months at the ends and every request not closed from ``tickets`` — and the dashboard's field work is
built on it (requests raised at a meeting counted under the meeting's channel).

The calendar of 2026 is loaded; the period is 15 January to 31 March 2026 (a partial month, then two whole).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import event

from hotline.extensions import db
from hotline.meetings import services as meetings
from hotline.sla import services as sla
from hotline.stats import dashboard
from hotline.stats.queries import StatsFilter, breakdown, breakdown_by_channel, recount_breakdown
from hotline.tickets import services as tickets
from hotline.tickets.models import Channel, Ticket
from tests.factories import World

NOW = datetime(2026, 4, 2, 2, 0, tzinfo=UTC)
PERIOD = StatsFilter(start=date(2026, 1, 15), end=date(2026, 4, 1))
SHOWN = (Channel.TEA_MEETING, Channel.ROUNDTABLE, Channel.VISIT, Channel.WEB)


@pytest.fixture(autouse=True)
def english(app: Flask) -> Iterator[None]:
    with force_locale("en"):
        yield


def _item(world: World, **values: Any) -> dict[str, Any]:
    return {
        "enterprise_uscc": world.enterprise.uscc,
        "category": world.category.code,
        "title": "园区道路照明不足",
        "description": "晚上太暗。",
        "contact_phone": "13800138000",
        **values,
    }


def _closed(world: World, ticket: Ticket, at: datetime, score: str = "satisfied") -> None:
    if ticket.assignee_id is None:
        tickets.assign(ticket.id, world.manager, world.liaison.username, at)
        tickets.acknowledge(ticket.id, world.liaison, at)
        tickets.resolve(ticket.id, world.liaison, "已答复。", at)
    comment = "没有解决。" if score == "dissatisfied" else ""
    tickets.rate(ticket.id, world.contact, score, comment, at + timedelta(hours=1))


@pytest.fixture
def field(app: Flask, world: World) -> World:
    """A tea meeting on 10 February (three requests: one answered at the table and rated, one closed later,
    one open), a roundtable on 20 January (one request, closed: a partial month), a visit on 5 March (one
    request answered on the spot, not rated), web requests in January (closed, before the period too),
    February and March, and a phone request."""
    sla.sync_calendar_from_package(datetime(2026, 1, 1, tzinfo=UTC), years=[2026])
    w = world

    def meeting(kind: str, day: str, items: list[dict[str, Any]]) -> list[Ticket]:
        starts = datetime.fromisoformat(f"{day}T00:30:00+00:00")
        held = meetings.schedule_meeting(
            w.liaison,
            starts - timedelta(days=7),
            {
                "kind": kind,
                "title": f"{day} 会议",
                "starts_at": f"{day} 08:30",
                "place": "会议室",
                "buildings": [w.building.id],
                "invite_buildings": [w.building.id],
            },
        )
        return meetings.file_meeting_requests(held.id, w.liaison, starts + timedelta(hours=2), items)

    at_table, later, _still_open = meeting(
        "tea_meeting", "2026-02-10", [_item(w, answer="现场答复。"), _item(w), _item(w)]
    )
    _closed(w, at_table, datetime(2026, 2, 11, 2, tzinfo=UTC))
    _closed(w, later, datetime(2026, 2, 20, 2, tzinfo=UTC), "basically_satisfied")
    [roundtable] = meeting("roundtable", "2026-01-20", [_item(w)])
    _closed(w, roundtable, datetime(2026, 1, 22, 2, tzinfo=UTC), "dissatisfied")  # reopened: in progress
    meetings.log_visit(
        w.liaison,
        datetime(2026, 3, 5, 8, tzinfo=UTC),
        {
            "enterprise_uscc": w.enterprise.uscc,
            "visited_on": "2026-03-05",
            "met": "张总",
            "items": [{k: v for k, v in _item(w, answer="已协调。").items() if k != "enterprise_uscc"}],
        },
    )
    for moment in ("2026-01-10", "2026-01-16", "2026-02-03", "2026-03-18"):
        at = datetime.fromisoformat(f"{moment}T02:00:00+00:00")
        web = w.submit(at)
        if moment < "2026-03-01":
            _closed(w, web, at + timedelta(days=1))
    tickets.submit_ticket(
        w.liaison,
        category=w.category.code,
        title="电话诉求",
        description="来电。",
        urgency="normal",
        contact_phone="13800138000",
        enterprise_uscc=w.enterprise.uscc,
        channel="phone",
        now=datetime(2026, 2, 5, 2, tzinfo=UTC),
    )
    db.session.commit()
    return w


def test_each_channels_rows_are_those_a_channel_filter_gives(field: World) -> None:
    for dimension in ("month", "category", "building"):
        together = breakdown_by_channel(PERIOD, dimension, SHOWN, NOW)
        assert list(together) == [c.value for c in SHOWN]
        for channel in SHOWN:
            alone = breakdown(replace(PERIOD, channel=channel.value), dimension, NOW)
            assert together[channel.value] == alone, (dimension, channel)
            assert alone == recount_breakdown(replace(PERIOD, channel=channel.value), dimension, NOW)


def test_requests_raised_at_a_meeting_count_under_its_channel_with_their_rates(field: World) -> None:
    rows = breakdown_by_channel(PERIOD, "month", SHOWN, NOW)
    tea = {row.key: row.figures for row in rows["tea_meeting"]}
    assert (tea["2026-02"].total, tea["2026-02"].resolved, tea["2026-02"].rated) == (3, 2, 2)
    assert tea["2026-02"].closure_rate == pytest.approx(2 / 3)
    assert tea["2026-02"].satisfaction_rate == 1.0
    assert tea["2026-01"].total == 0 and tea["2026-01"].closure_rate is None
    roundtable = {row.key: row.figures for row in rows["roundtable"]}
    assert (roundtable["2026-01"].total, roundtable["2026-01"].resolved) == (1, 0)  # reopened
    assert roundtable["2026-01"].satisfaction_rate == 0.0
    visit = {row.key: row.figures for row in rows["visit"]}
    assert (visit["2026-03"].total, visit["2026-03"].closure_rate, visit["2026-03"].satisfaction_rate) == (
        1,
        1.0,
        None,
    )
    web = {row.key: row.figures.total for row in rows["web"]}
    assert web == {"2026-01": 1, "2026-02": 1, "2026-03": 1}  # 10 January is before the period
    assert "phone" not in rows


def test_the_dashboards_field_work_adds_the_field_channels_up(field: World) -> None:
    work = dashboard.field_work(PERIOD, NOW)
    assert [value for value, _label in work.channels] == [c.value for c in SHOWN]
    assert [row.key for row in work.months] == ["2026-01", "2026-02", "2026-03"]
    together = work.total.field
    assert (together.total, together.resolved, together.rated) == (5, 3, 3)  # 3 tea, 1 roundtable, 1 visit
    assert together.closure_rate == pytest.approx(3 / 5)
    assert together.satisfaction_rate == pytest.approx(2 / 3)
    assert work.total.by_channel["web"].total == 3
    assert work.total.label == "The period"


def test_the_breakdown_by_channel_costs_the_same_for_one_channel_and_four(app: Flask, field: World) -> None:
    def statements(channels: tuple[Channel, ...]) -> int:
        seen: list[str] = []

        def remember(*args: Any) -> None:
            if args[2].lstrip().upper().startswith("SELECT"):
                seen.append(args[2])

        event.listen(db.engine, "before_cursor_execute", remember)
        try:
            breakdown_by_channel(PERIOD, "month", channels, NOW)
        finally:
            event.remove(db.engine, "before_cursor_execute", remember)
        return len(seen)

    # the rollup, the live requests, the partial month's closed ones, the withdrawn
    assert statements((Channel.WEB,)) == statements(SHOWN) == 4


def test_a_breakdown_by_channel_and_channel_is_refused() -> None:
    with pytest.raises(ValueError):
        breakdown_by_channel(PERIOD, "channel", SHOWN, NOW)
