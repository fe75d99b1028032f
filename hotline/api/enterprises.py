"""Enterprises through the API: the ones the caller may see, and their verification.

What the caller sees is :func:`hotline.enterprises.services.visible_enterprises`: staff all, a liaison those
of the buildings it covers, an enterprise contact its own, department staff none; an enterprise's profile
(issue 12) is read by the same rule.  Enterprises are
addressed by their 统一社会信用代码; one the caller may not see answers 404, as requests do.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _

from hotline.api import schemas
from hotline.api.auth import api_user, token_required
from hotline.api.views import BEARER, TICKET_RELATIONS, bp, errors_documented, paginate
from hotline.auth.models import User
from hotline.db import utcnow
from hotline.enterprises import claims, queries
from hotline.enterprises import profile as profiles
from hotline.enterprises import uscc as uscc_codes
from hotline.enterprises.models import ClaimState, Enterprise, EnterpriseClaim
from hotline.enterprises.services import (
    add_contact,
    create_enterprise_with_contact,
    remove_contact,
    update_enterprise,
    verify_enterprise,
    visible_enterprises,
)
from hotline.errors import NotFound, ValidationFailed
from hotline.extensions import db
from hotline.tickets import paging
from hotline.tickets import queries as ticket_queries
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


@bp.route("/enterprises/<uscc>", methods=["GET"])
@token_required
@errors_documented(401, 404)
@bp.arguments(schemas.EnterpriseProfileArgs, location="query")
@bp.response(200, schemas.EnterpriseProfileSchema)
@bp.doc(security=BEARER)
def profile(args: dict[str, Any], uscc: str) -> dict[str, Any]:
    """An enterprise's profile: its data, its contacts, who covers its building, its own 办结率 and 满意率
    over its whole history, the meetings it was invited to and the visits it had, and a page of its
    requests (`state`, `q`, `page`, `per_page` as for `GET /tickets`).

    For the liaisons of its building and managers; its own contacts read it too, without the other
    contacts' logins, phones and e-mails, cancelled meetings or the liaisons' notes of a visit.  404 for
    anyone else (another liaison, department staff, another enterprise's contact).
    """
    user = api_user()
    enterprise = queries.visible_enterprise_by_uscc(user, uscc)
    if enterprise is None:
        raise NotFound(_("No such enterprise."))
    found = profiles.profile_of(enterprise, user, utcnow())
    listed = profiles.requests_of(enterprise, user, args.get("state"), args.get("q") or "")
    requests = paging.paginate(
        listed.query,
        listed.parts,
        options=TICKET_RELATIONS,
        page=args["page"],
        per_page=args.get("per_page") or int(current_app.config["PER_PAGE"]),
        max_per_page=schemas.PER_PAGE_MAX,
        error_out=False,
    )
    schemas.page_ratings.set(
        ticket_queries.latest_ratings([t.id for t in requests.items if t.rating_score is not None])
    )
    schemas.preload_origins(list(requests.items))  # the page's meetings and visits: one query
    schemas.preload_attachments(list(requests.items))  # their files: one query
    figures = found.figures
    return {
        "uscc": enterprise.uscc,
        "name": enterprise.name,
        "building_id": enterprise.building_id,
        "building": enterprise.building.name,
        "street": enterprise.building.street.name,
        "room": enterprise.room,
        "industry": enterprise.industry,
        "verified": enterprise.verified,
        "verified_at": enterprise.verified_at,
        "contacts": [
            {
                "name": contact.name,
                **(
                    {"username": contact.username, "phone": contact.phone, "email": contact.email}
                    if found.shows_details_of(contact, user)
                    else {"username": None, "phone": None, "email": None}
                ),
                "active": contact.active,
            }
            for contact in found.contacts
        ],
        "liaisons": [
            {
                "username": c.liaison.username,
                "name": c.liaison.name,
                "role": c.role,
                "phone": c.liaison.phone or "",
            }
            for c in found.liaisons
        ],
        "figures": {
            "total": figures.total,
            "resolved": figures.resolved,
            "closure_rate": figures.closure_rate,
            "rated": figures.rated,
            "satisfaction_rate": figures.satisfaction_rate,
        },
        "meetings": [
            {
                "id": meeting.id,
                "kind": meeting.kind,
                "title": meeting.title,
                "starts_at": meeting.starts_at,
                "place": meeting.place,
                "state": meeting.state,
                "invited": invitation.invited,
                "response": invitation.response,
                "attended": invitation.attended,
            }
            for meeting, invitation in found.meetings
        ],
        "visits": [
            {
                "id": visit.id,
                "visited_on": visit.visited_on.isoformat(),
                "liaison": visit.liaison,
                "met": visit.met,
                "notes": visit.notes if found.staff_view else None,
            }
            for visit in found.visits
        ],
        "requests": {
            **schemas.page_answer(requests),
            "more_matches": bool(listed.search and listed.search.more),
        },
    }


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


# --------------------------------------------------------------------------- staff: onboarding, editing,
# contacts (issue 10, point 4)

# The onboarding service names the contact's fields as the page does; the API body nests them.
CONTACT_FIELDS = {
    "contact_name": "contact.name",
    "username": "contact.username",
    "password": "contact.password",
    "email": "contact.email",
    "phone": "contact.phone",
}


def _renamed(error: ValidationFailed, names: dict[str, str]) -> ValidationFailed:
    return ValidationFailed(error.message, {names.get(k, k): v for k, v in error.fields.items()})


def _building(body: dict[str, Any]) -> int | None:
    value = body.get("building")
    if value is None:
        return None
    # an id no row can have is no building (0 says so on the field), never a query that overflows
    return int(value) if 1 <= int(value) <= schemas.ID_MAX else 0


@bp.route("/enterprises", methods=["POST"])
@token_required
@bp.arguments(schemas.EnterpriseCreate)
@bp.response(201, schemas.EnterpriseDetailSchema)
@bp.doc(security=BEARER)
def create_enterprise(body: dict[str, Any]) -> tuple[Enterprise, int]:
    """A liaison (into a building it covers) or a manager onboards an enterprise with its first contact; it
    counts as verified by the caller.  The checks of the onboarding page: 400 with every field's problem
    (`uscc`, `name`, `building`, `contact.username` …), 403 for anyone else."""
    user = api_user()
    contact = body["contact"]

    def onboard() -> Enterprise:
        try:
            return create_enterprise_with_contact(
                actor=user,
                uscc=body.get("uscc") or "",
                name=body.get("name") or "",
                building_id=_building(body),
                room=body.get("room") or "",
                contact_name=contact.get("name") or "",
                username=contact.get("username") or "",
                password=contact.get("password") or "",
                email=contact.get("email") or "",
                phone=contact.get("phone") or "",
                now=utcnow(),
            )
        except ValidationFailed as error:
            raise _renamed(error, CONTACT_FIELDS) from None

    return perform(onboard), 201


@bp.route("/enterprises/<uscc>", methods=["PATCH"])
@token_required
@bp.arguments(schemas.EnterpriseUpdate)
@bp.response(200, schemas.EnterpriseDetailSchema)
@bp.doc(security=BEARER)
def update(body: dict[str, Any], uscc: str) -> Enterprise:
    """The building's liaison or a manager changes the enterprise's `name`, `building`, `room` or `industry`
    (absent keys stay).  Moved to another building, its new requests go to that building's liaison; the open
    ones stay with theirs.  The code is not editable (`uscc` different: 400).  404 for an enterprise the
    caller may not see, 403 for an enterprise contact."""
    user = api_user()
    enterprise_id = _visible(user, uscc).id
    return perform(
        lambda: update_enterprise(
            enterprise_id,
            user,
            utcnow(),
            uscc=body.get("uscc"),
            name=body.get("name"),
            building_id=_building(body),
            room=body.get("room"),
            industry=body.get("industry"),
        )
    )


@bp.route("/enterprises/<uscc>/contacts", methods=["POST"])
@token_required
@bp.arguments(schemas.ContactCreate)
@bp.response(201, schemas.ContactSchema)
@bp.doc(security=BEARER)
def create_contact(body: dict[str, Any], uscc: str) -> tuple[User, int]:
    """The building's liaison or a manager adds a contact account to the enterprise (it may have several).
    400 with every field's problem (`username` taken …), 404 / 403 as for editing."""
    user = api_user()
    enterprise_id = _visible(user, uscc).id
    contact = perform(
        lambda: add_contact(
            enterprise_id,
            user,
            utcnow(),
            username=body.get("username") or "",
            name=body.get("name") or "",
            phone=body.get("phone") or "",
            email=body.get("email") or "",
            password=body.get("password") or "",
        )
    )
    return contact, 201


@bp.route("/enterprises/<uscc>/contacts/<username>", methods=["DELETE"])
@token_required
@bp.response(200, schemas.ContactSchema)
@bp.doc(security=BEARER)
def delete_contact(uscc: str, username: str) -> User:
    """Remove a contact: the account is deactivated (never deleted: the requests it filed keep their author),
    logged out everywhere.  409 for the enterprise's last active contact (add the new one first) and for
    one already deactivated; 404 for no such contact."""
    user = api_user()
    enterprise_id = _visible(user, uscc).id
    return perform(lambda: remove_contact(enterprise_id, username, user, utcnow()))


# --------------------------------------------------------------------------- claims


@bp.route("/enterprises/claims", methods=["GET"])
@token_required
@bp.arguments(schemas.ClaimListArgs, location="query")
@bp.response(200, schemas.ClaimPage)
@bp.doc(security=BEARER)
def list_claims(args: dict[str, Any]) -> dict[str, Any]:
    """Claims on registered enterprises the caller may review: a liaison those of its buildings, a manager
    all; `state` pending (the default, oldest first), confirmed or rejected.  Empty for anyone else."""
    state = args.get("state") or ClaimState.PENDING
    return schemas.page_answer(paginate(claims.claim_list(api_user(), state), args))


def _claim_id(claim_id: int) -> int:
    return schemas.row_id(claim_id, _("No such claim."))


@bp.route("/enterprises/claims/<int:claim_id>/confirm", methods=["POST"])
@token_required
@bp.arguments(schemas.ClaimDecision)
@bp.response(200, schemas.ClaimSchema)
@bp.doc(security=BEARER)
def confirm_claim(body: dict[str, Any], claim_id: int) -> EnterpriseClaim:
    """Confirm a pending claim (`note` optional): the claimant becomes a contact of the enterprise and is
    told.  404 for a claim the caller may not review, 409 when already decided."""
    user = api_user()
    wanted = _claim_id(claim_id)
    return perform(lambda: claims.confirm_claim(wanted, user, body.get("note"), utcnow()))


@bp.route("/enterprises/claims/<int:claim_id>/reject", methods=["POST"])
@token_required
@bp.arguments(schemas.ClaimDecision)
@bp.response(200, schemas.ClaimSchema)
@bp.doc(security=BEARER)
def reject_claim(body: dict[str, Any], claim_id: int) -> EnterpriseClaim:
    """Reject a pending claim with a `note` (required: the claimant reads it); the account stays, attached to
    no enterprise.  404 / 409 as for confirming."""
    user = api_user()
    wanted = _claim_id(claim_id)
    return perform(lambda: claims.reject_claim(wanted, user, body.get("note"), utcnow()))
