"""Playing the demo district: the reference data written directly, every request through the services.

The year is played as the live system lives it, on one timeline, in the order things happen.  Each request's
story (:meth:`_Seeder.story`) is a generator: it yields the moment of its next step and is resumed at that
moment, when everything that happened before it in the district has happened.  A manager's leave entries are
stories too.  What the workers do happens on the timeline at the moment they would do it, by the code they
run:

- routing, a few seconds after a request is filed or its return accepted
  (:func:`hotline.routing.services.route_ticket`, called in-process with that moment), so each ASSIGNED or
  POOLED event carries the rule and reason the live worker writes, and the liaisons' loads are those of
  that day;
- the clock sweep (:func:`hotline.sla.sweeps.sweep_clocks`) at the beat's minute after each alert falls
  due, which writes the warnings, overdue marks and escalations;
- the close of lapsed rating windows (:func:`hotline.tickets.services.close_unrated`), every five minutes,
  when the follow-up calls are off; while they are on (the default), a request nobody rated online is called
  by a manager a little after its time ran out (:meth:`_Seeder._follow_up`, through
  :mod:`hotline.followup`), and the last unanswered call closes it unrated.

Each step of a request's story happens some working time after the one before, counted on the application's
own working-day calendar (:func:`hotline.sla.calendar.current_calendar`), the one its clocks use.  A step that
would fall after "now", or in a year the calendar does not know yet (late December, when next year's
holidays are not published), is not played: the request stays where it is.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import random
import time as stopwatch
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import and_, func, select, update

from hotline.auth import services as accounts
from hotline.auth.models import Role, User
from hotline.auth.services import hash_password
from hotline.db import utcnow
from hotline.demo.data import (
    ACCEPT_NOTES,
    BASIC_COMMENTS,
    CATEGORIES,
    CATEGORY_WEIGHTS,
    CHANNEL_WEIGHTS,
    DEPARTMENT_REPLIES,
    DEPARTMENTS,
    DISSATISFIED_COMMENTS,
    ENTERPRISES,
    EXTENSION_APPROVALS,
    EXTENSION_REASONS,
    EXTENSION_REFUSALS,
    GIVEN_NAMES,
    HANDBACK_NOTES,
    HANDOVER_REASON,
    LEAVES,
    LIAISONS,
    LOCATED_CATEGORIES,
    MEETING_DESCRIPTIONS,
    MEETING_MINUTES,
    MEETING_PLACES,
    MEETINGS,
    NOTES,
    PASSWORD,
    POOL_DISPATCH_NOTES,
    PROGRESS_REPLIES,
    REFUSAL_NOTES,
    REGIONS,
    RETURN_REASONS,
    SATISFIED_COMMENTS,
    SECOND_ANSWERS,
    STREETS,
    SURNAMES,
    TEMPLATES,
    TRANSFER_TO,
    UNANSWERED_NOTES,
    UNVERIFIED,
    UPCOMING_MEETING,
    VISIT_NOTES,
    WITHDRAW_REASONS,
)
from hotline.enterprises import uscc
from hotline.enterprises.models import Building, Coverage, CoverageRole, Department, Enterprise, Street
from hotline.extensions import db
from hotline.followup import queries as followup_queue
from hotline.followup import services as followup
from hotline.meetings import services as field_work
from hotline.meetings.models import InvitationResponse, Meeting, MeetingKind
from hotline.outbox import services as outbox
from hotline.outbox.models import OutboxMessage
from hotline.routing import services as routing
from hotline.sla import clocks, sweeps
from hotline.sla import services as sla
from hotline.sla.calendar import current_calendar, known_years
from hotline.sla.models import ClockSchedule
from hotline.sla.services import enter_year, sync_calendar_from_package
from hotline.sla.worktime import CalendarMissing, WorkCalendar
from hotline.stats import rollup
from hotline.tickets import services
from hotline.tickets.models import (
    HELD_STATES,
    Category,
    Channel,
    RatingScore,
    Ticket,
    TicketState,
    Urgency,
)
from hotline.timeutil import LOCAL_TZ, local, local_date

SEED = 20260101
TICKET_COUNT = 320

COMMENTS = {
    RatingScore.SATISFIED: SATISFIED_COMMENTS,
    RatingScore.BASICALLY_SATISFIED: BASIC_COMMENTS,
    RatingScore.DISSATISFIED: DISSATISFIED_COMMENTS,
}

# A story yields the moment of its next step and is sent that moment back when the timeline gets there.
Story = Generator[datetime, datetime, None]

# --------------------------------------------------------------------------- a request's clock


class _Later(Exception):
    """The next step of a request would happen after "now": the request stays where it is."""


class _Clock:
    """One request's own clock: each step happens a little after the previous one, never after ``anchor``."""

    def __init__(
        self, start: datetime, anchor: datetime, rng: random.Random, pace: float, calendar: WorkCalendar
    ) -> None:
        self.now = start
        self.anchor = anchor
        self.rng = rng
        self.pace = pace
        self.calendar = calendar

    def after(self, low_hours: float, high_hours: float) -> datetime:
        """The next step, ``low_hours`` to ``high_hours`` working hours on (at least a minute).

        Raises :class:`_Later` when that is after "now", or in a year after now's that the calendar does not
        know yet: that step lies in the future too.
        """
        hours = (
            self.rng.triangular(low_hours, high_hours, low_hours + (high_hours - low_hours) / 4) * self.pace
        )
        return self._step(self._add(self.now, max(1, round(hours * 60))))

    def at(self, start: datetime, minutes: float) -> datetime:
        """The step ``minutes`` working minutes after ``start`` (a clock's start), at least a minute after
        the previous step.  Raises :class:`_Later` as :meth:`after` does."""
        moment = max(self._add(start, max(0, round(minutes))), self._add(self.now, 1))
        return self._step(moment)

    def soon(self, low_seconds: float, high_seconds: float) -> datetime:
        """A few seconds on, whatever the hour: what a worker does when a request starts waiting."""
        return self._step(self.now + timedelta(seconds=self.rng.uniform(low_seconds, high_seconds)))

    def _add(self, start: datetime, minutes: int) -> datetime:
        try:
            return self.calendar.add_working_minutes(start, minutes)
        except CalendarMissing as missing:
            if missing.year > local(self.anchor).year:
                raise _Later from None
            raise  # the demo enters every year up to now's before playing (_Seeder.enter_missing_years)

    def _step(self, moment: datetime) -> datetime:
        if moment >= self.anchor:
            raise _Later
        self.now = moment
        return moment


# --------------------------------------------------------------------------- the timeline


class _Timeline:
    """The district's one clock: runs the stories step by step in the order of their moments, and before
    each step the periodic jobs due by then (``beat``)."""

    def __init__(self, beat: Callable[[datetime], None]) -> None:
        self._beat = beat
        self._queue: list[tuple[datetime, int, Story]] = []
        self._order = itertools.count()  # steps at the same moment run in the order they were queued

    def add(self, story: Story) -> None:
        self._resume(story, None)

    def run(self, on_step: Callable[[datetime], None] = lambda moment: None) -> None:
        while self._queue:
            moment, _order, story = heapq.heappop(self._queue)
            self._beat(moment)
            on_step(moment)
            self._resume(story, moment)

    def _resume(self, story: Story, moment: datetime | None) -> None:
        try:
            following = next(story) if moment is None else story.send(moment)
        except (StopIteration, _Later):  # the story is told, or its next step lies in the future
            return
        assert moment is None or following >= moment, "a story's steps go forward"
        heapq.heappush(self._queue, (following, next(self._order), story))


def _beat_after(moment: datetime, minutes: int) -> datetime:
    """The first tick, at or after ``moment``, of a beat job that runs every ``minutes`` minutes."""
    step = minutes * 60
    return datetime.fromtimestamp(math.ceil(moment.timestamp() / step) * step, UTC)


# --------------------------------------------------------------------------- the plan


@dataclass
class _Meeting:
    """A 政企早茶会 or 恳谈会: its name and day, and the liaison who hosts it and records its requests; its
    row once the host has scheduled it (a week before: :meth:`_Seeder.meeting_story`)."""

    name: str
    day: date
    host: User
    channel: Channel = Channel.TEA_MEETING
    categories: tuple[str, ...] = ()
    starts_at: datetime | None = None
    row: Meeting | None = None


@dataclass
class _Plan:
    """What happens to one request: who files it, when, and how far its story goes."""

    rng: random.Random
    created_at: datetime
    enterprise: Enterprise
    contact: User
    category: str
    template: int
    channel: Channel
    urgency: Urgency
    fate: str
    pace: float = 1.0
    meeting: _Meeting | None = None


# fate → weight, for requests older than the few placed by hand just before "now".  Most are answered well
# within their clock; "slow" ones near its end (a warning), "late" ones after it (overdue, escalated when a
# working day late); "extended" ones get more time from a manager, "extension_refused" ones ask in vain and
# answer late.  A "still_dissatisfied" request is answered again after its complaint and never rated again.
FATES = {
    "closed": 61,
    "slow": 6,
    "late": 4,
    "extended": 4,
    "extension_refused": 2,
    "reopened": 5,
    "still_dissatisfied": 3,
    "unrated": 7,
    "return_accepted": 4,
    "return_refused": 2,
    "withdrawn": 3,
    "in_progress": 2,
}
LATE_FATES = {"late", "extension_refused"}
RETURN_FATES = {"returned", "return_accepted", "return_refused"}
# Recent requests that make every state of the lifecycle visible, whatever day it is:
# (fate, how many, filed this many working hours before "now" (low, high), pace).  The low bound is more
# than the longest their story can take at that pace, so each gets to its state before "now".  The
# "resolved" ones were answered a few working days ago and are still unrated: the follow-up calls' queue.
RECENT = [
    ("assigned", 3, 0.3, 5.0, 0.1),
    ("returned", 2, 3.0, 14.0, 0.2),
    ("in_progress", 3, 6.0, 30.0, 0.1),
    ("resolved", 5, 24.0, 32.0, 0.1),
    ("withdrawn", 1, 7.0, 35.0, 0.2),
]
# Requests filed online minutes before "now" (how many, low, high minutes): the routing worker has not
# taken them yet, and their routing messages wait in the outbox for it.
JUST_FILED = (2, 1.0, 20.0)
# How many requests are raised at a meeting (low, high), and one meeting for every so many requests.
MEETING_SIZE = (3, 5)
REQUESTS_PER_MEETING = 45
# Requests filed while every liaison of a street is away (they wait in the dispatch pool for a manager).
POOLED = 2


class _Seeder:
    # The working-day calendar the stories are told in, set by enter_missing_years() once the manager exists.
    calendar: WorkCalendar

    def __init__(self, anchor: datetime, progress: Callable[[str], None]) -> None:
        self.anchor = anchor
        self.progress = progress
        self.rng = random.Random(SEED)
        self.password_hash = hash_password(PASSWORD)
        self.users: dict[str, User] = {}
        self.buildings: dict[str, Building] = {}
        self.primary: dict[int, User] = {}
        self.deputies: dict[int, list[User]] = {}
        self.street_liaisons: dict[int, list[User]] = {}
        self.covered: dict[int, set[int]] = {}  # liaison id → the buildings it covers
        self.enterprises: list[tuple[Enterprise, User]] = []
        self.started_at = anchor - timedelta(days=400)
        self.filed = 0
        self.meetings: list[_Meeting] = []
        self.played_until = self.started_at  # the moment of the timeline's last step
        self._month = ""

    @property
    def manager(self) -> User:
        return self.users["manager"]

    @property
    def liaisons(self) -> list[User]:
        return [u for u in self.users.values() if u.role == Role.LIAISON]

    # ------------------------------------------------------------------ reference data

    def _user(
        self,
        username: str,
        name: str,
        role: Role,
        *,
        email: str = "",
        enterprise_id: int | None = None,
        department_id: int | None = None,
    ) -> User:
        # Every demo account shares one password hash: argon2 is slow on purpose, and 50 hashes would show.
        user = User(
            username=username,
            password_hash=self.password_hash,
            name=name,
            role=role,
            email=email or f"{username}@example.gov.cn",
            phone=self._mobile(),
            enterprise_id=enterprise_id,
            department_id=department_id,
            created_at=self.started_at,
        )
        db.session.add(user)
        self.users[username] = user
        return user

    def _mobile(self) -> str:
        return f"1{self.rng.choice('3589')}{self.rng.randrange(10**9):09d}"

    def _person(self) -> str:
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_NAMES)

    def district(self) -> None:
        for order, (code, name, name_en) in enumerate(CATEGORIES, start=1):
            db.session.add(Category(code=code, name=name, name_en=name_en, sort_order=order))
        self._user("admin", "系统管理员", Role.ADMIN)
        self._user("manager", "郑海燕", Role.MANAGER)
        for code, name, name_en, username, person in DEPARTMENTS:
            department = Department(code=code, name=name, name_en=name_en)
            db.session.add(department)
            db.session.flush()
            self._user(username, person, Role.DEPARTMENT, department_id=department.id)
        for code, name, buildings in STREETS:
            street = Street(code=code, name=name)
            db.session.add(street)
            for building_name, address in buildings:
                building = Building(street=street, name=building_name, address=f"{name}{address}")
                db.session.add(building)
                self.buildings[building_name] = building
        db.session.flush()
        for username, name, primaries, deputies in LIAISONS:
            liaison = self._user(username, name, Role.LIAISON)
            db.session.flush()
            for role, names in ((CoverageRole.PRIMARY, primaries), (CoverageRole.DEPUTY, deputies)):
                for building_name in names:
                    building = self.buildings[building_name]
                    db.session.add(
                        Coverage(
                            liaison_id=liaison.id,
                            building_id=building.id,
                            role=role,
                            created_at=self.started_at,
                        )
                    )
                    self.covered.setdefault(liaison.id, set()).add(building.id)
                    if role == CoverageRole.PRIMARY:
                        self.primary[building.id] = liaison
                    else:
                        self.deputies.setdefault(building.id, []).append(liaison)
                    street_list = self.street_liaisons.setdefault(building.street_id, [])
                    if liaison not in street_list:
                        street_list.append(liaison)
        db.session.flush()

    def enter_missing_years(self) -> None:
        """Enter each year of the demo's history the calendar lacks, as its manager would; then load it.

        A year is missing only when the installed ``chinese-calendar`` does not know it yet (the demo built
        in a new year before the package is upgraded).  The manager then enters it on the calendar page,
        which is :func:`hotline.sla.services.enter_year`: Monday to Friday, to correct once the year's
        holidays are published.  The demo does the same, rather than guess the days itself.
        """
        present = known_years()
        for year in range(local(self.started_at).year, local(self.anchor).year + 1):
            if year not in present:
                enter_year(year, self.manager, self.anchor)
        self.calendar = current_calendar()

    def companies(self) -> None:
        building_list = list(self.buildings.values())
        codes: set[str] = set()
        for index, (name, industry) in enumerate(ENTERPRISES):
            while True:
                org = "MA" + "".join(self.rng.choice(uscc.ALPHABET) for _ in range(7))
                code = uscc.make("91" + self.rng.choice(REGIONS) + org)
                if code not in codes:
                    codes.add(code)
                    break
            # Round-robin first so that every building has enterprises, then a random spread.
            building = building_list[index] if index < len(building_list) else self.rng.choice(building_list)
            liaison = self.primary[building.id]
            if index in UNVERIFIED:
                created_at = self.anchor - timedelta(days=self.rng.uniform(2, 10))
                verified_at, verified_by = None, None
            else:
                created_at = self.started_at + timedelta(days=self.rng.uniform(0, 20))
                verified_at, verified_by = created_at + timedelta(days=self.rng.uniform(1, 10)), liaison.id
            enterprise = Enterprise(
                uscc=code,
                name=name,
                building=building,
                room=f"{self.rng.randint(2, 28)}{self.rng.choice(['01', '02', '05', '08', '10', '12'])}室",
                industry=industry,
                description=f"{industry}企业，入驻{building.name}。",
                created_at=created_at,
                verified_at=verified_at,
                verified_by_id=verified_by,
            )
            db.session.add(enterprise)
            db.session.flush()
            contact = self._user(
                f"ent{index + 1}",
                self._person(),
                Role.ENTERPRISE,
                enterprise_id=enterprise.id,
                email=f"ent{index + 1}@example.com",
            )
            contact.created_at = created_at
            if verified_at is not None:
                self.enterprises.append((enterprise, contact))
        db.session.flush()

    # ------------------------------------------------------------------ the plans

    def plans(self) -> list[_Plan]:
        """The ``TICKET_COUNT`` requests to play, oldest first.

        Each request draws from its own random stream, so that its story (who, what, how it ends) stays the
        same from one day to the next even though how much of it has happened by "now" does not.
        """
        weights = [self.rng.uniform(0.3, 3.0) for _ in self.enterprises]  # some enterprises call far more
        plans: list[_Plan] = []
        streams = (random.Random(f"{SEED}:{i}") for i in itertools.count())

        def plan(
            rng: random.Random,
            created_at: datetime,
            fate: str,
            pace: float = 1.0,
            *,
            among: list[tuple[Enterprise, User]] | None = None,
            channel: Channel | None = None,
            categories: tuple[str, ...] = (),
        ) -> _Plan:
            if among is None:
                enterprise, contact = rng.choices(self.enterprises, weights)[0]
            else:
                enterprise, contact = among.pop(rng.randrange(len(among)))
            wanted = {code: w for code, w in CATEGORY_WEIGHTS.items() if not categories or code in categories}
            category = rng.choices(list(wanted), list(wanted.values()))[0]
            if channel is None:
                channel = rng.choices(list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values()))[0]
                if channel in (Channel.PHONE, Channel.VISIT):
                    created_at = self._in_working_time(created_at, rng)  # a liaison records it at work
            urgent = rng.random() < (0.25 if category == "utilities" else 0.06)
            return _Plan(
                rng=rng,
                created_at=created_at,
                enterprise=enterprise,
                contact=contact,
                category=category,
                template=rng.randrange(len(TEMPLATES[category])),
                channel=channel,
                urgency=Urgency.URGENT if urgent else Urgency.NORMAL,
                fate=fate,
                pace=pace,
            )

        count, low, high = JUST_FILED
        for _ in range(count):
            rng = next(streams)
            created_at = self.anchor - timedelta(minutes=rng.uniform(low, high))
            plans.append(plan(rng, created_at, "submitted", channel=rng.choice([Channel.WEB, Channel.API])))
        for fate, count, low, high, pace in RECENT:
            for _ in range(count):
                rng = next(streams)
                created_at = self.calendar.subtract_working_minutes(
                    self.anchor, round(rng.uniform(low, high) * 60)
                )
                plans.append(plan(rng, created_at, fate, pace))
        meetings = max(1, round(TICKET_COUNT / REQUESTS_PER_MEETING))
        for channel, name, host_name, days, categories in MEETINGS[:meetings]:
            at_meeting = next(streams)  # who comes and when; each request raised there has its own stream
            meeting = self._meeting(name, days, self.users[host_name])
            # A tea meeting over breakfast before the office opens, a round table in the afternoon; the host
            # records each request raised there in the working time that follows.
            moment = datetime.combine(
                meeting.day, time(8, 30) if channel == Channel.TEA_MEETING else time(14, 30), LOCAL_TZ
            )
            meeting.channel, meeting.starts_at, meeting.categories = channel, moment, categories
            self.meetings.append(meeting)
            covered = self.covered[meeting.host.id]
            hosted = [pair for pair in self.enterprises if pair[0].building_id in covered]
            # one enterprise that came is left to raise the question answered at the table (meeting_story)
            for _ in range(min(at_meeting.randint(*MEETING_SIZE), len(hosted) - 1)):
                moment = self.calendar.add_working_minutes(moment, at_meeting.randint(5, 25))
                rng = next(streams)
                fate = self._fate(rng, self.anchor - moment)
                raised = plan(rng, moment, fate, among=hosted, channel=channel, categories=categories)
                raised.meeting = meeting
                plans.append(raised)
        for moment, enterprises in self._while_away(self.rng):
            rng = next(streams)
            plans.append(plan(rng, moment, "closed", among=enterprises, channel=Channel.WEB))
        # each meeting also has one request answered at the table (its own story: meeting_story)
        for i in range(TICKET_COUNT - len(plans) - len(self.meetings)):
            rng = next(streams)
            # The oldest request is almost a year old; the volume grows towards today.
            age = 362.0 if i == 0 else 362.0 * rng.random() ** 1.25
            created_at = self._filed_at(self.anchor - timedelta(days=age), rng)
            plans.append(plan(rng, created_at, self._fate(rng, timedelta(days=age))))
        plans.sort(key=lambda p: p.created_at)
        return plans

    def _fate(self, rng: random.Random, age: timedelta) -> str:
        fate = rng.choices(list(FATES), list(FATES.values()))[0]
        if fate == "in_progress" and age > timedelta(days=30):
            fate = "closed"  # a request stuck for months would have been settled by its supervisors
        return fate

    def _meeting(self, name: str, days: int, host: User) -> _Meeting:
        """The meeting on the working day ``days`` days before now (or the last one before it)."""
        day = local_date(self.anchor) - timedelta(days=days)
        while not self.calendar.is_workday(day):
            day -= timedelta(days=1)
        return _Meeting(name, day, host)

    def _while_away(self, rng: random.Random) -> list[tuple[datetime, list[tuple[Enterprise, User]]]]:
        """Moments in working time when liaisons are away (LEAVES), each with the enterprises a request then
        comes from: one from each building of an away primary liaison (its deputy or a colleague of the street
        takes it), and ``POOLED`` while every liaison of a street is away (it waits in the pool)."""
        today = local_date(self.anchor)
        away = {
            username: (today - timedelta(days=first), today - timedelta(days=last))
            for username, first, last, _why, _stand_in in LEAVES
        }

        def moment_between(first: date, last: date) -> datetime | None:
            days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
            workdays = [d for d in days if self.calendar.is_workday(d)]
            if not workdays:
                return None
            opening = datetime.combine(rng.choice(workdays), time(9, 0), LOCAL_TZ)
            return self.calendar.add_working_minutes(opening, rng.randint(10, 400))

        found: list[tuple[datetime, list[tuple[Enterprise, User]]]] = []
        for username, (first, last) in away.items():
            held = sorted(b for b, liaison in self.primary.items() if liaison.username == username)
            for building_id in held:
                there = [pair for pair in self.enterprises if pair[0].building_id == building_id]
                moment = moment_between(first, last)
                if there and moment is not None:
                    found.append((moment, there))
        for street_id, liaisons in self.street_liaisons.items():
            spans = [away[u.username] for u in liaisons if u.username in away]
            if len(spans) < len(liaisons):
                continue
            street = [pair for pair in self.enterprises if pair[0].building.street_id == street_id]
            for _ in range(POOLED):
                moment = moment_between(max(s[0] for s in spans), min(s[1] for s in spans))
                if moment is not None:
                    found.append((moment, list(street)))
        return found

    def _filed_at(self, moment: datetime, rng: random.Random) -> datetime:
        """When an enterprise files on the day of ``moment``: mostly in office hours, spread over them
        (9:00-12:00, 13:30-17:30), some in the evening or the night, and — on a rest day, a quarter of the
        time — at the weekend (otherwise on the working day before).  Never after "now"."""
        day = local(moment).date()
        if not self.calendar.is_workday(day) and rng.random() >= 0.25:
            day = local(
                self.calendar.subtract_working_minutes(datetime.combine(day, time(0, 0), LOCAL_TZ), 1)
            ).date()
        roll = rng.random()
        if roll < 0.82:
            minute = rng.uniform(0, 180 + 240)  # the two working periods, end to end
            start = time(9, 0) if minute < 180 else time(13, 30)
            minute = minute if minute < 180 else minute - 180
        elif roll < 0.95:
            start, minute = time(18, 0), rng.uniform(0, 5 * 60)  # the evening
        else:
            start, minute = time(0, 0), rng.uniform(0, 8 * 60)  # the night
        filed = datetime.combine(day, start, LOCAL_TZ) + timedelta(minutes=minute)
        latest = self.anchor - timedelta(minutes=rng.uniform(5, 90))
        return min(filed, latest)

    def _in_working_time(self, moment: datetime, rng: random.Random) -> datetime:
        """The moment itself if it falls in working time, else a few working minutes before the last close."""
        latest = self.calendar.subtract_working_minutes(moment, 0)
        if latest == moment:
            return moment
        return self.calendar.subtract_working_minutes(latest, rng.randint(5, 60))

    # ------------------------------------------------------------------ the year, on one timeline

    def play(self, plans: list[_Plan]) -> None:
        """Every story on one timeline, with the periodic jobs in between; then those due up to now.

        The stories are the requests' and the manager's leave entries (a request's follow-up calls are
        steps of its own story).  Whoever else acts on a rhythm of their own is one more story added here,
        its steps interleaved with the rest by the timeline.
        """
        timeline = _Timeline(self.beat)
        for leave in LEAVES:
            timeline.add(self.leave(*leave))
        for meeting in self.meetings:
            timeline.add(self.meeting_story(meeting))
        for building in self.buildings.values():
            timeline.add(self.visits_story(building))
        for plan in plans:
            timeline.add(self.story(plan))
        timeline.run(self._stepping)
        self.beat(self.anchor)
        self.progress(f"  {self._month}: {self.filed} requests filed")

    def _stepping(self, moment: datetime) -> None:
        """The timeline is at ``moment``: the step about to run happens then (and the month is reported)."""
        self.played_until = moment
        month = f"{local(moment):%Y-%m}"
        if month != self._month:
            if self._month:
                self.progress(f"  {self._month}: {self.filed} requests filed so far")
            self._month = month

    def beat(self, until: datetime) -> None:
        """Run what beat runs, at the moments it would, up to ``until``: the clock sweep at the minute after
        an alert falls due, and the close of lapsed rating windows every five minutes.

        Never before the timeline's last step: an alert that fell due while its request was returned (the
        sweep leaves those alone) is raised at the first sweep after the return is refused, as live.
        """
        while True:
            sweep_at, close_at = self._next_alert(), self._next_window_end()
            if sweep_at is not None and sweep_at <= until and (close_at is None or sweep_at <= close_at):
                with _rollup_kept_suspended():
                    result = sweeps.sweep_clocks(sweep_at)
                assert result.examined, "the sweep takes the clocks the seeder found due"
            elif close_at is not None and close_at <= until:
                services.close_unrated(close_at)
            else:
                return

    def _next_alert(self) -> datetime | None:
        # The clocks the sweep reads (sweeps.sweep_clocks): a returned request's clock waits for the review.
        due = db.session.scalar(
            select(func.min(ClockSchedule.next_alert_at))
            .join(Ticket, Ticket.id == ClockSchedule.ticket_id)
            .where(Ticket.state != TicketState.RETURNED)
        )
        return None if due is None else _beat_after(max(due, self.played_until), 1)

    def _next_window_end(self) -> datetime | None:
        """When the rating-window sweep next closes a request: never while the follow-up calls are on (it
        leaves unrated requests to them, as live: hotline.tickets.tasks)."""
        if followup_queue.after_working_days() > 0:
            return None
        due = db.session.scalar(
            select(func.min(Ticket.rating_due_at)).where(Ticket.state == TicketState.RESOLVED)
        )
        return None if due is None else _beat_after(max(due, self.played_until), 5)

    def leave(self, username: str, first_before: int, last_before: int, why: str, stand_in: str) -> Story:
        """A manager enters a liaison's leave a few working days ahead, hands its open work over to
        ``stand_in`` before the office opens on the leave's first working day, and clears the dates once
        the liaison is back."""
        rng = random.Random(f"{SEED}:leave:{username}")
        liaison = self.users[username]
        today = local_date(self.anchor)
        first, last = today - timedelta(days=first_before), today - timedelta(days=last_before)
        leaves_at = datetime.combine(first, time(0, 0), LOCAL_TZ)
        moment = yield self.calendar.subtract_working_minutes(leaves_at, rng.randint(2 * 420, 5 * 420))
        accounts.set_leave(username, self.manager, first, last, moment)
        opening = self.calendar.add_working_minutes(leaves_at, 0)
        moment = yield opening - timedelta(minutes=rng.uniform(5, 25))
        reason = HANDOVER_REASON.format(
            name=liaison.name,
            why=why,
            first=f"{first.month}月{first.day}日",
            last=f"{last.month}月{last.day}日",
        )
        services.hand_over_workload(username, self.manager, stand_in, reason, moment)
        back = datetime.combine(last + timedelta(days=1), time(0, 0), LOCAL_TZ)
        moment = yield self.calendar.add_working_minutes(back, rng.randint(10, 120))
        accounts.set_leave(username, self.manager, None, None, moment)

    # ------------------------------------------------------------------ the field work

    def meeting_story(self, meeting: _Meeting) -> Story:
        """The host schedules the meeting a week ahead, inviting every enterprise of its buildings; some
        contacts confirm; on the day the requests raised are filed (their own stories); after the meeting
        the host records who came and a summary."""
        rng = random.Random(f"{SEED}:meeting:{meeting.name}:{meeting.day}")
        assert meeting.starts_at is not None
        covered = sorted(self.covered[meeting.host.id])
        moment = yield self._in_working_time(meeting.starts_at - timedelta(days=7), rng)
        kind = MeetingKind.TEA_MEETING if meeting.channel == Channel.TEA_MEETING else MeetingKind.ROUNDTABLE
        meeting.row = field_work.schedule_meeting(
            meeting.host,
            moment,
            {
                "kind": kind.value,
                "title": meeting.name,
                "starts_at": meeting.starts_at,
                "ends_at": meeting.starts_at + timedelta(minutes=90),
                "place": MEETING_PLACES[meeting.channel],
                "buildings": covered,
                "invite_buildings": covered,
                "description": MEETING_DESCRIPTIONS[meeting.channel],
            },
        )
        contacts = [(e, c) for e, c in self.enterprises if e.building_id in covered]
        coming = rng.sample(contacts, k=min(len(contacts), rng.randint(3, 6)))
        for _enterprise, contact in coming:
            answered_at = self.calendar.add_working_minutes(moment, rng.randint(20, 300))
            if answered_at >= meeting.starts_at:
                break
            moment = yield answered_at
            field_work.respond(meeting.row.id, contact, InvitationResponse.CONFIRMED.value, moment)
        # Once the others are raised, one more question is answered at the table by the host (filed and
        # resolved at once); its enterprise, one that came and raised nothing else, rates it that afternoon.
        assert coming, "a meeting's host covers enterprises"
        moment = yield max(
            self.calendar.add_working_minutes(meeting.starts_at, 130), moment + timedelta(minutes=1)
        )
        raised_by = {t.enterprise_id for t, _answered in field_work.meeting_requests(meeting.row)}
        quiet = [pair for pair in coming if pair[0].id not in raised_by] or [
            pair for pair in contacts if pair[0].id not in raised_by
        ]
        if quiet:
            enterprise, contact = quiet[0]
            category = rng.choice(meeting.categories or ("policy",))
            title, description, answer = TEMPLATES[category][rng.randrange(len(TEMPLATES[category]))]
            day = meeting.day
            raised_at = f"（{day.month}月{day.day}日{meeting.name}上提出，当场答复）"
            [answered] = field_work.file_meeting_requests(
                meeting.row.id,
                meeting.host,
                moment,
                [
                    {
                        "enterprise_uscc": enterprise.uscc,
                        "category": category,
                        "title": title,
                        "description": description + raised_at,
                        "contact_phone": contact.phone,
                        "answer": f"现场答复：{answer}",
                    }
                ],
            )
            self.filed += 1
            moment = yield self.calendar.add_working_minutes(moment, rng.randint(60, 300))
            services.rate(
                answered.id, contact, RatingScore.SATISFIED.value, rng.choice(SATISFIED_COMMENTS), moment
            )
        minutes_at = self.calendar.add_working_minutes(meeting.starts_at + timedelta(minutes=90), 120)
        moment = yield max(minutes_at, moment + timedelta(minutes=10))
        raised = {t.enterprise.uscc for t, _answered in field_work.meeting_requests(meeting.row)}
        attended = sorted(raised | {e.uscc for e, _c in coming})
        field_work.record_minutes(
            meeting.row.id,
            meeting.host,
            moment,
            {"attended": attended, "minutes": MEETING_MINUTES.format(n=len(attended), raised=len(raised))},
        )

    def upcoming_meeting(self) -> Meeting:
        """Next week's tea meeting, scheduled today by its host for all the enterprises of its buildings; a
        contact has confirmed and sent a question in advance.  Its agenda follows up the host's last one."""
        title, host_name, days = UPCOMING_MEETING
        host = self.users[host_name]
        day = local_date(self.anchor) + timedelta(days=days)
        try:
            while not self.calendar.is_workday(day):
                day += timedelta(days=1)
        except CalendarMissing:  # next year is not entered yet (the managers are warned): a weekday then
            while day.weekday() >= 5:
                day += timedelta(days=1)
        covered = sorted(self.covered[host.id])
        meeting = field_work.schedule_meeting(
            host,
            self.anchor,
            {
                "kind": MeetingKind.TEA_MEETING.value,
                "title": title,
                "starts_at": datetime.combine(day, time(8, 30), LOCAL_TZ),
                "place": MEETING_PLACES[Channel.TEA_MEETING],
                "buildings": covered,
                "invite_buildings": covered,
                "description": MEETING_DESCRIPTIONS[Channel.TEA_MEETING],
            },
        )
        contact = next(c for e, c in self.enterprises if e.building_id in covered)
        field_work.respond(meeting.id, contact, InvitationResponse.CONFIRMED.value, self.anchor)
        field_work.ask_question(
            meeting.id,
            contact,
            self.anchor,
            {
                "category": "talent",
                "title": "人才公寓申请条件咨询",
                "description": "公司新引进两名硕士研究生，想了解区人才公寓的申请条件和办理流程。",
                "contact_phone": contact.phone,
            },
        )
        return meeting

    def visits_story(self, building: Building) -> Story:
        """The liaisons of a building visit its enterprises through the year, each about once a quarter in
        the busier buildings, less in the others (visits that raise a request are the requests' own)."""
        rng = random.Random(f"{SEED}:visits:{building.id}")
        liaison = self.primary[building.id]
        enterprises = [(e, c) for e, c in self.enterprises if e.building_id == building.id]
        every = rng.choice((80, 100, 150))  # days between two visits to one enterprise, about
        moments: list[tuple[datetime, Enterprise, User]] = []
        for enterprise, contact in enterprises:
            day = self.anchor - timedelta(days=rng.uniform(1, every))
            while day > self.started_at + timedelta(days=30):
                moments.append((day, enterprise, contact))
                day -= timedelta(days=rng.uniform(every * 0.7, every * 1.3))
        moment = self.started_at
        for day, enterprise, contact in sorted(moments, key=lambda m: m[0]):
            moment = yield max(self._in_working_time(day, rng), moment + timedelta(minutes=30))
            visitor = liaison if not liaison.away_on(local_date(moment)) else None
            if visitor is None:
                continue
            field_work.log_visit(
                visitor,
                moment,
                {
                    "enterprise_uscc": enterprise.uscc,
                    "visited_on": local_date(moment),
                    "met": f"{contact.name}（联系人）",
                    "notes": rng.choice(VISIT_NOTES),
                },
            )

    # ------------------------------------------------------------------ one request's story

    def story(self, plan: _Plan) -> Story:
        """One request from its filing to where it stands now; each ``yield`` waits for the step's moment."""
        rng = plan.rng
        fate = plan.fate
        moment = yield plan.created_at
        ticket = self._submit(plan, moment)
        self.filed += 1
        clock = _Clock(moment, self.anchor, rng, plan.pace, self.calendar)
        if fate == "submitted":
            return  # filed moments ago: its routing message waits for the worker
        yield from self._routed(ticket, clock)
        if fate == "assigned":
            return
        if fate == "withdrawn" and rng.random() < 0.4:
            moment = yield clock.after(0.5, 14)
            services.withdraw(ticket.id, plan.contact, rng.choice(WITHDRAW_REASONS), moment)
            return
        if fate in RETURN_FATES:
            if rng.random() < 0.5:
                moment = yield clock.after(0.05, 1.5)
                services.acknowledge(ticket.id, self._assignee(ticket), moment)
            moment = yield clock.after(0.2, 3)  # on reading it, mostly
            services.return_ticket(ticket.id, self._assignee(ticket), rng.choice(RETURN_REASONS), moment)
            if fate == "returned":
                return
            accept = fate == "return_accepted"
            moment = yield clock.after(0.5, 6)
            if ticket.state == TicketState.RETURNED:  # a hand-over may have settled the return meanwhile
                note = rng.choice(ACCEPT_NOTES if accept else REFUSAL_NOTES)
                services.review_return(ticket.id, self.manager, accept, note, moment)
                if accept:
                    yield from self._routed(ticket, clock)
        if ticket.state == TicketState.ASSIGNED:
            moment = yield clock.after(*self._signing_delay(plan))
            services.acknowledge(ticket.id, self._assignee(ticket), moment)
        if fate == "withdrawn":
            moment = yield clock.after(2, 30)
            services.withdraw(ticket.id, plan.contact, rng.choice(WITHDRAW_REASONS), moment)
            return
        resolved = yield from self._work(ticket, plan, clock)
        if not resolved:
            return  # in progress
        if fate == "resolved":  # in today's follow-up queue, perhaps called once or twice already
            calls = rng.choice((0, 1, 1, 2))
            yield from self._follow_up(ticket, plan, clock, RatingScore.SATISFIED, reach=False, calls=calls)
            return
        if fate == "unrated":
            # never rated online, and nobody answers the follow-up calls: the last closes it unrated (or
            # the request waits in today's queue for the calls still ahead)
            yield from self._follow_up(ticket, plan, clock, RatingScore.SATISFIED, reach=False)
            return
        if fate in ("reopened", "still_dissatisfied"):
            if not (yield from self._rate(ticket, plan, clock, RatingScore.DISSATISFIED)):
                return
            moment = yield clock.after(0.3, 6)
            services.reply(ticket.id, self._assignee(ticket), "收到您的反馈，我们将再次协调处理。", moment)
            assert ticket.resolve_started_at is not None  # the reopening started a new resolve clock
            moment = yield clock.at(ticket.resolve_started_at, rng.uniform(0.2, 0.7) * self._span(ticket))
            services.resolve(ticket.id, self._assignee(ticket), rng.choice(SECOND_ANSWERS), moment)
            if fate == "still_dissatisfied":
                # never rated again, nobody answers the calls: its latest rating stays dissatisfied
                yield from self._follow_up(ticket, plan, clock, RatingScore.SATISFIED, reach=False)
                return
        share = 0.45 if fate in LATE_FATES else 0.76
        score = RatingScore.SATISFIED if rng.random() < share else RatingScore.BASICALLY_SATISFIED
        yield from self._rate(ticket, plan, clock, score)

    def _submit(self, plan: _Plan, moment: datetime) -> Ticket:
        building_id = plan.enterprise.building_id
        title, description, _answer = TEMPLATES[plan.category][plan.template]
        if plan.category in LOCATED_CATEGORIES:
            description = f"我司位于{plan.enterprise.building.name}{plan.enterprise.room}。{description}"
        if plan.meeting is not None:
            day = plan.meeting.day
            description = f"{description}（{day.month}月{day.day}日{plan.meeting.name}上提出）"
        fields = {
            "category": plan.category,
            "title": title,
            "description": description,
            "urgency": plan.urgency.value,
            "contact_phone": plan.contact.phone,
            "now": moment,
        }
        recorder = plan.meeting.host if plan.meeting is not None else None
        if plan.channel in (Channel.PHONE, Channel.VISIT):
            # one of the building's liaisons at work that day takes the call or makes the visit; with all of
            # them away, the enterprise files the request online instead
            day = local_date(moment)
            present = [
                u
                for u in (self.primary[building_id], *self.deputies.get(building_id, []))
                if not u.away_on(day)
            ]
            recorder = plan.rng.choice(present) if present else None
        if recorder is None:
            online = plan.channel if plan.channel == Channel.API else Channel.WEB
            return services.submit_ticket(plan.contact, channel=online.value, **fields)  # type: ignore[arg-type]
        item = {k: v for k, v in fields.items() if k != "now"}
        if plan.meeting is not None and plan.meeting.row is not None:
            [ticket] = field_work.file_meeting_requests(
                plan.meeting.row.id, recorder, moment, [{**item, "enterprise_uscc": plan.enterprise.uscc}]
            )
            return ticket
        if plan.channel == Channel.VISIT:
            _visit, [ticket] = field_work.log_visit(
                recorder,
                moment,
                {
                    "enterprise_uscc": plan.enterprise.uscc,
                    "visited_on": local_date(moment),
                    "met": f"{plan.contact.name}（联系人）",
                    "notes": plan.rng.choice(VISIT_NOTES),
                    "items": [item],
                },
            )
            return ticket
        return services.submit_ticket(
            recorder,
            enterprise_uscc=plan.enterprise.uscc,
            channel=plan.channel.value,
            **fields,  # type: ignore[arg-type]
        )

    def _routed(self, ticket: Ticket, clock: _Clock) -> Generator[datetime, datetime, None]:
        """The routing worker takes the waiting request seconds later; from the pool a manager dispatches
        it by hand to a liaison at work that day."""
        moment = yield clock.soon(3, 40)
        decision = routing.route_ticket(ticket.id, moment)
        if decision.rule != "pool":
            return
        moment = yield clock.after(0.1, 2.5)
        liaison = self._stand_in(ticket, local_date(moment))
        note = clock.rng.choice(POOL_DISPATCH_NOTES)
        services.assign(ticket.id, self.manager, liaison.username, moment, note)

    def _stand_in(self, ticket: Ticket, day: date) -> User:
        """The liaison at work on ``day`` holding the fewest open requests (not the one who returned it)."""
        held = (
            select(Ticket.assignee_id, func.count())
            .where(Ticket.state.in_(HELD_STATES))
            .group_by(Ticket.assignee_id)
        )
        loads = {assignee_id: count for assignee_id, count in db.session.execute(held)}
        present = [u for u in self.liaisons if not u.away_on(day) and u.id != ticket.last_returned_by_id]
        return min(present, key=lambda u: (loads.get(u.id, 0), u.id))

    def _assignee(self, ticket: Ticket) -> User:
        # By id: routing, a manager or a hand-over may have changed it since the story last looked.
        assert ticket.assignee_id is not None
        user = db.session.get(User, ticket.assignee_id)
        assert user is not None
        return user

    def _signing_delay(self, plan: _Plan) -> tuple[float, float]:
        """Working hours from assignment to 签收 (the limit is 2 hours, urgent 30 minutes): mostly well
        within it, some near its end (a warning), a few after it (overdue)."""
        urgent = plan.urgency == Urgency.URGENT
        roll = plan.rng.random()
        if roll < 0.035:
            return (0.6, 2.0) if urgent else (2.2, 6.0)
        if roll < 0.11:
            return (0.42, 0.49) if urgent else (1.65, 1.95)
        return (0.05, 0.35) if urgent else (0.05, 1.4)

    def _span(self, ticket: Ticket) -> float:
        """The working minutes of the request's running resolve clock (its limit when it has no deadline)."""
        if ticket.resolve_started_at is not None and ticket.resolve_due_at is not None:
            return self.calendar.working_minutes_between(ticket.resolve_started_at, ticket.resolve_due_at)
        return clocks.resolve_limit_days(ticket) * self.calendar.minutes_per_day

    def _work(self, ticket: Ticket, plan: _Plan, clock: _Clock) -> Generator[datetime, datetime, bool]:
        """From 签收 to the answer: replies, notes, a department's part, more time asked of a manager.

        The answer comes at a share of the resolve clock that the request's fate sets (late ones past it).
        Returns whether the request was resolved (one left in progress is not).
        """
        rng = plan.rng
        fate = plan.fate
        start = clock.now
        span = self._span(ticket) * plan.pace
        answer_share: float | None
        if fate in LATE_FATES:
            answer_share = rng.uniform(1.04, 1.5)
        elif fate == "slow":
            answer_share = rng.uniform(0.82, 0.97)
        elif fate == "in_progress":
            answer_share = None
        else:
            answer_share = rng.triangular(0.08, 0.78, 0.3)
        ask_share = rng.uniform(0.81, 0.93) if fate in ("extended", "extension_refused") else None
        horizon = (ask_share or answer_share or rng.uniform(0.6, 1.6)) * span  # the work before it
        steps: list[tuple[float, str]] = []
        if rng.random() < 0.7:
            steps.append((rng.uniform(0.05, 0.5), "reply"))
        if rng.random() < 0.3:
            steps.append((rng.uniform(0.1, 0.9), "note"))
        department = self._department_for(plan.category, rng)
        answers_itself = False  # the department answers the enterprise itself
        if department is not None:
            answers_itself = rng.random() >= 0.6
            steps += [(rng.uniform(0.08, 0.3), "transfer"), (rng.uniform(0.35, 0.6), "department_reply")]
            if not answers_itself:
                steps.append((rng.uniform(0.65, 0.92), "handback"))
        staff = self.users["dept1" if department == "hrss" else "dept2"]
        for share, step in sorted(steps):
            moment = yield clock.at(start, share * horizon)
            if step == "reply":
                services.reply(ticket.id, self._assignee(ticket), rng.choice(PROGRESS_REPLIES), moment)
            elif step == "note":
                services.add_note(ticket.id, self._assignee(ticket), rng.choice(NOTES), moment)
            elif step == "transfer":
                assert department is not None
                note = rng.choice(["", "请协助办理。", "请贵局协助核实并答复企业。"])
                services.transfer(ticket.id, self._assignee(ticket), department, moment, note)
            elif step == "department_reply":
                assert department is not None
                services.reply(ticket.id, staff, DEPARTMENT_REPLIES[department][0], moment)
            else:
                services.handback(ticket.id, staff, rng.choice(HANDBACK_NOTES), moment)
        if answer_share is None:
            return False
        answer_at: datetime | None = None
        if ask_share is not None:
            moment = yield clock.at(start, ask_share * span)
            days = rng.choice([2, 3, 3, 5])
            extension = sla.request_extension(
                ticket.id, self._assignee(ticket), days, rng.choice(EXTENSION_REASONS), moment
            )
            moment = yield clock.after(0.3, 4)
            approve = fate == "extended"
            note = rng.choice(EXTENSION_APPROVALS if approve else EXTENSION_REFUSALS)
            sla.decide_extension(extension.id, self.manager, approve, note, moment)
            if approve and ticket.resolve_due_at is not None:
                # answered within the time granted
                left = self.calendar.working_minutes_between(moment, ticket.resolve_due_at)
                answer_at = clock.at(moment, rng.uniform(0.3, 0.85) * left)
        moment = yield answer_at or clock.at(start, answer_share * span)
        _title, _description, answer = TEMPLATES[plan.category][plan.template]
        with_department = answers_itself and ticket.department_id is not None
        services.resolve(ticket.id, staff if with_department else self._assignee(ticket), answer, moment)
        return True

    def _rate(
        self, ticket: Ticket, plan: _Plan, clock: _Clock, score: RatingScore
    ) -> Generator[datetime, datetime, bool]:
        """The enterprise rates the resolved request online, mostly within its rating window; when it does
        not, the follow-up desk asks it (:meth:`_follow_up`).  Returns whether it was rated (closed, or
        reopened when dissatisfied); a step that lies in the future leaves it awaiting its rating.
        """
        rng = plan.rng
        due = ticket.rating_due_at
        assert due is not None
        try:
            moment = clock.after(1, 30)
        except _Later:
            return False
        if moment < due and rng.random() < 0.85:
            moment = yield moment
            services.rate(ticket.id, plan.contact, score.value, rng.choice(COMMENTS[score]), moment)
            return True
        return (yield from self._follow_up(ticket, plan, clock, score))

    def _follow_up(
        self,
        ticket: Ticket,
        plan: _Plan,
        clock: _Clock,
        score: RatingScore,
        *,
        reach: bool = True,
        calls: int | None = None,
    ) -> Generator[datetime, datetime, bool]:
        """回访 as the managers work the queue: the first call in the working hours a little after the
        enterprise's time to rate online ran out (``FOLLOWUP_AFTER_WORKING_DAYS``), answered about half the
        time (never when not ``reach``), the next ones about a working day apart; the last unanswered call
        closes the request unrated.  Returns whether a call rated it.  A call that lies in the future, or
        past ``calls`` (at most that many are made), leaves the request in today's queue."""
        rng = plan.rng
        resolved_at = ticket.resolved_at
        assert resolved_at is not None
        caller = self.manager
        if followup.handled(ticket, caller):
            caller = self.users["admin"]
        wait = followup_queue.after_working_days() * self.calendar.minutes_per_day
        attempts = followup.max_attempts()
        for attempt in range(1, min(attempts, attempts if calls is None else calls) + 1):
            if attempt == 1:
                moment = clock.at(resolved_at, wait + rng.uniform(30, 600))
            else:  # the next working day, mostly (the desk's pace, not the request's)
                moment = clock.at(clock.now, rng.uniform(180, 720))
            moment = yield moment
            if reach and (rng.random() < 0.5 or (attempt == attempts and rng.random() < 0.4)):
                outcome = "unsolved" if score == RatingScore.DISSATISFIED else "solved"
                comment = rng.choice(COMMENTS[score])
                contact = plan.contact.name
                followup.record_call(ticket.id, caller, "", contact, outcome, score.value, comment, moment)
                return True
            followup.record_unanswered_call(ticket.id, caller, "", rng.choice(UNANSWERED_NOTES), moment)
        return False

    def _department_for(self, category: str, rng: random.Random) -> str | None:
        if category not in TRANSFER_TO or rng.random() >= 0.45:
            return None
        return TRANSFER_TO[category] or rng.choice(["hrss", "samr"])

    # ------------------------------------------------------------------ after the year

    def awaiting_rating(self) -> list[Ticket]:
        """The resolved requests still awaiting their rating, oldest answer first: those still within their
        time to rate online, and the follow-up calls' queue (回访)."""
        return list(
            db.session.scalars(
                select(Ticket).where(Ticket.state == TicketState.RESOLVED).order_by(Ticket.resolved_at)
            )
        )


@contextlib.contextmanager
def _rollup_kept_suspended() -> Iterator[None]:
    """The sweep suspends the rollup's hooks for its batch and lifts the suspension when it is done, which
    would end the demo's own (:func:`hotline.stats.rollup.suspended`, one rebuild at the end of the load):
    it is put back."""
    suspended = db.session.info.get(rollup.SUSPENDED)
    try:
        yield
    finally:
        if suspended:
            db.session.info[rollup.SUSPENDED] = suspended


def seed_demo(if_empty: bool = False, progress: Callable[[str], None] | None = None) -> str:
    """Fill an empty database with the demo district and commit; return a one-line summary.

    The working-day calendar is loaded from ``chinese-calendar`` first, and a year of the demo's history that
    the package does not know is entered by the demo's manager (:meth:`_Seeder.enter_missing_years`).
    ``progress`` is told what is being done, a line at a time (``flask seed-demo`` prints them).  Refused
    (:class:`RuntimeError`) in production, and when the database already has users; with ``if_empty`` a
    database that has users is left alone instead.
    """
    if current_app.config["HOTLINE_ENV"] == "production":
        raise RuntimeError("demo data is refused in production")
    users = db.session.scalar(select(func.count(User.id))) or 0
    if users:
        if if_empty:
            return f"demo data not created: the database already has {users} users"
        raise RuntimeError("the database already has users; demo data goes into an empty database only")

    say = progress or (lambda line: None)
    started = stopwatch.perf_counter()
    now = utcnow()
    sync_calendar_from_package(now)  # the clocks of the demo requests need working days
    seeder = _Seeder(now, say)
    seeder.district()
    seeder.enter_missing_years()
    seeder.companies()
    say(f"district: {len(STREETS)} streets, {len(seeder.buildings)} buildings, {len(ENTERPRISES)} companies")
    plans = seeder.plans()
    say(f"playing a year of {len(plans)} requests, month by month")
    with rollup.suspended(db.session):  # one rebuild of the figures' rollup instead of one per flush
        seeder.play(plans)
    seeder.upcoming_meeting()
    # The routing worker has taken every request but those filed moments ago, and the e-mails of the past
    # are history: only the routing messages still waiting are left for the workers.
    waiting = select(Ticket.id).where(Ticket.state == TicketState.SUBMITTED, Ticket.pooled_at.is_(None))
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.published_at.is_(None),
            ~and_(OutboxMessage.topic == outbox.ROUTE_TICKET, OutboxMessage.ticket_id.in_(waiting)),
        )
        .values(published_at=OutboxMessage.created_at)
    )
    awaiting = seeder.awaiting_rating()
    db.session.commit()
    seconds = stopwatch.perf_counter() - started
    say(f"{len(awaiting)} resolved requests await their rating; done in {seconds:.1f} s")
    return (
        f"demo data created: {len(STREETS)} streets, {len(seeder.buildings)} buildings, "
        f"{len(ENTERPRISES)} enterprises, {len(seeder.users)} users, {seeder.filed} requests "
        f"(password {PASSWORD})"
    )
