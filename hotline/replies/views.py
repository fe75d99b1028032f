"""The reply templates' pages: the list of one's own and the shared ones, new, edit, archive."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from hotline.auth.access import roles_required
from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.extensions import db
from hotline.i18n import localized_name
from hotline.replies import queries, services
from hotline.replies.forms import ReplyTemplateForm
from hotline.replies.models import ReplyTemplate
from hotline.tickets.forms import choices
from hotline.tickets.models import Category
from hotline.web import perform, refused

bp = Blueprint("replies", __name__)
STAFF = (Role.LIAISON, Role.DEPARTMENT, Role.MANAGER)


def _form(template: ReplyTemplate | None = None) -> ReplyTemplateForm:
    form = ReplyTemplateForm()
    if template is not None and not form.is_submitted():
        form.title.data = template.title
        form.body.data = template.body
        form.category.data = template.category.code if template.category else ""
        form.shared.data = template.shared
    categories = db.session.scalars(select(Category).where(Category.active).order_by(Category.sort_order))
    form.category.choices = choices(((c.code, localized_name(c)) for c in categories), blank=False)
    form.category.choices.insert(0, ("", _("Any category")))
    if not services.may_share(current_user):
        del form.shared
    return form


def _values(form: ReplyTemplateForm, template: ReplyTemplate | None = None) -> dict[str, object]:
    """The form's values for the service; without the shared box (not a manager) a template stays as it is."""
    kept = template.shared if template is not None else False
    return {
        "title": form.title.data,
        "body": form.body.data,
        "category": form.category.data or None,
        "shared": bool(form.shared.data) if "shared" in form else kept,
    }


@bp.route("/replies")
@roles_required(*STAFF)
def index() -> str:
    page = db.paginate(
        queries.visible_templates(current_user),
        per_page=current_app.config["PER_PAGE"],
        max_per_page=100,
        error_out=False,
    )
    return render_template("replies/index.html", page=page, may_edit=services.may_edit)


@bp.route("/replies/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def new() -> ResponseReturnValue:
    form = _form()
    if form.is_submitted():
        if not form.validate():
            return render_template("replies/form.html", form=form, template=None), 400
        values = _values(form)
        done = perform(lambda: services.create_template(current_user, utcnow(), **values), form=form)
        if refused(done):
            return render_template("replies/form.html", form=form, template=None), 400
        flash(_("The reply template has been saved."), "success")
        return redirect(url_for(".index"))
    return render_template("replies/form.html", form=form, template=None)


@bp.route("/replies/<int:template_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit(template_id: int) -> ResponseReturnValue:
    template = queries.get_visible_template(current_user, template_id)
    if not services.may_edit(template, current_user):
        abort(403)
    form = _form(template)
    if form.is_submitted():
        if not form.validate():
            return render_template("replies/form.html", form=form, template=template), 400
        values = _values(form, template)
        done = perform(
            lambda: services.update_template(template_id, current_user, utcnow(), **values), form=form
        )
        if refused(done):
            return render_template("replies/form.html", form=form, template=template), 400
        flash(_("The reply template has been saved."), "success")
        return redirect(url_for(".index"))
    return render_template("replies/form.html", form=form, template=template)


@bp.route("/replies/<int:template_id>/archive", methods=["POST"])
@roles_required(*STAFF)
def archive(template_id: int) -> ResponseReturnValue:
    # CSRF: checked for every POST by the application's CSRFProtect
    perform(lambda: services.archive_template(template_id, current_user, utcnow()), back=url_for(".index"))
    flash(_("The reply template has been archived."), "success")
    return redirect(url_for(".index"))
