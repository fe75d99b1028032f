"""Pages of the request lifecycle: enterprise portal, liaison workbench, department queue, dispatch pool.

A view parses its form, calls one service, maps domain errors to field errors or a flash, commits once and
redirects.  Every read starts from :func:`hotline.tickets.queries.visible_tickets`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination
from flask_wtf import FlaskForm
from sqlalchemy import Select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from hotline.auth import services as accounts
from hotline.auth.access import roles_required
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.enterprises.claims import latest_claim_of
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.i18n import localized_name
from hotline.tickets import forms, paging, queries, services, workflow
from hotline.tickets.idempotency import intake
from hotline.tickets.models import Ticket, TicketState
from hotline.tickets.workflow import ACTIONS, Action
from hotline.timeutil import local_date
from hotline.web import perform, refused

bp = Blueprint("tickets", __name__)

EVERYONE = tuple(Role)


# --------------------------------------------------------------------------- lists


LIST_OPTIONS = (selectinload(Ticket.category), selectinload(Ticket.enterprise))


def _page(query: Select[Ticket], parts: list[paging.Segment]) -> Pagination:
    return paging.paginate(
        query, parts, options=LIST_OPTIONS, per_page=current_app.config["PER_PAGE"], max_per_page=100
    )


def _state_arg() -> TicketState | None:
    value = request.args.get("state", "")
    return TicketState(value) if value in TicketState.__members__.values() else None


def _search_arg() -> str:
    return (request.args.get("q") or "").strip()[: queries.SEARCH_MAX]


def _list(template: str, order: paging.Order, **context: Any) -> str:
    """A page of the requests the user may see, in ``order``, narrowed to the ``state`` and ``q`` (search)
    arguments, with counts by state for the tabs (those of the search's matches when searching)."""
    state, q = _state_arg(), _search_arg()
    base = queries.visible_tickets(current_user)
    found, search_error = None, None
    if q:
        try:
            found = queries.search(base, q)
        except ValidationFailed as error:  # shown next to the search box; the list stays unsearched
            search_error = error.message
    if found is not None and found.terms:
        base = found.query  # the newest SEARCH_LIMIT matches at most: counted by state in one cheap query
        counts = queries.state_counts(base)
    else:
        counts = queries.visible_state_counts(current_user)
    query = base if state is None else base.where(Ticket.state == state)
    page = _page(query, paging.segments(order, counts, state))
    return render_template(
        template,
        page=page,
        state=state,
        counts=counts,
        q=q,
        search=found,
        search_error=search_error,
        **context,
    )


@bp.route("/portal/")
@roles_required(Role.ENTERPRISE)
def portal() -> str:
    # An account attached to no enterprise is a claimant (hotline.enterprises.claims): it is told its claim.
    claim = latest_claim_of(current_user) if current_user.enterprise_id is None else None
    return _list("tickets/portal.html", "newest", claim=claim)


@bp.route("/workbench/")
@roles_required(Role.LIAISON)
def workbench() -> str:
    return _list("tickets/workbench.html", "open_first")


@bp.route("/department/")
@roles_required(Role.DEPARTMENT)
def department_queue() -> str:
    return _list("tickets/department.html", "open_first")


@bp.route("/manage/tickets")
@roles_required(Role.MANAGER)
def all_tickets() -> str:
    return _list("tickets/all.html", "newest")


@bp.route("/manage/pool")
@roles_required(Role.MANAGER)
def pool() -> str:
    waiting = (TicketState.SUBMITTED, TicketState.RETURNED)
    query = queries.visible_tickets(current_user).where(Ticket.state.in_(waiting))
    counts = queries.state_counts(query)  # open work only: a few thousand rows of a partial range
    page = _page(query, paging.segments("open_first", counts, None))
    liaisons = queries.assignable_liaisons()
    assign_forms = {
        t.number: _action_form(ACTIONS["assign"], None, id_prefix=f"assign-{t.number}", liaisons=liaisons)
        for t in page.items
        if t.state == TicketState.SUBMITTED
    }
    return render_template("tickets/pool.html", page=page, assign_forms=assign_forms)


# --------------------------------------------------------------------------- liaisons and handover


def _liaisons_page(
    forms_by_username: dict[str, forms.HandoverForm] | None = None,
    leave_forms: dict[str, forms.LeaveForm] | None = None,
) -> str:
    """Every liaison with the buildings it covers, whether it is on leave, the open requests it holds and a
    form to hand them over to another liaison (a manager's page: a liaison leaving or away for long)."""
    rows = queries.liaison_overview()
    takers = forms.choices(
        (liaison.username, f"{liaison.name} ({liaison.username})")
        for liaison in queries.assignable_liaisons()
    )
    handover_forms = dict(forms_by_username or {})
    for row in rows:
        if row.held and row.user.username not in handover_forms:
            handover_forms[row.user.username] = forms.HandoverForm(formdata=None)
    for username, form in handover_forms.items():
        form.to.choices = [c for c in takers if c.value != username]
        form.to.id, form.reason.id = f"handover-{username}-to", f"handover-{username}-reason"  # one page
    leave = dict(leave_forms or {})
    for row in rows:
        if row.user.active and row.user.username not in leave:
            form = forms.LeaveForm(formdata=None)
            form.leave_from.data = row.user.leave_from.isoformat() if row.user.leave_from else ""
            form.leave_until.data = row.user.leave_until.isoformat() if row.user.leave_until else ""
            leave[row.user.username] = form
    for username, form in leave.items():
        form.leave_from.id, form.leave_until.id = f"leave-{username}-from", f"leave-{username}-until"
    today = local_date(utcnow())
    return render_template(
        "tickets/liaisons.html", rows=rows, handover_forms=handover_forms, leave_forms=leave, today=today
    )


@bp.route("/manage/liaisons")
@roles_required(Role.MANAGER)
def liaisons() -> str:
    return _liaisons_page()


@bp.route("/manage/liaisons/<username>/handover", methods=["POST"])
@roles_required(Role.MANAGER)
def hand_over(username: str) -> tuple[str, int] | Response:
    form = forms.HandoverForm()
    if form.validate_on_submit():
        to = form.to.data or ""
        done = perform(
            lambda: services.hand_over_workload(username, current_user, to, form.reason.data or "", utcnow()),
            form=form,
        )
        if isinstance(done, services.Handover):
            if done.handed_over:
                count = len(done.handed_over)
                flash(_("%(n)d open requests handed over to %(to)s.", n=count, to=done.to_name), "success")
            for number, why in done.kept:
                flash(_("%(number)s stays: %(reason)s", number=number, reason=why), "warning")
            return redirect(url_for(".liaisons"))
    return _liaisons_page({username: form}), 400


@bp.route("/manage/liaisons/<username>/leave", methods=["POST"])
@roles_required(Role.MANAGER)
def set_leave(username: str) -> tuple[str, int] | Response:
    form = forms.LeaveForm()
    if form.validate_on_submit():
        start, end = form.leave_from.data or "", form.leave_until.data or ""
        done = perform(
            lambda: accounts.set_leave(username, current_user, start, end, utcnow()),
            form=form,
        )
        if isinstance(done, User):
            if done.leave_from is not None:
                flash(
                    _(
                        "%(name)s is on leave from %(start)s to %(end)s: new requests go to the deputies.",
                        name=done.name,
                        start=done.leave_from.isoformat(),
                        end=(done.leave_until or done.leave_from).isoformat(),
                    ),
                    "success",
                )
            else:
                flash(_("%(name)s has no leave set.", name=done.name), "success")
            return redirect(url_for(".liaisons"))
    return _liaisons_page(leave_forms={username: form}), 400


# --------------------------------------------------------------------------- filing


def _category_choices(form: forms.TicketForm) -> None:
    form.category.choices = forms.choices((c.code, localized_name(c)) for c in queries.active_categories())


def _submit(
    form: forms.RecordForm | forms.TicketForm, *, with_files: bool = False, **extra: Any
) -> str | None:
    """Call the submission service with the form's values; the new request's number, or ``None`` (and
    field errors) if it refuses.  ``with_files``: the files of the form's ``file`` field are attached in the
    same transaction (a refused file refuses the filing, said at the field)."""
    uploads = [u for u in request.files.getlist("file") if u.filename] if with_files else []

    def work() -> Ticket:
        ticket = file()
        if uploads:
            from hotline.attachments.services import attach_many

            attach_many(ticket.id, current_user, uploads, None, utcnow())
        return ticket

    def file() -> Ticket:
        return services.submit_ticket(
            current_user,
            category=form.category.data or "",
            title=form.title.data or "",
            description=form.description.data or "",
            urgency=form.urgency.data or "",
            contact_phone=form.contact_phone.data or "",
            now=utcnow(),
            **extra,
        )

    # once per form token: a form sent again (double click, back and resubmit) gets the request it filed
    number, filed_before = intake.file_form_once(current_user, form.submission_token.data, work, form=form)
    if number is None:
        return None
    if filed_before:
        flash(_("This form was already submitted: here is request %(number)s.", number=number), "info")
    else:
        flash(_("Request %(number)s has been filed.", number=number), "success")
    return number


def _checking_similar() -> bool:
    """The form was sent with its "Check for similar requests" button (hotline.merge): shown again with the
    requests like it, not filed."""
    return request.method == "POST" and "check_similar" in request.form


def _form_status(checking: bool) -> int:
    return 400 if request.method == "POST" and not checking else 200


@bp.route("/portal/new", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE)
def new_ticket() -> tuple[str, int] | Response:
    form = forms.TicketForm()
    if request.method == "GET":
        form.contact_phone.data = current_user.phone
    checking = _checking_similar()
    if not checking and form.validate_on_submit() and (number := _submit(form, with_files=True)) is not None:
        return redirect(url_for(".detail", number=number))
    _category_choices(form)  # for the page only: the service checks the category chosen
    intake.issue_form_token(form.submission_token)
    return render_template("tickets/new.html", form=form), _form_status(checking)


@bp.route("/workbench/record", methods=["GET", "POST"])
@roles_required(Role.LIAISON, Role.MANAGER)
def record() -> tuple[str, int] | Response:
    form = forms.RecordForm()
    _category_choices(form)
    form.enterprise_uscc.choices = forms.choices(
        (e.uscc, f"{e.name} · {e.building.name}") for e in queries.recordable_enterprises(current_user)
    )
    checking = _checking_similar()
    if not checking and form.validate_on_submit():
        uscc, channel = form.enterprise_uscc.data or "", form.channel.data or ""
        number = _submit(form, enterprise_uscc=uscc, channel=channel)
        if number is not None:
            return redirect(url_for(".detail", number=number))
    intake.issue_form_token(form.submission_token)
    return render_template("tickets/record.html", form=form), _form_status(checking)


# --------------------------------------------------------------------------- the detail page and its actions


def _action_form(
    action: Action,
    formdata: Mapping[str, Any] | None,
    *,
    id_prefix: str | None = None,
    liaisons: list[User] | None = None,
) -> FlaskForm:
    """The form of ``action``, bound to ``formdata`` (or empty), its choices filled and its ids made unique.

    Several forms share a page and field names (``body``), so each gets ids of its own.
    """
    form = forms.action_form_class(action)(formdata=formdata)
    for spec in action.fields:
        if spec.choices == "departments":
            departments = queries.active_departments()
            form[spec.name].choices = forms.choices((d.code, localized_name(d)) for d in departments)
        elif spec.choices == "liaisons":
            people = liaisons if liaisons is not None else queries.assignable_liaisons()
            form[spec.name].choices = forms.choices((u.username, f"{u.name} ({u.username})") for u in people)
    prefix = id_prefix or action.name
    for field in form:
        field.id = f"{prefix}-{field.name}"
        field.label.field_id = field.id
    return form


def _render_detail(ticket: Ticket, bound: Mapping[str, FlaskForm] | None = None) -> str:
    bound = bound or {}
    offered = workflow.offered(ticket, current_user)
    action_forms = {a.name: bound.get(a.name) or _action_form(a, None) for a in offered}
    for name, form in bound.items():
        if name not in action_forms:  # the form is not on the page: say what was wrong above it
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
    return _render_detail(queries.get_visible_ticket(current_user, number))


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
    """Any action of the lifecycle table: the form is the row's, the service the one bound to it."""
    spec = ACTIONS.get(action)
    if spec is None or not workflow.bound(action):
        abort(404)
    ticket = queries.get_visible_ticket(current_user, number)
    form = _action_form(spec, request.form)
    if not form.validate():
        return _render_detail(ticket, {action: form}), 400
    values = forms.form_values(spec, form)
    done = perform(
        lambda: workflow.run(action, ticket.id, current_user, values, utcnow()),
        form=form,
        back=url_for(".detail", number=number),
    )
    if refused(done):
        return _render_detail(queries.get_visible_ticket(current_user, number), {action: form}), 400
    flash(str(spec.done), "success")
    return _after_action(number)
