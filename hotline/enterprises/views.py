"""Enterprise pages for liaisons and managers: the list of their enterprises, verification, onboarding; an
enterprise's profile (its requests, figures, meetings and visits), the portal's page of the enterprise for
its own contacts, and a liaison's "my enterprises" (whom it has not seen for a while)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from hotline.auth.access import roles_required, safe_next
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.enterprises import claims, queries
from hotline.enterprises import profile as profiles
from hotline.enterprises.forms import (
    ClaimDecisionForm,
    ContactForm,
    EnterpriseEditForm,
    EnterpriseFilterForm,
    OnboardForm,
    VerifyForm,
)
from hotline.enterprises.models import ClaimState, Enterprise, EnterpriseClaim
from hotline.enterprises.services import (
    add_contact,
    buildings_for_editing,
    buildings_for_onboarding,
    create_enterprise_with_contact,
    remove_contact,
    update_enterprise,
    verify_enterprise,
)
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.meetings import queries as field
from hotline.tickets import paging
from hotline.tickets.models import Ticket, TicketState
from hotline.tickets.queries import SEARCH_MAX
from hotline.timeutil import local_date
from hotline.web import perform

bp = Blueprint("enterprises", __name__)


@bp.route("/enterprises/")
@roles_required(Role.LIAISON, Role.MANAGER)
def index() -> str:
    filters = EnterpriseFilterForm(formdata=request.args)
    filters.validate()
    query = queries.enterprise_list(
        current_user,
        unverified_only=bool(filters.unverified.data),
        search=(filters.q.data or "") if not filters.q.errors else "",
    )
    page = db.paginate(query, per_page=current_app.config["PER_PAGE"], error_out=False)
    counts = queries.contact_counts([e.id for e in page.items])
    return render_template("enterprises/index.html", page=page, counts=counts, filters=filters)


@bp.route("/enterprises/<int:enterprise_id>")
@roles_required(Role.LIAISON, Role.MANAGER)
def detail(enterprise_id: int) -> str:
    enterprise = queries.visible_enterprise(current_user, enterprise_id)
    if enterprise is None:
        abort(404)
    return render_template(
        "enterprises/detail.html",
        enterprise=enterprise,
        contacts=queries.contacts_of(enterprise.id),
        claims=claims.pending_claims_of(enterprise.id),
    )


# --------------------------------------------------------------------------- profiles (issue 12, point 5)

LIST_OPTIONS = (selectinload(Ticket.category), selectinload(Ticket.enterprise))


def _requests_list(enterprise: Enterprise) -> dict[str, Any]:
    """A page of the enterprise's requests the user may see, by the ``state`` and ``q`` arguments, as the
    request lists show them (state tabs with counts, the search box, the table, the pagination)."""
    value = request.args.get("state", "")
    state = TicketState(value) if value in TicketState.__members__.values() else None
    q = (request.args.get("q") or "").strip()[:SEARCH_MAX]
    search_error = None
    try:
        listed = profiles.requests_of(enterprise, current_user, state, q)
    except ValidationFailed as error:  # shown next to the search box; the list stays unsearched
        search_error = error.message
        listed = profiles.requests_of(enterprise, current_user, state)
    page = paging.paginate(
        listed.query,
        listed.parts,
        options=LIST_OPTIONS,
        per_page=current_app.config["PER_PAGE"],
        max_per_page=100,
    )
    return {
        "page": page,
        "state": state,
        "counts": listed.counts,
        "q": q,
        "search": listed.search,
        "search_error": search_error,
    }


@bp.route("/enterprises/<uscc:uscc>")
@login_required
def profile(uscc: str) -> str | Response:
    """The profile of an enterprise for the liaisons of its building and the managers; 404 for anyone else
    (another liaison, a department, another enterprise's contact).  Its own contacts are sent to the
    portal's page of their enterprise."""
    enterprise = queries.visible_enterprise_by_uscc(current_user, uscc)
    if enterprise is None:
        abort(404)
    if current_user.role == Role.ENTERPRISE:
        return redirect(url_for(".own_profile"))
    return render_template(
        "enterprises/profile.html",
        profile=profiles.profile_of(enterprise, current_user, utcnow()),
        **_requests_list(enterprise),
    )


@bp.route("/portal/enterprise")
@roles_required(Role.ENTERPRISE)
def own_profile() -> str | Response:
    """The enterprise's own page for its contacts: its data, its liaisons, its figures, its meetings and
    visits (its requests are the portal's list).  A claimant, attached to no enterprise, goes to the portal,
    which tells it why."""
    enterprise = (
        queries.visible_enterprise(current_user, current_user.enterprise_id)
        if current_user.enterprise_id is not None
        else None
    )
    if enterprise is None:
        return redirect(url_for("tickets.portal"))
    return render_template(
        "enterprises/own_profile.html", profile=profiles.profile_of(enterprise, current_user, utcnow())
    )


@bp.route("/workbench/enterprises")
@roles_required(Role.LIAISON)
def mine() -> str:
    """A liaison's enterprises (those of the buildings it covers), the ones not seen the longest first, with
    their open requests, last visit and last meeting attended; three grouped queries per page."""
    page = db.paginate(
        field.my_enterprises_query(current_user), per_page=current_app.config["PER_PAGE"], error_out=False
    )
    return render_template(
        "enterprises/mine.html",
        page=page,
        rows=field.contacts_of(page.items),
        today=local_date(utcnow()),
        not_seen_days=field.NOT_SEEN_DAYS,
    )


@bp.route("/enterprises/<int:enterprise_id>/verify", methods=["POST"])
@roles_required(Role.LIAISON, Role.MANAGER)
def verify(enterprise_id: int) -> Response:
    form = VerifyForm()
    if not form.validate_on_submit():
        abort(400)
    back = safe_next(form.next.data) or url_for("enterprises.detail", enterprise_id=enterprise_id)
    enterprise = perform(
        lambda: verify_enterprise(enterprise_id, actor=current_user, now=utcnow()), back=back
    )
    assert isinstance(enterprise, Enterprise)
    flash(_("%(name)s is verified.", name=enterprise.name), "success")
    return redirect(back)


@bp.route("/enterprises/new", methods=["GET", "POST"])
@roles_required(Role.LIAISON, Role.MANAGER)
def new() -> str | Response:
    form = OnboardForm()
    buildings = buildings_for_onboarding(current_user)
    choices = [(b.id, f"{b.street.name} · {b.name}") for b in buildings]
    form.building.choices = [(0, _("— choose —")), *choices]
    if form.validate_on_submit():
        enterprise = perform(
            lambda: create_enterprise_with_contact(
                actor=current_user,
                uscc=form.uscc.data or "",
                name=form.name.data or "",
                building_id=form.building.data,
                room=form.room.data or "",
                contact_name=form.contact_name.data or "",
                username=form.username.data or "",
                password=form.password.data or "",
                email=form.email.data or "",
                phone=form.phone.data or "",
                now=utcnow(),
            ),
            form=form,
        )
        if isinstance(enterprise, Enterprise):
            flash(
                _(
                    "%(name)s is onboarded; its contact can log in as %(username)s.",
                    name=enterprise.name,
                    username=form.username.data,
                ),
                "success",
            )
            return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id))
    return render_template("enterprises/new.html", form=form, has_buildings=bool(buildings))


# --------------------------------------------------------------------------- editing and contacts


def _enterprise_or_404(enterprise_id: int) -> Enterprise:
    enterprise = queries.visible_enterprise(current_user, enterprise_id)
    if enterprise is None:
        abort(404)
    return enterprise


@bp.route("/enterprises/<int:enterprise_id>/edit", methods=["GET", "POST"])
@roles_required(Role.LIAISON, Role.MANAGER)
def edit(enterprise_id: int) -> Response | tuple[str, int]:
    enterprise = _enterprise_or_404(enterprise_id)
    form = EnterpriseEditForm(obj=enterprise if request.method == "GET" else None)
    if request.method == "GET":
        form.building.data = enterprise.building_id
    buildings = buildings_for_editing(current_user, enterprise)
    form.building.choices = [SelectChoice(b.id, f"{b.street.name} · {b.name}") for b in buildings]
    if form.validate_on_submit():
        saved = perform(
            lambda: update_enterprise(
                enterprise_id,
                current_user,
                utcnow(),
                name=form.name.data or "",
                building_id=form.building.data,
                room=form.room.data or "",
                industry=form.industry.data or "",
            ),
            form=form,
        )
        if isinstance(saved, Enterprise):
            flash(_("%(name)s is saved.", name=saved.name), "success")
            return redirect(url_for("enterprises.detail", enterprise_id=saved.id))
    return render_template("enterprises/edit.html", form=form, enterprise=enterprise), (
        400 if form.errors else 200
    )


@bp.route("/enterprises/<int:enterprise_id>/contacts/new", methods=["GET", "POST"])
@roles_required(Role.LIAISON, Role.MANAGER)
def new_contact(enterprise_id: int) -> Response | tuple[str, int]:
    enterprise = _enterprise_or_404(enterprise_id)
    form = ContactForm()
    if form.validate_on_submit():
        contact = perform(
            lambda: add_contact(
                enterprise_id,
                current_user,
                utcnow(),
                username=form.username.data or "",
                name=form.name.data or "",
                phone=form.phone.data or "",
                email=form.email.data or "",
                password=form.password.data or "",
            ),
            form=form,
        )
        if isinstance(contact, User):
            flash(
                _("%(name)s can now log in as %(username)s.", name=contact.name, username=contact.username),
                "success",
            )
            return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id))
    status = 400 if form.errors else 200
    return render_template("enterprises/contact_new.html", form=form, enterprise=enterprise), status


@bp.route("/enterprises/<int:enterprise_id>/contacts/<username>/remove", methods=["POST"])
@roles_required(Role.LIAISON, Role.MANAGER)
def remove_contact_view(enterprise_id: int, username: str) -> Response:
    form = VerifyForm()  # the CSRF token only
    if not form.validate_on_submit():
        abort(400)
    back = url_for("enterprises.detail", enterprise_id=enterprise_id)
    contact = perform(lambda: remove_contact(enterprise_id, username, current_user, utcnow()), back=back)
    flash(_("%(name)s is deactivated and can no longer log in.", name=contact.name), "success")
    return redirect(back)


# --------------------------------------------------------------------------- claims


def _claim_state_arg() -> ClaimState | None:
    value = request.args.get("state", ClaimState.PENDING.value)
    if value == "all":
        return None
    return ClaimState(value) if value in ClaimState.__members__.values() else ClaimState.PENDING


@bp.route("/enterprises/claims/")
@roles_required(Role.LIAISON, Role.MANAGER)
def claim_index() -> str:
    state = _claim_state_arg()
    page = db.paginate(
        claims.claim_list(current_user, state), per_page=current_app.config["PER_PAGE"], error_out=False
    )
    return render_template("enterprises/claims.html", page=page, state=state, states=list(ClaimState))


@bp.route("/enterprises/claims/<int:claim_id>", methods=["GET", "POST"])
@roles_required(Role.LIAISON, Role.MANAGER)
def claim_detail(claim_id: int) -> Response | tuple[str, int]:
    claim = claims.visible_claim(current_user, claim_id) if claim_id <= 2**63 - 1 else None
    if claim is None:
        abort(404)
    form = ClaimDecisionForm()
    if claim.state == ClaimState.PENDING and form.validate_on_submit():
        decide = claims.confirm_claim if form.decision.data == "confirm" else claims.reject_claim
        decided = perform(lambda: decide(claim_id, current_user, form.note.data, utcnow()), form=form)
        if isinstance(decided, EnterpriseClaim):
            if decided.state == ClaimState.CONFIRMED:
                flash(
                    _(
                        "%(name)s is now a contact of %(enterprise)s.",
                        name=decided.claimant.name,
                        enterprise=decided.enterprise.name,
                    ),
                    "success",
                )
            else:
                flash(_("The claim is rejected; the claimant is told."), "info")
            return redirect(url_for("enterprises.claim_index"))
    contacts = queries.contacts_of(claim.enterprise_id)
    status = 400 if form.errors else 200
    return render_template("enterprises/claim.html", claim=claim, form=form, contacts=contacts), status
