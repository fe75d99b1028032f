"""The managers' reports page (freeze a period, list the reports, read one) and the public definitions."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import StringField

from hotline.auth.access import roles_required
from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.reports import definitions
from hotline.reports import services as reports
from hotline.reports.models import FrozenReport
from hotline.tickets.forms import Required
from hotline.timeutil import local_date
from hotline.web import perform

bp = Blueprint("reports", __name__)


class FreezeForm(FlaskForm):
    start = StringField(_l("First day"), validators=[Required()], render_kw={"type": "date"})
    end = StringField(_l("Last day"), validators=[Required()], render_kw={"type": "date"})


def _index(form: FreezeForm, status: int = 200) -> tuple[str, int]:
    page = db.paginate(reports.reports_query(), per_page=current_app.config["PER_PAGE"], error_out=False)
    return render_template("reports/index.html", form=form, page=page), status


@bp.route("/manage/reports")
@roles_required(Role.MANAGER)
def index() -> tuple[str, int]:
    today = local_date(utcnow())
    last_year = today.year - 1
    form = FreezeForm(
        formdata=None, start=date(last_year, 1, 1).isoformat(), end=date(last_year, 12, 31).isoformat()
    )
    return _index(form)


@bp.route("/manage/reports", methods=["POST"])
@roles_required(Role.MANAGER)
def freeze() -> tuple[str, int] | Response:
    form = FreezeForm()
    if form.validate_on_submit():
        start, end = form.start.data or "", form.end.data or ""
        done = perform(
            lambda: reports.freeze(start, end, current_user, utcnow()),
            form=form,
            field_map={"from": "start", "to": "end"},
        )
        if isinstance(done, FrozenReport):
            flash(_("The figures are frozen (version %(n)d).", n=done.version), "success")
            return redirect(url_for(".show", report_id=done.id))
    return _index(form, 400)


@bp.route("/manage/reports/<int:report_id>")
@roles_required(Role.MANAGER)
def show(report_id: int) -> str:
    try:
        report = reports.report_by_id(report_id)
    except NotFound:
        abort(404)
    return render_template("reports/show.html", report=report)


@bp.route("/public/definitions")
def public_definitions() -> str:
    """What each published figure counts and leaves out, for everyone (no login)."""
    return render_template("reports/definitions.html", definitions=definitions.DEFINITIONS)
