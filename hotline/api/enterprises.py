"""Enterprises through the API: the ones the caller may see, and their verification.

What the caller sees is :func:`hotline.enterprises.services.visible_enterprises`: staff all, a liaison those
of the buildings it covers, an enterprise contact its own, department staff none.  Enterprises are
addressed by their 统一社会信用代码; one the caller may not see answers 404, as requests do.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from hotline.api import schemas
from hotline.api.auth import api_user, token_required
from hotline.api.views import BEARER, bp, paginate
from hotline.auth.models import User
from hotline.db import utcnow
from hotline.enterprises import queries
from hotline.enterprises import uscc as uscc_codes
from hotline.enterprises.models import Enterprise
from hotline.enterprises.services import verify_enterprise, visible_enterprises
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.web import perform


def _visible(user: User, uscc: str) -> Enterprise:
    """The enterprise of this code if ``user`` may see it; else 404 (a malformed code never reaches SQL)."""
    code = uscc_codes.normalise(uscc)
    if len(code) != 18 or any(c not in uscc_codes.VALUES for c in code):
        raise NotFound(_("No such enterprise."))
    enterprise = db.session.scalars(visible_enterprises(user).where(Enterprise.uscc == code)).first()
    if enterprise is None:
        raise NotFound(_("No such enterprise."))
    return enterprise


@bp.route("/enterprises", methods=["GET"])
@token_required
@bp.arguments(schemas.EnterpriseListArgs, location="query")
@bp.response(200, schemas.EnterprisePage)
@bp.doc(security=BEARER)
def list_enterprises(args: dict[str, Any]) -> dict[str, Any]:
    """The enterprises the caller may see, newest first; `q` searches names and codes."""
    query = queries.enterprise_list(
        api_user(), unverified_only=bool(args.get("unverified")), search=args.get("q") or ""
    )
    result = paginate(query, args)
    return schemas.page_answer(result)


@bp.route("/enterprises/<uscc>/verify", methods=["POST"])
@token_required
@bp.response(200, schemas.EnterpriseSchema)
@bp.doc(security=BEARER)
def verify(uscc: str) -> Enterprise:
    """The liaison of the enterprise's building, or a manager, confirms the enterprise is real.

    404 for one the caller may not see, 403 for an enterprise contact, 409 when already verified.
    """
    user = api_user()
    enterprise_id = _visible(user, uscc).id
    return perform(lambda: verify_enterprise(enterprise_id, actor=user, now=utcnow()))
