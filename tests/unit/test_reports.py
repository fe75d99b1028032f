"""Frozen reports (issue 11, point 5): a period's figures kept as they were when frozen."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from hotline.db import utcnow
from hotline.errors import Forbidden, ValidationFailed
from hotline.extensions import db
from hotline.reports import services as reports
from hotline.reports.models import FrozenReport
from hotline.tickets import services as tickets
from hotline.tickets.labels import CHANNEL_LABELS
from hotline.tickets.models import Channel, RatingScore
from hotline.timeutil import local_date
from tests.factories import World


def test_a_frozen_report_keeps_its_figures_after_a_later_reopen(world: World) -> None:
    now = utcnow()
    ticket = world.resolved(now)
    tickets.rate(ticket.id, world.contact, RatingScore.SATISFIED.value, "", now)
    today = local_date(now)
    first = reports.freeze(today.replace(day=1).isoformat(), today.isoformat(), world.manager, now)
    assert (first.figures["total"], first.figures["satisfaction_rate"], first.version) == (1, 1.0, 1)
    assert first.definitions["satisfaction_rate"]["name_zh"] == "满意率"
    assert (first.figures["rated"], first.figures["rated_resolved"], first.figures["unrated"]) == (1, 1, 0)
    assert first.definitions["rated_resolved"]["name_zh"] == "已办结已评价"
    assert "= 办结量" in first.definitions["rated_resolved"]["zh"]
    assert {"street", "category", "channel"} == set(first.breakdowns)

    # later the period gains an unrated, unresolved request: the live figures move, the frozen ones do not
    later = now + timedelta(minutes=5)
    world.submit(later)
    second = reports.freeze(today.replace(day=1).isoformat(), today.isoformat(), world.manager, later)
    db.session.expire_all()
    assert (first.figures["total"], first.figures["closure_rate"]) == (1, 1.0)
    assert second.version == 2 and (second.figures["total"], second.figures["closure_rate"]) == (2, 0.5)


def test_a_report_keeps_each_breakdown_label_in_both_languages_whoever_froze_it(world: World) -> None:
    world.street.name_en = "Binjiang Street"
    now = utcnow()
    world.resolved(now)
    today = local_date(now).isoformat()
    frozen_in_chinese = reports.freeze(today, today, world.manager, now)
    with force_locale("en"):  # a manager reading the pages in English
        frozen_in_english = reports.freeze(today, today, world.manager, now)
        english_web = str(CHANNEL_LABELS[Channel.WEB])
    with force_locale("zh"):
        chinese_web = str(CHANNEL_LABELS[Channel.WEB])
    assert english_web != chinese_web

    stored = frozen_in_chinese.breakdowns
    assert stored == frozen_in_english.breakdowns  # the language of the freeze leaves no trace
    ((street,), (category,), (channel,)) = (stored["street"], stored["category"], stored["channel"])
    assert (street["key"], street["label_zh"], street["label_en"]) == (
        str(world.street.id),
        world.street.name,
        "Binjiang Street",
    )
    assert (category["key"], category["label_zh"], category["label_en"]) == (
        world.category.code,
        world.category.name,
        world.category.name_en,
    )
    assert (channel["key"], channel["label_zh"], channel["label_en"]) == ("web", chinese_web, english_web)
    assert "label" not in street and street["figures"]["total"] == 1

    # read in the reader's language, both kept beside it
    with force_locale("en"):
        read = frozen_in_chinese.readable_breakdowns
    assert [read[d][0]["label"] for d in ("street", "category", "channel")] == [
        "Binjiang Street",
        world.category.name_en,
        english_web,
    ]
    assert read["category"][0]["label_zh"] == world.category.name
    read = frozen_in_english.readable_breakdowns  # the unit tests' Chinese
    assert [read[d][0]["label"] for d in ("street", "category", "channel")] == [
        world.street.name,
        world.category.name,
        chinese_web,
    ]


def test_a_report_frozen_with_one_label_per_row_is_read_as_it_was(world: World) -> None:
    """Reports frozen before both languages were kept hold one label, the freezing manager's language."""
    old = FrozenReport(
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
        version=1,
        as_of=datetime(2026, 2, 1, 2, 0, tzinfo=UTC),
        created_by_id=world.manager.id,
        figures={"total": 1},
        breakdowns={"category": [{"key": "parking", "label": "Parking", "figures": {"total": 1}}]},
        definitions={},
    )
    db.session.add(old)
    db.session.flush()
    for language in ("zh", "en"):
        with force_locale(language):
            (row,) = old.readable_breakdowns["category"]
        assert row == {
            "key": "parking",
            "label": "Parking",
            "label_zh": None,
            "label_en": None,
            "figures": {"total": 1},
        }


def test_freezing_is_for_managers_and_checks_its_period(world: World) -> None:
    now = utcnow()
    with pytest.raises(Forbidden):
        reports.freeze("2026-01-01", "2026-01-31", world.liaison, now)
    for start, end, field in (
        ("2026-13-01", "2026-12-31", "from"),
        ("2026-02-01", "2026-01-31", "to"),
        ("2024-01-01", "2026-01-31", "to"),
        ("2026-1-1", "2026-01-31", "from"),
        ("9999-01-01", "9999-12-31", "from"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            reports.freeze(start, end, world.manager, now)
        assert field in refused.value.fields, (start, end)


def test_the_database_refuses_to_change_a_frozen_report(world: World) -> None:
    now = utcnow()
    today = local_date(now)
    report = reports.freeze(today.isoformat(), today.isoformat(), world.manager, now)
    for statement in (
        f"UPDATE frozen_reports SET version = 9 WHERE id = {report.id}",
        f"DELETE FROM frozen_reports WHERE id = {report.id}",
    ):
        with pytest.raises(DBAPIError, match="frozen_reports is append-only"), db.session.begin_nested():
            db.session.execute(text(statement))


def test_a_year_frozen_before_it_ended_is_not_published_and_odd_years_are_refused(world: World) -> None:
    now = utcnow()
    year = local_date(now).year
    early = reports.freeze(f"{year}-01-01", f"{year}-12-31", world.manager, now)
    assert reports.latest_year_report(date(year + 1, 1, 5)) is None  # frozen in the year, not after it
    assert early.version == 1
    for start, end in (("0001-01-01", "0001-01-02"), ("9999-01-01", "9999-01-02")):
        with pytest.raises(ValidationFailed):
            reports.freeze(start, end, world.manager, now)


def test_the_published_year_is_found_behind_more_than_fifty_later_reports(world: World) -> None:
    published_year_behind_later_reports(world)


def published_year_behind_later_reports(world: World) -> None:
    """The year is the latest whole calendar year frozen after it ended (local day), however many later
    reports of the next year there are (the query once looked at the 50 newest only).  Also run on
    PostgreSQL (tests/integration/test_reports_postgres.py)."""
    year = 2024
    start, end = f"{year}-01-01", f"{year}-12-31"
    # 23:59 on 31 December in Shanghai: frozen in the year, not published
    in_the_year = reports.freeze(start, end, world.manager, datetime(year, 12, 31, 15, 59, tzinfo=UTC))
    assert reports.latest_year_report(date(year + 1, 1, 5)) is None
    # 00:05 on 1 January in Shanghai (still 31 December in UTC): after the year
    published = reports.freeze(start, end, world.manager, datetime(year, 12, 31, 16, 5, tzinfo=UTC))
    assert (in_the_year.version, published.version) == (1, 2)
    assert reports.latest_year_report(date(year, 12, 31)) is None  # not over yet on the day it ends
    assert reports.latest_year_report(date(year + 1, 1, 1)) == published

    # 51 year-to-date freezes of the next year, each starting on 1 January, all frozen later
    counted = datetime(year + 1, 3, 1, 2, 0, tzinfo=UTC)
    for k in range(51):
        last = date(year + 1, 1, 1) + timedelta(days=k)
        reports.freeze(f"{year + 1}-01-01", last.isoformat(), world.manager, counted + timedelta(hours=k))
    # and the next year frozen whole before it ended
    reports.freeze(f"{year + 1}-01-01", f"{year + 1}-12-31", world.manager, counted + timedelta(days=3))
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(FrozenReport)) == 54
    assert reports.latest_year_report(date(year + 1, 6, 1)) == published
    assert reports.latest_year_report(date(year + 2, 6, 1)) == published  # the next year: frozen too early


def test_a_reassignment_past_the_signing_deadline_stays_late(world: World) -> None:
    """Issue 11, point 4: a manager reassigning a request whose signing clock is past due does not hide it."""
    now = utcnow()
    ticket = world.submit(now)
    tickets.assign(ticket.id, world.manager, world.liaison.username, now)
    ticket.acknowledge_due_at = now + timedelta(hours=2)  # (no calendar here: the clock set by hand)
    later = ticket.acknowledge_due_at + timedelta(minutes=1)
    tickets.assign(ticket.id, world.manager, world.other_liaison.username, later)
    assert ticket.late_returns == 1
