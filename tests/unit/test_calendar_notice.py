"""Entering a year from the State Council's notice (issue 11, point 7): the reader, the plan, the save, and
the sync that reports what the package says about a year entered by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from flask_babel import force_locale
from sqlalchemy import delete, func, select

from hotline.errors import Forbidden, ValidationFailed
from hotline.extensions import db
from hotline.sla import calendar as calendar_db
from hotline.sla import services as sla
from hotline.sla.models import CalendarDay, DaySource
from hotline.sla.notice import DayKind, parse_notice, parse_rows
from hotline.sla.worktime import LOCAL_TZ
from hotline.tickets.models import EventKind, TicketEvent

# 10:00 on Thursday 3 December 2026 in Shanghai: the package does not know 2027.
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)

# The State Council's notice for 2026 (国办发明电〔2025〕号), in its own words.
NOTICE_2026 = """一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
三、清明节：4月4日（周六）至6日（周一）放假，共3天。
四、劳动节：5月1日（周五）至5日（周二）放假调休，共5天。5月9日（周六）上班。
五、端午节：6月19日（周五）至21日（周日）放假，共3天。
六、中秋节：9月25日（周五）至27日（周日）放假，共3天。
七、国庆节：10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。"""

# A 2027 schedule in the short form a manager types (constructed: the notice is not out in this test).
SHORT_2027 = (
    "元旦 1月1日–3日; 春节 2月6日–14日 休, 2月20日 上班\n"
    "清明节 4月3日-5日\n"
    "劳动节 5月1日至5日 休，4月25日、5月8日 班\n"
    "端午节 6月9日到11日\n"
    "中秋节 9月15日–17日\n"
    "国庆节 10月1日–7日 休, 9月26日、10月9日 上班"
)


@pytest.fixture(autouse=True)
def english(app) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


def ranges(text: str, year: int = 2027) -> list[tuple[str, str, str, str]]:
    parsed = parse_notice(text, year)
    assert parsed.problems == [], [p.english() for p in parsed.problems]
    return [(r.start.isoformat(), r.end.isoformat(), r.kind.value, r.name) for r in parsed.ranges]


def problems(text: str, year: int = 2027) -> list[str]:
    return [p.english() for p in parse_notice(text, year).problems]


# --------------------------------------------------------------------------- the reader


def test_the_short_form_of_the_issue_is_read():
    assert ranges("元旦 1月1日–3日; 春节 2月15日–23日 休, 2月14日、2月28日 上班") == [
        ("2027-01-01", "2027-01-03", "holiday", "元旦"),
        ("2027-02-15", "2027-02-23", "holiday", "春节"),
        ("2027-02-14", "2027-02-14", "workday", "春节"),
        ("2027-02-28", "2027-02-28", "workday", "春节"),
    ]


@pytest.mark.parametrize("dash", ["–", "-", "—", "至", "到", "~", " 至 "])
def test_every_range_mark_is_read(dash: str):
    assert ranges(f"国庆节 10月1日{dash}7日") == [("2027-10-01", "2027-10-07", "holiday", "国庆节")]


def test_a_range_across_months_and_lists_with_either_comma():
    assert ranges("春节 1月30日至2月5日 休，1月24日、2月20日，2月21日 班") == [
        ("2027-01-30", "2027-02-05", "holiday", "春节"),
        ("2027-01-24", "2027-01-24", "workday", "春节"),
        ("2027-02-20", "2027-02-20", "workday", "春节"),
        ("2027-02-21", "2027-02-21", "workday", "春节"),
    ]


def test_one_range_per_line_with_iso_dates_and_the_name_after():
    assert ranges("2027-02-14 班 春节\n2027-02-15 至 2027-02-23 休 春节\n2027年10月1日-10月7日 国庆节") == [
        ("2027-02-14", "2027-02-14", "workday", "春节"),
        ("2027-02-15", "2027-02-23", "holiday", "春节"),
        ("2027-10-01", "2027-10-07", "holiday", "国庆节"),
    ]


def test_the_notice_wording_keeps_the_holiday_name_for_its_make_up_days():
    found = ranges("一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。", 2026)
    assert found == [
        ("2026-01-01", "2026-01-03", "holiday", "元旦"),
        ("2026-01-04", "2026-01-04", "workday", "元旦"),
    ]


def test_a_day_of_the_year_before_in_the_notice_is_left_out_and_reported():
    parsed = parse_notice("元旦：2022年12月31日至2023年1月2日放假调休，共3天。", 2023)
    assert [(r.start, r.end) for r in parsed.ranges] == [(date(2023, 1, 1), date(2023, 1, 2))]
    assert parsed.outside == [date(2022, 12, 31)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("春节 2月30日 休", "line 1 ('春节 2月30日 休'): '2月30日' is not a date"),
        ("春节 十月一日", "cannot read '十月一日': expected a date like 2月14日"),
        ("国庆 10月1日至", "the range '10月1日至' has no end date"),
        ("国庆 3日", "'3日' has no month"),
        ("国庆 10月7日至10月1日", "the range '10月7日–10月1日' ends before it starts"),
        ("春节 2月1日-3月5日", "longer than 31 days"),
        ("休 班", "'休' follows no date"),
        ("春节 上班 2月14日", "'上班' follows no date: write the dates first"),
        ("春节：", "no date on this line"),
        ("春节 2月14日 上班; 2月14日 休", "2027-02-14 is both a day off and a working day"),
        ("", "enter at least one holiday range"),
        ("元旦 2028年1月1日", ""),  # another year only: nothing left to enter
    ],
)
def test_a_line_that_cannot_be_read_says_which_and_why(text: str, expected: str):
    found = problems(text)
    assert found and expected in found[0], found


def test_every_bad_line_is_reported_at_once_with_its_number():
    found = problems("元旦 1月1日–3日\n春节 2月30日\n清明 4月3日-5日\n国庆 十月")
    assert [p.split(" ")[1] for p in found] == ["2", "4"]


def test_csv_rows_in_either_language_with_a_header():
    year, parsed = parse_rows(
        [
            ["date", "end", "kind", "name"],
            ["2027-02-06", "2027-02-14", "休", "春节"],
            ["2027-02-20", "", "workday", "春节"],
            ["2027年10月1日", "2027年10月7日", "holiday", "国庆节"],
            ["", "", "", ""],
        ],
        None,
    )
    assert year == 2027 and parsed.problems == []
    assert [(r.start, r.end, r.kind, r.line) for r in parsed.ranges] == [
        (date(2027, 2, 6), date(2027, 2, 14), DayKind.HOLIDAY, 2),
        (date(2027, 2, 20), date(2027, 2, 20), DayKind.WORKDAY, 3),
        (date(2027, 10, 1), date(2027, 10, 7), DayKind.HOLIDAY, 4),
    ]


def test_bad_csv_rows_are_each_named():
    _year, parsed = parse_rows(
        [
            ["2027-02-30", "", "休", "x"],
            ["2027-03-01", "", "maybe", ""],
            ["2027-03-09", "2027-03-01", "班", ""],
        ],
        2027,
    )
    assert [(p.line, p.reason) for p in parsed.problems] == [
        (1, "bad_date"),
        (2, "bad_kind"),
        (3, "reversed"),
    ]
    assert parse_rows([["2月14日", "", "班", ""]], None)[1].problems[0].reason == "no_year"


# --------------------------------------------------------------------------- the plan against the package


def test_the_2026_notice_gives_exactly_what_chinese_calendar_knows(app, world):
    plan = sla.plan_notice(2026, NOTICE_2026, world.manager)
    assert plan.year_known is False and plan.changed == []
    for day in plan.days:
        assert day.is_workday == chinese_calendar.is_workday(day.day), day.day
    assert plan.makeup_days == 6


def test_the_short_2027_form_gives_a_whole_year(app, world):
    plan = sla.plan_notice(2027, SHORT_2027, world.manager)
    days = {d.day: d for d in plan.days}
    assert len(days) == 365
    assert days[date(2027, 2, 8)].is_workday is False and days[date(2027, 2, 8)].note == "春节"
    assert days[date(2027, 2, 20)].is_workday is True and days[date(2027, 2, 20)].note == "春节 调休上班"
    assert days[date(2027, 3, 1)].is_workday is True and not days[date(2027, 3, 1)].in_notice
    assert days[date(2027, 3, 6)].is_workday is False  # a Saturday nobody named


def test_year_and_text_errors_come_together_and_managers_only(app, world):
    with pytest.raises(ValidationFailed) as refused:
        sla.plan_notice("twenty", "春节 2月30日", world.manager)
    assert set(refused.value.fields) == {"year", "text"}
    with pytest.raises(ValidationFailed) as bad_line:
        sla.plan_notice(2027, "元旦 1月1日\n春节 2月30日", world.manager)
    assert bad_line.value.fields["text"].startswith("Line 2 (“春节 2月30日”): “2月30日” is not a date.")
    with pytest.raises(ValidationFailed) as nul:
        sla.plan_notice(2027, "元旦 1月1日\x00", world.manager)
    assert "text" in nul.value.fields
    with pytest.raises(Forbidden):
        sla.plan_notice(2027, SHORT_2027, world.liaison)


# --------------------------------------------------------------------------- saving


def test_entering_2027_saves_every_day_and_gives_waiting_clocks_their_deadline(app, world):
    sla.sync_calendar_from_package(NOW, years=[2026])
    db.session.commit()
    plan = sla.enter_notice(2027, SHORT_2027, world.manager, NOW)
    db.session.commit()
    assert plan.year_known is False
    assert calendar_db.year_is_known(2027)
    count = db.session.scalar(
        select(func.count()).where(CalendarDay.day.between(date(2027, 1, 1), date(2027, 12, 31)))
    )
    assert count == 365
    row = db.session.get(CalendarDay, date(2027, 2, 20))
    assert row is not None and row.is_workday and row.source == DaySource.OVERRIDE
    assert row.updated_by_id == world.manager.id
    plain = db.session.get(CalendarDay, date(2027, 3, 1))
    assert plain is not None and plain.source == DaySource.WEEKDAY
    assert calendar_db.current_calendar().is_workday(date(2027, 2, 8)) is False


def test_a_bad_line_saves_nothing(app, world):
    with pytest.raises(ValidationFailed):
        sla.enter_notice(2027, SHORT_2027 + "\n重阳 10月32日", world.manager, NOW)
    db.session.rollback()
    assert not calendar_db.year_is_known(2027)


def test_re_entering_a_year_marks_and_writes_only_the_changes(app, world):
    sla.enter_notice(2027, SHORT_2027, world.manager, NOW)
    db.session.commit()
    corrected = SHORT_2027.replace("2月6日–14日", "2月7日–15日")
    plan = sla.plan_notice(2027, corrected, world.manager)
    assert plan.year_known is True
    assert [d.day for d in plan.changed] == [date(2027, 2, 15)]  # 6 Feb is a Saturday: rest either way
    later = NOW + timedelta(hours=1)
    sla.enter_notice(2027, corrected, world.manager, later)
    db.session.commit()
    rows = db.session.scalars(select(CalendarDay).where(CalendarDay.updated_at == later)).all()
    # 6 February loses its note (a plain Saturday now), 15 February becomes a holiday; the rest is untouched.
    assert sorted(r.day for r in rows) == [date(2027, 2, 6), date(2027, 2, 15)]


def test_saving_recomputes_the_open_clocks_once(app, world):
    sla.sync_calendar_from_package(NOW, years=[2026])
    db.session.commit()
    late_december = datetime(2026, 12, 31, 16, 0, tzinfo=LOCAL_TZ)
    ticket = world.in_progress(late_december)
    db.session.commit()
    assert ticket.resolve_due_at is None  # 2027 is not there: no deadline, no guess
    sla.enter_notice(2027, SHORT_2027, world.manager, late_december)
    db.session.commit()
    # 90 minutes on 31 December; 1 January is 元旦; 4 to 7 January; the last 330 minutes on 8 January.
    assert ticket.resolve_due_at == datetime(2027, 1, 8, 16, 0, tzinfo=LOCAL_TZ)
    recomputed = db.session.scalars(
        select(TicketEvent).where(TicketEvent.kind == EventKind.CLOCKS_RECOMPUTED)
    ).all()
    assert len(recomputed) == 1


# --------------------------------------------------------------------------- the package learns a hand year


def enter_2026_by_hand(world, text: str = NOTICE_2026) -> None:  # type: ignore[no-untyped-def]
    db.session.execute(
        delete(CalendarDay).where(CalendarDay.day.between(date(2026, 1, 1), date(2026, 12, 31)))
    )
    sla.enter_notice(2026, text, world.manager, NOW)
    db.session.commit()


def test_a_hand_year_that_agrees_with_the_package_has_no_difference(app, world):
    enter_2026_by_hand(world)
    assert [(h.year, h.differences) for h in sla.hand_years_the_package_knows()] == [(2026, [])]


def test_every_day_a_hand_year_differs_from_the_package_is_reported_and_nothing_changes(app, world):
    # The manager forgot the make-up Saturday 14 February and took 24 February off.
    enter_2026_by_hand(world, NOTICE_2026.replace("2月14日（周六）、", "").replace("至23日", "至24日"))
    (hand,) = sla.hand_years_the_package_knows()
    assert [(d.day, d.entered_workday, d.package_workday) for d in hand.differences] == [
        (date(2026, 2, 14), False, True),
        (date(2026, 2, 24), False, True),
    ]
    row = db.session.get(CalendarDay, date(2026, 2, 24))
    assert row is not None and row.is_workday is False and row.source == DaySource.OVERRIDE


def test_applying_takes_the_packages_days(app, world):
    enter_2026_by_hand(world, NOTICE_2026.replace("至23日", "至24日"))
    assert sla.adopt_package_years([2026], NOW) == [2026]
    db.session.commit()
    row = db.session.get(CalendarDay, date(2026, 2, 24))
    assert row is not None and row.is_workday is True and row.source == DaySource.PACKAGE
    assert sla.hand_years_the_package_knows() == []


def test_a_package_year_with_a_local_closure_is_not_a_hand_year(app, world):
    sla.sync_calendar_from_package(NOW, years=[2026])
    sla.set_day(date(2026, 3, 11), False, "closed", world.manager, NOW)
    db.session.commit()
    assert sla.hand_years_the_package_knows() == []
    assert sla.adopt_package_years([2026], NOW) == []
    row = db.session.get(CalendarDay, date(2026, 3, 11))
    assert row is not None and row.is_workday is False


# --------------------------------------------------------------------------- the command line

CSV_2027 = (
    "date,end,kind,name\n"
    "2027-01-01,2027-01-03,休,元旦\n"
    "2027-02-06,2027-02-14,休,春节\n"
    "2027-02-20,,班,春节\n"
    "2027-10-01,2027-10-07,holiday,国庆节\n"
    "2027-09-26,,workday,国庆节\n"
)


def invoke(app, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def test_calendar_import_is_a_dry_run_by_default_then_saves_with_apply(app, world, tmp_path):
    path = tmp_path / "2027.csv"
    path.write_bytes(CSV_2027.encode("utf-8-sig"))  # as Excel saves it
    dry = invoke(app, "calendar", "import", str(path))
    assert dry.exit_code == 0, dry.output
    assert "2027-02-06 – 2027-02-14  day off  春节" in dry.output
    assert "2027-02-20  make-up working day  春节" in dry.output
    assert "2027: 19 days off, 2 make-up working days" in dry.output
    assert "dry run: nothing saved" in dry.output
    assert not calendar_db.year_is_known(2027)
    done = invoke(app, "calendar", "import", str(path), "--apply")
    assert done.exit_code == 0, done.output
    assert "saved" in done.output.splitlines()[-1]
    assert calendar_db.current_calendar().is_workday(date(2027, 2, 20)) is True
    assert calendar_db.current_calendar().is_workday(date(2027, 2, 8)) is False
    row = db.session.get(CalendarDay, date(2027, 2, 20))
    assert row is not None and row.updated_by_id == world.admin.id
    # Again, with one day moved: only that change is shown.
    path.write_text(CSV_2027.replace("2027-09-26", "2027-10-09"), encoding="utf-8")
    again = invoke(app, "calendar", "import", str(path))
    assert "changes 2027-09-26 Sun: working day -> rest day" in again.output
    assert "changes 2027-10-09 Sat: rest day -> working day" in again.output


def test_calendar_import_names_every_bad_row_and_saves_nothing(app, world, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("2027-01-01,2027-01-03,休,元旦\n2027-02-30,,休,春节\n2027-02-20,,maybe,春节\n", "utf-8")
    result = invoke(app, "calendar", "import", str(path), "--apply")
    assert result.exit_code != 0
    assert "Line 2 (“2027-02-30,,休,春节”): “2027-02-30” is not a date." in result.output
    assert "Line 3" in result.output and "“maybe” is not a kind" in result.output
    assert "nothing was saved" in result.output
    assert not calendar_db.year_is_known(2027)


def test_calendar_import_refuses_a_liaison(app, world, tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text(CSV_2027, "utf-8")
    result = invoke(app, "calendar", "import", str(path), "--apply", "--by", world.liaison.username)
    assert result.exit_code != 0 and not calendar_db.year_is_known(2027)


def test_calendar_sync_reports_a_hand_year_the_package_knows_and_changes_nothing(app, world):
    invoke(app, "calendar", "sync")  # every year the package knows
    enter_2026_by_hand(world, NOTICE_2026.replace("至23日", "至24日"))
    report = invoke(app, "calendar", "sync")
    assert report.exit_code == 0, report.output
    assert "loaded years: none" in report.output
    assert "2026 was entered by hand; chinese-calendar differs on 1 days:" in report.output
    assert "2026-02-24 Tue: entered rest day (春节), package working day" in report.output
    assert "run with --apply" in report.output
    row = db.session.get(CalendarDay, date(2026, 2, 24))
    assert row is not None and row.is_workday is False
    applied = invoke(app, "calendar", "sync", "--apply")
    assert "2026 now follows chinese-calendar" in applied.output
    db.session.expire_all()
    row = db.session.get(CalendarDay, date(2026, 2, 24))
    assert row is not None and row.is_workday is True and row.source == DaySource.PACKAGE
    quiet = invoke(app, "calendar", "sync")
    assert "entered by hand" not in quiet.output


def test_calendar_sync_leaves_a_package_year_with_a_local_closure_alone(app, world):
    invoke(app, "calendar", "sync")
    sla.set_day(date(2026, 3, 11), False, "closed for repairs", world.manager, NOW)
    db.session.commit()
    result = invoke(app, "calendar", "sync", "--apply")
    assert "entered by hand" not in result.output
    row = db.session.get(CalendarDay, date(2026, 3, 11))
    assert row is not None and row.is_workday is False and row.source == DaySource.OVERRIDE


def test_the_daily_check_logs_a_hand_year_the_package_knows_otherwise(app, world, caplog):
    from hotline.sla.tasks import check_calendar

    enter_2026_by_hand(world, NOTICE_2026.replace("至23日", "至24日"))
    with caplog.at_level("WARNING", logger="hotline.sla.tasks"):
        check_calendar.run()
    assert "2026 was entered by hand and chinese-calendar now differs on 1 days" in caplog.text
    row = db.session.get(CalendarDay, date(2026, 2, 24))
    assert row is not None and row.is_workday is False  # reported, not changed
