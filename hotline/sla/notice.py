"""Reading a year's holiday schedule as the State Council notice gives it, and from a CSV file.

A notice says which days are off (放假, 休) and which weekend days are worked to make up
for them (上班, 班); every other day of the year is a working day from Monday to Friday and
a rest day at the weekend.  So a whole year is described by a handful of ranges, e.g.
``元旦 1月1日-3日; 春节 2月15日-23日 休, 2月14日、2月28日 上班``, or by the notice's
own sentences (numbering, weekdays in brackets and "共3天" are skipped), or one range per
line (``2027-02-14 班 春节``).  Ranges use an en dash, a hyphen, a tilde, 至 or 到; lists
use 、 or a comma; a date without a month takes the month of the date before it
(``2月15日至23日``).  Dates not followed by a kind word are days off, so
``元旦 1月1日-3日`` needs no 休.  A sentence without a name (the notice's
"1月4日上班。") belongs to the holiday named before it on the same line.

Pure functions over plain values: the database side is :func:`hotline.sla.services.plan_notice`.  Problems
are collected, never raised one at a time, so every unreadable line is reported at once; their text is
English here (for logs and the CLI) and translated by the service from ``reason`` and ``params``.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta


class DayKind(enum.StrEnum):
    HOLIDAY = "holiday"  # 休: a day off
    WORKDAY = "workday"  # 班: a (make-up) working day


@dataclass(frozen=True)
class NoticeRange:
    """Days ``start`` to ``end`` (inclusive) are ``kind``, for the holiday ``name``; ``line`` is 1-based."""

    start: date
    end: date
    kind: DayKind
    name: str
    line: int

    def days(self) -> Iterable[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)


@dataclass(frozen=True)
class NoticeProblem:
    """A line (or CSV row) that cannot be read: its number, its text, why (``reason``) and the details."""

    line: int
    text: str
    reason: str
    params: dict[str, str] = field(default_factory=dict)

    def english(self) -> str:
        where = f"line {self.line} ({self.text!r})" if self.text else f"line {self.line}"
        return f"{where}: {PROBLEM_TEXT[self.reason].format(**self.params)}"


PROBLEM_TEXT = {
    "unexpected": "cannot read {part!r}: expected a date like 2月14日, a range like 2月15日至23日, 休 or 班",
    "no_month": "{part!r} has no month: write it like 2月14日",
    "bad_date": "{part!r} is not a date",
    "other_year": "{part!r} is not in {year}",
    "reversed": "the range {part!r} ends before it starts",
    "too_long": "the range {part!r} is longer than {days} days",
    "dangling_range": "the range {part!r} has no end date",
    "no_dates": "no date on this line",
    "kind_first": "{part!r} follows no date: write the dates first, like 2月14日 上班",
    "conflict": "{day} is both a day off and a working day",
    "bad_kind": "{part!r} is not a kind: write 休 or 班 (holiday or workday)",
    "columns": "expected the columns date, end, kind, name",
    "no_year": "{part!r} has no year: write it like 2027-02-14, or give the year",
    "empty": "enter at least one holiday range or make-up working day",
}

RANGE_DAYS_MAX = 31  # the longest holiday of a notice is 9 days; a month guards a typo like 2月1日至12月1日

REST_WORDS = ("放假调休", "调休放假", "放假", "休息", "休假", "休", "holiday", "rest", "off")
WORK_WORDS = ("调休上班", "补班", "上班", "工作", "班", "workday", "work")

_TOKEN = re.compile(
    r"""
    (?P<iso>\d{4}[-/.]\d{1,2}[-/.]\d{1,2})
  | (?:(?P<year>\d{4})\s*年\s*)?(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*[日号]
  | (?P<dayonly>\d{1,2})\s*[日号]
  | (?P<range>至|到|–|—|－|-|~|～)
  | (?P<sep>[、，,和及])
  | (?P<space>\s+)
    """,
    re.VERBOSE | re.IGNORECASE,
)
_KIND = re.compile(
    "|".join(re.escape(w) for w in sorted(REST_WORDS + WORK_WORDS, key=len, reverse=True)), re.IGNORECASE
)
# What the notice says around its dates and we do not need: weekdays and lunar dates in brackets
# ("（周四）"), the count of days ("共9天"), the numbering ("一、").
_PARENS = re.compile(r"[（(][^（）()]*[）)]")
_TOTAL = re.compile(r"共\s*\d+\s*天")
_NUMBERING = re.compile(r"^\s*(?:[一二三四五六七八九十]+|\d+)\s*[、.．]\s*")
_SENTENCE = re.compile(r"[;；。]")
_NAME = re.compile(r"^\s*([^\d\s;；:：,，、。（）()]+?)\s*[:：]?\s*(?=\d|$)")
_NAME_ANYWHERE = re.compile(r"[^\W\d_][^\W\d_ ]*", re.UNICODE)


@dataclass
class ParsedNotice:
    ranges: list[NoticeRange] = field(default_factory=list)
    problems: list[NoticeProblem] = field(default_factory=list)
    outside: list[date] = field(default_factory=list)  # days of another year, left alone


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


class _Segment:
    """One sentence of a line: a name, then dates, ranges and kind words, read left to right."""

    def __init__(self, year: int, line: int, shown: str, text: str, name: str, result: ParsedNotice) -> None:
        self.year, self.line, self.shown, self.text = year, line, shown, text
        self.name, self.result = name, result
        self.pending: list[tuple[date, date, str]] = []  # ranges waiting for their kind word
        self.last: date | None = None  # the date before, whose month a bare "23日" takes
        self.range_from: tuple[date, str] | None = None
        self.wants_end = False
        self.failed = False
        self.kept: list[tuple[date, date, DayKind]] = []

    def problem(self, reason: str, **params: str) -> None:
        self.failed = True
        self.result.problems.append(NoticeProblem(self.line, self.shown, reason, params))

    def add_date(self, day: date, part: str) -> None:
        self.last = day
        if self.wants_end and self.range_from is not None:
            start, start_part = self.range_from
            self.wants_end = False
            self.range_from = None
            whole = f"{start_part}–{part}"
            if day < start:
                self.problem("reversed", part=whole)
                return
            if (day - start).days >= RANGE_DAYS_MAX:
                self.problem("too_long", part=whole, days=str(RANGE_DAYS_MAX))
                return
            self.pending[-1] = (start, day, whole)
            return
        self.pending.append((day, day, part))
        self.range_from = (day, part)

    def close(self, kind: DayKind) -> None:
        for start, end, part in self.pending:
            self._keep(start, end, kind, part)
        self.pending = []
        self.range_from = None

    def _keep(self, start: date, end: date, kind: DayKind, part: str) -> None:
        inside = [d for d in _span(start, end) if d.year == self.year]
        self.result.outside.extend(d for d in _span(start, end) if d.year != self.year)
        if inside:
            self.kept.append((inside[0], inside[-1], kind))

    def read(self) -> None:
        """Read the sentence; its ranges take its name, even one written after the dates."""
        self._read()
        if not self.failed:
            self.result.ranges.extend(
                NoticeRange(start, end, kind, self.name, self.line) for start, end, kind in self.kept
            )

    def _read(self) -> None:
        text = self.text
        position = 0
        seen_date = False
        while position < len(text):
            kind_match = _KIND.match(text, position)
            token = _TOKEN.match(text, position)
            if token is None and kind_match is None:
                word = _NAME_ANYWHERE.match(text, position)
                if word is not None and not self.name:  # "2027-02-14 班 春节": the name after the dates
                    self.name = word.group(0).strip()
                    position = word.end()
                    continue
                end = word.end() if word is not None else position + 1
                self.problem("unexpected", part=text[position:end].strip() or text[position:end])
                return
            if kind_match is not None:
                if self.wants_end:
                    self.problem("dangling_range", part=text[: kind_match.start()].strip())
                    return
                said = kind_match.group(0).lower()
                if not self.pending:  # "上班 2月14日": the kind comes after its dates, never before
                    self.problem("kind_first", part=kind_match.group(0))
                    return
                self.close(DayKind.WORKDAY if said in WORK_WORDS else DayKind.HOLIDAY)
                position = kind_match.end()
                continue
            assert token is not None
            position = token.end()
            group = _group(token)
            part = token.group(0).strip()
            if group == "iso":
                y, m, d = (int(n) for n in re.split(r"[-/.]", part))
                day = _date(y, m, d)
            elif group == "month":
                y = int(token.group("year")) if token.group("year") else self.year
                day = _date(y, int(token.group("month")), int(token.group("day")))
            elif group == "dayonly":
                if self.last is None:
                    self.problem("no_month", part=part)
                    return
                day = _date(self.last.year, self.last.month, int(token.group("dayonly")))
            elif group == "range":
                if self.range_from is None or self.wants_end:
                    self.problem("unexpected", part=part)
                    return
                self.wants_end = True
                continue
            else:  # a separator or a space
                if group == "sep" and self.wants_end:
                    self.problem("dangling_range", part=text[: token.start()].strip())
                    return
                continue
            if day is None:
                self.problem("bad_date", part=part)
                return
            seen_date = True
            self.add_date(day, part)
            if self.failed:
                return
        if self.wants_end:
            self.problem("dangling_range", part=text.strip())
            return
        if not seen_date and not self.failed:
            self.problem("no_dates")
            return
        self.close(DayKind.HOLIDAY)  # "元旦 1月1日–3日": days off unless said otherwise


def _group(token: re.Match[str]) -> str:
    """Which alternative of ``_TOKEN`` matched (``lastgroup`` names the innermost group, e.g. ``day``)."""
    for name in ("iso", "month", "dayonly", "range", "sep"):
        if token.group(name) is not None:
            return name
    return "space"


def _span(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _clean(sentence: str) -> str:
    text = _PARENS.sub("", sentence)
    text = _TOTAL.sub("", text)
    return text.strip(" \t,，、")


def parse_notice(text: str, year: int) -> ParsedNotice:
    """Read a notice's text for ``year``: every range with its kind, name and line, and every problem."""
    result = ParsedNotice()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _NUMBERING.sub("", raw)
        name = ""
        for sentence in _SENTENCE.split(line):
            cleaned = _clean(sentence)
            if not cleaned:
                continue
            found = _NAME.match(cleaned)
            if found is not None and not _KIND.fullmatch(found.group(1)):
                name = found.group(1).strip()
                cleaned = cleaned[found.end() :]
            elif found is None:
                cleaned = cleaned.lstrip(":： ")
            # a later sentence without a name ("1月4日（周日）上班。") belongs to the holiday before it
            segment = _Segment(year, number, raw.strip(), cleaned, name, result)
            segment.read()
            name = segment.name
    _check_conflicts(result)
    if not result.ranges and not result.problems:
        result.problems.append(NoticeProblem(0, "", "empty"))
    return result


def _check_conflicts(result: ParsedNotice) -> None:
    kinds: dict[date, tuple[DayKind, int]] = {}
    for item in result.ranges:
        for day in item.days():
            seen = kinds.get(day)
            if seen is not None and seen[0] != item.kind:
                result.problems.append(NoticeProblem(item.line, "", "conflict", {"day": day.isoformat()}))
            kinds.setdefault(day, (item.kind, item.line))


KIND_WORDS = {
    **{w: DayKind.HOLIDAY for w in REST_WORDS},
    **{w: DayKind.WORKDAY for w in WORK_WORDS},
}
HEADER_WORDS = {"date", "start", "日期", "开始", "开始日期", "起始日期"}


def parse_rows(rows: Sequence[Sequence[str]], year: int | None) -> tuple[int | None, ParsedNotice]:
    """Read CSV rows ``date or start, end, kind, name`` (a first row of column names is skipped).

    ``year`` is the year entered; None takes it from the first row's date.  Returns the year and the result.
    """
    result = ParsedNotice()
    body = list(enumerate(rows, start=1))
    if body and body[0][1] and body[0][1][0].strip().lstrip("\ufeff").lower() in HEADER_WORDS:
        body = body[1:]
    for number, row in body:
        cells = [cell.strip() for cell in row] + ["", "", "", ""]
        if not any(cells):
            continue
        shown = ",".join(row)
        if len(row) > 4 and any(c.strip() for c in row[4:]):
            result.problems.append(NoticeProblem(number, shown, "columns"))
            continue
        start_text, end_text, kind_text, name = cells[:4]
        if year is None:
            if not _YEAR_GIVEN.match(start_text):
                result.problems.append(NoticeProblem(number, shown, "no_year", {"part": start_text}))
                break
            first = _single_date(start_text, 1)
            if first is None:
                result.problems.append(NoticeProblem(number, shown, "bad_date", {"part": start_text}))
                break
            year = first.year
        problems_before = len(result.problems)
        start = _single_date(start_text, year)
        end = _single_date(end_text, year) if end_text else start
        kind = KIND_WORDS.get(kind_text.lower())
        if start is None:
            result.problems.append(NoticeProblem(number, shown, "bad_date", {"part": start_text}))
        if end is None and end_text:
            result.problems.append(NoticeProblem(number, shown, "bad_date", {"part": end_text}))
        if kind is None:
            result.problems.append(NoticeProblem(number, shown, "bad_kind", {"part": kind_text}))
        if len(result.problems) > problems_before or start is None or end is None or kind is None:
            continue
        whole = f"{start_text}–{end_text}" if end_text else start_text
        if end < start:
            result.problems.append(NoticeProblem(number, shown, "reversed", {"part": whole}))
            continue
        if (end - start).days >= RANGE_DAYS_MAX:
            result.problems.append(
                NoticeProblem(number, shown, "too_long", {"part": whole, "days": str(RANGE_DAYS_MAX)})
            )
            continue
        days = _span(start, end)
        result.outside.extend(d for d in days if d.year != year)
        inside = [d for d in days if d.year == year]
        if inside:
            result.ranges.append(NoticeRange(inside[0], inside[-1], kind, name, number))
    _check_conflicts(result)
    if not result.ranges and not result.problems:
        result.problems.append(NoticeProblem(0, "", "empty"))
    return year, result


_YEAR_GIVEN = re.compile(r"^\s*\d{4}\s*[-/.年]")


def _single_date(text: str, year: int) -> date | None:
    """One date, as 2027-02-14, 2027/2/14, 2027年2月14日 or 2月14日 (in ``year``)."""
    text = text.strip()
    match = _TOKEN.fullmatch(text)
    if match is None:
        return None
    if _group(match) == "iso":
        y, m, d = (int(n) for n in re.split(r"[-/.]", text))
        return _date(y, m, d)
    if _group(match) == "month":
        y = int(match.group("year")) if match.group("year") else year
        return _date(y, int(match.group("month")), int(match.group("day")))
    return None


def read_csv(content: bytes) -> list[list[str]]:
    """The rows of a CSV file in UTF-8 (with or without a BOM) or GB18030 (what Excel saves in China)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("gb18030", errors="replace")
    return list(csv.reader(io.StringIO(text)))
