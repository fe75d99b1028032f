"""Administration: user accounts (list, create staff accounts, deactivate and reactivate)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from hotline.admin.forms import STAFF_ROLES, ActiveForm, NewUserForm, UserFilterForm
from hotline.auth import services as accounts
from hotline.auth.access import roles_required, safe_next
from hotline.auth.labels import role_label
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.enterprises.models import Department
from hotline.extensions import db
from hotline.web import perform

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@roles_required(Role.ADMIN)
def users() -> str:
    filters = UserFilterForm(formdata=request.args)
    filters.role.choices = [("", _("All roles"))] + [(role.value, role_label(role)) for role in Role]
    filters.validate()
    query = select(User).options(selectinload(User.enterprise), selectinload(User.department))
    if filters.role.data and not filters.role.errors:
        query = query.where(User.role == Role(filters.role.data))
    term = (filters.q.data or "").strip()
    if term and not filters.q.errors:
        query = query.where(
            or_(User.username.icontains(term, autoescape=True), User.name.icontains(term, autoescape=True))
        )
    query = query.order_by(User.username)
    page = db.paginate(query, per_page=current_app.config["PER_PAGE"], error_out=False)
    return render_template("admin/users.html", page=page, filters=filters)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_user() -> str | Response:
    form = NewUserForm()
    form.role.choices = [(role.value, role_label(role)) for role in STAFF_ROLES]
    english = str(get_locale() or "") == "en"
    departments = db.session.scalars(
        select(Department).where(Department.active.is_(True)).order_by(Department.name)
    ).all()
    form.department.choices = [("", _("— choose —"))] + [
        (d.code, (d.name_en or d.name) if english else d.name) for d in departments
    ]
    if form.validate_on_submit():
        user = perform(
            lambda: accounts.create_user(
                username=form.username.data or "",
                password=form.password.data or "",
                name=form.name.data or "",
                role=form.role.data or "",
                email=form.email.data or "",
                phone=form.phone.data or "",
                department_code=form.department.data or None,
                actor=current_user,
                now=utcnow(),
            ),
            form=form,
        )
        if isinstance(user, User):
            flash(
                _(
                    "The account %(username)s (%(role)s) is created.",
                    username=user.username,
                    role=role_label(user.role),
                ),
                "success",
            )
            return redirect(url_for("admin.users"))
    return render_template("admin/new_user.html", form=form)


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles_required(Role.ADMIN)
def toggle_active(user_id: int) -> Response:
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    back = safe_next(form.next.data) or url_for("admin.users")
    user = perform(
        lambda: accounts.set_user_active(user_id, form.active.data == "1", actor=current_user, now=utcnow()),
        back=back,
    )
    assert isinstance(user, User)
    if user.active:
        flash(_("%(username)s can log in again.", username=user.username), "success")
    else:
        flash(_("%(username)s is deactivated and logged out everywhere.", username=user.username), "success")
    return redirect(back)
