"""Users through the API (issue 10): a liaison's open work handed over to another liaison in one step, the
dates of its leave; accounts for administrators (list, create, change, reset links) and setting a password
through a reset link."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from hotline import throttle
from hotline.api import schemas
from hotline.api.auth import api_user, token_required
from hotline.api.views import BEARER, bp, paginate
from hotline.auth import resets
from hotline.auth import services as accounts
from hotline.auth.models import Role, User
from hotline.auth.queries import user_list
from hotline.db import utcnow
from hotline.errors import Forbidden, NotFound
from hotline.tickets import services as tickets
from hotline.web import perform


@bp.route("/users/<username>/handover", methods=["POST"])
@token_required
@bp.arguments(schemas.HandoverBody)
@bp.response(200, schemas.HandoverAnswer)
@bp.doc(security=BEARER)
def hand_over(body: dict[str, Any], username: str) -> dict[str, Any]:
    """A manager hands every open request of the liaison `username` (assigned, in progress, returned) to the
    liaison `to`, with a reason: assigned and returned ones are to be acknowledged anew, those in progress
    stay in progress with their deadlines.  A request the new liaison returned before is kept and listed
    in `kept` with why.  403 for anyone but a manager, 404 for no such liaison, 400 for a bad `to` or
    `reason`."""
    user = api_user()
    done = perform(
        lambda: tickets.hand_over_workload(
            username, user, body.get("to") or "", body.get("reason") or "", utcnow()
        )
    )
    return {
        "handed_over": done.handed_over,
        "kept": [{"number": number, "reason": why} for number, why in done.kept],
    }


@bp.route("/users/<username>/leave", methods=["PUT"])
@token_required
@bp.arguments(schemas.LeaveBody)
@bp.response(200, schemas.Profile)
@bp.doc(security=BEARER)
def set_leave(body: dict[str, Any], username: str) -> User:
    """A manager sets the liaison's leave, `leave_from` to `leave_until` (both days included): routing skips
    the liaison on those days and the deputies of its buildings take its new requests; both null ends it.
    What the liaison already holds stays with it (hand it over: `POST /api/v1/users/<username>/handover`).
    403 for anyone but a manager, 404 for no such liaison, 400 for bad dates."""
    user = api_user()
    return perform(
        lambda: accounts.set_leave(username, user, body.get("leave_from"), body.get("leave_until"), utcnow())
    )


# --------------------------------------------------------------------------- accounts (administrators)


def _admin(user: User) -> User:
    if user.role != Role.ADMIN:
        raise Forbidden(_("Only an administrator may manage accounts."))
    return user


def _user_id(username: str) -> int:
    user = accounts.user_named(username)
    if user is None:
        raise NotFound(_("No such user."))
    return user.id


@bp.route("/users", methods=["GET"])
@token_required
@bp.arguments(schemas.UserListArgs, location="query")
@bp.response(200, schemas.UserPage)
@bp.doc(security=BEARER)
def list_users(args: dict[str, Any]) -> dict[str, Any]:
    """Every account, by username (administrators; 403 for anyone else): `role` keeps one role, `q` a part
    of the username or name, `active` the active (true) or deactivated (false) ones."""
    _admin(api_user())
    role = args.get("role")
    query = user_list(role=Role(role) if role else None, term=args.get("q") or "", active=args.get("active"))
    return schemas.page_answer(paginate(query, args))


@bp.route("/users", methods=["POST"])
@token_required
@bp.arguments(schemas.UserCreate)
@bp.response(201, schemas.UserSchema)
@bp.doc(security=BEARER)
def create_user(body: dict[str, Any]) -> tuple[User, int]:
    """An administrator creates a staff account (liaison, department with its `department` code, manager,
    admin) with an initial password to hand over; every refusal at once in `fields`.  403 for anyone
    else."""
    actor = _admin(api_user())
    role = body["role"]
    user = perform(
        lambda: accounts.create_user(
            username=body.get("username") or "",
            password=body.get("password") or "",
            name=body.get("name") or "",
            role=role.value,
            email=body.get("email") or "",
            phone=body.get("phone") or "",
            department_code=body.get("department"),
            actor=actor,
            now=utcnow(),
        )
    )
    return user, 201


@bp.route("/users/<username>", methods=["PATCH"])
@token_required
@bp.arguments(schemas.UserUpdate)
@bp.response(200, schemas.UserSchema)
@bp.doc(security=BEARER)
def update_user(body: dict[str, Any], username: str) -> User:
    """An administrator changes any of an account's `name`, `phone`, `email`, `role`, `department` and
    `active`; every refusal at once in `fields`, nothing changed then.  A role change is refused where it
    would strand work (a liaison holding open requests or covering buildings), for the caller's own role
    and the last active admin, and between enterprise contacts and staff; a role change or a deactivation
    ends the user's sessions and API tokens.  403 for anyone but an admin, 404 for no such user."""
    actor = _admin(api_user())
    user_id = _user_id(username)
    role = body.get("role")
    return perform(
        lambda: accounts.update_user(
            user_id,
            actor,
            utcnow(),
            name=body.get("name"),
            phone=body.get("phone"),
            email=body.get("email"),
            role=role.value if role is not None else None,
            department_code=body.get("department"),
            active=body.get("active"),
        )
    )


@bp.route("/users/<username>/reset-password", methods=["POST"])
@token_required
@bp.response(200, schemas.ResetLink)
@bp.doc(security=BEARER)
def issue_reset_link(username: str) -> dict[str, Any]:
    """An administrator makes a single-use link that sets a new password for `username`, to hand over in
    person (a contact without e-mail): `reset_url` works once, until `expires_at` (30 minutes), and voids
    the user's earlier unused links.  403 for anyone but an admin (managers too: whoever sets the password
    can act as the account), 404 for no such user, 409 for a deactivated one."""
    actor = api_user()
    url, expires_at = perform(lambda: resets.issue_reset_link(username, actor, utcnow()))
    return {"reset_url": url, "expires_at": expires_at}


@bp.route("/password-reset/<token>", methods=["POST"])
@bp.arguments(schemas.PasswordResetBody)
@bp.response(200, schemas.Profile)
@bp.doc(security=[])
@throttle.reset_link_attempts
def complete_password_reset(body: dict[str, Any], token: str) -> User:
    """Set a new password with the token of a reset link (no other authentication: the token is the
    credential).  It works once; every browser session and API token of the account ends.  Answers the
    account.  400 with `fields.password` for a password the rules refuse (the link still works then);
    404 `not_found` for a token that is unknown, used, replaced by a newer link or expired (the message
    says which; ask for a new link); 429 after too many of those from one address."""
    try:
        return perform(lambda: resets.complete_password_reset(token, body.get("password") or "", utcnow()))
    except NotFound:
        throttle.count_failure()
        raise
