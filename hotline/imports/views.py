"""The managers' import pages: upload a spreadsheet, read its dry run row by row, apply it with one click;
and the empty template of each kind, to fill in."""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectField
from wtforms.fields.choices import SelectChoice

from hotline.auth.access import roles_required
from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.errors import NotFound
from hotline.imports import services as imports
from hotline.imports.models import ImportFile, ImportKind
from hotline.imports.reading import COLUMN_LABELS, COLUMNS, TEMPLATE_HEADERS, read_rows
from hotline.tickets.forms import Required
from hotline.web import perform

bp = Blueprint("imports", __name__, url_prefix="/manage/imports")

KIND_LABELS = {
    ImportKind.STREETS: _l("Streets"),
    ImportKind.BUILDINGS: _l("Buildings"),
    ImportKind.LIAISONS: _l(
        "Liaisons (administrators: accounts without a password, set through a reset link)"
    ),
    ImportKind.ENTERPRISES: _l("Enterprises"),
    ImportKind.COVERAGE: _l("Coverage (who covers which building)"),
}
ACTION_LABELS = {
    imports.CREATE: _l("Create"),
    imports.UPDATE: _l("Change"),
    imports.UNCHANGED: _l("Unchanged"),
    imports.REFUSE: _l("Refused"),
}
SHOWN_ROWS = 1000  # a page shows the refused rows first, then the others, up to this many


class UploadForm(FlaskForm):
    kind = SelectField(
        _l("What the file lists"),
        choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
        validators=[Required()],
        validate_choice=False,
    )
    file = FileField(
        _l("Spreadsheet (.xlsx or .csv)"),
        validators=[Required()],
        description=_l("The first row names the columns, as in the templates below."),
    )


class ApplyForm(FlaskForm):
    """The one click: it carries the digest of the dry run shown, so only what the manager read is applied."""

    plan = HiddenField()


def _index(form: UploadForm, status: int = 200) -> tuple[str, int]:
    return (
        render_template(
            "imports/index.html",
            form=form,
            recent=imports.recent_imports(),
            kinds=KIND_LABELS,
            columns=COLUMNS,
            column_labels=COLUMN_LABELS,
            headers=TEMPLATE_HEADERS,
        ),
        status,
    )


@bp.route("")
@roles_required(Role.MANAGER)
def index() -> tuple[str, int]:
    return _index(UploadForm(formdata=None))


@bp.route("", methods=["POST"])
@roles_required(Role.MANAGER)
def upload() -> tuple[str, int] | Response:
    form = UploadForm()
    if form.validate_on_submit():
        sent = form.file.data
        content = sent.read() if sent else b""
        name = (sent.filename if sent else "") or ""
        done = perform(
            lambda: imports.upload(form.kind.data, name, content, current_user, utcnow()), form=form
        )
        if isinstance(done, tuple):
            kept, _report = done
            return redirect(url_for(".show", import_id=kept.id))
    return _index(form, 400)


def _kept(import_id: int) -> ImportFile:
    try:
        return imports.kept_file(import_id)
    except NotFound:
        abort(404)


@bp.route("/<int:import_id>")
@roles_required(Role.MANAGER)
def show(import_id: int) -> str:
    kept = _kept(import_id)
    report = None
    if kept.applied_at is None:  # plan it again, against the database as it is now
        report = imports.plan(kept.kind, read_rows(kept.kind, kept.content), current_user, utcnow())
        rows = sorted(report.rows, key=lambda r: (r.action != imports.REFUSE, r.line))[:SHOWN_ROWS]
    else:
        rows = []
    form = ApplyForm()
    if report is not None:
        form.plan.data = report.digest
    return render_template(
        "imports/show.html",
        kept=kept,
        report=report,
        rows=rows,
        shown=SHOWN_ROWS,
        kinds=KIND_LABELS,
        actions=ACTION_LABELS,
        column_labels=COLUMN_LABELS,
        form=form,
    )


@bp.route("/<int:import_id>/apply", methods=["POST"])
@roles_required(Role.MANAGER)
def apply(import_id: int) -> Response:
    form = ApplyForm()
    if not form.validate_on_submit():
        abort(400)
    back = url_for(".show", import_id=import_id)
    try:
        shown = form.plan.data or None
        report = perform(lambda: imports.apply(import_id, current_user, utcnow(), shown=shown), back=back)
    except NotFound:
        abort(404)
    counts = report.counts
    flash(
        _(
            "Imported: %(created)d created, %(changed)d changed, %(same)d unchanged.",
            created=counts[imports.CREATE],
            changed=counts[imports.UPDATE],
            same=counts[imports.UNCHANGED],
        ),
        "success",
    )
    return redirect(back)


@bp.route("/template/<kind>.xlsx")
@roles_required(Role.MANAGER)
def template(kind: str) -> Response:
    """An empty workbook with the kind's header row (Chinese column names)."""
    from openpyxl import Workbook

    try:
        import_kind = ImportKind(kind)
    except ValueError:
        abort(404)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(TEMPLATE_HEADERS[import_kind]))
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return send_file(
        buffer,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"{import_kind.value}.xlsx",
    )
