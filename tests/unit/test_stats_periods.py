"""Periods of the figures: month, quarter, year and custom dates as local-day bounds, with clear refusals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import pytest
from flask_babel import force_locale

from hotline.errors import ValidationFailed
from hotline.stats import periods
from hotline.stats.periods import PeriodError
from hotline.stats.queries import StatsFilter

TODAY = date(2026, 5, 20)


@pytest.fixture(autouse=True)
def english(app) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-03", date(2026, 3, 1), date(2026, 4, 1)),
        ("2026-3", date(2026, 3, 1), date(2026, 4, 1)),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1)),
        ("2026Q1", date(2026, 1, 1), date(2026, 4, 1)),
        ("2026-q4", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026", date(2026, 1, 1), date(2027, 1, 1)),
        (" 2024-02 ", date(2024, 2, 1), date(2024, 3, 1)),
    ],
)
def test_months_quarters_and_years(text, start, end):
    assert periods.parse_period(text) == (start, end)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13", "A month is from 01 to 12."),
        ("2026-00", "A month is from 01 to 12."),
        ("2026Q5", "Give a month like 2026-03, a quarter like 2026Q1 or a year like 2026."),
        ("March", "Give a month like 2026-03, a quarter like 2026Q1 or a year like 2026."),
        ("", "Give a month like 2026-03, a quarter like 2026Q1 or a year like 2026."),
        ("1899", "Choose a year from 2000 to 2100."),
    ],
)
def test_a_bad_period_says_what_is_expected(text, message):
    with pytest.raises(PeriodError) as refused:
        periods.parse_period(text)
    assert str(refused.value) == message
    assert refused.value.fields == {"period": message}
    assert isinstance(refused.value, ValueError) and isinstance(refused.value, ValidationFailed)


def test_custom_dates_include_the_last_day():
    assert periods.custom("2026-03-10", "2026-04-16", TODAY) == (date(2026, 3, 10), date(2026, 4, 17))
    assert periods.custom("2026-03-10", "2026-03-10", TODAY) == (date(2026, 3, 10), date(2026, 3, 11))
    assert periods.custom(None, None, TODAY) == (date(2026, 1, 1), date(2027, 1, 1))  # this year
    assert periods.custom("2025-06-01", None, TODAY) == (date(2025, 6, 1), date(2026, 1, 1))
    assert periods.custom(None, "2025-06-30", TODAY) == (date(2025, 1, 1), date(2025, 7, 1))


@pytest.mark.parametrize(
    ("from_text", "to_text", "field", "message"),
    [
        ("2026/03/10", "2026-04-16", "from", "Give a date as YYYY-MM-DD, for example 2026-03-31."),
        ("2026-02-30", "2026-04-16", "from", "There is no such day."),
        ("2026-03-10", "tomorrow", "to", "Give a date as YYYY-MM-DD, for example 2026-03-31."),
        ("2026-03-10", "2026-03-09", "to", "The last day comes before the first day."),
        ("2001-01-01", "2026-01-01", "to", "A period spans at most ten years."),
    ],
)
def test_bad_custom_dates_name_the_field(from_text, to_text, field, message):
    with pytest.raises(PeriodError) as refused:
        periods.custom(from_text, to_text, TODAY)
    assert refused.value.field == field
    assert refused.value.fields == {field: message}


def test_the_picker_defaults_to_the_period_holding_today():
    assert periods.default_value("month", TODAY) == "2026-05"
    assert periods.default_value("quarter", TODAY) == "2026Q2"
    assert periods.default_value("year", TODAY) == "2026"
    assert periods.parse("quarter", "", "", "", TODAY) == periods.Period(
        "quarter", date(2026, 4, 1), date(2026, 7, 1)
    )
    custom = periods.parse("custom", "", "2026-05-01", "2026-05-20", TODAY)
    assert periods.last_day(custom.end) == date(2026, 5, 20)


def test_the_picker_refuses_a_value_of_another_kind():
    with pytest.raises(PeriodError) as refused:
        periods.parse("month", "2026Q1", "", "", TODAY)
    assert refused.value.fields == {"value": "Give a month like 2026-03."}
    with pytest.raises(PeriodError) as refused:
        periods.parse("week", "", "", "", TODAY)
    assert refused.value.field == "period"


def test_periods_become_filters_and_names():
    flt = StatsFilter(start=date(2026, 1, 1), end=date(2027, 1, 1), street_id=3)
    start, end = periods.parse_period("2026-03")
    march = replace(flt, start=start, end=end)
    assert (march.start, march.end, march.street_id) == (date(2026, 3, 1), date(2026, 4, 1), 3)
    assert periods.describe(*periods.parse_period("2026")) == "2026"
    assert periods.describe(*periods.parse_period("2026Q3")) == "2026Q3"
    assert periods.describe(*periods.parse_period("2026-03")) == "2026-03"
    assert periods.describe(date(2026, 3, 10), date(2026, 4, 17)) == "2026-03-10 ~ 2026-04-16"
