"""Frozen reports through the API (issue 11, point 5): managers freeze a period's figures and read them."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from hotline.api import schemas
from hotline.api.auth import api_user, token_required
from hotline.api.views import BEARER, bp, errors_documented, paginate
from hotline.db import utcnow
from hotline.errors import Forbidden
from hotline.reports import services as reports
from hotline.reports.models import FrozenReport
from hotline.web import perform


@bp.route("/reports", methods=["POST"])
@token_required
@bp.arguments(schemas.ReportCreate)
@errors_documented(401, 403)
@bp.response(201, schemas.ReportSchema)
@bp.doc(security=BEARER)
def freeze_report(body: dict[str, Any]) -> tuple[FrozenReport, int]:
    """A manager freezes the figures of `from` to `to` (both days included) as they are now (`as_of`, 截至):
    every figure, the breakdowns by street, category and channel, and the definitions in force.  Later
    changes to the requests never alter it; freezing the same period again makes a new `version`."""
    user = api_user()
    report = perform(lambda: reports.freeze(body.get("from"), body.get("to"), user, utcnow()))
    return report, 201


@bp.route("/reports", methods=["GET"])
@token_required
@bp.arguments(schemas.PageArgs, location="query")
@errors_documented(401, 403)
@bp.response(200, schemas.ReportPage)
@bp.doc(security=BEARER)
def list_reports(args: dict[str, Any]) -> dict[str, Any]:
    """The frozen reports, newest first (managers)."""
    if not api_user().is_staff:
        raise Forbidden(_("Only managers may read frozen reports."))
    query = reports.reports_query().options(selectinload(FrozenReport.created_by))
    return schemas.page_answer(paginate(query, args))


@bp.route("/reports/<int:report_id>", methods=["GET"])
@token_required
@errors_documented(401, 403, 404)
@bp.response(200, schemas.ReportSchema)
@bp.doc(security=BEARER)
def report_detail(report_id: int) -> FrozenReport:
    """One frozen report, whole (managers)."""
    return reports.report_by_id(report_id, api_user())
