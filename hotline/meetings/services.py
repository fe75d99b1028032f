"""The liaisons' field work: scheduling meetings, inviting enterprises, their answers and questions, the
minutes with the requests raised at the table (several at once, all or none), and visits (走访).

Who may do what:

- a **liaison** schedules meetings it hosts, for buildings it covers, and invites their enterprises only;
  it logs visits to enterprises of its buildings;
- a **manager** (or admin) schedules a meeting for any buildings or a street, names its host (a liaison or
  a manager), and changes or cancels any meeting;
- a meeting is changed, its minutes recorded, by its host, whoever scheduled it, or a manager;
- an **enterprise**'s contact sees the meetings its enterprise is invited to, confirms or declines, and
  sends questions in advance (draft requests: :class:`~hotline.meetings.models.MeetingQuestion`).

Services take the acting user and ``now``, flush and never commit (DESIGN §8).  Every refusal is a
:class:`ValidationFailed` with per-field messages, a :class:`Forbidden` or a :class:`NotFound`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from hotline.auth.models import Role, User
from hotline.auth.services import user_named
from hotline.enterprises import uscc as uscc_codes
from hotline.enterprises.models import Building, Department, Enterprise, Street
from hotline.enterprises.services import covered_building_ids, liaison_covers
from hotline.errors import Forbidden, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.meetings.models import (
    InvitationResponse,
    Meeting,
    MeetingBuilding,
    MeetingDepartment,
    MeetingInvitation,
    MeetingKind,
    MeetingQuestion,
    MeetingState,
    TicketOrigin,
    Visit,
)
from hotline.text import has_control_characters, read_text, whole_number
from hotline.tickets import services as tickets
from hotline.tickets.models import Channel, Ticket, Urgency
from hotline.tickets.queries import active_category
from hotline.tickets.workflow import TEXT_MAX, TITLE_MAX
from hotline.timeutil import LOCAL_TZ, local_date

PLACE_MAX = 200
MET_MAX = 200
DURATION_MAX = timedelta(hours=12)
DEFAULT_DURATION = timedelta(minutes=90)
# How far ahead a meeting may be scheduled, and how far back one may be entered afterwards.
SCHEDULE_AHEAD = timedelta(days=366)
ENTER_AFTER = timedelta(days=366)
ITEMS_MAX = 50  # requests entered at once (a meeting's minutes, a visit)
INVITED_MAX = 500  # enterprises invited to one meeting
BUILDINGS_MAX = 100
QUESTIONS_MAX = 10  # questions one enterprise sends in advance to one meeting
ID_MAX = 2**63 - 1

# A meeting's time: the browser's picker (2026-12-04T08:30), the same with a space, seconds optional, an
# offset optional (ISO 8601).  Without an offset it is Asia/Shanghai time.
_MOMENT = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-](?:0\d|1[0-4]):[0-5]\d)?"
)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
MOMENT_YEARS = (2000, 9000)


def _refused(errors: Mapping[str, str]) -> ValidationFailed:
    return ValidationFailed(_("Please correct the marked fields."), dict(errors))


# --------------------------------------------------------------------------- field checks


_text = read_text  # every field checked at once, its message under its name (items.<n>.<field> too)


def parse_moment(value: Any, name: str, errors: dict[str, str], *, required: bool = True) -> datetime | None:
    """A time given as ``YYYY-MM-DD HH:MM`` (Asia/Shanghai; a ``T``, seconds and an ISO 8601 offset are
    accepted), as an aware UTC-comparable datetime; None with a message in ``errors`` otherwise."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=LOCAL_TZ)
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        if required:
            errors[name] = _("This field is required.")
        return None
    unreadable = _("Give the time as YYYY-MM-DD HH:MM.")
    if not _MOMENT.fullmatch(text):
        errors[name] = unreadable
        return None
    try:
        moment = datetime.fromisoformat(text)
    except (OverflowError, ValueError):
        errors[name] = unreadable
        return None
    if not MOMENT_YEARS[0] <= moment.year <= MOMENT_YEARS[1]:
        # the edges of the calendar: a duration added, or the offset taken off, would leave it (a 500)
        errors[name] = unreadable
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL_TZ)


def parse_day(value: Any, name: str, errors: dict[str, str]) -> date | None:
    """A day given as ``YYYY-MM-DD``; None with a message in ``errors`` otherwise."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        errors[name] = _("This field is required.")
        return None
    try:
        if not _DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = _("Give the day as YYYY-MM-DD.")
        return None


def _ids(value: Any, name: str, errors: dict[str, str], limit: int) -> list[int]:
    """A list of ids (numbers or texts of digits), without repeats; [] with a message otherwise."""
    if value is None:
        return []
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)):
        errors[name] = _("A list is needed.")
        return []
    if len(value) > limit:
        errors[name] = _("At most %(n)d.", n=limit)
        return []
    ids: list[int] = []
    for item in value:
        number = whole_number(item)
        if number is None or not 0 < number <= ID_MAX:
            errors[name] = _("Not a valid choice.")
            return []
        if number not in ids:
            ids.append(number)
    return ids


def _codes(value: Any, name: str, errors: dict[str, str], limit: int) -> list[str]:
    """A list of credit codes, normalised (upper case, no spaces) and without repeats."""
    codes: list[str] = []
    for code in _texts(value, name, errors, limit):
        normal = uscc_codes.normalise(code)
        if normal not in codes:
            codes.append(normal)
    return codes


def _texts(value: Any, name: str, errors: dict[str, str], limit: int) -> list[str]:
    """A list of short texts (codes, credit codes), trimmed, without repeats or empties."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        errors[name] = _("A list is needed.")
        return []
    if len(value) > limit:
        errors[name] = _("At most %(n)d.", n=limit)
        return []
    texts: list[str] = []
    for item in value:
        if not isinstance(item, str) or has_control_characters(item, multiline=False) or len(item) > 64:
            errors[name] = _("Not a valid choice.")
            return []
        text = item.strip()
        if text and text not in texts:
            texts.append(text)
    return texts


# --------------------------------------------------------------------------- who sees and changes what


def may_schedule(user: User) -> bool:
    return user.role in (Role.LIAISON, Role.MANAGER, Role.ADMIN)


def visible_meetings(user: User) -> Select[Meeting]:
    """A SELECT of the meetings ``user`` may see: staff all; a liaison those it hosts or scheduled and
    those serving a building it covers; a department's staff those it attends; an enterprise's contact
    those its enterprise is invited to (or attended)."""
    query = select(Meeting)
    if user.is_staff:
        return query
    if user.role == Role.LIAISON:
        serving = select(MeetingBuilding.meeting_id).where(
            MeetingBuilding.building_id.in_(covered_building_ids(user))
        )
        return query.where(
            or_(Meeting.host_id == user.id, Meeting.created_by_id == user.id, Meeting.id.in_(serving))
        )
    if user.role == Role.DEPARTMENT and user.department_id is not None:
        attending = select(MeetingDepartment.meeting_id).where(
            MeetingDepartment.department_id == user.department_id
        )
        return query.where(Meeting.id.in_(attending))
    if user.role == Role.ENTERPRISE and user.enterprise_id is not None:
        invited = select(MeetingInvitation.meeting_id).where(
            MeetingInvitation.enterprise_id == user.enterprise_id
        )
        return query.where(Meeting.id.in_(invited), Meeting.state != MeetingState.CANCELLED)
    return query.where(Meeting.id == -1)


def get_meeting(user: User, meeting_id: Any, *, for_update: bool = False) -> Meeting:
    """The meeting ``meeting_id`` as ``user`` may see it; :class:`NotFound` otherwise (another's meeting
    is not told apart from none)."""
    number = whole_number(meeting_id)
    if number is None or not 0 < number <= ID_MAX:
        raise NotFound(_("No such meeting."))
    query = (
        visible_meetings(user)
        .where(Meeting.id == number)
        # every page and change reads the invitations and their enterprises: a few statements, not one
        # per invited enterprise
        .options(
            selectinload(Meeting.invitations).selectinload(MeetingInvitation.enterprise),
            selectinload(Meeting.buildings),
        )
    )
    if for_update:
        query = query.with_for_update(of=Meeting)
    meeting = db.session.scalars(query).first()
    if meeting is None:
        raise NotFound(_("No such meeting."))
    return meeting


def covered_by(user: User) -> set[int] | None:
    """The buildings a liaison covers; None for a reader not limited by buildings."""
    if user.role != Role.LIAISON:
        return None
    return set(db.session.scalars(covered_building_ids(user)))


def invitations_for(meeting: Meeting, user: User, covered: set[int] | None = None) -> list[MeetingInvitation]:
    """The invitations of ``meeting`` that ``user`` may see, by enterprise name: an enterprise's contact
    its own; whoever may change the meeting (its host, whoever scheduled it, managers) all of them; another
    liaison those of the buildings it covers (a meeting of a street serves buildings of other liaisons);
    a department attending it all of them (whom it will meet; not their questions).  ``covered``: the
    liaison's buildings, when the caller has read them already (a page of meetings)."""
    ordered = sorted(meeting.invitations, key=lambda i: (i.enterprise.name, i.enterprise_id))
    if user.role == Role.ENTERPRISE:
        return [i for i in ordered if i.enterprise_id == user.enterprise_id]
    if may_change(meeting, user) or user.role == Role.DEPARTMENT:
        return ordered
    own = covered if covered is not None else (covered_by(user) or set())
    return [i for i in ordered if i.enterprise.building_id in own]


def may_change(meeting: Meeting, user: User) -> bool:
    """Whether ``user`` may change ``meeting``, invite to it and record its minutes."""
    return user.is_staff or (
        user.role == Role.LIAISON and user.id in (meeting.host_id, meeting.created_by_id)
    )


def _require_change(meeting: Meeting, user: User) -> None:
    if not may_change(meeting, user):
        raise Forbidden(_("Only the meeting's host, whoever scheduled it, or a manager may change it."))


def may_invite(user: User, enterprise: Enterprise) -> bool:
    """A liaison invites only enterprises of its buildings; a manager any."""
    return user.is_staff or (user.role == Role.LIAISON and liaison_covers(user, enterprise.building_id))


# --------------------------------------------------------------------------- scheduling


@dataclass
class _Plan:
    """What a schedule or a change asks for, read and checked."""

    kind: MeetingKind | None = None
    title: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    place: str | None = None
    description: str | None = None
    host: User | None = None
    street: Street | None = None
    buildings: list[Building] | None = None
    departments: list[Department] | None = None
    invite: list[Enterprise] = field(default_factory=list)


def _kind_name(kind: MeetingKind) -> str:
    return _("tea meeting") if kind == MeetingKind.TEA_MEETING else _("roundtable")


def _read_kind(value: Any, errors: dict[str, str]) -> MeetingKind | None:
    try:
        return MeetingKind(value if isinstance(value, str) else "")
    except ValueError:
        errors["kind"] = _("Choose a tea meeting or a roundtable.")
        return None


def _read_host(value: Any, actor: User, errors: dict[str, str]) -> User | None:
    if actor.role == Role.LIAISON:
        if value not in (None, "", actor.username):
            errors["host"] = _("A liaison schedules the meetings it hosts itself.")
            return None
        return actor
    if value in (None, ""):
        return actor
    host = user_named(value) if isinstance(value, str) else None
    if host is None or not host.active or host.role not in (Role.LIAISON, Role.MANAGER, Role.ADMIN):
        errors["host"] = _("Choose a liaison or a manager to host the meeting.")
        return None
    return host


def _read_buildings(
    values: Mapping[str, Any], actor: User, errors: dict[str, str]
) -> tuple[Street | None, list[Building] | None]:
    """The street (when a whole one is served) and the buildings; a liaison's must all be its own."""
    street: Street | None = None
    buildings: list[Building] = []
    street_code = values.get("street")
    if street_code not in (None, ""):
        if not isinstance(street_code, str) or has_control_characters(street_code, multiline=False):
            errors["street"] = _("No such street.")
            return None, None
        street = db.session.scalars(select(Street).where(Street.code == street_code.strip())).first()
        if street is None:
            errors["street"] = _("No such street.")
            return None, None
        buildings = list(
            db.session.scalars(
                select(Building)
                .where(Building.street_id == street.id, Building.active.is_(True))
                .order_by(Building.id)
            )
        )
    ids = _ids(values.get("buildings"), "buildings", errors, BUILDINGS_MAX)
    if "buildings" in errors:
        return None, None
    if ids:
        found = list(db.session.scalars(select(Building).where(Building.id.in_(ids))))
        if len(found) != len(ids):
            errors["buildings"] = _("Choose among the listed buildings.")
            return None, None
        buildings += [b for b in found if b not in buildings]
    if not buildings:
        errors["buildings"] = _("Choose the buildings the meeting serves, or a street.")
        return None, None
    if actor.role == Role.LIAISON:
        own = set(db.session.scalars(covered_building_ids(actor)))
        if any(b.id not in own for b in buildings):
            key = "street" if street is not None else "buildings"
            errors[key] = _("A liaison schedules meetings for the buildings it covers only.")
            return None, None
    return street, buildings


def _read_departments(value: Any, errors: dict[str, str]) -> list[Department] | None:
    codes = _texts(value, "departments", errors, 50)
    if "departments" in errors:
        return None
    if not codes:
        return []
    found = list(
        db.session.scalars(select(Department).where(Department.code.in_(codes), Department.active.is_(True)))
    )
    if len(found) != len(codes):
        errors["departments"] = _("Choose among the listed departments.")
        return None
    return found


def _read_invited(
    value: Any,
    actor: User,
    buildings: Sequence[Building] | None,
    errors: dict[str, str],
    *,
    all_of: Any = None,
) -> list[Enterprise]:
    """The enterprises to invite: by credit code, and/or all those of the buildings in ``all_of``.  Each
    must be in one of the meeting's buildings, and (for a liaison) in one of its own."""
    codes = _codes(value, "invite", errors, INVITED_MAX)
    whole = _ids(all_of, "invite_buildings", errors, BUILDINGS_MAX)
    if "invite" in errors or "invite_buildings" in errors or buildings is None:
        return []
    served = {b.id for b in buildings}
    if any(b not in served for b in whole):
        errors["invite_buildings"] = _("Invite the enterprises of the meeting's own buildings only.")
        return []
    found: list[Enterprise] = []
    if codes:
        found = list(db.session.scalars(select(Enterprise).where(Enterprise.uscc.in_(codes))))
        if len(found) != len(codes):
            known = {e.uscc for e in found}
            missing = ", ".join(c for c in codes if c not in known)
            errors["invite"] = _("No enterprise is registered with: %(codes)s.", codes=missing)
            return []
    if whole:
        for enterprise in db.session.scalars(
            select(Enterprise).where(Enterprise.building_id.in_(whole)).order_by(Enterprise.name)
        ):
            if enterprise not in found:
                found.append(enterprise)
    if len(found) > INVITED_MAX:
        errors["invite"] = _("At most %(n)d enterprises are invited to one meeting.", n=INVITED_MAX)
        return []
    outside = [e.name for e in found if e.building_id not in served]
    if outside:
        errors["invite"] = _("Not in a building the meeting serves: %(names)s.", names="、".join(outside[:5]))
        return []
    if actor.role == Role.LIAISON:
        own = set(db.session.scalars(covered_building_ids(actor)))
        foreign = [e.name for e in found if e.building_id not in own]
        if foreign:
            errors["invite"] = _(
                "A liaison invites the enterprises of its own buildings only: %(names)s.",
                names="、".join(foreign[:5]),
            )
            return []
    return found


def _check_times(plan: _Plan, now: datetime, errors: dict[str, str]) -> None:
    if plan.starts_at is None or "starts_at" in errors:
        return
    if plan.ends_at is None and "ends_at" not in errors:
        plan.ends_at = plan.starts_at + DEFAULT_DURATION
    if plan.ends_at is None:
        return
    if plan.ends_at <= plan.starts_at:
        errors["ends_at"] = _("The meeting ends after it starts.")
    elif plan.ends_at - plan.starts_at > DURATION_MAX:
        errors["ends_at"] = _("A meeting lasts at most 12 hours.")
    if plan.starts_at > now + SCHEDULE_AHEAD:
        errors["starts_at"] = _("A meeting is scheduled at most a year ahead.")
    elif plan.starts_at < now - ENTER_AFTER:
        errors["starts_at"] = _("A meeting is entered at most a year after it was held.")


def schedule_meeting(actor: User, now: datetime, values: Mapping[str, Any]) -> Meeting:
    """Schedule a meeting and invite its enterprises (each contact is notified).

    ``values``: ``kind`` (tea_meeting / roundtable), ``title``, ``starts_at`` and optional ``ends_at``
    (``YYYY-MM-DD HH:MM`` local; 90 minutes by default), ``place``, ``buildings`` (ids) and/or ``street``
    (code: all its active buildings), ``host`` (username; a liaison hosts its own), ``departments``
    (codes), ``invite`` (credit codes) and/or ``invite_buildings`` (ids: all enterprises of those),
    ``description``.  Every field is checked at once.  Raises :class:`ValidationFailed`,
    :class:`Forbidden`.
    """
    if not may_schedule(actor):
        raise Forbidden(_("Only liaisons and managers schedule meetings."))
    errors: dict[str, str] = {}
    plan = _Plan()
    plan.kind = _read_kind(values.get("kind"), errors)
    plan.title = _text(values.get("title"), "title", errors, required=True, limit=TITLE_MAX)
    plan.starts_at = parse_moment(values.get("starts_at"), "starts_at", errors)
    plan.ends_at = parse_moment(values.get("ends_at"), "ends_at", errors, required=False)
    plan.place = _text(values.get("place"), "place", errors, required=True, limit=PLACE_MAX)
    plan.description = _text(
        values.get("description"), "description", errors, required=False, limit=TEXT_MAX, multiline=True
    )
    plan.host = _read_host(values.get("host"), actor, errors)
    plan.street, plan.buildings = _read_buildings(values, actor, errors)
    plan.departments = _read_departments(values.get("departments"), errors)
    plan.invite = _read_invited(
        values.get("invite"), actor, plan.buildings, errors, all_of=values.get("invite_buildings")
    )
    _check_times(plan, now, errors)
    if errors:
        raise _refused(errors)
    assert plan.kind and plan.title and plan.starts_at and plan.ends_at and plan.place and plan.host
    meeting = Meeting(
        kind=plan.kind,
        title=plan.title,
        starts_at=plan.starts_at,
        ends_at=plan.ends_at,
        place=plan.place,
        description=plan.description or "",
        host=plan.host,
        street=plan.street,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
        state=MeetingState.SCHEDULED,
        minutes="",
    )
    meeting.buildings = list(plan.buildings or [])
    meeting.departments = list(plan.departments or [])
    db.session.add(meeting)
    db.session.flush()
    _invite(meeting, plan.invite, now)
    return meeting


def _invite(meeting: Meeting, enterprises: Iterable[Enterprise], now: datetime) -> list[MeetingInvitation]:
    """Invite those not invited yet and notify their contacts; returns the new invitations."""
    already = {i.enterprise_id for i in meeting.invitations}
    added: list[MeetingInvitation] = []
    for enterprise in enterprises:
        if enterprise.id in already:
            continue
        invitation = MeetingInvitation(
            meeting=meeting, enterprise_id=enterprise.id, invited=True, invited_at=now
        )
        invitation.enterprise = enterprise
        db.session.add(invitation)
        added.append(invitation)
    db.session.flush()
    if added and meeting.starts_at > now:  # an invitation to a meeting already held tells nobody anything
        from hotline.meetings import notices

        notices.invited(meeting, [i.enterprise_id for i in added], now)
    return added


def update_meeting(meeting_id: Any, actor: User, now: datetime, changes: Mapping[str, Any]) -> Meeting:
    """Change a meeting: any of ``title``, ``starts_at``, ``ends_at``, ``place``, ``description``,
    ``departments``, ``buildings``/``street`` (the invited must stay within them), ``host`` (managers);
    ``invite``/``invite_buildings`` invite more (notified), ``uninvite`` (credit codes) takes back
    invitations of enterprises that have not attended; ``state: "cancelled"`` cancels it (the invited are
    told).  A held or cancelled meeting keeps its time and place.  Raises :class:`ValidationFailed`,
    :class:`Forbidden`, :class:`NotFound`.
    """
    meeting = get_meeting(actor, meeting_id, for_update=True)
    _require_change(meeting, actor)
    allowed = {
        "title",
        "starts_at",
        "ends_at",
        "place",
        "description",
        "departments",
        "buildings",
        "street",
        "host",
        "invite",
        "invite_buildings",
        "uninvite",
        "state",
        "kind",
    }
    unknown = sorted(k for k in changes if k not in allowed)
    errors: dict[str, str] = {k: _("This field cannot be changed here.") for k in unknown}
    if meeting.state == MeetingState.CANCELLED:
        raise ValidationFailed(_("The meeting is cancelled: it cannot be changed."), {})
    plan = _Plan(starts_at=meeting.starts_at, ends_at=meeting.ends_at)
    timing = {"starts_at", "ends_at", "place"} & set(changes)
    if timing and meeting.state == MeetingState.HELD:
        for name in timing:
            errors[name] = _("The meeting is held: its time and place stay as they were.")
    if "kind" in changes:
        plan.kind = _read_kind(changes.get("kind"), errors)
        if plan.kind is not None and plan.kind != meeting.kind and meeting.state == MeetingState.HELD:
            # its requests were filed with the kind's channel: the meeting and its figures would disagree
            errors["kind"] = _(
                "The meeting is held: its requests were filed as raised at a %(kind)s.",
                kind=_kind_name(meeting.kind),
            )
    if "title" in changes:
        plan.title = _text(changes.get("title"), "title", errors, required=True, limit=TITLE_MAX)
    if "starts_at" in changes:
        plan.starts_at = parse_moment(changes.get("starts_at"), "starts_at", errors)
        if "ends_at" not in changes and plan.starts_at is not None:  # moved: it lasts as long as before
            plan.ends_at = plan.starts_at + (meeting.ends_at - meeting.starts_at)
    if "ends_at" in changes:  # left empty: 90 minutes from the start
        plan.ends_at = parse_moment(changes.get("ends_at"), "ends_at", errors, required=False)
    if "place" in changes:
        plan.place = _text(changes.get("place"), "place", errors, required=True, limit=PLACE_MAX)
    if "description" in changes:
        plan.description = _text(
            changes.get("description"), "description", errors, required=False, limit=TEXT_MAX, multiline=True
        )
    if "host" in changes:
        if not actor.is_staff:
            errors["host"] = _("Only a manager changes a meeting's host.")
        else:
            plan.host = _read_host(changes.get("host"), actor, errors)
    if "departments" in changes:
        plan.departments = _read_departments(changes.get("departments"), errors)
    buildings: Sequence[Building] | None = meeting.buildings
    if "buildings" in changes or "street" in changes:
        plan.street, plan.buildings = _read_buildings(changes, actor, errors)
        buildings = plan.buildings
        if buildings is not None:
            served = {b.id for b in buildings}
            outside = [
                i.enterprise.name for i in meeting.invitations if i.enterprise.building_id not in served
            ]
            if outside:
                errors["buildings"] = _(
                    "Enterprises of other buildings are invited: %(names)s.", names="、".join(outside[:5])
                )
    if "invite" in changes or "invite_buildings" in changes:
        plan.invite = _read_invited(
            changes.get("invite"), actor, buildings, errors, all_of=changes.get("invite_buildings")
        )
    uninvite: list[MeetingInvitation] = []
    if "uninvite" in changes:
        codes = set(_codes(changes.get("uninvite"), "uninvite", errors, INVITED_MAX))
        uninvite = [i for i in meeting.invitations if i.enterprise.uscc in codes]
        if len(uninvite) != len(codes) and "uninvite" not in errors:
            errors["uninvite"] = _("Only invited enterprises can be taken off the list.")
        elif any(i.attended for i in uninvite):
            errors["uninvite"] = _("An enterprise that attended stays on the list.")
    cancel = False
    if "state" in changes:
        if changes.get("state") != MeetingState.CANCELLED.value:
            errors["state"] = _("A meeting can only be cancelled here; its minutes make it held.")
        elif meeting.state == MeetingState.HELD:
            errors["state"] = _("The meeting is held: it cannot be cancelled.")
        else:
            cancel = True
    if {"starts_at", "ends_at"} & set(changes):
        _check_times(plan, now, errors)
    if errors:
        raise _refused(errors)
    moved = (plan.starts_at, plan.ends_at) != (meeting.starts_at, meeting.ends_at) or (
        plan.place is not None and plan.place != meeting.place
    )
    for name in ("kind", "title", "place", "description", "host"):
        value = getattr(plan, name)
        if value is not None:
            setattr(meeting, name, value)
    if plan.starts_at is not None and plan.ends_at is not None:
        meeting.starts_at, meeting.ends_at = plan.starts_at, plan.ends_at
    if plan.buildings is not None:
        meeting.street = plan.street
        meeting.buildings = list(plan.buildings)
    if plan.departments is not None:
        meeting.departments = list(plan.departments)
    for invitation in uninvite:
        meeting.invitations.remove(invitation)
    meeting.updated_at = now
    from hotline.meetings import notices

    if cancel:
        meeting.state = MeetingState.CANCELLED
        meeting.cancelled_at = now
        db.session.flush()
        notices.cancelled(meeting, now)
        return meeting
    db.session.flush()
    if moved and meeting.starts_at > now:
        notices.moved(meeting, now)
    _invite(meeting, plan.invite, now)
    return meeting


# --------------------------------------------------------------------------- the enterprise's side


def _own_invitation(meeting: Meeting, actor: User) -> MeetingInvitation:
    if actor.role != Role.ENTERPRISE or actor.enterprise_id is None:
        raise Forbidden(_("Only the invited enterprises answer an invitation."))
    invitation = next((i for i in meeting.invitations if i.enterprise_id == actor.enterprise_id), None)
    if invitation is None:
        raise NotFound(_("No such meeting."))
    return invitation


def respond(meeting_id: Any, actor: User, answer: Any, now: datetime) -> MeetingInvitation:
    """An invited enterprise's contact confirms (``confirmed``) or declines (``declined``) attendance, until
    the meeting starts.  Raises :class:`ValidationFailed`, :class:`Forbidden`, :class:`NotFound`."""
    meeting = get_meeting(actor, meeting_id, for_update=True)
    invitation = _own_invitation(meeting, actor)
    if meeting.state != MeetingState.SCHEDULED or meeting.starts_at <= now:
        raise ValidationFailed(_("The meeting has begun: the invitation can no longer be answered."), {})
    try:
        response = InvitationResponse(answer if isinstance(answer, str) else "")
        if response == InvitationResponse.PENDING:
            raise ValueError(answer)
    except ValueError:
        message = _("Say whether you will attend: confirmed or declined.")
        raise ValidationFailed(message, {"response": message}) from None
    invitation.response = response
    invitation.responded_at = now
    invitation.responded_by_id = actor.id
    db.session.flush()
    return invitation


def _request_fields(item: Mapping[str, Any], prefix: str, errors: dict[str, str]) -> dict[str, Any]:
    """The fields of one request (category, title, description, contact phone, urgency) checked as a filing
    checks them, the messages under ``prefix + name``; the category as its row."""
    values: dict[str, Any] = {}
    code = item.get("category")
    category = active_category(code.strip()) if isinstance(code, str) and code.strip() else None
    if category is None:
        errors[prefix + "category"] = _("Choose one of the categories.")
    values["category"] = category
    values["title"] = _text(item.get("title"), prefix + "title", errors, required=True, limit=TITLE_MAX)
    values["description"] = _text(
        item.get("description"), prefix + "description", errors, required=True, limit=TEXT_MAX, multiline=True
    )
    phone = item.get("contact_phone")
    phone = phone.strip() if isinstance(phone, str) else ""
    if not tickets.PHONE_RE.match(phone):
        errors[prefix + "contact_phone"] = _(
            "Enter a phone number of 7 to 20 digits (a leading + and dashes allowed)."
        )
    values["contact_phone"] = phone
    urgency = item.get("urgency") or Urgency.NORMAL.value
    try:
        values["urgency"] = Urgency(urgency if isinstance(urgency, str) else "")
    except ValueError:
        errors[prefix + "urgency"] = _("Urgency is either normal or urgent.")
    return values


def ask_question(meeting_id: Any, actor: User, now: datetime, values: Mapping[str, Any]) -> MeetingQuestion:
    """An invited enterprise sends a question before the meeting: a draft request (category, title,
    description, contact phone, urgency) the host files at the meeting.  Raises :class:`ValidationFailed`,
    :class:`Forbidden`, :class:`NotFound`."""
    meeting = get_meeting(actor, meeting_id, for_update=True)
    invitation = _own_invitation(meeting, actor)
    if meeting.state != MeetingState.SCHEDULED or meeting.starts_at <= now:
        raise ValidationFailed(_("The meeting has begun: raise the question there, or file a request."), {})
    errors: dict[str, str] = {}
    fields_ = _request_fields(values, "", errors)
    if errors:
        raise _refused(errors)
    asked = db.session.scalars(
        select(MeetingQuestion.id).where(
            MeetingQuestion.meeting_id == meeting.id,
            MeetingQuestion.enterprise_id == invitation.enterprise_id,
        )
    ).all()
    if len(asked) >= QUESTIONS_MAX:
        raise ValidationFailed(
            _("At most %(n)d questions are sent to one meeting; bring the others along.", n=QUESTIONS_MAX), {}
        )
    question = MeetingQuestion(
        meeting_id=meeting.id,
        enterprise_id=invitation.enterprise_id,
        asked_by_id=actor.id,
        category=fields_["category"],
        title=fields_["title"],
        description=fields_["description"],
        contact_phone=fields_["contact_phone"],
        urgency=fields_["urgency"],
        created_at=now,
    )
    db.session.add(question)
    if invitation.response == InvitationResponse.PENDING:  # sending a question says it is coming
        invitation.response = InvitationResponse.CONFIRMED
        invitation.responded_at = now
        invitation.responded_by_id = actor.id
    db.session.flush()
    return question


def questions_for(meeting: Meeting, user: User) -> list[MeetingQuestion]:
    """The questions sent to ``meeting`` that ``user`` may read (draft requests: a description, a phone):
    an enterprise's contact its own enterprise's; whoever may change the meeting all; another liaison those
    of enterprises of the buildings it covers; a department none."""
    if user.role == Role.ENTERPRISE:
        return questions_of(meeting, user.enterprise_id if user.enterprise_id is not None else -1)
    if may_change(meeting, user):
        return questions_of(meeting)
    if user.role != Role.LIAISON:
        return []
    own = covered_by(user) or set()
    return [q for q in questions_of(meeting) if q.enterprise.building_id in own]


def questions_of(meeting: Meeting, enterprise_id: int | None = None) -> list[MeetingQuestion]:
    """The questions sent to ``meeting`` (of one enterprise when given), in the order they came; for those
    who may change the meeting (see :func:`questions_for` for a reader)."""
    query = select(MeetingQuestion).where(MeetingQuestion.meeting_id == meeting.id)
    if enterprise_id is not None:
        query = query.where(MeetingQuestion.enterprise_id == enterprise_id)
    return list(
        db.session.scalars(
            query.order_by(MeetingQuestion.id).options(
                selectinload(MeetingQuestion.ticket),
                selectinload(MeetingQuestion.enterprise),
                selectinload(MeetingQuestion.category),
            )
        )
    )


# --------------------------------------------------------------------------- minutes and the requests raised


@dataclass
class _Item:
    """One request of a batch, checked."""

    enterprise: Enterprise
    values: dict[str, Any]
    answer: str
    question: MeetingQuestion | None


def _read_items(
    raw: Any,
    errors: dict[str, str],
    enterprise_of: Any,
    questions: Mapping[int, MeetingQuestion] | None = None,
) -> list[_Item]:
    """Every item of ``raw`` checked, each problem under ``items.<n>.<field>``; ``enterprise_of(item,
    prefix, errors)`` finds (and checks) an item's enterprise."""
    if not isinstance(raw, (list, tuple)) or not raw:
        errors["items"] = _("Enter at least one request.")
        return []
    if len(raw) > ITEMS_MAX:
        errors["items"] = _("At most %(n)d requests are entered at once.", n=ITEMS_MAX)
        return []
    items: list[_Item] = []
    used_questions: set[int] = set()
    for n, item in enumerate(raw):
        prefix = f"items.{n}."
        if not isinstance(item, Mapping):
            errors[f"items.{n}"] = _("Each request is an object of fields.")
            continue
        enterprise = enterprise_of(item, prefix, errors)
        values = _request_fields(item, prefix, errors)
        answer = _text(
            item.get("answer"), prefix + "answer", errors, required=False, limit=TEXT_MAX, multiline=True
        )
        question: MeetingQuestion | None = None
        if item.get("question") not in (None, ""):
            number = whole_number(item.get("question"))
            question = (questions or {}).get(number) if number is not None else None
            if question is None:
                errors[prefix + "question"] = _("Not a question sent to this meeting.")
            elif question.ticket_id is not None or question.id in used_questions:
                errors[prefix + "question"] = _("This question is already filed as a request.")
            elif enterprise is not None and question.enterprise_id != enterprise.id:
                errors[prefix + "question"] = _("This question was sent by another enterprise.")
            else:
                used_questions.add(question.id)
        if enterprise is not None:
            items.append(_Item(enterprise, values, answer, question))
    return items


def _file(
    item: _Item, actor: User, channel: Channel, now: datetime, origin: dict[str, Any], answerer: User
) -> Ticket:
    """File one checked item on the enterprise's behalf; answered on the spot when it carries an answer."""
    values = item.values
    ticket = tickets.submit_ticket(
        actor,
        category=values["category"].code,
        title=values["title"],
        description=values["description"],
        urgency=values["urgency"].value,
        contact_phone=values["contact_phone"],
        now=now,
        enterprise_uscc=item.enterprise.uscc,
        channel=channel.value,
        origin=origin,
    )
    db.session.add(
        TicketOrigin(
            ticket_id=ticket.id,
            meeting_id=origin.get("meeting"),
            visit_id=origin.get("visit"),
            answered_on_the_spot=bool(item.answer),
        )
    )
    if item.question is not None:
        item.question.ticket_id = ticket.id
    if item.answer:
        if answerer.role != Role.LIAISON:
            # A manager answered: the request's liaison of record is the one routing names for the
            # enterprise's building, now rather than by the worker.
            from hotline.routing.services import route_ticket

            if route_ticket(ticket.id, now).liaison_id is None:
                raise _NobodyToAssign()
        tickets.answer_on_the_spot(ticket, answerer, item.answer, now, origin)
    return ticket


class _NobodyToAssign(Exception):
    pass


def _file_all(
    items: list[_Item], actor: User, channel: Channel, now: datetime, origin: dict[str, Any], answerer: User
) -> list[Ticket]:
    """File every item, or none: a refusal met on the way (one the checks before could not foresee: no
    liaison to take a manager's answer at the table) rolls them all back, in a SAVEPOINT, and names its
    row.  (The caller's transaction is rolled back on any refusal too: :func:`hotline.web.perform`.)"""
    nested = db.session.begin_nested()
    filed: list[Ticket] = []
    errors: dict[str, str] = {}
    for n, item in enumerate(items):
        try:
            filed.append(_file(item, actor, channel, now, origin, answerer))
        except ValidationFailed as refused:
            errors.update(
                {f"items.{n}.{k}": v for k, v in refused.fields.items()} or {f"items.{n}": refused.message}
            )
        except _NobodyToAssign:
            errors[f"items.{n}.answer"] = _(
                "No liaison covers this enterprise's building to take the request answered at the table: "
                "file it without an answer, and it waits in the dispatch pool."
            )
    if errors:
        nested.rollback()
        raise _refused(errors)
    nested.commit()
    return filed


def _attendee_finder(meeting: Meeting, actor: User) -> Any:
    """How a batch's row finds its enterprise: invited, or of a building the meeting serves; and for a
    liaison entering the row, of a building it covers (it files on the enterprise's behalf)."""
    served = {b.id for b in meeting.buildings}
    by_code = {i.enterprise.uscc: i.enterprise for i in meeting.invitations}
    own = set(db.session.scalars(covered_building_ids(actor))) if actor.role == Role.LIAISON else None

    def enterprise_of(item: Mapping[str, Any], prefix: str, errors: dict[str, str]) -> Enterprise | None:
        code = item.get("enterprise_uscc", item.get("enterprise"))
        code = uscc_codes.normalise(code) if isinstance(code, str) else ""
        enterprise = by_code.get(code)
        if enterprise is None and code:
            enterprise = db.session.scalars(select(Enterprise).where(Enterprise.uscc == code)).first()
            if enterprise is not None and enterprise.building_id not in served:
                errors[prefix + "enterprise_uscc"] = _(
                    "This enterprise is not in a building the meeting serves."
                )
                return None
        if enterprise is None:
            errors[prefix + "enterprise_uscc"] = _("Choose an enterprise that attended the meeting.")
        elif own is not None and enterprise.building_id not in own:
            errors[prefix + "enterprise_uscc"] = _("This enterprise is not in a building you cover.")
            return None
        return enterprise

    return enterprise_of


def record_minutes(meeting_id: Any, actor: User, now: datetime, values: Mapping[str, Any]) -> Meeting:
    """The host records who came (``attended``: credit codes of the invited, or of walk-in enterprises of
    the meeting's buildings) and a summary (``minutes``); the meeting becomes held.  May be recorded again
    to correct attendance, but an enterprise whose request was raised there stays attended.  Not before
    the meeting starts.  Raises :class:`ValidationFailed`, :class:`Forbidden`, :class:`NotFound`."""
    meeting = get_meeting(actor, meeting_id, for_update=True)
    _require_change(meeting, actor)
    errors: dict[str, str] = {}
    _check_can_hold(meeting, now, errors)
    summary = _text(values.get("minutes"), "minutes", errors, required=False, limit=TEXT_MAX, multiline=True)
    given = values.get("attended") is not None  # not given: the attendance stays as recorded
    codes = _codes(values.get("attended"), "attended", errors, INVITED_MAX)
    attendees: list[Enterprise] = []
    if "attended" not in errors and given:
        attendees = _attendees(meeting, codes, errors)
    raised = _raised_enterprises(meeting) if given else set()
    missing = (
        [
            e.name
            for e in db.session.scalars(select(Enterprise).where(Enterprise.id.in_(raised)))
            if e.id not in {a.id for a in attendees}
        ]
        if raised
        else []
    )
    if missing and "attended" not in errors:
        errors["attended"] = _(
            "Requests were raised at the meeting by %(names)s: they attended.", names="、".join(missing[:5])
        )
    if errors:
        raise _refused(errors)
    if given:
        _mark_attended(meeting, attendees, now, exclusive=True)
    if values.get("minutes") is not None or not meeting.minutes:
        meeting.minutes = summary
    _hold(meeting, now)
    db.session.flush()
    return meeting


def _check_can_hold(meeting: Meeting, now: datetime, errors: dict[str, str]) -> None:
    if meeting.state == MeetingState.CANCELLED:
        raise ValidationFailed(_("The meeting is cancelled: it has no minutes."), {})
    if meeting.starts_at > now:
        raise ValidationFailed(_("The meeting has not begun: its minutes are recorded from its start."), {})


def _attendees(meeting: Meeting, codes: list[str], errors: dict[str, str]) -> list[Enterprise]:
    if not codes:
        return []
    found = list(db.session.scalars(select(Enterprise).where(Enterprise.uscc.in_(codes))))
    served = {b.id for b in meeting.buildings}
    invited = {i.enterprise_id for i in meeting.invitations}
    if len(found) != len(codes):
        errors["attended"] = _("Choose among the meeting's enterprises.")
        return []
    outside = [e.name for e in found if e.id not in invited and e.building_id not in served]
    if outside:
        errors["attended"] = _(
            "Not in a building the meeting serves: %(names)s.", names="、".join(outside[:5])
        )
        return []
    return found


def _raised_enterprises(meeting: Meeting) -> set[int]:
    return set(
        db.session.scalars(
            select(Ticket.enterprise_id)
            .join(TicketOrigin, TicketOrigin.ticket_id == Ticket.id)
            .where(TicketOrigin.meeting_id == meeting.id)
        )
    )


def _mark_attended(
    meeting: Meeting, enterprises: Iterable[Enterprise], now: datetime, *, exclusive: bool
) -> None:
    """Mark ``enterprises`` as attended (walk-ins get an invitation row, ``invited`` false); with
    ``exclusive``, every other invited enterprise as absent."""
    came = {e.id: e for e in enterprises}
    for invitation in list(meeting.invitations):
        if invitation.enterprise_id in came:
            invitation.attended = True
            came.pop(invitation.enterprise_id)
        elif exclusive and not invitation.invited:  # a walk-in recorded by mistake: neither invited nor there
            meeting.invitations.remove(invitation)
        elif exclusive:
            invitation.attended = False
    for enterprise in came.values():
        walk_in = MeetingInvitation(
            meeting=meeting, enterprise_id=enterprise.id, invited=False, invited_at=now, attended=True
        )
        walk_in.enterprise = enterprise
        db.session.add(walk_in)


def _hold(meeting: Meeting, now: datetime) -> None:
    if meeting.state != MeetingState.HELD:
        meeting.state = MeetingState.HELD
        meeting.held_at = now
    meeting.updated_at = now


def file_meeting_requests(meeting_id: Any, actor: User, now: datetime, raw_items: Any) -> list[Ticket]:
    """The requests raised at a meeting, several at once, all or none.

    Each item: ``enterprise_uscc`` (an invited enterprise, or one of the meeting's buildings that walked
    in), ``category``, ``title``, ``description``, ``contact_phone``, ``urgency``, optionally ``question``
    (the id of a question it sent in advance, now filed) and ``answer``: an item answered at the table is
    filed and resolved in one step (assigned to the answering liaison, or for a manager to the liaison of
    record, and the enterprise rates it as any other); the rest are filed with the meeting's channel and
    routed as usual.  Every item's enterprise is marked as attended, and the meeting as held.  Every
    problem is named at its row (``items.<n>.<field>``) and nothing is saved unless all rows are valid.
    Raises :class:`ValidationFailed`, :class:`Forbidden`, :class:`NotFound`.
    """
    meeting = get_meeting(actor, meeting_id, for_update=True)
    _require_change(meeting, actor)
    errors: dict[str, str] = {}
    _check_can_hold(meeting, now, errors)
    questions = {q.id: q for q in questions_of(meeting)}
    items = _read_items(raw_items, errors, _attendee_finder(meeting, actor), questions)
    if errors:
        raise _refused(errors)
    filed = _file_all(items, actor, meeting.channel, now, {"meeting": meeting.id}, actor)
    _mark_attended(meeting, [item.enterprise for item in items], now, exclusive=False)
    _hold(meeting, now)
    db.session.flush()
    return filed


def meeting_requests(meeting: Meeting) -> list[tuple[Ticket, bool]]:
    """The requests raised at ``meeting`` with whether each was answered at the table, in filing order."""
    rows = db.session.execute(
        select(Ticket, TicketOrigin.answered_on_the_spot)
        .join(TicketOrigin, TicketOrigin.ticket_id == Ticket.id)
        .where(TicketOrigin.meeting_id == meeting.id)
        .order_by(Ticket.id)
        .options(selectinload(Ticket.enterprise), selectinload(Ticket.category))
    )
    return [(ticket, bool(answered)) for ticket, answered in rows]


# --------------------------------------------------------------------------- visits


def log_visit(actor: User, now: datetime, values: Mapping[str, Any]) -> tuple[Visit, list[Ticket]]:
    """走访: a liaison logs its visit to an enterprise of its buildings (a manager to any):
    ``enterprise_uscc``,
    ``visited_on`` (a day, not in the future, at most a year back), ``met`` (whom it met), ``notes``, and
    ``items``: the requests raised (fields as a meeting's, without the enterprise), filed with channel
    ``visit``, answered on the spot when they carry an ``answer``.  All or nothing; problems at their
    field or row.  Raises :class:`ValidationFailed`, :class:`Forbidden`."""
    if actor.role not in (Role.LIAISON, Role.MANAGER, Role.ADMIN):
        raise Forbidden(_("Only liaisons and managers log visits."))
    errors: dict[str, str] = {}
    code = values.get("enterprise_uscc")
    code = uscc_codes.normalise(code) if isinstance(code, str) else ""
    enterprise = (
        db.session.scalars(select(Enterprise).where(Enterprise.uscc == code)).first() if code else None
    )
    if enterprise is None:
        errors["enterprise_uscc"] = _("No enterprise with this unified social credit code is registered.")
    elif not may_invite(actor, enterprise):
        errors["enterprise_uscc"] = _("This enterprise is not in a building you cover.")
    day = parse_day(values.get("visited_on"), "visited_on", errors)
    today = local_date(now)
    if day is not None and day > today:
        errors["visited_on"] = _("A visit is logged once it has taken place.")
    elif day is not None and day < today - ENTER_AFTER:
        errors["visited_on"] = _("A visit is logged at most a year after it took place.")
    met = _text(values.get("met"), "met", errors, required=True, limit=MET_MAX)
    notes = _text(values.get("notes"), "notes", errors, required=False, limit=TEXT_MAX, multiline=True)
    raw_items = values.get("items") or []
    items: list[_Item] = []
    if raw_items:

        def of_the_visit(item: Mapping[str, Any], prefix: str, problems: dict[str, str]) -> Enterprise | None:
            return enterprise

        items = _read_items(raw_items, errors, of_the_visit)
    if errors:
        raise _refused(errors)
    assert enterprise is not None and day is not None
    visit = Visit(
        enterprise_id=enterprise.id,
        building_id=enterprise.building_id,
        liaison_id=actor.id,
        visited_on=day,
        met=met,
        notes=notes,
        created_at=now,
        created_by_id=actor.id,
    )
    db.session.add(visit)
    db.session.flush()
    filed = _file_all(items, actor, Channel.VISIT, now, {"visit": visit.id}, actor) if items else []
    return visit, filed


def visible_visits(user: User) -> Select[Visit]:
    """A SELECT of the visits ``user`` may see: staff all, a liaison those to enterprises of its buildings
    and its own, an enterprise's contact its enterprise's."""
    query = select(Visit)
    if user.is_staff:
        return query
    if user.role == Role.LIAISON:
        return query.where(
            or_(Visit.liaison_id == user.id, Visit.building_id.in_(covered_building_ids(user)))
        )
    if user.role == Role.ENTERPRISE and user.enterprise_id is not None:
        return query.where(Visit.enterprise_id == user.enterprise_id)
    return query.where(Visit.id == -1)


def visit_requests(visit: Visit) -> list[Ticket]:
    return list(
        db.session.scalars(
            select(Ticket)
            .join(TicketOrigin, TicketOrigin.ticket_id == Ticket.id)
            .where(TicketOrigin.visit_id == visit.id)
            .order_by(Ticket.id)
        )
    )


def origins_of(ticket_ids: Sequence[int]) -> dict[int, TicketOrigin]:
    """The origin (meeting or visit) of each of ``ticket_ids`` that has one: one query for a page."""
    if not ticket_ids:
        return {}
    return {
        o.ticket_id: o
        for o in db.session.scalars(select(TicketOrigin).where(TicketOrigin.ticket_id.in_(list(ticket_ids))))
    }
