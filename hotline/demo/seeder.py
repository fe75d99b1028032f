"""Playing the demo district: the reference data written directly, every request through the services.

Each step of a request's story happens some working time after the one before, counted on the application's
own working-day calendar (:func:`hotline.sla.calendar.current_calendar`), the one its clocks use.  A step that
would fall after "now", or in a year the calendar does not know yet (late December, when next year's
holidays are not published), is not played: the request stays where it is.
"""

from __future__ import annotations

import contextlib
import itertools
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select, update

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
    GIVEN_NAMES,
    HANDBACK_NOTES,
    LIAISONS,
    LOCATED_CATEGORIES,
    NOTES,
    PASSWORD,
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
    WITHDRAW_REASONS,
)
from hotline.enterprises import uscc
from hotline.enterprises.models import Building, Coverage, CoverageRole, Department, Enterprise, Street
from hotline.extensions import db
from hotline.followup import queries as followup_queue
from hotline.followup import services as followup
from hotline.outbox.models import OutboxMessage
from hotline.sla.calendar import current_calendar, known_years
from hotline.sla.services import enter_year, sync_calendar_from_package
from hotline.sla.worktime import CalendarMissing, WorkCalendar
from hotline.stats import rollup
from hotline.tickets import services
from hotline.tickets.models import Category, Channel, RatingScore, Ticket, TicketState, Urgency
from hotline.timeutil import LOCAL_TZ, local

SEED = 20260101
TICKET_COUNT = 300

# --------------------------------------------------------------------------- a request's clock


class _Later(Exception):
    """The next step of a request would happen after "now": the request stays where it is."""


COMMENTS = {
    RatingScore.SATISFIED: SATISFIED_COMMENTS,
    RatingScore.BASICALLY_SATISFIED: BASIC_COMMENTS,
    RatingScore.DISSATISFIED: DISSATISFIED_COMMENTS,
}


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
        try:
            moment = self.calendar.add_working_minutes(self.now, max(1, round(hours * 60)))
        except CalendarMissing as missing:
            if missing.year > local(self.anchor).year:
                raise _Later from None
            raise  # the demo enters every year up to now's before playing (_Seeder.enter_missing_years)
        if moment >= self.anchor:
            raise _Later
        self.now = moment
        return moment


# --------------------------------------------------------------------------- the plan


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


# fate → weight, for requests older than the few placed by hand just before "now"
FATES = {
    "closed": 70,
    "reopened": 8,
    "unrated": 9,
    "return_accepted": 5,
    "return_refused": 2,
    "withdrawn": 3,
    "in_progress": 3,
}
# Recent requests that make every state of the lifecycle visible, whatever day it is:
# (fate, how many, filed this many working hours before "now" (low, high), pace).  The low bound is more
# than the longest their story can take at that pace, so each gets to its state before "now".
RECENT = [
    ("submitted", 3, 0.1, 6.0, 1.0),
    ("assigned", 3, 1.0, 12.0, 0.2),
    ("returned", 2, 4.0, 20.0, 0.2),
    ("in_progress", 3, 10.0, 40.0, 0.1),
    ("resolved", 3, 17.0, 30.0, 0.1),
    ("withdrawn", 1, 7.0, 35.0, 0.2),
]


class _Seeder:
    # The working-day calendar the stories are told in, set by enter_missing_years() once the manager exists.
    calendar: WorkCalendar

    def __init__(self, anchor: datetime) -> None:
        self.anchor = anchor
        self.rng = random.Random(SEED)
        self.password_hash = hash_password(PASSWORD)
        self.users: dict[str, User] = {}
        self.buildings: dict[str, Building] = {}
        self.primary: dict[int, User] = {}
        self.deputies: dict[int, list[User]] = {}
        self.street_liaisons: dict[int, list[User]] = {}
        self.enterprises: list[tuple[Enterprise, User]] = []
        self.started_at = anchor - timedelta(days=400)

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
                enter_year(year, self.users["manager"], self.anchor)
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

    # ------------------------------------------------------------------ the requests

    def plans(self) -> list[_Plan]:
        """The ``TICKET_COUNT`` requests to play, oldest first.

        Each request draws from its own random stream, so that its story (who, what, how it ends) stays the
        same from one day to the next even though how much of it has happened by "now" does not.
        """
        weights = [self.rng.uniform(0.3, 3.0) for _ in self.enterprises]  # some enterprises call far more
        plans: list[_Plan] = []

        def plan(rng: random.Random, created_at: datetime, fate: str, pace: float = 1.0) -> _Plan:
            enterprise, contact = rng.choices(self.enterprises, weights)[0]
            category = rng.choices(list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values()))[0]
            channel = rng.choices(list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values()))[0]
            urgent = rng.random() < (0.25 if category == "utilities" else 0.06)
            if channel in (Channel.PHONE, Channel.VISIT):
                created_at = self._in_working_time(created_at, rng)  # a liaison records it at work
            if channel in (Channel.TEA_MEETING, Channel.ROUNDTABLE):
                # Meetings are held in the morning; the liaison records the requests raised there during or
                # after the meeting.
                morning = datetime.combine(local(created_at).date(), time(10, 0), LOCAL_TZ)
                meeting = morning + timedelta(minutes=rng.uniform(0, 90))
                created_at = min(created_at, meeting)
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

        streams = (random.Random(f"{SEED}:{i}") for i in itertools.count())
        for fate, count, low, high, pace in RECENT:
            for _ in range(count):
                rng = next(streams)
                created_at = self.calendar.subtract_working_minutes(
                    self.anchor, round(rng.uniform(low, high) * 60)
                )
                plans.append(plan(rng, created_at, fate, pace))
        for i in range(TICKET_COUNT - len(plans)):
            rng = next(streams)
            # The oldest request is almost a year old; the volume grows towards today.
            age = 362.0 if i == 0 else 362.0 * rng.random() ** 1.25
            created_at = self._filed_at(self.anchor - timedelta(days=age), rng)
            fate = rng.choices(list(FATES), list(FATES.values()))[0]
            if fate == "in_progress" and age > 90:
                fate = "closed"  # a request stuck for months would have been escalated long ago
            plans.append(plan(rng, created_at, fate))
        plans.sort(key=lambda p: p.created_at)
        return plans

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

    def play(self, plan: _Plan) -> Ticket:
        rng = plan.rng
        manager = self.users["manager"]
        building_id = plan.enterprise.building_id
        primary = self.primary[building_id]
        title, description, answer = TEMPLATES[plan.category][plan.template]
        if plan.category in LOCATED_CATEGORIES:
            description = f"我司位于{plan.enterprise.building.name}{plan.enterprise.room}。{description}"
        fields = {
            "category": plan.category,
            "title": title,
            "description": description,
            "urgency": plan.urgency.value,
            "contact_phone": plan.contact.phone,
            "now": plan.created_at,
        }
        if plan.channel in (Channel.WEB, Channel.API):
            ticket = services.submit_ticket(plan.contact, channel=plan.channel.value, **fields)  # type: ignore[arg-type]
        else:
            recorder = rng.choice([primary, *self.deputies.get(building_id, [])])
            ticket = services.submit_ticket(
                recorder,
                enterprise_uscc=plan.enterprise.uscc,
                channel=plan.channel.value,
                **fields,  # type: ignore[arg-type]
            )
        clock = _Clock(plan.created_at, self.anchor, rng, plan.pace, self.calendar)
        urgent = plan.urgency == Urgency.URGENT
        with contextlib.suppress(_Later):  # the rest of this request's story lies in the future
            self._work(ticket, plan, clock, manager, primary, answer, urgent)
        return ticket

    def _work(
        self,
        ticket: Ticket,
        plan: _Plan,
        clock: _Clock,
        manager: User,
        primary: User,
        answer: str,
        urgent: bool,
    ) -> None:
        # Delays are in working hours (a working day has seven).
        rng = plan.rng
        fate = plan.fate
        if fate == "submitted":
            return
        assignee = primary
        deputies = self.deputies.get(ticket.building_id, [])
        if deputies and rng.random() < 0.1:
            assignee = rng.choice(deputies)  # the primary liaison is busy: the manager gives it to a deputy
        services.assign(ticket.id, manager, assignee.username, clock.after(0.05, 0.5 if urgent else 2))
        if fate == "assigned":
            return
        if fate == "withdrawn" and rng.random() < 0.4:
            services.withdraw(ticket.id, plan.contact, rng.choice(WITHDRAW_REASONS), clock.after(0.5, 14))
            return
        if fate in ("returned", "return_accepted", "return_refused"):
            if rng.random() < 0.5:
                services.acknowledge(ticket.id, assignee, clock.after(0.05, 2))
            services.return_ticket(ticket.id, assignee, rng.choice(RETURN_REASONS), clock.after(0.5, 10))
            if fate == "returned":
                return
            if fate == "return_accepted":
                services.review_return(
                    ticket.id, manager, True, rng.choice(ACCEPT_NOTES), clock.after(0.5, 6)
                )
                assignee = self._another_liaison(ticket, assignee)
                services.assign(ticket.id, manager, assignee.username, clock.after(0.05, 2))
            else:
                services.review_return(
                    ticket.id, manager, False, rng.choice(REFUSAL_NOTES), clock.after(0.5, 6)
                )
        if ticket.state == TicketState.ASSIGNED:
            services.acknowledge(ticket.id, assignee, clock.after(0.05, 0.4 if urgent else 2.5))
        if fate == "withdrawn":
            services.withdraw(ticket.id, plan.contact, rng.choice(WITHDRAW_REASONS), clock.after(2, 30))
            return
        if rng.random() < 0.7:
            services.reply(ticket.id, assignee, rng.choice(PROGRESS_REPLIES), clock.after(0.3, 10))
        if rng.random() < 0.3:
            services.add_note(ticket.id, assignee, rng.choice(NOTES), clock.after(0.3, 10))
        resolver = assignee
        department = self._department_for(plan.category, rng)
        if department is not None:
            note = rng.choice(["", "请协助办理。", "请贵局协助核实并答复企业。"])
            services.transfer(ticket.id, assignee, department, clock.after(1, 10), note)
            staff = self.users["dept1" if department == "hrss" else "dept2"]
            services.reply(ticket.id, staff, DEPARTMENT_REPLIES[department][0], clock.after(1, 20))
            if rng.random() < 0.6:
                services.handback(ticket.id, staff, rng.choice(HANDBACK_NOTES), clock.after(3, 40))
            else:
                resolver = staff  # the department answers the enterprise itself
        if fate == "in_progress":
            return
        services.resolve(ticket.id, resolver, answer, clock.after(*((1, 10) if urgent else (4, 70))))
        if fate in ("resolved", "unrated"):
            # nobody rates it: it waits in today's follow-up queue, or 3 unanswered calls closed it unrated
            with contextlib.suppress(_Later):
                self._follow_up(ticket, plan, clock, RatingScore.SATISFIED, reach=False)
            return
        if fate == "reopened":
            if not self._rate(ticket, plan, clock, RatingScore.DISSATISFIED):
                return
            services.reply(ticket.id, assignee, "收到您的反馈，我们将再次协调处理。", clock.after(0.3, 6))
            services.resolve(ticket.id, assignee, rng.choice(SECOND_ANSWERS), clock.after(7, 40))
        score = RatingScore.SATISFIED if rng.random() < 0.76 else RatingScore.BASICALLY_SATISFIED
        self._rate(ticket, plan, clock, score)

    def _rate(self, ticket: Ticket, plan: _Plan, clock: _Clock, score: RatingScore) -> bool:
        """The enterprise rates the resolved request online, most often within its rating window; when it
        does not, the follow-up calls (回访) ask it.  True when it was rated (closed or reopened)."""
        rng = plan.rng
        due = ticket.rating_due_at
        assert due is not None
        try:
            moment = clock.after(1, 30)
        except _Later:
            moment = None
        if moment is not None and moment < due and rng.random() < 0.85:
            services.rate(ticket.id, plan.contact, score.value, rng.choice(COMMENTS[score]), moment)
            return True
        return self._follow_up(ticket, plan, clock, score)

    def _follow_up(
        self, ticket: Ticket, plan: _Plan, clock: _Clock, score: RatingScore, *, reach: bool = True
    ) -> bool:
        """回访 as the managers work the queue: a call a little after the enterprise's time to rate online
        ran out, answered half the time; the third unanswered call closes the request unrated.  A call still
        ahead of "now" leaves the request in today's queue (raises :class:`_Later`)."""
        rng = plan.rng
        resolved_at = ticket.resolved_at
        assert resolved_at is not None
        caller = self.users["manager"]
        if followup.handled(ticket, caller):
            caller = self.users["admin"]
        calendar = current_calendar()
        minutes = followup_queue.after_working_days() * calendar.minutes_per_day
        for attempt in range(1, followup.max_attempts() + 1):
            minutes += round(rng.uniform(20, 300))
            try:
                moment = calendar.add_working_minutes(resolved_at, minutes)
            except CalendarMissing:
                raise _Later from None
            if moment >= self.anchor:
                raise _Later
            clock.now = max(clock.now, moment)
            if reach and (rng.random() < 0.5 or (attempt == followup.max_attempts() and rng.random() < 0.4)):
                followup.record_call(
                    ticket.id,
                    caller,
                    "",
                    plan.contact.name,
                    "unsolved" if score == RatingScore.DISSATISFIED else "solved",
                    score.value,
                    rng.choice(COMMENTS[score]),
                    clock.now,
                )
                return True
            followup.record_unanswered_call(ticket.id, caller, "", rng.choice(UNANSWERED_NOTES), clock.now)
        return False

    def _department_for(self, category: str, rng: random.Random) -> str | None:
        if category not in TRANSFER_TO or rng.random() >= 0.45:
            return None
        return TRANSFER_TO[category] or rng.choice(["hrss", "samr"])

    def _another_liaison(self, ticket: Ticket, returned_by: User) -> User:
        """Who gets a returned request: a deputy of the building, its primary, else one of the street."""
        for candidate in [*self.deputies.get(ticket.building_id, []), self.primary[ticket.building_id]]:
            if candidate.id != returned_by.id:
                return candidate
        street_id = self.buildings_by_id[ticket.building_id].street_id
        for candidate in self.street_liaisons[street_id]:
            if candidate.id != returned_by.id:
                return candidate
        return next(u for u in self.users.values() if u.role == Role.LIAISON and u.id != returned_by.id)

    @property
    def buildings_by_id(self) -> dict[int, Building]:
        return {b.id: b for b in self.buildings.values()}


def seed_demo(if_empty: bool = False) -> str:
    """Fill an empty database with the demo district and commit; return a one-line summary.

    The working-day calendar is loaded from ``chinese-calendar`` first, and a year of the demo's history that
    the package does not know is entered by the demo's manager (:meth:`_Seeder.enter_missing_years`).
    Refused (:class:`RuntimeError`) in production, and when the database already has users; with
    ``if_empty`` a database that has users is left alone instead.
    """
    if current_app.config["HOTLINE_ENV"] == "production":
        raise RuntimeError("demo data is refused in production")
    users = db.session.scalar(select(func.count(User.id))) or 0
    if users:
        if if_empty:
            return f"demo data not created: the database already has {users} users"
        raise RuntimeError("the database already has users; demo data goes into an empty database only")

    now = utcnow()
    sync_calendar_from_package(now)  # the clocks of the demo requests need working days
    seeder = _Seeder(now)
    seeder.district()
    seeder.enter_missing_years()
    seeder.companies()
    with rollup.suspended(db.session):  # one rebuild of the figures' rollup instead of one per flush
        ticket_ids = [seeder.play(plan).id for plan in seeder.plans()]
    # Demo requests are dispatched by hand above: the routing messages they left are already handled.
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.ticket_id.in_(ticket_ids), OutboxMessage.published_at.is_(None))
        .values(published_at=OutboxMessage.created_at)
    )
    db.session.commit()
    return (
        f"demo data created: {len(STREETS)} streets, {len(seeder.buildings)} buildings, "
        f"{len(ENTERPRISES)} enterprises, {len(seeder.users)} users, {len(ticket_ids)} requests "
        f"(password {PASSWORD})"
    )
