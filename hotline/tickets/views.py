"""Pages of the request lifecycle: enterprise portal, liaison workbench, department queue, dispatch pool.

A view parses its form, calls one service, maps domain errors to field errors or a flash, commits once and
redirects.  Every read starts from :func:`hotline.tickets.queries.visible_tickets`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination
from flask_wtf import FlaskForm
from sqlalchemy import Select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.errors import DomainError, Forbidden, InvalidTransition, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.stats.periods import FIRST_YEAR
from hotline.stats.queries import Figures, StatsFilter, summary
from hotline.templating import current_locale
from hotline.tickets import forms, queries, services
from hotline.tickets.models import EventKind, Ticket, TicketState
from hotline.timeutil import local_date
from hotline.web import apply_errors, roles_required

bp = Blueprint("tickets", __name__)

EVERYONE = tuple(Role)

EVENT_LABELS = {
    EventKind.SUBMITTED: _l("Submitted"),
    EventKind.ASSIGNED: _l("Assigned"),
    EventKind.ACKNOWLEDGED: _l("Acknowledged"),
    EventKind.REPLIED: _l("Reply"),
    EventKind.NOTED: _l("Internal note"),
    EventKind.INFO_ADDED: _l("More information from the enterprise"),
    EventKind.TRANSFERRED: _l("Transferred to a department"),
    EventKind.HANDED_BACK: _l("Handed back to the liaison"),
    EventKind.RETURNED: _l("Returned for re-dispatch"),
    EventKind.RETURN_ACCEPTED: _l("Return accepted"),
    EventKind.RETURN_REFUSED: _l("Return refused"),
    EventKind.RESOLVED: _l("Resolved"),
    EventKind.RATED: _l("Rated"),
    EventKind.REOPENED: _l("Reopened"),
    EventKind.CLOSED: _l("Closed"),
    EventKind.WITHDRAWN: _l("Withdrawn"),
    EventKind.POOLED: _l("Waiting in the dispatch pool"),
    EventKind.WARNING: _l("Deadline approaching"),
    EventKind.OVERDUE: _l("Overdue, escalated to supervisors"),
    EventKind.ESCALATED: _l("Escalated to the district managers"),
    EventKind.EXTENSION_REQUESTED: _l("Extension requested"),
    EventKind.EXTENSION_APPROVED: _l("Extension approved"),
    EventKind.EXTENSION_REFUSED: _l("Extension refused"),
    EventKind.CLOCKS_RECOMPUTED: _l("Deadlines recomputed"),
}


def localized_name(row: Any) -> str:
    """A category's or department's name in the page's language (Chinese unless English is chosen)."""
    name_en = getattr(row, "name_en", None)
    if current_locale() == "en" and name_en:
        return str(name_en)
    return str(row.name)


@bp.app_context_processor  # also on pages of other blueprints that render a request (sla)
def _labels() -> dict[str, Any]:
    return {
        "event_labels": EVENT_LABELS,
        "channel_labels": forms.CHANNEL_LABELS,
        "score_labels": forms.SCORE_LABELS,
        "urgency_labels": forms.URGENCY_LABELS,
        "localized_name": localized_name,
        "ticket_states": list(TicketState),
    }


# --------------------------------------------------------------------------- lists


def _page(query: Select[Ticket]) -> Pagination:
    query = query.options(selectinload(Ticket.category), selectinload(Ticket.enterprise))
    return db.paginate(query, per_page=current_app.config["PER_PAGE"], max_per_page=100)


def _state_arg() -> TicketState | None:
    value = request.args.get("state", "")
    return TicketState(value) if value in TicketState.__members__.values() else None


def _list(
    template: str,
    base: Select[Ticket],
    order: Callable[[Select[Ticket]], Select[Ticket]],
    **context: Any,
) -> str:
    """A paginated list of ``base``, narrowed to the ``state`` argument, with counts by state for the tabs."""
    state = _state_arg()
    query = order(base if state is None else base.where(Ticket.state == state))
    return render_template(
        template, page=_page(query), state=state, counts=queries.state_counts(base), **context
    )


def _own_figures(*, liaison_id: int | None = None, enterprise_id: int | None = None) -> Figures:
    """A liaison's figures for the current year (its workbench), or an enterprise's over its whole history
    (its portal): never the district's."""
    if liaison_id is None and enterprise_id is None:
        return Figures()  # a contact without an enterprise has no history, and must not see the district's
    now = utcnow()
    year = local_date(now).year
    start = date(year, 1, 1) if liaison_id is not None else date(FIRST_YEAR, 1, 1)
    flt = StatsFilter(
        start=start, end=date(year + 1, 1, 1), liaison_id=liaison_id, enterprise_id=enterprise_id
    )
    return summary(flt, now)


@bp.route("/portal/")
@roles_required(Role.ENTERPRISE)
def portal() -> str:
    own = _own_figures(enterprise_id=current_user.enterprise_id)
    return _list("tickets/portal.html", queries.visible_tickets(current_user), queries.newest_first, own=own)


@bp.route("/workbench/")
@roles_required(Role.LIAISON)
def workbench() -> str:
    own = _own_figures(liaison_id=current_user.id)
    return _list("tickets/workbench.html", queries.visible_tickets(current_user), queries.open_first, own=own)


@bp.route("/department/")
@roles_required(Role.DEPARTMENT)
def department_queue() -> str:
    return _list("tickets/department.html", queries.visible_tickets(current_user), queries.open_first)


@bp.route("/manage/tickets")
@roles_required(Role.MANAGER)
def all_tickets() -> str:
    q = (request.args.get("q") or "").strip()[: queries.SEARCH_MAX]
    base = queries.search(queries.visible_tickets(current_user), q)
    return _list("tickets/all.html", base, queries.newest_first, q=q)


@bp.route("/manage/pool")
@roles_required(Role.MANAGER)
def pool() -> str:
    waiting = (TicketState.SUBMITTED, TicketState.RETURNED)
    query = queries.open_first(queries.visible_tickets(current_user).where(Ticket.state.in_(waiting)))
    page = _page(query)
    liaisons = queries.assignable_liaisons()
    assign_forms = {
        t.number: _action_form("assign", None, id_prefix=f"assign-{t.number}", liaisons=liaisons)
        for t in page.items
        if t.state == TicketState.SUBMITTED
    }
    return render_template("tickets/pool.html", page=page, assign_forms=assign_forms)


# --------------------------------------------------------------------------- filing


def _category_choices(form: forms.TicketForm) -> None:
    form.category.choices = forms.choices((c.code, localized_name(c)) for c in queries.active_categories())


def _submit(form: forms.RecordForm | forms.TicketForm, **extra: Any) -> Ticket | None:
    """Call the submission service with the form's values; ``None`` (and field errors) if it refuses."""
    try:
        ticket = services.submit_ticket(
            current_user,
            category=form.category.data or "",
            title=form.title.data or "",
            description=form.description.data or "",
            urgency=form.urgency.data or "",
            contact_phone=form.contact_phone.data or "",
            now=utcnow(),
            **extra,
        )
    except ValidationFailed as error:
        db.session.rollback()
        apply_errors(form, error)
        return None
    except Forbidden:
        db.session.rollback()
        abort(403)
    db.session.commit()
    flash(_("Request %(number)s has been filed.", number=ticket.number), "success")
    return ticket


@bp.route("/portal/new", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE)
def new_ticket() -> tuple[str, int] | Response:
    form = forms.TicketForm()
    _category_choices(form)
    if request.method == "GET":
        form.contact_phone.data = current_user.phone
    if form.validate_on_submit() and (ticket := _submit(form)) is not None:
        return redirect(url_for(".detail", number=ticket.number))
    return render_template("tickets/new.html", form=form), 400 if request.method == "POST" else 200


@bp.route("/workbench/record", methods=["GET", "POST"])
@roles_required(Role.LIAISON, Role.MANAGER)
def record() -> tuple[str, int] | Response:
    form = forms.RecordForm()
    _category_choices(form)
    form.enterprise_uscc.choices = forms.choices(
        (e.uscc, f"{e.name} · {e.building.name}") for e in queries.recordable_enterprises(current_user)
    )
    if form.validate_on_submit():
        uscc, channel = form.enterprise_uscc.data or "", form.channel.data or ""
        ticket = _submit(form, enterprise_uscc=uscc, channel=channel)
        if ticket is not None:
            return redirect(url_for(".detail", number=ticket.number))
    return render_template("tickets/record.html", form=form), 400 if request.method == "POST" else 200


# --------------------------------------------------------------------------- the detail page and its actions

Run = Callable[[Ticket, Any, User, datetime], object]


@dataclass(frozen=True)
class Action:
    form: type[FlaskForm]
    run: Run
    title: Any
    done: Any
    button: str = "btn-primary"


ACTIONS: dict[str, Action] = {
    # the enterprise
    "info": Action(
        forms.InfoForm,
        lambda t, f, u, now: services.add_information(t.id, u, f.body.data or "", now),
        _l("Add information"),
        _l("Your information has been added."),
    ),
    "rate": Action(
        forms.RateForm,
        lambda t, f, u, now: services.rate(t.id, u, f.score.data or "", f.comment.data or "", now),
        _l("Rate the answer"),
        _l("Thank you, the rating has been recorded."),
    ),
    "withdraw": Action(
        forms.WithdrawForm,
        lambda t, f, u, now: services.withdraw(t.id, u, f.reason.data or "", now),
        _l("Withdraw the request"),
        _l("The request has been withdrawn."),
        "btn-outline-danger",
    ),
    # the assignee, the department, managers
    "acknowledge": Action(
        forms.AcknowledgeForm,
        lambda t, f, u, now: services.acknowledge(t.id, u, now),
        _l("Acknowledge"),
        _l("You have acknowledged the request."),
    ),
    "reply": Action(
        forms.ReplyForm,
        lambda t, f, u, now: services.reply(t.id, u, f.body.data or "", now),
        _l("Reply"),
        _l("The reply has been sent to the enterprise."),
    ),
    "resolve": Action(
        forms.ResolveForm,
        lambda t, f, u, now: services.resolve(t.id, u, f.answer.data or "", now),
        _l("Resolve"),
        _l("The request is resolved; the enterprise can now rate the answer."),
        "btn-success",
    ),
    "transfer": Action(
        forms.TransferForm,
        lambda t, f, u, now: services.transfer(t.id, u, f.department.data or "", now, note=f.note.data or ""),
        _l("Transfer to a department"),
        _l("The request has been transferred."),
    ),
    "handback": Action(
        forms.HandbackForm,
        lambda t, f, u, now: services.handback(t.id, u, f.body.data or "", now),
        _l("Hand back to the liaison"),
        _l("The request is back with the liaison."),
        "btn-outline-secondary",
    ),
    "return": Action(
        forms.ReturnForm,
        lambda t, f, u, now: services.return_ticket(t.id, u, f.reason.data or "", now),
        _l("Return for re-dispatch"),
        _l("The request has been returned; a manager will review the return."),
        "btn-outline-danger",
    ),
    "note": Action(
        forms.NoteForm,
        lambda t, f, u, now: services.add_note(t.id, u, f.body.data or "", now),
        _l("Internal note"),
        _l("The note has been added."),
        "btn-outline-secondary",
    ),
    "assign": Action(
        forms.AssignForm,
        lambda t, f, u, now: services.assign(t.id, u, f.liaison.data or "", now, reason=f.reason.data or ""),
        _l("Assign to a liaison"),
        _l("The request has been assigned."),
    ),
    "review_return": Action(
        forms.ReviewReturnForm,
        lambda t, f, u, now: services.review_return(
            t.id, u, f.decision.data == "accept", f.note.data or "", now
        ),
        _l("Review the return"),
        _l("The return has been reviewed."),
    ),
}


def _action_form(
    action: str,
    formdata: Mapping[str, Any] | None,
    *,
    id_prefix: str | None = None,
    liaisons: list[User] | None = None,
) -> FlaskForm:
    """The form of ``action``, bound to ``formdata`` (or empty), its choices filled and its ids made unique.

    Several forms share a page and field names (``body``), so each gets ids of its own.
    """
    form = ACTIONS[action].form(formdata=formdata)
    if action == "transfer":
        form.department.choices = forms.choices(
            (d.code, localized_name(d)) for d in queries.active_departments()
        )
    elif action == "assign":
        people = liaisons if liaisons is not None else queries.assignable_liaisons()
        form.liaison.choices = forms.choices((u.username, f"{u.name} ({u.username})") for u in people)
    prefix = id_prefix or action
    for field in form:
        field.id = f"{prefix}-{field.name}"
        field.label.field_id = field.id
    return form


def _visible_or_404(number: str) -> Ticket:
    try:
        return queries.get_visible_ticket(current_user, number)
    except NotFound:
        abort(404)


def _render_detail(ticket: Ticket, bound: Mapping[str, FlaskForm] | None = None) -> str:
    bound = bound or {}
    offered = queries.available_actions(ticket, current_user)
    action_forms = {name: bound.get(name) or _action_form(name, None) for name in ACTIONS if name in offered}
    for name, form in bound.items():
        if name not in offered:  # the form is not on the page: say what was wrong above it
            for errors in form.errors.values():
                for message in errors:
                    flash(message, "danger")
    events = queries.timeline(ticket, include_internal=current_user.role != Role.ENTERPRISE)
    return render_template(
        "tickets/detail.html", ticket=ticket, events=events, action_forms=action_forms, actions=ACTIONS
    )


@bp.route("/tickets/<number>")
@roles_required(*EVERYONE)
def detail(number: str) -> str:
    return _render_detail(_visible_or_404(number))


def _after_action(number: str) -> Response:
    """Back to the request, or to the start page when the action took it out of the user's sight."""
    if request.args.get("next") == "pool" and current_user.is_staff:
        return redirect(url_for(".pool"))
    still_visible = db.session.scalars(
        queries.visible_tickets(current_user).with_only_columns(Ticket.id).where(Ticket.number == number)
    ).first()
    if still_visible is None:
        return redirect(url_for("pages.home"))
    return redirect(url_for(".detail", number=number))


@bp.route("/tickets/<number>/<action>", methods=["POST"])
@roles_required(*EVERYONE)
def act(number: str, action: str) -> tuple[str, int] | Response:
    spec = ACTIONS.get(action)
    if spec is None:
        abort(404)
    ticket = _visible_or_404(number)
    form = _action_form(action, request.form)
    if not form.validate():
        return _render_detail(ticket, {action: form}), 400
    try:
        spec.run(ticket, form, current_user, utcnow())
    except ValidationFailed as error:
        db.session.rollback()
        apply_errors(form, error)
        return _render_detail(_visible_or_404(number), {action: form}), 400
    except (InvalidTransition, Forbidden) as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for(".detail", number=number))
    except NotFound:
        db.session.rollback()
        abort(404)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for(".detail", number=number))
    db.session.commit()
    flash(str(spec.done), "success")
    return _after_action(number)
