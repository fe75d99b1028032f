"""Reading the field work: a meeting's follow-up agenda, a liaison's enterprises and when each was last
seen, an enterprise's meetings and visits, and 走访覆盖 (buildings whose every enterprise was visited or
attended a meeting in a period)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, union
from sqlalchemy.orm import joinedload, selectinload

from hotline.auth.models import Role, User
from hotline.enterprises.models import Building, Enterprise
from hotline.enterprises.services import covered_building_ids
from hotline.extensions import db
from hotline.meetings.models import (
    InvitationResponse,
    Meeting,
    MeetingBuilding,
    MeetingInvitation,
    MeetingState,
    TicketOrigin,
    Visit,
)
from hotline.stats.rollup import local_day
from hotline.tickets.models import OPEN_STATES, Ticket, TicketState
from hotline.tickets.queries import visible_tickets
from hotline.timeutil import LOCAL_TZ

# With no earlier meeting of the same buildings, the agenda looks back this far for what was resolved.
AGENDA_LOOKBACK = timedelta(days=90)
AGENDA_PER_ENTERPRISE = 20  # requests of one enterprise on an agenda (the oldest; the rest are flagged)


# --------------------------------------------------------------------------- the follow-up agenda


@dataclass
class AgendaEnterprise:
    enterprise: Enterprise
    # at the previous meeting: True, False, or None when not invited to it or its attendance not recorded
    attended_previous: bool | None
    open: list[Ticket] = field(default_factory=list)
    resolved: list[Ticket] = field(default_factory=list)
    more: bool = False  # it has more than AGENDA_PER_ENTERPRISE: the oldest are shown


@dataclass
class Agenda:
    meeting: Meeting
    previous: Meeting | None
    since: datetime  # resolved requests shown are those resolved from here
    enterprises: list[AgendaEnterprise]
    left_out: int = 0  # invited enterprises of buildings the reading liaison does not cover

    @property
    def truncated(self) -> bool:
        return any(e.more for e in self.enterprises)

    @property
    def open_count(self) -> int:
        return sum(len(e.open) for e in self.enterprises)

    @property
    def resolved_count(self) -> int:
        return sum(len(e.resolved) for e in self.enterprises)


def previous_meeting(meeting: Meeting) -> Meeting | None:
    """The latest meeting before ``meeting`` that served one of its buildings and was not cancelled."""
    building_ids = [b.id for b in meeting.buildings]
    if not building_ids:
        return None
    sharing = select(MeetingBuilding.meeting_id).where(MeetingBuilding.building_id.in_(building_ids))
    return db.session.scalars(
        select(Meeting)
        .where(
            Meeting.id.in_(sharing),
            Meeting.id != meeting.id,
            Meeting.starts_at < meeting.starts_at,
            Meeting.state != MeetingState.CANCELLED,
        )
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
        .limit(1)
    ).first()


def agenda(meeting: Meeting, reader: User) -> Agenda:
    """The one-page follow-up of ``meeting`` as ``reader`` may see it.

    For each enterprise invited to it (or that came) whose invitation the reader may see (a liaison: of the
    buildings it covers, even hosting a manager's meeting of a street; ``left_out`` counts the others): its
    requests still open (state, deadline) and those resolved since the previous meeting of the same
    buildings (or in the last 90 days when there is none), with their rating; only the requests the reader
    may see, at most ``AGENDA_PER_ENTERPRISE`` per enterprise (the oldest)."""
    from hotline.meetings.services import covered_by, invitations_for

    previous = previous_meeting(meeting)
    since = previous.starts_at if previous is not None else meeting.starts_at - AGENDA_LOOKBACK
    at_previous: dict[int, bool | None] = {}
    if previous is not None:
        at_previous = {
            i.enterprise_id: i.attended
            for i in db.session.scalars(
                select(MeetingInvitation).where(MeetingInvitation.meeting_id == previous.id)
            )
        }
    invitations = invitations_for(meeting, reader)
    covered = covered_by(reader)  # a liaison follows up the enterprises of its own buildings
    shown = [i for i in invitations if covered is None or i.enterprise.building_id in covered]
    rows = {i.enterprise_id: AgendaEnterprise(i.enterprise, at_previous.get(i.enterprise_id)) for i in shown}
    if rows:
        wanted = (
            visible_tickets(reader)
            .where(
                Ticket.enterprise_id.in_(list(rows)),
                or_(
                    Ticket.state.in_(OPEN_STATES),
                    and_(
                        Ticket.state.in_((TicketState.RESOLVED, TicketState.CLOSED)),
                        Ticket.resolved_at >= since,
                    ),
                ),
            )
            .with_only_columns(
                Ticket.id,
                func.row_number()
                .over(partition_by=Ticket.enterprise_id, order_by=(Ticket.created_at, Ticket.id))
                .label("place"),
            )
            .subquery()
        )
        found = db.session.scalars(
            select(Ticket)
            .where(Ticket.id.in_(select(wanted.c.id).where(wanted.c.place <= AGENDA_PER_ENTERPRISE + 1)))
            .order_by(Ticket.enterprise_id, Ticket.created_at, Ticket.id)
            .options(selectinload(Ticket.category), selectinload(Ticket.assignee))
        )
        for ticket in found:
            entry = rows[ticket.enterprise_id]
            if len(entry.open) + len(entry.resolved) >= AGENDA_PER_ENTERPRISE:
                entry.more = True
                continue
            (entry.open if ticket.state in OPEN_STATES else entry.resolved).append(ticket)
    left_out = len(meeting.invitations) - len(shown) if covered is not None else 0
    return Agenda(meeting, previous, since, list(rows.values()), left_out)


# --------------------------------------------------------------------------- an enterprise's field record


def meetings_of_enterprise(
    enterprise_id: int, *, attended_only: bool = False, include_cancelled: bool = True, limit: int = 50
) -> list[tuple[Meeting, MeetingInvitation]]:
    """The meetings ``enterprise_id`` was invited to or attended, latest first, with its invitation
    (without the cancelled ones when ``include_cancelled`` is false: what its own contacts see)."""
    query = (
        select(Meeting, MeetingInvitation)
        .join(MeetingInvitation, MeetingInvitation.meeting_id == Meeting.id)
        .where(MeetingInvitation.enterprise_id == enterprise_id)
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
        .limit(limit)
    )
    if attended_only:
        query = query.where(MeetingInvitation.attended.is_(True))
    if not include_cancelled:
        query = query.where(Meeting.state != MeetingState.CANCELLED)
    return [(m, i) for m, i in db.session.execute(query)]


def visits_of_enterprise(enterprise_id: int, limit: int = 50) -> list[Visit]:
    """The visits to ``enterprise_id``, latest first."""
    return list(
        db.session.scalars(
            select(Visit)
            .where(Visit.enterprise_id == enterprise_id)
            .order_by(Visit.visited_on.desc(), Visit.id.desc())
            .limit(limit)
            .options(selectinload(Visit.liaison))
        )
    )


# --------------------------------------------------------------------------- a liaison's enterprises


# A liaison should see each of its enterprises at least this often: "my enterprises" marks those it has
# not visited nor met at a meeting for longer (and those never seen).
NOT_SEEN_DAYS = 90


@dataclass(frozen=True)
class EnterpriseContact:
    """When an enterprise was last seen in the field, and what it has open."""

    enterprise: Enterprise
    open_count: int
    last_visit: date | None
    last_meeting: date | None  # the local day of the last meeting it attended

    @property
    def last_seen(self) -> date | None:
        days = [d for d in (self.last_visit, self.last_meeting) if d is not None]
        return max(days) if days else None

    def days_unseen(self, today: date) -> int | None:
        """Days since it was last seen (None: never)."""
        seen = self.last_seen
        return None if seen is None else (today - seen).days

    def overdue(self, today: date) -> bool:
        """Never seen, or not seen for more than :data:`NOT_SEEN_DAYS` days."""
        days = self.days_unseen(today)
        return days is None or days > NOT_SEEN_DAYS


def _local_day(moment: datetime | None) -> date | None:
    return None if moment is None else moment.astimezone(LOCAL_TZ).date()


def last_seen_expression() -> ColumnElement[date]:
    """The day an enterprise (correlated) was last seen: its latest visit or the local day of the latest
    meeting it attended, NULL when neither (two correlated reads of the (enterprise, …) indexes)."""
    visit = (
        select(func.max(Visit.visited_on)).where(Visit.enterprise_id == Enterprise.id).correlate(Enterprise)
    ).scalar_subquery()
    meeting = (
        select(local_day(func.max(Meeting.starts_at)))
        .join(MeetingInvitation, MeetingInvitation.meeting_id == Meeting.id)
        .where(MeetingInvitation.enterprise_id == Enterprise.id, MeetingInvitation.attended.is_(True))
        .correlate(Enterprise)
    ).scalar_subquery()
    # the later of the two, either when the other is NULL (SQLite's max(a, b) and a NULL give NULL)
    return case(
        (meeting.is_(None), visit), (visit.is_(None), meeting), (visit >= meeting, visit), else_=meeting
    )


def my_enterprises_query(liaison: User) -> Select[Enterprise]:
    """The enterprises of the buildings ``liaison`` covers, those not seen the longest first (never seen
    first of all; seen: visited, or at a meeting it attended), then by name."""
    return (
        select(Enterprise)
        .where(Enterprise.building_id.in_(covered_building_ids(liaison)))
        .order_by(last_seen_expression().asc().nulls_first(), Enterprise.name, Enterprise.id)
        .options(joinedload(Enterprise.building).joinedload(Building.street))
    )


def contacts_of(enterprises: Sequence[Enterprise]) -> list[EnterpriseContact]:
    """For a page of enterprises: open requests, last visit and last meeting attended (three grouped
    queries, whatever the page's size)."""
    ids = [e.id for e in enterprises]
    if not ids:
        return []
    open_counts = dict(
        db.session.execute(
            select(Ticket.enterprise_id, func.count())
            .where(Ticket.enterprise_id.in_(ids), Ticket.state.in_(OPEN_STATES))
            .group_by(Ticket.enterprise_id)
        ).all()
    )
    visits = dict(
        db.session.execute(
            select(Visit.enterprise_id, func.max(Visit.visited_on))
            .where(Visit.enterprise_id.in_(ids))
            .group_by(Visit.enterprise_id)
        ).all()
    )
    meetings = dict(
        db.session.execute(
            select(MeetingInvitation.enterprise_id, func.max(Meeting.starts_at))
            .join(Meeting, Meeting.id == MeetingInvitation.meeting_id)
            .where(MeetingInvitation.enterprise_id.in_(ids), MeetingInvitation.attended.is_(True))
            .group_by(MeetingInvitation.enterprise_id)
        ).all()
    )
    return [
        EnterpriseContact(e, int(open_counts.get(e.id, 0)), visits.get(e.id), _local_day(meetings.get(e.id)))
        for e in enterprises
    ]


# --------------------------------------------------------------------------- 走访覆盖


@dataclass(frozen=True)
class FieldCoverage:
    """走访覆盖 of a period: buildings whose every enterprise had a visit or attended a meeting."""

    buildings: int  # buildings with at least one enterprise (the denominator)
    covered: int
    empty: int  # buildings without enterprises, outside the figure
    by_building: dict[int, tuple[int, int]]  # building id → (enterprises, of them seen)
    # street id → (its buildings with enterprises, of them covered)
    by_street: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return None if self.buildings == 0 else self.covered / self.buildings

    def building_covered(self, building_id: int) -> bool | None:
        """Whether the building is covered; None when it has no enterprise (or is not counted)."""
        enterprises, seen = self.by_building.get(building_id, (0, 0))
        return None if enterprises == 0 else seen >= enterprises


def _seen_in(start: date, end: date) -> Select[tuple[int]]:
    """The ids of the enterprises visited, or that attended a held meeting, from ``start`` to before
    ``end`` (local days)."""
    begin = datetime.combine(start, datetime.min.time(), LOCAL_TZ)
    finish = datetime.combine(end, datetime.min.time(), LOCAL_TZ)
    visited = select(Visit.enterprise_id).where(Visit.visited_on >= start, Visit.visited_on < end)
    met = (
        select(MeetingInvitation.enterprise_id)
        .join(Meeting, Meeting.id == MeetingInvitation.meeting_id)
        .where(
            MeetingInvitation.attended.is_(True),
            Meeting.state == MeetingState.HELD,
            Meeting.starts_at >= begin,
            Meeting.starts_at < finish,
        )
    )
    return union(visited, met)  # type: ignore[return-value]


def field_coverage(
    start: date, end: date, *, street_id: int | None = None, building_id: int | None = None
) -> FieldCoverage:
    """走访覆盖 from ``start`` to before ``end`` over the active buildings (of a street, or one building):
    one grouped query over the enterprises."""
    seen = _seen_in(start, end).subquery()
    counts = (
        select(
            Building.id,
            Building.street_id,
            func.count(Enterprise.id),
            func.coalesce(func.sum(case((Enterprise.id.in_(select(seen.c[0])), 1), else_=0)), 0),
        )
        .select_from(Building)
        .outerjoin(Enterprise, Enterprise.building_id == Building.id)
        .where(Building.active.is_(True))
        .group_by(Building.id, Building.street_id)
    )
    if street_id is not None:
        counts = counts.where(Building.street_id == street_id)
    if building_id is not None:
        counts = counts.where(Building.id == building_id)
    by_building: dict[int, tuple[int, int]] = {}
    by_street: dict[int, tuple[int, int]] = {}
    for b, street, n, s in db.session.execute(counts):
        by_building[int(b)] = (int(n), int(s))
        if n:
            buildings, covered = by_street.get(int(street), (0, 0))
            by_street[int(street)] = (buildings + 1, covered + (s >= n))
    with_enterprises = [v for v in by_building.values() if v[0] > 0]
    return FieldCoverage(
        buildings=len(with_enterprises),
        covered=sum(1 for n, s in with_enterprises if s >= n),
        empty=len(by_building) - len(with_enterprises),
        by_building=by_building,
        by_street=by_street,
    )


def origin_counts(meeting_ids: Sequence[int]) -> dict[int, int]:
    """How many requests were raised at each of ``meeting_ids``."""
    if not meeting_ids:
        return {}
    rows = db.session.execute(
        select(TicketOrigin.meeting_id, func.count())
        .where(TicketOrigin.meeting_id.in_(list(meeting_ids)))
        .group_by(TicketOrigin.meeting_id)
    )
    return {int(meeting_id): int(count) for meeting_id, count in rows if meeting_id is not None}


# --------------------------------------------------------------------------- the pages' lists and the feed


def invitation_counts(meeting_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """For each of ``meeting_ids``: (enterprises invited, of them confirmed), one grouped query."""
    if not meeting_ids:
        return {}
    confirmed = case((MeetingInvitation.response == InvitationResponse.CONFIRMED, 1), else_=0)
    rows = db.session.execute(
        select(MeetingInvitation.meeting_id, func.count(), func.coalesce(func.sum(confirmed), 0))
        .where(MeetingInvitation.meeting_id.in_(list(meeting_ids)), MeetingInvitation.invited.is_(True))
        .group_by(MeetingInvitation.meeting_id)
    )
    return {int(m): (int(n), int(c)) for m, n, c in rows}


def invitations_of(enterprise_id: int, meeting_ids: Sequence[int]) -> dict[int, MeetingInvitation]:
    """The invitation of ``enterprise_id`` to each of ``meeting_ids`` it has one for."""
    if not meeting_ids:
        return {}
    return {
        i.meeting_id: i
        for i in db.session.scalars(
            select(MeetingInvitation).where(
                MeetingInvitation.enterprise_id == enterprise_id,
                MeetingInvitation.meeting_id.in_(list(meeting_ids)),
            )
        )
    }


FEED_MAX = 500  # meetings in one calendar feed


def feed_meetings(user: User, since: datetime) -> list[Meeting]:
    """The meetings of ``user``'s calendar starting from ``since``: a liaison's those it hosts and those
    serving a building it covers; anyone else's those it hosts.  Cancelled ones stay (the calendar marks
    them cancelled), the earliest first, at most :data:`FEED_MAX`."""
    mine = Meeting.host_id == user.id
    if user.role == Role.LIAISON:
        serving = select(MeetingBuilding.meeting_id).where(
            MeetingBuilding.building_id.in_(covered_building_ids(user))
        )
        mine = or_(mine, Meeting.id.in_(serving))
    return list(
        db.session.scalars(
            select(Meeting)
            .where(mine, Meeting.starts_at >= since)
            .order_by(Meeting.starts_at, Meeting.id)
            .limit(FEED_MAX)
            .options(selectinload(Meeting.buildings), selectinload(Meeting.host))
        )
    )
