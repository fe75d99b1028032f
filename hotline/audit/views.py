"""The audit log's page, for administrators and managers: search by who, action, target and dates."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from hotline.audit import services as audit
from hotline.audit.forms import AuditFilterForm
from hotline.audit.labels import action_label, details_text
from hotline.auth.access import roles_required
from hotline.auth.labels import role_label
from hotline.auth.models import Role
from hotline.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/manage/audit")


def criteria_of(form: AuditFilterForm) -> audit.AuditSearch:
    """The search a validated filter form asks for; a field with an error is left out (shown beside it)."""

    def good(field: object) -> bool:
        return not getattr(field, "errors", None)

    return audit.AuditSearch(
        actor=(form.actor.data or "") if good(form.actor) else "",
        action=(form.action.data or None) if good(form.action) else None,
        target=(form.target.data or "") if good(form.target) else "",
        start=form.start.data if good(form.start) else None,
        end=form.end.data if good(form.end) else None,
    )


@bp.get("")
@roles_required(Role.MANAGER)
def log() -> str:
    """The entries, newest first, a page at a time."""
    form = AuditFilterForm(formdata=request.args)
    form.validate()
    query = audit.search(criteria_of(form), current_user)
    page = db.paginate(query, per_page=current_app.config["PER_PAGE"], error_out=False)
    return render_template(
        "audit/log.html",
        page=page,
        filters=form,
        action_label=action_label,
        role_label=_role_label,
        details_text=details_text,
    )


def _role_label(role: str) -> str:
    """The stored role's name in the current language (a role since removed, as stored)."""
    try:
        return role_label(Role(role))
    except ValueError:
        return role
