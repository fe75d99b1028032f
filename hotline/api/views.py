"""The JSON API under /api/v1 (DESIGN §9): tokens, categories, requests and their lifecycle actions, figures.

Every route checks the token first (``@token_required`` right under ``@bp.route``: a call without one is
told so before its body is read), then reads its body or query through a schema
(:mod:`hotline.api.schemas`), calls one service with the token's user and ``now`` inside
:func:`hotline.web.perform` (one transaction, one commit) and returns rows that the response schema dumps.
The action routes ``POST /tickets/<number>/<action>`` are generated from the lifecycle table
(:mod:`hotline.tickets.workflow`), each with its own body schema, so the page, the API and the OpenAPI
document cannot disagree on an action.  Domain and HTTP errors become ``{"error": {"code", "message",
"fields"}}`` in :func:`hotline.errors.init_app`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any

from flask import current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_smorest import Blueprint
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from hotline import throttle
from hotline.api import schemas
from hotline.api.auth import AuthenticationRequired, api_user, bearer_token, token_required
from hotline.api.parser import PARSER
from hotline.auth import services as accounts
from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.errors import Forbidden, NotFound
from hotline.extensions import db
from hotline.meetings.queries import field_coverage
from hotline.stats import periods as stats_periods
from hotline.stats import queries as stats
from hotline.tickets import paging, workflow
from hotline.tickets import queries as ticket_queries
from hotline.tickets import services as tickets
from hotline.tickets.idempotency import doc as idempotency_doc
from hotline.tickets.idempotency import intake
from hotline.tickets.models import Channel, Ticket, TicketState
from hotline.tickets.queries import (
    active_categories,
    get_visible_ticket,
    timeline,
    visible_tickets,
)
from hotline.tickets.workflow import WHO_LABELS, Action
from hotline.timeutil import local_date
from hotline.web import perform


class ApiBlueprint(Blueprint):
    """flask-smorest's blueprint, reading bodies with the project's parser (400 and its error shape)."""

    ARGUMENTS_PARSER = PARSER


bp = ApiBlueprint("api", __name__, url_prefix="/api/v1", description="企呼我应 — the hotline's JSON API")

BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


@bp.before_request
def _nothing_preloaded() -> None:
    """What an earlier call loaded for its answers is not this call's: a context variable set in a call
    outlives it in its thread (and ``g`` its app context, which tests share between calls)."""
    schemas.page_ratings.set(None)
    schemas.forget_origins()


def errors_documented(*codes: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document the error answers a route gives besides 400 (which every body or query may get)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        for code in codes:
            view = bp.alt_response(code, schema=schemas.Error, description=HTTPStatus(code).phrase)(view)
        return view

    return decorate


def paginate(query: Any, args: dict[str, Any]) -> Pagination:
    """One page of ``query`` by the ``page``/``per_page`` arguments (:class:`~hotline.api.schemas.PageArgs`);
    a page past the last is empty, not an error."""
    return db.paginate(
        query,
        page=args["page"],
        per_page=args.get("per_page") or int(current_app.config["PER_PAGE"]),
        max_per_page=schemas.PER_PAGE_MAX,
        error_out=False,
    )


# What a ticket in an answer shows besides its own columns.
TICKET_RELATIONS = (
    selectinload(Ticket.enterprise),
    selectinload(Ticket.building),
    selectinload(Ticket.category),
    selectinload(Ticket.assignee),
    selectinload(Ticket.department),
)


# The answer of a filing, made once: a schema's construction copies its declared fields (and each nested
# schema's, on first use), which costs more than dumping one request.  Dumping keeps no state on it.
TICKET_ANSWER = schemas.TicketSchema()


def filing_answer(ticket: Ticket) -> dict[str, Any]:
    """The answer of ``POST /tickets``: a request filed there was raised at no meeting or visit (said, not
    asked: the keyed filing dumps it while it flushes)."""
    schemas.known_origins({ticket.id: (None, None)})
    return dict(TICKET_ANSWER.dump(ticket))


# --------------------------------------------------------------------------- tokens


@bp.route("/tokens", methods=["POST"])
@bp.arguments(schemas.TokenRequest)
@bp.response(201, schemas.Token)
@errors_documented(401, 429)
@bp.doc(security=[])
@throttle.login_attempts
def create_token(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Exchange a username and password for a bearer token.

    Failed requests are limited per account and per client address, shared with the login page: over the
    limit, the answer is 429 with ``Retry-After``, even for the right password.
    """
    now = utcnow()
    user = accounts.authenticate(body.get("username") or "", body.get("password") or "", now)
    if user is None:
        throttle.count_failure()
        raise AuthenticationRequired(_("Wrong username or password."))
    hours = int(current_app.config["API_TOKEN_HOURS"])
    token, row = perform(lambda: accounts.issue_token(user, now, hours=hours))
    return {"token": token, "expires_at": row.expires_at, "user": user}, 201


@bp.route("/tokens/current", methods=["DELETE"])
@token_required
@errors_documented(401)
@bp.response(204)
@bp.doc(security=BEARER)
def revoke_current_token() -> None:
    """Revoke the token this call is made with."""
    token = bearer_token()
    assert token is not None  # token_required let the call through
    perform(lambda: accounts.revoke_token(token, utcnow()))


# --------------------------------------------------------------------------- reading


@bp.route("/categories", methods=["GET"])
@token_required
@errors_documented(401)
@bp.response(200, schemas.Category(many=True))
@bp.doc(security=BEARER)
def categories() -> list[Any]:
    """The active categories, named in the caller's language."""
    return active_categories()


@bp.route("/tickets", methods=["GET"])
@token_required
@errors_documented(401)
@bp.arguments(schemas.TicketListArgs, location="query")
@bp.response(200, schemas.TicketPage)
@bp.doc(security=BEARER)
def list_tickets(args: dict[str, Any]) -> dict[str, Any]:
    """The requests the caller may see, newest first, a page at a time.

    With ``q``, only those holding every word of it in their number, title, description, contact phone or
    enterprise name, the newest 1,000 at most (``more_matches`` is then true when more match).
    """
    user = api_user()
    base = visible_tickets(user)
    needle: str = args.get("q") or ""
    found = ticket_queries.search(base, needle) if needle else None  # 400 on ``q`` for a search it refuses
    if found is not None and found.terms:
        base = found.query  # the newest SEARCH_LIMIT matches at most
        counts = ticket_queries.state_counts(base)
    else:
        counts = ticket_queries.visible_state_counts(user)
    state: TicketState | None = args.get("state")
    query = base if state is None else base.where(Ticket.state == state)
    result = paging.paginate(
        query,
        paging.segments("newest", counts, state),
        options=TICKET_RELATIONS,
        page=args["page"],
        per_page=args.get("per_page") or int(current_app.config["PER_PAGE"]),
        max_per_page=schemas.PER_PAGE_MAX,
        error_out=False,
    )
    schemas.page_ratings.set(
        ticket_queries.latest_ratings([t.id for t in result.items if t.rating_score is not None])
    )
    schemas.preload_origins(list(result.items))  # the meeting or visit of each: one query at most
    schemas.preload_attachments(list(result.items))  # their files: one query
    return {**schemas.page_answer(result), "more_matches": bool(found and found.more)}


def _detail(ticket: Ticket, user: Any) -> schemas.TicketWithTimeline:
    # The enterprise sees the public timeline; everyone else who may see the request, the audit trail.
    internal = user.role != Role.ENTERPRISE
    schemas.reader_sees_internal.set(internal)
    return schemas.TicketWithTimeline(ticket, timeline(ticket, include_internal=internal))


@bp.route("/tickets/<number>", methods=["GET"])
@token_required
@errors_documented(401, 404)
@bp.response(200, schemas.TicketDetailSchema)
@bp.doc(security=BEARER)
def ticket_detail(number: str) -> schemas.TicketWithTimeline:
    """One request with its timeline (only the public events for an enterprise)."""
    user = api_user()
    return _detail(get_visible_ticket(user, number), user)


# --------------------------------------------------------------------------- filing


@bp.route("/tickets", methods=["POST"])
@token_required
@errors_documented(401, 403, 409)
@bp.arguments(schemas.TicketCreate)
@bp.response(201, schemas.TicketSchema, headers=idempotency_doc.REPLAYED_HEADER_DOC)
@bp.doc(security=BEARER, parameters=[idempotency_doc.KEY_PARAMETER])
def create_ticket(body: dict[str, Any]) -> Response:
    """File a request.  An enterprise files for itself (channel ``api``); a liaison or manager records one for
    an enterprise (``enterprise_uscc``) with the channel it came through.

    With an ``Idempotency-Key`` header the request is filed once however often the call is sent: the same
    key and body within 24 hours answers the first 201 again (``Idempotent-Replayed: true``); the key with
    another body is 409 ``idempotency_key_reused``; the key while its first call is still running waits up to
    a second for it (then its answer), else 409 ``idempotency_key_in_flight`` with ``Retry-After``.  Retry a
    call whose answer was lost with its key."""
    user = api_user()
    key = intake.api_key()  # 400 for a malformed key, before anything is filed
    if user.role == Role.ENTERPRISE:
        enterprise_uscc, channel = None, Channel.API.value
    else:
        given = body.get("channel")
        enterprise_uscc, channel = body.get("enterprise_uscc") or "", given.value if given else ""
    urgency = body.get("urgency")

    def work() -> Ticket:
        return tickets.submit_ticket(
            user,
            category=body.get("category") or "",
            title=body.get("title") or "",
            description=body.get("description") or "",
            urgency=urgency.value if urgency else "",
            contact_phone=body.get("contact_phone") or "",
            now=utcnow(),
            enterprise_uscc=enterprise_uscc,
            channel=channel,
        )

    if key is not None:
        return intake.file_api_request_once(user, key, work, filing_answer)

    def filed() -> dict[str, Any]:
        # The answer is read before the commit, while the request and what it names are loaded: after the
        # commit every attribute would be read from the database again (five more statements).
        return filing_answer(work())

    body_out = perform(filed)
    assert isinstance(body_out, dict)
    answer = jsonify(body_out)
    answer.status_code = 201
    answer.headers["Location"] = url_for("api.ticket_detail", number=body_out["number"])
    return answer


# --------------------------------------------------------------------------- the lifecycle's actions


def _visible_first(view: Callable[..., Any]) -> Callable[..., Any]:
    """Another enterprise's request answers 404 before its body is even read."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        get_visible_ticket(api_user(), kwargs["number"])
        return view(*args, **kwargs)

    return wrapper


def _description(action: Action) -> str:
    who = ", ".join(str(WHO_LABELS[w]) for w in action.who)
    states = ", ".join(s.value for s in action.states)
    leads = ", ".join(s.value for s in action.leads_to) or "(the state does not change)"
    events = ", ".join(k.value for k in action.events)
    return (
        f"{action.summary or action.title}\n\n"
        f"- allowed in states: {states}\n- by: {who}\n- leads to: {leads}\n- appends events: {events}\n"
        f"- 409 `invalid_transition` in any other state; 403 `forbidden` for anyone else"
    )


def _action_route(action: Action) -> None:
    def view(body: dict[str, Any], number: str) -> Ticket:
        if not workflow.bound(action.name):  # a row whose feature is not installed
            raise NotFound(_("No such action."))
        user = api_user()
        ticket = get_visible_ticket(user, number)
        ticket_id = ticket.id
        result = perform(lambda: workflow.run(action.name, ticket_id, user, body, utcnow()))
        if isinstance(result, Ticket):
            return result
        refreshed = db.session.get(Ticket, ticket_id)
        assert refreshed is not None
        return refreshed

    view.__name__ = f"ticket_{action.name}"
    view.__doc__ = _description(action)
    documented = errors_documented(401, 403, 404, 409)(
        bp.doc(security=BEARER, summary=str(action.summary or action.title))(
            bp.response(200, schemas.TicketSchema)(bp.arguments(schemas.action_schema(action))(view))
        )
    )
    bp.route(f"/tickets/<number>/{action.name}", methods=["POST"], endpoint=f"ticket_{action.name}")(
        token_required(_visible_first(documented))
    )


for _action in workflow.rows():
    _action_route(_action)


# --------------------------------------------------------------------------- figures


@bp.route("/stats/summary", methods=["GET"])
@token_required
@errors_documented(401, 403)
@bp.arguments(schemas.StatsArgs, location="query")
@bp.response(200, schemas.StatsSummary)
@bp.doc(security=BEARER)
def stats_summary(args: dict[str, Any]) -> dict[str, Any] | Response:
    """Every figure of DESIGN §7 for the cohort of requests created in the period (managers and admins), with
    楼宇覆盖率 now and 走访覆盖 in the period (`field_coverage`, `field_covered`, `field_buildings`)."""
    user = api_user()
    if not user.is_staff:
        raise Forbidden(_("Only managers may read the district's figures."))
    now = utcnow()
    flt = stats_periods.filter_from_query(request.args, local_date(now))
    cover = stats.coverage(street_id=flt.street_id, building_id=flt.building_id)
    seen = field_coverage(flt.start, flt.end, street_id=flt.street_id, building_id=flt.building_id)
    return {
        **stats.as_dict(stats.summary(flt, now)),
        "coverage": cover.rate,
        "buildings": cover.buildings,
        "covered_buildings": cover.covered,
        "field_coverage": seen.rate,
        "field_covered": seen.covered,
        "field_buildings": seen.buildings,
        "from": flt.start.isoformat(),
        "to": stats_periods.last_day(flt.end).isoformat(),
    }
