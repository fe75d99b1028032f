"""Administration: user accounts (list, create staff accounts, change them, deactivate and reactivate, make
password reset links to hand over)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import ColumnElement, or_, select
from werkzeug.wrappers import Response

from hotline.admin.forms import (
    STAFF_ROLES,
    ActiveForm,
    EditUserForm,
    NewUserForm,
    ResetLinkForm,
    UserFilterForm,
)
from hotline.auth import resets
from hotline.auth import services as accounts
from hotline.auth.access import roles_required, safe_next
from hotline.auth.labels import role_label
from hotline.auth.models import Role, User
from hotline.auth.queries import user_list
from hotline.db import utcnow
from hotline.enterprises.models import Department
from hotline.extensions import db
from hotline.web import perform, refused

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@roles_required(Role.ADMIN)
def users() -> str:
    filters = UserFilterForm(formdata=request.args)
    filters.role.choices = [("", _("All roles"))] + [(role.value, role_label(role)) for role in Role]
    filters.validate()
    role = Role(filters.role.data) if filters.role.data and not filters.role.errors else None
    term = "" if filters.q.errors else (filters.q.data or "")
    query = user_list(role=role, term=term)
    page = db.paginate(query, per_page=current_app.config["PER_PAGE"], error_out=False)
    return render_template("admin/users.html", page=page, filters=filters)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_user() -> str | Response:
    form = NewUserForm()
    form.role.choices = [(role.value, role_label(role)) for role in STAFF_ROLES]
    form.department.choices = _department_choices()
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


def _department_choices(keep: Department | None = None) -> list[tuple[str, str]]:
    """The active departments, and ``keep`` (a user's own, even when retired: editing its phone must not
    fail on a department it cannot be given again)."""
    english = str(get_locale() or "") == "en"
    wanted: ColumnElement[bool] = Department.active.is_(True)
    if keep is not None:
        wanted = or_(wanted, Department.id == keep.id)
    departments = db.session.scalars(select(Department).where(wanted).order_by(Department.name)).all()
    named = [(d.code, (d.name_en or d.name) if english else d.name) for d in departments]
    return [("", _("— choose —")), *named]


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _edit_form(user: User, submitted: bool) -> EditUserForm:
    """The edit form: the account's values, or (``submitted``) the values posted."""
    stored = {
        "role": user.role.value,
        "department": user.department.code if user.department else "",
        "active": "1" if user.active else "0",
    }
    form = EditUserForm() if submitted else EditUserForm(formdata=None, obj=user, data=stored)
    # an enterprise contact stays one, and staff stay staff: only the roles it can take are offered
    roles = [Role.ENTERPRISE] if user.role == Role.ENTERPRISE else list(STAFF_ROLES)
    form.role.choices = [(role.value, role_label(role)) for role in roles]
    form.department.choices = _department_choices(keep=user.department)
    form.active.choices = [("1", _("Active")), ("0", _("Deactivated"))]
    return form


def _edit_page(form: EditUserForm, user: User, link: dict[str, object] | None = None) -> str:
    return render_template(
        "admin/edit_user.html", form=form, user=user, reset_form=ResetLinkForm(), link=link
    )


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_user(user_id: int) -> str | Response:
    """Change an account's name, role, department, phone, email and status; refusals next to the fields.
    The page also holds the button that makes a password reset link."""
    user = _user(user_id)
    form = _edit_form(user, submitted=request.method == "POST")
    if form.validate_on_submit():
        changed = perform(
            lambda: accounts.update_user(
                user.id,
                current_user,
                utcnow(),
                name=form.name.data or "",
                phone=form.phone.data or "",
                email=form.email.data or "",
                role=form.role.data or "",
                department_code=form.department.data or None,
                active=form.active.data == "1",
            ),
            form=form,
        )
        if not refused(changed):
            flash(_("The account %(username)s is saved.", username=user.username), "success")
            return redirect(url_for("admin.users"))
    return _edit_page(form, user)


@bp.route("/users/<int:user_id>/reset-link", methods=["POST"])
@roles_required(Role.ADMIN)
def reset_link(user_id: int) -> str:
    """Make a single-use password reset link for the account and show it once, to hand over in person
    (the page is not cached: ``Cache-Control: no-store`` on every page)."""
    user = _user(user_id)
    if not ResetLinkForm().validate_on_submit():
        abort(400)
    back = url_for("admin.edit_user", user_id=user.id)
    url, expires_at = perform(
        lambda: resets.issue_reset_link(user.username, current_user, utcnow()), back=back
    )
    return _edit_page(_edit_form(user, submitted=False), user, {"url": url, "expires_at": expires_at})
