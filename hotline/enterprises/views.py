"""Enterprise pages for liaisons and managers: the list of their enterprises, verification, onboarding."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from hotline.auth.access import roles_required, safe_next
from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.enterprises import queries
from hotline.enterprises.forms import EnterpriseFilterForm, OnboardForm, VerifyForm
from hotline.enterprises.models import Enterprise
from hotline.enterprises.services import (
    buildings_for_onboarding,
    create_enterprise_with_contact,
    verify_enterprise,
)
from hotline.extensions import db
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
        "enterprises/detail.html", enterprise=enterprise, contacts=queries.contacts_of(enterprise.id)
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
