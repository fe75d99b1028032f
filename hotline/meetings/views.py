"""Pages of the field work: the meetings (政企早茶会, 恳谈会) a user may see, scheduling and changing them,
the invited enterprises' answers and questions, the minutes with the requests raised at the table, the
follow-up agenda for printing, a calendar feed for a phone, and visits (走访).

A view parses its form, calls the services (:mod:`hotline.meetings.services`), puts their refusals next
to the fields (a request row's at its row), commits once and redirects.  Every read starts from
:func:`~hotline.meetings.services.visible_meetings` or :func:`~hotline.meetings.services.visible_visits`:
another's meeting or visit answers 404.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from icalendar import Calendar, Event
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import Field, FieldList

from hotline.auth.access import roles_required
from hotline.auth.labels import role_label
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.enterprises.models import Building, Enterprise, Street
from hotline.enterprises.services import buildings_for_onboarding
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.i18n import localized_name
from hotline.meetings import forms, queries, services
from hotline.meetings.labels import KIND_LABELS
from hotline.meetings.models import (
    InvitationResponse,
    Meeting,
    MeetingInvitation,
    MeetingQuestion,
    MeetingState,
    Visit,
)
from hotline.tickets import queries as ticket_queries
from hotline.tickets.forms import choices
from hotline.tickets.idempotency import intake
from hotline.tickets.idempotency import services as once
from hotline.tickets.idempotency.models import IdempotencyScope
from hotline.tickets.models import Ticket
from hotline.timeutil import local, local_date
from hotline.web import perform

bp = Blueprint("meetings", __name__)

WITH_MEETINGS = (Role.ENTERPRISE, Role.LIAISON, Role.DEPARTMENT, Role.MANAGER)
FIELD_WORKERS = (Role.LIAISON, Role.MANAGER)  # admins pass wherever managers do
FEED_ROLES = (Role.LIAISON, Role.MANAGER, Role.ADMIN)
FEED_LOOKBACK = timedelta(days=90)
FEED_SALT = "meetings-feed"
PICKER_MAX = 2000  # enterprises offered in one picker (a building's "all" box covers the rest)
PICKER_STAFF = 300  # enterprises a manager's picker lists (of the district's many buildings)
USCC_SHAPE = re.compile(r"[0-9A-Z]{18}")  # a credit code ticked in the picker (looked up only if so)
ROW_KEY = re.compile(r"items\.(\d+)(?:\.(\w+))?")


# --------------------------------------------------------------------------- small helpers


def _picker(moment: datetime | None) -> str:
    """A time as the browser's datetime-local picker shows it (Asia/Shanghai)."""
    return "" if moment is None else local(moment).strftime("%Y-%m-%dT%H:%M")


def _status() -> int:
    return 400 if request.method == "POST" else 200


def _detail(meeting_id: int) -> str:
    return url_for(".detail", meeting_id=meeting_id)


def _category_choices(row: Any) -> None:
    row.category.choices = choices((c.code, localized_name(c)) for c in ticket_queries.active_categories())


def _department_choices(form: forms.MeetingFields) -> None:
    form.departments.choices = [(d.code, localized_name(d)) for d in ticket_queries.active_departments()]


def _host_choices(form: forms.MeetingFields) -> None:
    """A manager names the host among the active liaisons and managers (a liaison hosts its own)."""
    if not current_user.is_staff:
        return
    hosts = db.session.scalars(
        select(User)
        .where(User.role.in_((Role.LIAISON, Role.MANAGER, Role.ADMIN)), User.active.is_(True))
        .order_by(User.role, User.name, User.username)
        .limit(PICKER_MAX)
    )
    form.host.choices = choices(
        ((u.username, f"{u.name} ({u.username}) · {role_label(u.role)}") for u in hosts), blank=False
    )


@dataclass
class _Group:
    """One building of the picker: its "all enterprises of it" box and the boxes of its listed enterprises
    (``unlisted``: how many of its enterprises are not listed)."""

    box: Field
    options: list[Field] = field(default_factory=list)
    unlisted: int = 0


@dataclass
class _Picker:
    """The enterprises offered for invitation: the buildings whose enterprises are listed (``groups``),
    then those offered by their box only (``rest``), with the cap that left them out."""

    groups: list[_Group] = field(default_factory=list)
    rest: list[_Group] = field(default_factory=list)
    cap: int = PICKER_MAX
    listable: bool = False  # the page has the button that lists the ticked buildings' enterprises

    @property
    def partial(self) -> bool:
        """Whether some enterprise is not listed (its building's box, or its credit code, invites it)."""
        return bool(self.rest) or any(g.unlisted for g in self.groups)


def _invite_picker(
    form: forms.MeetingFields,
    buildings: Sequence[Building],
    *,
    first: Sequence[int] = (),
    leave_out: Collection[int] = (),
) -> _Picker:
    """Offer the enterprises of ``buildings`` (but ``leave_out``, already invited) to invite, and each
    building's "all of them" box.

    A liaison's buildings are listed with all their enterprises.  A manager's are the district's: the
    enterprises of as many buildings as :data:`PICKER_STAFF` allows are listed, those of the buildings of
    the enterprises ticked and of ``first`` (the buildings the form chose) before the others'; the rest of
    the buildings are offered by their box (and by the credit codes field).  What is ticked stays ticked.
    A few statements, whatever the number of buildings; the page is rendered from the groups (linear)."""
    picker = _Picker(cap=PICKER_STAFF if current_user.is_staff else PICKER_MAX)
    form.invite_buildings.choices = [
        (str(b.id), _("All enterprises of %(building)s", building=b.name)) for b in buildings
    ]
    if not buildings:
        form.invite.choices = []
        return picker
    offered_ids = [b.id for b in buildings]
    counting = (
        select(Enterprise.building_id, func.count())
        .where(Enterprise.building_id.in_(offered_ids))
        .group_by(Enterprise.building_id)
    )
    listing = select(Enterprise).order_by(Enterprise.name, Enterprise.id)
    if leave_out:
        counting = counting.where(Enterprise.id.not_in(list(leave_out)))
        listing = listing.where(Enterprise.id.not_in(list(leave_out)))
    counts: dict[int, int] = {row[0]: row[1] for row in db.session.execute(counting)}

    ticked: list[Enterprise] = []
    codes = [c for c in dict.fromkeys(form.invite.data or []) if USCC_SHAPE.fullmatch(c)]
    if codes:
        ticked = list(
            db.session.scalars(
                listing.where(
                    Enterprise.uscc.in_(codes[: services.INVITED_MAX]),
                    Enterprise.building_id.in_(offered_ids),
                )
            )
        )
    offered_set = set(offered_ids)
    wanted = [b for b in [*(e.building_id for e in ticked), *first] if b in offered_set]
    ahead = set(wanted)
    listed = _within([*wanted, *offered_ids], counts, picker.cap)
    found: list[Enterprise] = []
    if listed:
        found = list(
            db.session.scalars(listing.where(Enterprise.building_id.in_(sorted(listed))).limit(picker.cap))
        )
    known = {e.id for e in found}
    offered = sorted([*found, *(e for e in ticked if e.id not in known)], key=lambda e: (e.name, e.id))
    form.invite.choices = [(e.uscc, e.name) for e in offered]

    options: dict[str, Field] = {option.data: option for option in form.invite}
    by_building: dict[int, list[Field]] = {}
    for enterprise in offered:
        by_building.setdefault(enterprise.building_id, []).append(options[enterprise.uscc])
    chosen: list[_Group] = []
    others: list[_Group] = []
    for building, box in zip(buildings, form.invite_buildings, strict=True):
        group = _Group(box, by_building.get(building.id, []))
        if building.id not in listed:
            group.unlisted = counts.get(building.id, 0) - len(group.options)
        if building.id in listed or group.options:
            (chosen if building.id in ahead else others).append(group)
        else:
            picker.rest.append(group)
    picker.groups = [*chosen, *others]  # the buildings the form chose first, each part in the page's order
    return picker


def _within(order: Sequence[int], counts: Mapping[int, int], cap: int) -> set[int]:
    """The buildings, taken in ``order``, whose enterprises (``counts``) are listed together without
    passing ``cap``: one with too many for what is left is passed over for the next."""
    listed: set[int] = set()
    total = 0
    for building_id in order:
        if building_id not in listed and total + counts.get(building_id, 0) <= cap:
            listed.add(building_id)
            total += counts.get(building_id, 0)
    return listed


def _add_error(target: Field, message: str) -> None:
    errors = list(target.errors) if isinstance(target.errors, (list, tuple)) else []
    errors.append(message)
    target.errors = errors


# --------------------------------------------------------------------------- request rows


def _filled_rows(rows: FieldList) -> list[tuple[Any, dict[str, Any]]]:
    """The rows with something typed in them, each with its values: the n-th is the services' item n."""
    filled = []
    for entry in rows:
        values = forms.row_values(entry.form)
        if not forms.row_is_empty(values):
            filled.append((entry, values))
    return filled


def _too_many_rows() -> bool:
    """Whether the form carries more rows than it reads (the rest would be dropped without a word)."""
    indices = set()
    for key in request.form:
        parts = key.split("-", 2)
        if len(parts) == 3 and parts[0] == "items" and parts[1].isdigit():
            indices.add(parts[1])
    return len(indices) > forms.ROWS_MAX


def _apply(
    form: Any, error: ValidationFailed, entries: Sequence[Any], row_errors: dict[str, list[str]]
) -> None:
    """Put a refusal's messages next to their fields: ``items.<n>.<field>`` at the field of the n-th filled
    row (``entries``), ``items.<n>`` and a hidden field's at the row itself, the form's own fields' at
    them, anything else above the form; then say the refusal's message above it too."""
    for name, message in error.fields.items():
        match = ROW_KEY.fullmatch(name)
        if match is None:
            target = form._fields.get(name)
            if target is not None and not isinstance(target, FieldList):
                _add_error(target, message)
            else:
                flash(message, "danger")
            continue
        n = int(match.group(1))
        if n >= len(entries):
            flash(message, "danger")
            continue
        entry = entries[n]
        sub = match.group(2)
        if sub and sub in entry.form and entry.form[sub].type != "HiddenField":
            _add_error(entry.form[sub], message)
        else:
            row_errors.setdefault(entry.id, []).append(message)
    flash(error.message, "danger")


class _Refusals:
    """The refusals of the services one submission calls, gathered so that all show at once."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.messages: list[str] = []

    @contextmanager
    def collect(self) -> Iterator[None]:
        try:
            yield
        except ValidationFailed as refused:
            for name, message in refused.fields.items():
                self.fields.setdefault(name, message)
            if not refused.fields and refused.message not in self.messages:
                self.messages.append(refused.message)

    def raise_any(self) -> None:
        if self.fields or self.messages:
            message = " ".join(self.messages) or _("Please correct the marked fields.")
            raise ValidationFailed(message + " " + _("Nothing was saved."), self.fields)


@dataclass(frozen=True)
class _Outcome:
    body: Mapping[str, Any]
    replayed: bool  # the form was sent before with its token: this is what it did then


def _once(
    token: str | None, fingerprint: str, work: Callable[[], tuple[dict[str, Any], int | None]]
) -> _Outcome | None:
    """Run ``work`` (which returns the outcome to remember and a request it filed) in the request's one
    transaction, once per one-time form token (:mod:`hotline.tickets.idempotency`): the form sent again
    gets what it did the first time.  None when the first submission is still running (said in a flash).
    A refusal is rolled back and raised (:class:`ValidationFailed`)."""
    key = once.form_token(token)
    if key is None:
        body, _ticket_id = perform(work)
        return _Outcome(body, False)
    get_locale()  # decided now, while the user is loaded: a refusal's rollback expires it
    now = utcnow()
    try:
        claim = once.claim(
            current_user.id,
            IdempotencyScope.FORM,
            key,
            fingerprint,
            now,
            lock_wait=intake.FORM_LOCK_WAIT_SECONDS,
        )
    except once.IdempotencyKeyInFlight:
        db.session.rollback()
        flash(_("This form is still being submitted. Wait a moment, then submit it again."), "warning")
        return None
    if claim.answered:
        db.session.rollback()  # nothing to change: let the row go
        return _Outcome(claim.body if isinstance(claim.body, dict) else {}, True)

    def filed() -> Mapping[str, Any]:
        body, ticket_id = work()
        once.record_answer(claim, status=302, body=body, ticket_id=ticket_id, now=now)
        return body

    return _Outcome(perform(filed), False)


def _visible_ticket_ids(ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    if current_user.is_staff:
        return set(ids)
    query = (
        ticket_queries.visible_tickets(current_user)
        .with_only_columns(Ticket.id)
        .where(Ticket.id.in_(list(ids)))
    )
    return set(db.session.scalars(query))


# --------------------------------------------------------------------------- the list


@bp.route("/meetings/")
@roles_required(*WITH_MEETINGS)
def index() -> str:
    now = utcnow()
    coming = Meeting.ends_at > now  # under way or still to come: first, the soonest first; then the latest
    query = (
        services.visible_meetings(current_user)
        .order_by(
            case((coming, 0), else_=1),
            case((coming, Meeting.starts_at)).asc(),
            Meeting.starts_at.desc(),
            Meeting.id.desc(),
        )
        .options(selectinload(Meeting.buildings), selectinload(Meeting.host))
    )
    page = db.paginate(query, per_page=current_app.config["PER_PAGE"], max_per_page=100, error_out=False)
    ids = [m.id for m in page.items]
    enterprise_id = current_user.enterprise_id if current_user.role == Role.ENTERPRISE else None
    return render_template(
        "meetings/index.html",
        page=page,
        now=now,
        counts=queries.invitation_counts(ids) if enterprise_id is None else {},
        raised=queries.origin_counts(ids) if enterprise_id is None else {},
        answers=queries.invitations_of(enterprise_id, ids) if enterprise_id is not None else {},
        may_schedule=services.may_schedule(current_user),
        feed_url=feed_url(current_user) if current_user.role in FEED_ROLES else None,
    )


# --------------------------------------------------------------------------- scheduling


@bp.route("/meetings/new", methods=["GET", "POST"])
@roles_required(*FIELD_WORKERS)
def new() -> tuple[str, int] | Response:
    form = forms.ScheduleForm()
    buildings = buildings_for_onboarding(current_user)
    form.buildings.choices = [(str(b.id), f"{b.street.name} · {b.name}") for b in buildings]
    form.street.choices = choices(
        (s.code, localized_name(s))
        for s in db.session.scalars(select(Street).where(Street.active.is_(True)).order_by(Street.name))
    )
    _department_choices(form)
    _host_choices(form)
    if request.method == "GET":
        form.host.data = current_user.username
        if len(buildings) == 1:  # a liaison of one building: that one
            form.buildings.data = [str(buildings[0].id)]
    # "List the enterprises of the ticked buildings": the form again, nothing scheduled, nothing refused
    listing = request.method == "POST" and request.form.get("action") == "list"
    if not listing and form.validate_on_submit():
        values = forms.schedule_values(form)
        meeting = perform(lambda: services.schedule_meeting(current_user, utcnow(), values), form=form)
        if isinstance(meeting, Meeting):
            flash(_("The meeting is scheduled; the invited enterprises are told."), "success")
            return redirect(_detail(meeting.id))
    picker = _invite_picker(form, buildings, first=_chosen_buildings(form, buildings))
    picker.listable = True
    page = render_template("meetings/new.html", form=form, picker=picker, has_buildings=bool(buildings))
    return page, 200 if listing else _status()


def _chosen_buildings(form: forms.ScheduleForm, buildings: Sequence[Building]) -> list[int]:
    """The buildings the form chose (ticked, or of the street chosen), among ``buildings``."""
    ticked = set(form.buildings.data or [])
    street = form.street.data or None
    return [b.id for b in buildings if str(b.id) in ticked or b.street.code == street]


# --------------------------------------------------------------------------- one meeting


def _render_detail(meeting: Meeting, question_form: forms.QuestionForm | None = None) -> str:
    now = utcnow()
    enterprise_id = current_user.enterprise_id if current_user.role == Role.ENTERPRISE else None
    # an enterprise sees its own invitation, not who else is invited; another liaison those of its buildings
    invitations = services.invitations_for(meeting, current_user)
    own: MeetingInvitation | None = None
    if enterprise_id is not None:
        own = next((i for i in invitations if i.enterprise_id == enterprise_id), None)
    raised = services.meeting_requests(meeting)
    visible = _visible_ticket_ids([t.id for t, _answered in raised])
    answerable = (
        enterprise_id is not None
        and own is not None
        and meeting.state == MeetingState.SCHEDULED
        and meeting.starts_at > now
    )
    if answerable and question_form is None:
        question_form = forms.QuestionForm(formdata=None)
        question_form.contact_phone.data = current_user.phone
    if question_form is not None:
        _category_choices(question_form)
    may_change = services.may_change(meeting, current_user)
    open_meeting = meeting.state != MeetingState.CANCELLED
    return render_template(
        "meetings/detail.html",
        meeting=meeting,
        invitations=invitations,
        own=own,
        questions=services.questions_for(meeting, current_user),
        raised=[(t, answered) for t, answered in raised if t.id in visible],
        question_form=question_form if answerable else None,
        answerable=answerable,
        can_edit=may_change and open_meeting,
        can_cancel=may_change and meeting.state == MeetingState.SCHEDULED,
        can_record=may_change and open_meeting and meeting.starts_at <= now,
        can_agenda=current_user.role in FEED_ROLES,
        cancel_form=forms.CancelForm(formdata=None),
        staff_side=enterprise_id is None,
    )


@bp.route("/meetings/<int:meeting_id>")
@roles_required(*WITH_MEETINGS)
def detail(meeting_id: int) -> str:
    return _render_detail(services.get_meeting(current_user, meeting_id))


@bp.route("/meetings/<int:meeting_id>/respond", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def respond(meeting_id: int) -> Response:
    form = forms.RespondForm()
    if not form.validate_on_submit():
        abort(400)
    answer = form.response.data or ""
    back = _detail(meeting_id)
    perform(lambda: services.respond(meeting_id, current_user, answer, utcnow()), back=back)
    if answer == "confirmed":
        flash(_("Thank you: you are expected at the meeting."), "success")
    else:
        flash(_("You have declined the invitation."), "success")
    return redirect(back)


@bp.route("/meetings/<int:meeting_id>/questions", methods=["POST"])
@roles_required(Role.ENTERPRISE)
def ask(meeting_id: int) -> tuple[str, int] | Response:
    services.get_meeting(current_user, meeting_id)  # 404 before anything else
    form = forms.QuestionForm()
    if form.validate_on_submit():
        values = {
            "category": form.category.data or "",
            "title": form.title.data or "",
            "description": form.description.data or "",
            "contact_phone": form.contact_phone.data or "",
            "urgency": form.urgency.data or "",
        }
        question = perform(
            lambda: services.ask_question(meeting_id, current_user, utcnow(), values),
            form=form,
            back=_detail(meeting_id),
        )
        if isinstance(question, MeetingQuestion):
            flash(_("Your question is sent: the host brings it to the meeting."), "success")
            return redirect(_detail(meeting_id))
    return _render_detail(services.get_meeting(current_user, meeting_id), form), 400


def _edit_choices(form: forms.EditForm, meeting: Meeting) -> None:
    _department_choices(form)
    _host_choices(form)
    invited = db.session.execute(  # one statement, not one per invitation
        select(Enterprise.uscc, Enterprise.name)
        .join(MeetingInvitation, MeetingInvitation.enterprise_id == Enterprise.id)
        .where(
            MeetingInvitation.meeting_id == meeting.id,
            MeetingInvitation.invited.is_(True),
            MeetingInvitation.attended.is_not(True),
        )
        .order_by(Enterprise.name, Enterprise.id)
    )
    form.uninvite.choices = [(uscc, name) for uscc, name in invited]


def _changes(form: forms.EditForm, meeting: Meeting) -> dict[str, Any]:
    """What the form changes: the time and place only when they differ (a held meeting keeps them)."""
    values = forms.meeting_values(form)
    changes: dict[str, Any] = {name: values[name] for name in ("title", "description", "departments")}
    if meeting.state == MeetingState.SCHEDULED:
        if values["starts_at"] != _picker(meeting.starts_at):
            changes["starts_at"] = values["starts_at"]
        if values["ends_at"] != _picker(meeting.ends_at):
            changes["ends_at"] = values["ends_at"]
        if values["place"].strip() != meeting.place:
            changes["place"] = values["place"]
    if current_user.is_staff and values["host"] and values["host"] != meeting.host.username:
        changes["host"] = values["host"]
    if values["invite"] or values["invite_buildings"]:
        changes["invite"], changes["invite_buildings"] = values["invite"], values["invite_buildings"]
    if form.uninvite.data:
        changes["uninvite"] = list(form.uninvite.data)
    return changes


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@roles_required(*FIELD_WORKERS)
def edit(meeting_id: int) -> tuple[str, int] | Response:
    meeting = services.get_meeting(current_user, meeting_id)
    if not services.may_change(meeting, current_user):
        abort(403)
    if meeting.state == MeetingState.CANCELLED:
        flash(_("The meeting is cancelled: it cannot be changed."), "warning")
        return redirect(_detail(meeting_id))
    form = forms.EditForm()
    if request.method == "GET":
        form.title.data = meeting.title
        form.starts_at.data = _picker(meeting.starts_at)
        form.ends_at.data = _picker(meeting.ends_at)
        form.place.data = meeting.place
        form.description.data = meeting.description
        form.departments.data = [d.code for d in meeting.departments]
        form.host.data = meeting.host.username
    _edit_choices(form, meeting)
    if form.validate_on_submit():
        changes = _changes(form, meeting)
        done = perform(
            lambda: services.update_meeting(meeting_id, current_user, utcnow(), changes),
            form=form,
            back=_detail(meeting_id),
        )
        if isinstance(done, Meeting):
            flash(_("The meeting is changed."), "success")
            return redirect(_detail(meeting_id))
        meeting = services.get_meeting(current_user, meeting_id)
    invited = {i.enterprise_id for i in meeting.invitations}
    picker = _invite_picker(form, meeting.buildings, leave_out=invited)
    return render_template("meetings/edit.html", form=form, meeting=meeting, picker=picker), _status()


@bp.route("/meetings/<int:meeting_id>/cancel", methods=["POST"])
@roles_required(*FIELD_WORKERS)
def cancel(meeting_id: int) -> Response:
    form = forms.CancelForm()
    if not form.validate_on_submit():
        abort(400)
    back = _detail(meeting_id)
    if not form.confirm.data:
        services.get_meeting(current_user, meeting_id)  # 404 for another's
        flash(_("Tick the box to confirm that the meeting is cancelled."), "warning")
        return redirect(back)
    perform(
        lambda: services.update_meeting(meeting_id, current_user, utcnow(), {"state": "cancelled"}), back=back
    )
    flash(_("The meeting is cancelled; the invited enterprises are told."), "success")
    return redirect(back)


# --------------------------------------------------------------------------- the minutes


def _meeting_enterprises(meeting: Meeting) -> tuple[list[Enterprise], list[Enterprise]]:
    """The meeting's enterprises: those with an invitation (or recorded as walk-ins), and those of its
    buildings without one (who may walk in)."""
    with_row = sorted((i.enterprise for i in meeting.invitations), key=lambda e: (e.name, e.id))
    known = {e.id for e in with_row}
    others: list[Enterprise] = []
    if meeting.buildings:
        others = [
            e
            for e in db.session.scalars(
                select(Enterprise)
                .where(Enterprise.building_id.in_([b.id for b in meeting.buildings]))
                .order_by(Enterprise.name, Enterprise.id)
                .limit(PICKER_MAX)
                .options(selectinload(Enterprise.building))
            )
            if e.id not in known
        ]
    return with_row, others


def _row_form(
    prefix: str, row_class: type[forms.VisitRowForm], enterprise_choices: Any
) -> forms.VisitRowForm:
    """The blank row the "add a row" button copies (its ``__index__`` replaced by the next number)."""
    row = row_class(prefix=prefix)
    _fill_row(row, enterprise_choices)
    return row


def _fill_row(row: Any, enterprise_choices: Any) -> None:
    _category_choices(row)
    if "enterprise_uscc" in row:
        row.enterprise_uscc.choices = enterprise_choices


def _question_rows(questions: Sequence[MeetingQuestion]) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(
            enterprise_uscc=q.enterprise.uscc,
            category=q.category.code,
            title=q.title,
            description=q.description,
            contact_phone=q.contact_phone,
            urgency=q.urgency.value,
            answer="",
            question=str(q.id),
        )
        for q in questions
        if q.ticket_id is None
    ]


def _render_minutes(
    meeting: Meeting, form: forms.MinutesForm, row_errors: dict[str, list[str]], enterprise_choices: Any
) -> str:
    questions = {str(q.id): q for q in services.questions_of(meeting)}
    return render_template(
        "meetings/minutes.html",
        meeting=meeting,
        form=form,
        row_errors=row_errors,
        questions=questions,
        not_begun=meeting.starts_at > utcnow(),
        blank_row=_row_form("items-__index__-", forms.MinutesRowForm, enterprise_choices),
    )


@bp.route("/meetings/<int:meeting_id>/minutes", methods=["GET", "POST"])
@roles_required(*FIELD_WORKERS)
def minutes(meeting_id: int) -> tuple[str, int] | Response:
    meeting = services.get_meeting(current_user, meeting_id)
    if not services.may_change(meeting, current_user):
        abort(403)
    if meeting.state == MeetingState.CANCELLED:
        flash(_("The meeting is cancelled: it has no minutes."), "warning")
        return redirect(_detail(meeting_id))
    form = forms.MinutesForm()
    with_row, others = _meeting_enterprises(meeting)
    form.attended.choices = [(e.uscc, e.name) for e in with_row]
    form.walk_ins.choices = [(e.uscc, f"{e.name} · {e.building.name}") for e in others]
    enterprise_choices = choices((e.uscc, e.name) for e in [*with_row, *others])
    if request.method == "GET":
        form.attended.data = [
            i.enterprise.uscc
            for i in meeting.invitations
            if i.attended or (i.attended is None and i.response == InvitationResponse.CONFIRMED)
        ]
        form.minutes.data = meeting.minutes
        for row in _question_rows(services.questions_of(meeting)):
            form.items.append_entry(row)
        for _n in range(forms.EMPTY_ROWS):
            form.items.append_entry()
    for entry in form.items:
        _fill_row(entry.form, enterprise_choices)
    intake.issue_form_token(form.submission_token)
    row_errors: dict[str, list[str]] = {}
    if request.method == "POST" and _too_many_rows():
        flash(_("At most %(n)d rows are sent at once.", n=forms.ROWS_MAX), "danger")
    elif form.validate_on_submit():
        done = _record_minutes(meeting_id, form, row_errors)
        if done is not None:
            return done
        meeting = services.get_meeting(current_user, meeting_id)
    return _render_minutes(meeting, form, row_errors, enterprise_choices), _status()


def _record_minutes(
    meeting_id: int, form: forms.MinutesForm, row_errors: dict[str, list[str]]
) -> Response | None:
    """Attendance and summary, and the filled rows filed, in one transaction; None when refused."""
    rows = _filled_rows(form.items)
    items = [values for _entry, values in rows]
    attended = [*(form.attended.data or []), *(form.walk_ins.data or [])]
    summary = form.minutes.data or ""
    answered = sum(1 for item in items if str(item.get("answer") or "").strip())

    def work() -> tuple[dict[str, Any], int | None]:
        now = utcnow()
        refusals = _Refusals()
        with refusals.collect():
            services.record_minutes(meeting_id, current_user, now, {"attended": attended, "minutes": summary})
        filed: list[Ticket] = []
        if items:
            with refusals.collect():
                filed = services.file_meeting_requests(meeting_id, current_user, now, items)
        refusals.raise_any()
        body = {"meeting": meeting_id, "filed": len(filed), "answered": answered}
        return body, (filed[0].id if filed else None)

    try:
        outcome = _once(form.submission_token.data, f"minutes {meeting_id}", work)
    except ValidationFailed as refused:
        _apply(form, refused, [entry for entry, _values in rows], row_errors)
        return None
    if outcome is None:
        return None
    if outcome.replayed:
        flash(_("This form was already submitted: its minutes are recorded."), "info")
    else:
        flash(
            _(
                "The minutes are recorded: %(filed)d requests filed, %(answered)d of them answered at the "
                "table.",
                filed=int(outcome.body.get("filed", 0)),
                answered=int(outcome.body.get("answered", 0)),
            ),
            "success",
        )
    return redirect(_detail(meeting_id))


# --------------------------------------------------------------------------- the follow-up agenda


@bp.route("/meetings/<int:meeting_id>/agenda")
@roles_required(*FIELD_WORKERS)
def agenda(meeting_id: int) -> str:
    meeting = services.get_meeting(current_user, meeting_id)
    return render_template(
        "meetings/agenda.html", meeting=meeting, agenda=queries.agenda(meeting, current_user)
    )


# --------------------------------------------------------------------------- the calendar feed


def _feed_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=FEED_SALT)


def _password_mark(user: User) -> str:
    """A digest of a fragment of the user's password hash: a new password makes a new one (and so revokes
    the feed's old link), while the link shows nothing of the hash itself."""
    return hashlib.sha256(user.password_hash[-32:].encode()).hexdigest()[:16]


def feed_url(user: User) -> str:
    """The address of ``user``'s calendar feed, for a phone's calendar (which cannot log in)."""
    key = _feed_signer().dumps([user.id, _password_mark(user)])
    return url_for("meetings.feed", key=key, _external=True)


def _feed_user(key: str) -> User | None:
    """The user a feed key names, if the key is good and that user's password unchanged since."""
    try:
        data = _feed_signer().loads(key)
    except BadData:
        return None
    if not (isinstance(data, list) and len(data) == 2 and type(data[0]) is int and isinstance(data[1], str)):
        return None
    if not 0 < data[0] <= services.ID_MAX:
        return None
    user = db.session.get(User, data[0])
    if user is None or not user.active or user.role not in FEED_ROLES:
        return None
    return user if hmac.compare_digest(data[1], _password_mark(user)) else None


def _event(meeting: Meeting, now: datetime, domain: str) -> Event:
    link = url_for(".detail", meeting_id=meeting.id, _external=True)
    about = [
        _("Buildings: %(names)s", names="、".join(b.name for b in meeting.buildings)),
        _("Host: %(name)s", name=meeting.host.name),
    ]
    if meeting.description:
        about.append(meeting.description)
    about.append(link)
    event = Event()
    event.add("uid", f"meeting-{meeting.id}@{domain}")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", meeting.starts_at.astimezone(UTC))
    event.add("dtend", meeting.ends_at.astimezone(UTC))
    event.add("summary", f"{KIND_LABELS[meeting.kind]} · {meeting.title}")
    event.add("location", meeting.place)
    event.add("description", "\n".join(about))
    event.add("url", link)
    event.add("status", "CANCELLED" if meeting.state == MeetingState.CANCELLED else "CONFIRMED")
    # each change moves updated_at on: the seconds since the meeting was made only ever grow
    event.add("sequence", max(0, int((meeting.updated_at - meeting.created_at).total_seconds())))
    event.add("created", meeting.created_at.astimezone(UTC))
    event.add("last-modified", meeting.updated_at.astimezone(UTC))
    return event


@bp.route("/meetings.ics")
def feed() -> Response:
    """The calendar of the meetings a liaison hosts or that serve its buildings (a manager's: those it
    hosts), from 90 days back: for the logged-in user, or for the user a signed ``key`` names."""
    key = request.args.get("key")
    user: User | None = None
    if key:
        user = _feed_user(key)
    elif getattr(current_user, "is_authenticated", False) and current_user.role in FEED_ROLES:
        user = current_user
    if user is None:
        abort(404)
    now = utcnow()
    calendar = Calendar()
    calendar.add("prodid", "-//QiHu WoYing//Meetings//ZH")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _("Meetings of %(name)s", name=user.name))
    domain = urlsplit(str(current_app.config.get("PUBLIC_BASE_URL") or "")).hostname or request.host
    for meeting in queries.feed_meetings(user, now - FEED_LOOKBACK):
        calendar.add_component(_event(meeting, now, domain))
    response = Response(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = 'inline; filename="meetings.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- visits


@bp.route("/visits/")
@roles_required(*FIELD_WORKERS)
def visits() -> str:
    query = (
        services.visible_visits(current_user)
        .order_by(Visit.visited_on.desc(), Visit.id.desc())
        .options(selectinload(Visit.enterprise), selectinload(Visit.building), selectinload(Visit.liaison))
    )
    page = db.paginate(query, per_page=current_app.config["PER_PAGE"], max_per_page=100, error_out=False)
    return render_template("meetings/visits.html", page=page)


@bp.route("/visits/new", methods=["GET", "POST"])
@roles_required(*FIELD_WORKERS)
def new_visit() -> tuple[str, int] | Response:
    form = forms.VisitForm()
    recordable = ticket_queries.recordable_enterprises(current_user)
    form.enterprise_uscc.choices = choices((e.uscc, f"{e.name} · {e.building.name}") for e in recordable)
    if request.method == "GET":
        wanted = request.args.get("enterprise", "")
        if any(e.uscc == wanted for e in recordable):
            form.enterprise_uscc.data = wanted
        form.visited_on.data = local_date(utcnow()).isoformat()
        for _n in range(forms.EMPTY_ROWS):
            form.items.append_entry()
    for entry in form.items:
        _fill_row(entry.form, None)
    intake.issue_form_token(form.submission_token)
    row_errors: dict[str, list[str]] = {}
    if request.method == "POST" and _too_many_rows():
        flash(_("At most %(n)d rows are sent at once.", n=forms.ROWS_MAX), "danger")
    elif form.validate_on_submit():
        done = _log_visit(form, row_errors)
        if done is not None:
            return done
    return render_template(
        "meetings/new_visit.html",
        form=form,
        row_errors=row_errors,
        has_enterprises=bool(recordable),
        blank_row=_row_form("items-__index__-", forms.VisitRowForm, None),
    ), _status()


def _log_visit(form: forms.VisitForm, row_errors: dict[str, list[str]]) -> Response | None:
    rows = _filled_rows(form.items)
    items = [values for _entry, values in rows]
    values = {
        "enterprise_uscc": form.enterprise_uscc.data or "",
        "visited_on": form.visited_on.data or "",
        "met": form.met.data or "",
        "notes": form.notes.data or "",
        "items": items,
    }
    answered = sum(1 for item in items if str(item.get("answer") or "").strip())

    def work() -> tuple[dict[str, Any], int | None]:
        visit, filed = services.log_visit(current_user, utcnow(), values)
        body = {"visit": visit.id, "filed": len(filed), "answered": answered}
        return body, (filed[0].id if filed else None)

    try:
        outcome = _once(form.submission_token.data, "visit", work)
    except ValidationFailed as refused:
        _apply(form, refused, [entry for entry, _values in rows], row_errors)
        return None
    if outcome is None:
        return None
    visit_id = outcome.body.get("visit")
    if outcome.replayed:
        flash(_("This form was already submitted: here is the visit it logged."), "info")
    else:
        flash(
            _(
                "The visit is logged: %(filed)d requests filed, %(answered)d of them answered on the spot.",
                filed=int(outcome.body.get("filed", 0)),
                answered=int(outcome.body.get("answered", 0)),
            ),
            "success",
        )
    if not isinstance(visit_id, int):
        return redirect(url_for(".visits"))
    return redirect(url_for(".visit", visit_id=visit_id))


@bp.route("/visits/<int:visit_id>")
@roles_required(*FIELD_WORKERS)
def visit(visit_id: int) -> str:
    row = db.session.scalars(services.visible_visits(current_user).where(Visit.id == visit_id)).first()
    if row is None:
        abort(404)
    filed = services.visit_requests(row)
    visible = _visible_ticket_ids([t.id for t in filed])
    origins = services.origins_of([t.id for t in filed])
    return render_template(
        "meetings/visit.html",
        visit=row,
        requests=[
            (t, origins[t.id].answered_on_the_spot if t.id in origins else False)
            for t in filed
            if t.id in visible
        ],
    )
