"""The JSON API under /api/v1 (DESIGN §9).

Each view parses JSON, calls one service with the token's user and ``now``, commits once, and serializes.
Domain errors become ``{"error": {"code", "message", "fields"}}`` with their status; HTTP errors raised by
Flask itself (404 unknown path, 405, 413) get the same shape from :mod:`hotline.pages`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hotline.api import openapi
from hotline.api.auth import AuthenticationRequired, api_user, bearer_token, token_required
from hotline.api.body import JsonBody, json_body
from hotline.api.serializers import category_json, ticket_detail_json, ticket_json, with_ticket_relations
from hotline.auth import services as accounts
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.errors import DomainError, Forbidden, ValidationFailed
from hotline.extensions import db
from hotline.stats import periods as stats_periods
from hotline.stats import queries as stats
from hotline.tickets import services as tickets
from hotline.tickets.models import Channel, Ticket, TicketState
from hotline.tickets.queries import (
    active_categories,
    filter_state,
    get_visible_ticket,
    newest_first,
    timeline,
    visible_tickets,
)
from hotline.timeutil import iso, local_date

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_PER_PAGE = 100


@bp.errorhandler(DomainError)
def domain_error(error: DomainError) -> tuple[Response, int]:
    db.session.rollback()  # nothing half-saved
    response = jsonify({"error": {"code": error.code, "message": error.message, "fields": error.fields}})
    if isinstance(error, AuthenticationRequired):
        response.headers["WWW-Authenticate"] = error.challenge
    return response, error.status


# --------------------------------------------------------------------------- tokens and the document


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(openapi.document())


@bp.post("/tokens")
def create_token() -> tuple[Response, int]:
    body = json_body()
    username, password = body.text("username"), body.text("password")
    body.checked()
    now = utcnow()
    user = accounts.authenticate(username, password, now)
    if user is None:
        raise AuthenticationRequired(_("Wrong username or password."))
    token, row = accounts.issue_token(user, now, hours=int(current_app.config["API_TOKEN_HOURS"]))
    db.session.commit()
    return jsonify(
        {
            "token": token,
            "expires_at": iso(row.expires_at),
            "user": {"username": user.username, "name": user.name, "role": user.role.value},
        }
    ), 201


@bp.delete("/tokens/current")
@token_required
def revoke_current_token() -> tuple[str, int]:
    token = bearer_token()
    assert token is not None  # token_required let the call through
    accounts.revoke_token(token, utcnow())
    db.session.commit()
    return "", 204


# --------------------------------------------------------------------------- reading


@bp.get("/categories")
@token_required
def categories() -> Response:
    return jsonify([category_json(c) for c in active_categories()])


def _positive_int_arg(name: str, default: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or (maximum is not None and value > maximum):
        if maximum is None:
            message = _("Give a whole number of 1 or more.")
        else:
            message = _("Give a whole number from 1 to %(n)d.", n=maximum)
        raise ValidationFailed(message, {name: message})
    return value


@bp.get("/tickets")
@token_required
def list_tickets() -> Response:
    user = api_user()
    state = request.args.get("state") or None
    if state is not None and state not in {s.value for s in TicketState}:
        message = _("Unknown state.")
        raise ValidationFailed(message, {"state": message})
    page = _positive_int_arg("page", 1)
    per_page = _positive_int_arg("per_page", int(current_app.config["PER_PAGE"]), MAX_PER_PAGE)
    query = newest_first(filter_state(visible_tickets(user), state))
    result = db.paginate(
        with_ticket_relations(query), page=page, per_page=per_page, max_per_page=MAX_PER_PAGE, error_out=False
    )
    return jsonify(
        {
            "items": [ticket_json(t) for t in result.items],
            "page": result.page,
            "pages": result.pages,
            "per_page": result.per_page,
            "total": result.total,
        }
    )


@bp.get("/tickets/<number>")
@token_required
def ticket_detail(number: str) -> Response:
    user = api_user()
    ticket = get_visible_ticket(user, number)
    # The enterprise sees the public timeline; everyone else who may see the request, the audit trail.
    internal = user.role != Role.ENTERPRISE
    events = timeline(ticket, include_internal=internal)
    return jsonify(ticket_detail_json(ticket, events, include_internal=internal))


# --------------------------------------------------------------------------- writing


@bp.post("/tickets")
@token_required
def create_ticket() -> tuple[Response, int, dict[str, str]]:
    user = api_user()
    body = json_body()
    fields = {
        "category": body.text("category"),
        "title": body.text("title"),
        "description": body.text("description"),
        "urgency": body.text("urgency"),
        "contact_phone": body.text("contact_phone"),
    }
    if user.role == Role.ENTERPRISE:
        enterprise_uscc, channel = None, Channel.API.value
    else:
        enterprise_uscc, channel = body.text("enterprise_uscc"), body.text("channel")
    body.checked()
    ticket = tickets.submit_ticket(
        user, now=utcnow(), enterprise_uscc=enterprise_uscc, channel=channel, **fields
    )
    db.session.commit()
    location = url_for("api.ticket_detail", number=ticket.number)
    return jsonify(ticket_json(ticket)), 201, {"Location": location}


Action = Callable[[int, User, JsonBody, datetime], Ticket]


def _acknowledge(ticket_id: int, actor: User, body: JsonBody, now: datetime) -> Ticket:
    return tickets.acknowledge(ticket_id, actor, now)


def _reply(ticket_id: int, actor: User, body: JsonBody, now: datetime) -> Ticket:
    text = body.text("body")
    body.checked()
    return tickets.reply(ticket_id, actor, text, now)


def _note(ticket_id: int, actor: User, body: JsonBody, now: datetime) -> Ticket:
    text = body.text("body")
    body.checked()
    return tickets.add_note(ticket_id, actor, text, now)


def _add_information(ticket_id: int, actor: User, body: JsonBody, now: datetime) -> Ticket:
    text = body.text("body")
    body.checked()
    return tickets.add_information(ticket_id, actor, text, now)


def _transfer(ticket_id: int, actor: User, body: JsonBody, now: datetime) -> Ticket:
    department, note = body.text("department"), body.text("note")
    body.checked()
    return tickets.transfer(ticket_id, actor, department, now, note=note)


def _handback(ticket_id: int, actor: User, body: JsonBody, now: datetime) -> Ticket:
    text = body.text("body")
    body.checked()
    return tickets.handback(ticket_id, actor, text, now)


def _return(ticket_id: int, actor: User, body: JsonBody, now: datetime) -> Ticket:
    reason = body.text("reason")
    body.checked()
    return tickets.return_ticket(ticket_id, actor, reason, now)


def _resolve(ticket_id: int, actor: User, body: JsonBody, now: datetime) -> Ticket:
    answer = body.text("answer")
    body.checked()
    return tickets.resolve(ticket_id, actor, answer, now)


def _withdraw(ticket_id: int, actor: User, body: JsonBody, now: datetime) -> Ticket:
    reason = body.text("reason")
    body.checked()
    return tickets.withdraw(ticket_id, actor, reason, now)


def _rate(ticket_id: int, actor: User, body: JsonBody, now: datetime) -> Ticket:
    score, comment = body.text("score"), body.text("comment")
    body.checked()
    return tickets.rate(ticket_id, actor, score, comment, now)


def _assign(ticket_id: int, actor: User, body: JsonBody, now: datetime) -> Ticket:
    liaison, reason = body.text("liaison"), body.text("reason")
    body.checked()
    return tickets.assign(ticket_id, actor, liaison, now, reason=reason)


def _review_return(ticket_id: int, actor: User, body: JsonBody, now: datetime) -> Ticket:
    accept, note = body.boolean("accept"), body.text("note")
    body.checked()
    return tickets.review_return(ticket_id, actor, accept, note, now)


# --------------------------------------------------------------------------- figures


@bp.get("/stats/summary")
@token_required
def stats_summary() -> Response:
    """Every figure of DESIGN §7 for a cohort (managers, admins); the OpenAPI document has the filter."""
    user = api_user()
    if not user.is_staff:
        raise Forbidden(_("Only managers may read the district's figures."))
    now = utcnow()
    flt = stats_periods.filter_from_query(request.args, local_date(now))
    cover = stats.coverage(street_id=flt.street_id, building_id=flt.building_id)
    return jsonify(
        {
            **stats.as_dict(stats.summary(flt, now)),
            "coverage": cover.rate,
            "buildings": cover.buildings,
            "covered_buildings": cover.covered,
            "from": flt.start.isoformat(),
            "to": stats_periods.last_day(flt.end).isoformat(),
        }
    )


# The action names of DESIGN §9 (plus add_information); each is its own route, so the OpenAPI document
# can describe each body, and an unknown action is simply a 404.
ACTIONS: dict[str, Action] = {
    "acknowledge": _acknowledge,
    "reply": _reply,
    "note": _note,
    "add_information": _add_information,
    "transfer": _transfer,
    "handback": _handback,
    "return": _return,
    "resolve": _resolve,
    "withdraw": _withdraw,
    "rate": _rate,
    "assign": _assign,
    "review_return": _review_return,
}


@token_required
def ticket_action(number: str, action: str) -> Response:
    user = api_user()
    ticket = get_visible_ticket(user, number)  # another enterprise's number answers 404 before anything else
    body = json_body()
    ticket = ACTIONS[action](ticket.id, user, body, utcnow())
    db.session.commit()
    return jsonify(ticket_json(ticket))


for _name in ACTIONS:
    bp.add_url_rule(
        f"/tickets/<number>/{_name}",
        endpoint=f"ticket_{_name}",
        view_func=ticket_action,
        methods=["POST"],
        defaults={"action": _name},
    )
