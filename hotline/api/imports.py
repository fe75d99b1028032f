"""Imports of the district's spreadsheets through the API (issue 10, point 3).

``POST /api/v1/imports/<kind>?dry_run=1`` with a multipart ``file`` (.xlsx or .csv) answers, row by row,
what it would create, change, leave or refuse and why; the file is kept, and
``POST /api/v1/imports/<id>/apply`` applies it (all rows in one transaction, or none).  ``dry_run=0``
does both at once.  Managers and admins only.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _

from hotline.api import schemas
from hotline.api.auth import api_user, token_required
from hotline.api.views import BEARER, bp, errors_documented
from hotline.db import utcnow
from hotline.errors import ValidationFailed
from hotline.imports import services as imports
from hotline.imports.models import ImportFile
from hotline.web import perform

_FILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            }
        },
    }
}


def _answer(kept: ImportFile, report: imports.Report) -> dict[str, Any]:
    return {
        "id": kept.id,
        "kind": kept.kind.value,
        "filename": kept.filename,
        "applied": kept.applied_at is not None,
        "counts": report.counts,
        "rows": [row.as_dict() for row in report.rows],
    }


@bp.route("/imports/<kind>", methods=["POST"])
@token_required
@bp.arguments(schemas.ImportArgs, location="query")
@errors_documented(401, 403, 404, 413)
@bp.response(200, schemas.ImportReport)
@bp.doc(security=BEARER, **_FILE_BODY)
def upload_import(args: dict[str, Any], kind: str) -> dict[str, Any]:
    """A manager uploads a spreadsheet of `buildings`, `enterprises` or `coverage` (multipart `file`, .xlsx or
    .csv, its first row the column names in Chinese or English).

    A dry run (the default) answers each row's `action` (`create`, `update`, `unchanged`, `refuse`) with
    its `changes` or its `errors`, and keeps the file (`id`).  With `dry_run=0` the rows are applied at once:
    all of them, or — if any is refused — none, answered 400 `validation_failed` (`fields.file` says which
    lines)."""
    user = api_user()
    upload = request.files.get("file")
    if upload is None:
        message = _("Send the spreadsheet as the multipart field “file”.")
        raise ValidationFailed(message, {"file": message})
    content = upload.read()
    filename = upload.filename or ""
    dry_run = args.get("dry_run") is not False

    def work() -> dict[str, Any]:
        kept, report = imports.upload(kind, filename, content, user, utcnow())
        if not dry_run:
            report = imports.apply(kept.id, user, utcnow(), planned=report)
        return _answer(kept, report)

    return perform(work)


@bp.route("/imports/<int:import_id>/apply", methods=["POST"])
@token_required
@errors_documented(401, 403, 404, 409)
@bp.response(200, schemas.ImportReport)
@bp.doc(security=BEARER)
def apply_import(import_id: int) -> dict[str, Any]:
    """A manager applies a file kept by its dry run: it is planned again against the database as it is now,
    and every row is applied in one transaction, or none (400 `validation_failed` when a row is refused
    now, 409 when it was applied before)."""
    user = api_user()

    def work() -> dict[str, Any]:
        report = imports.apply(import_id, user, utcnow())
        kept = imports.kept_file(import_id)
        return _answer(kept, report)

    return perform(work)
