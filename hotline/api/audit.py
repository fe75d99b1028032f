"""The audit log through the API (issue 11, point 6): ``GET /api/v1/audit``, for administrators and
managers, searched like the page."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _

from hotline.api import schemas
from hotline.api.auth import api_user, token_required
from hotline.api.views import BEARER, bp, paginate
from hotline.audit import services as audit
from hotline.errors import ValidationFailed


def _day(value: str | None, field: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors[field] = _("Enter a date like 2026-12-31.")
        return None


@bp.route("/audit", methods=["GET"])
@token_required
@bp.arguments(schemas.AuditListArgs, location="query")
@bp.response(200, schemas.AuditPage)
@bp.doc(security=BEARER)
def list_audit(args: dict[str, Any]) -> dict[str, Any]:
    """The audit log, newest first: who changed accounts and roles, the calendar, the categories' clocks
    and the coverage, which imports were applied, who downloaded which export.  `actor` keeps a part of a
    username or name, `action` one action, `target` a part of the target, `start`/`end` the days (both
    included).  403 for anyone but administrators and managers; 400 for a bad date."""
    user = api_user()
    errors: dict[str, str] = {}
    start = _day(args.get("start"), "start", errors)
    end = _day(args.get("end"), "end", errors)
    if start and end and end < start:
        errors["end"] = _("The last day is before the first.")
    audit.require_reader(user)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    action = args.get("action")
    criteria = audit.AuditSearch(
        actor=args.get("actor") or "",
        action=action.value if action else None,
        target=args.get("target") or "",
        start=start,
        end=end,
    )
    return schemas.page_answer(paginate(audit.search(criteria, user), args))
