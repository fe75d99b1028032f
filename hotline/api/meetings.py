"""The liaisons' field work through the API (issue 12): meetings (政企早茶会, 恳谈会) with their invitations,
questions sent in advance, minutes and the requests raised at the table, the follow-up agenda, and visits.

Who sees what is :func:`hotline.meetings.services.visible_meetings` and
:func:`~hotline.meetings.services.visible_visits`: a meeting or visit the caller may not see answers 404,
whatever the body (it is looked up before the body is read), as a request does.  An enterprise's contact
sees its own invitation only, and its own questions.  The follow-up agenda lists every invited
enterprise's requests: it is for the district's staff (liaisons, managers, admins) who may see the meeting;
an invited enterprise, which may see the meeting but not the others' requests, is answered 403 (not 404:
the meeting is there for it), and so is a department's staff.

Every change is one service call inside :func:`hotline.web.perform`; the services name every field's
problem at once in ``fields``, a batch's at its row (``items.<n>.<field>``), and save nothing then.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from functools import wraps
from typing import Any

from flask import jsonify, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.interfaces import LoaderOption
from werkzeug.wrappers import Response

from hotline.api import meeting_schemas as ms
from hotline.api import schemas
from hotline.api.auth import api_user, token_required
from hotline.api.views import BEARER, TICKET_ANSWER, TICKET_RELATIONS, bp, errors_documented, paginate
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.enterprises import uscc as uscc_codes
from hotline.enterprises.models import Enterprise
from hotline.errors import Forbidden, NotFound
from hotline.extensions import db
from hotline.meetings import queries, services
from hotline.meetings.models import Meeting, MeetingInvitation, MeetingQuestion, TicketOrigin, Visit
from hotline.tickets.idempotency import doc as idempotency_doc
from hotline.tickets.idempotency import intake
from hotline.tickets.models import Ticket
from hotline.tickets.queries import visible_tickets
from hotline.timeutil import LOCAL_TZ
from hotline.web import perform

AGENDA_READERS = (Role.LIAISON, Role.MANAGER, Role.ADMIN)


def _own_enterprise(user: User) -> int | None:
    """The enterprise whose invitations and questions alone ``user`` sees (a contact), else None (all)."""
    return user.enterprise_id if user.role == Role.ENTERPRISE else None


def _options(user: User) -> list[LoaderOption]:
    """What a meeting's answer shows besides its row, loaded with it (a few queries for a whole page)."""
    options: list[LoaderOption] = [
        selectinload(Meeting.buildings),
        selectinload(Meeting.departments),
        selectinload(Meeting.host),
        selectinload(Meeting.street),
    ]
    if _own_enterprise(user) is None:
        options.append(selectinload(Meeting.invitations).selectinload(MeetingInvitation.enterprise))
    return options


def _visible(user: User, meeting_id: int, *more: LoaderOption) -> Meeting:
    """The meeting if ``user`` may see it, with what its answer shows; 404 otherwise."""
    wanted = schemas.row_id(meeting_id, _("No such meeting."))
    meeting = db.session.scalars(
        services.visible_meetings(user).where(Meeting.id == wanted).options(*_options(user), *more)
    ).first()
    if meeting is None:
        raise NotFound(_("No such meeting."))
    return meeting


def _meeting_first(view: Callable[..., Any]) -> Callable[..., Any]:
    """A meeting the caller may not see answers 404 before its body is even read."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        services.get_meeting(api_user(), schemas.row_id(kwargs["meeting_id"], _("No such meeting.")))
        return view(*args, **kwargs)

    return wrapper


def _views(meetings: list[Meeting], user: User) -> list[ms.MeetingView]:
    """The meetings as ``user`` sees them: the invitations it may see, the requests raised at each."""
    ids = [m.id for m in meetings]
    if not ids:
        return []
    counts = queries.origin_counts(ids)
    own = _own_enterprise(user)
    if own is None:
        covered = services.covered_by(user)  # read once for the page
        invitations = {m.id: services.invitations_for(m, user, covered) for m in meetings}
    else:
        invitations = {}
        for invitation in db.session.scalars(
            select(MeetingInvitation)
            .where(MeetingInvitation.meeting_id.in_(ids), MeetingInvitation.enterprise_id == own)
            .options(selectinload(MeetingInvitation.enterprise))
        ):
            invitations[invitation.meeting_id] = [invitation]
    return [ms.MeetingView(m, invitations.get(m.id, []), counts.get(m.id, 0)) for m in meetings]


def _answer(user: User, meeting_id: int) -> ms.MeetingView:
    return _views([_visible(user, meeting_id)], user)[0]


# --------------------------------------------------------------------------- meetings


@bp.route("/meetings", methods=["GET"])
@token_required
@bp.arguments(ms.MeetingListArgs, location="query")
@errors_documented(401)
@bp.response(200, ms.MeetingPage)
@bp.doc(security=BEARER, summary="The meetings the caller may see")
def list_meetings(args: dict[str, Any]) -> dict[str, Any]:
    """The meetings the caller may see, latest start first: staff all; a liaison those it hosts or scheduled
    and those of the buildings it covers; a department's staff those it attends; an enterprise's contact
    those it is invited to (not cancelled ones).  ``from`` and ``to`` (days, Asia/Shanghai, both included)
    bound the start; ``state`` keeps one state."""
    user = api_user()
    query = services.visible_meetings(user)
    if args.get("from") is not None:
        query = query.where(Meeting.starts_at >= datetime.combine(args["from"], time.min, LOCAL_TZ))
    if args.get("to") is not None:
        end = datetime.combine(args["to"] + timedelta(days=1), time.min, LOCAL_TZ)
        query = query.where(Meeting.starts_at < end)
    if args.get("state") is not None:
        query = query.where(Meeting.state == args["state"])
    query = query.order_by(Meeting.starts_at.desc(), Meeting.id.desc()).options(*_options(user))
    result = paginate(query, args)
    return schemas.page_answer(result, _views(list(result.items), user))


@bp.route("/meetings", methods=["POST"])
@token_required
@bp.arguments(ms.MeetingCreate)
@errors_documented(401, 403)
@bp.response(201, ms.MeetingSchema)
@bp.doc(security=BEARER, summary="Schedule a meeting and invite its enterprises")
def create_meeting(body: dict[str, Any]) -> tuple[ms.MeetingView, int, dict[str, str]]:
    """A liaison (hosting it, for buildings it covers, inviting their enterprises only) or a manager (any
    buildings or a street, any host) schedules a 早茶会 or 恳谈会; each invited enterprise's contacts are
    told.  400 with every field's problem in ``fields``; 403 for anyone else."""
    user = api_user()
    values = {k: v for k, v in body.items() if v is not None}
    meeting_id = perform(lambda: services.schedule_meeting(user, utcnow(), values).id)
    location = url_for("api.meeting_detail", meeting_id=meeting_id)
    return _answer(user, meeting_id), 201, {"Location": location}


@bp.route("/meetings/<int:meeting_id>", methods=["GET"])
@token_required
@errors_documented(401, 404)
@bp.response(200, ms.MeetingSchema)
@bp.doc(security=BEARER, summary="One meeting")
def meeting_detail(meeting_id: int) -> ms.MeetingView:
    """One meeting (an enterprise's contact sees its own invitation only)."""
    return _answer(api_user(), meeting_id)


@bp.route("/meetings/<int:meeting_id>", methods=["PATCH"])
@token_required
@_meeting_first
@bp.arguments(ms.MeetingUpdate)
@errors_documented(401, 403, 404)
@bp.response(200, ms.MeetingSchema)
@bp.doc(security=BEARER, summary="Change, move or cancel a meeting")
def update_meeting(body: dict[str, Any], meeting_id: int) -> ms.MeetingView:
    """Its host, whoever scheduled it, or a manager changes any of its fields (absent or null keys stay),
    invites more (``invite``, ``invite_buildings``), takes invitations back (``uninvite``), or cancels it
    (``"state": "cancelled"``); the invited are told of a move or a cancellation.  A held meeting keeps its
    time and place; a cancelled one cannot be changed (400)."""
    user = api_user()
    changes = {k: v for k, v in body.items() if v is not None}
    perform(lambda: services.update_meeting(meeting_id, user, utcnow(), changes))
    return _answer(user, meeting_id)


@bp.route("/meetings/<int:meeting_id>/response", methods=["POST"])
@token_required
@_meeting_first
@bp.arguments(ms.InvitationAnswer)
@errors_documented(401, 403, 404)
@bp.response(200, ms.InvitationSchema)
@bp.doc(security=BEARER, summary="Confirm or decline an invitation")
def respond(body: dict[str, Any], meeting_id: int) -> MeetingInvitation:
    """An invited enterprise's contact says whether it will attend (``confirmed`` / ``declined``), until the
    meeting starts; the answer is its invitation.  403 for anyone but an enterprise's contact."""
    user = api_user()
    return perform(lambda: services.respond(meeting_id, user, body.get("response"), utcnow()))


@bp.route("/meetings/<int:meeting_id>/questions", methods=["GET"])
@token_required
@errors_documented(401, 404)
@bp.response(200, ms.QuestionSchema(many=True))
@bp.doc(security=BEARER, summary="The questions sent in advance")
def list_questions(meeting_id: int) -> list[MeetingQuestion]:
    """The questions sent before the meeting, in the order they came: an enterprise's contact sees its
    own; the meeting's host, whoever scheduled it and managers all of them; another liaison those of the
    enterprises of its buildings; a department none (at most 10 per invited enterprise)."""
    user = api_user()
    meeting = services.get_meeting(user, schemas.row_id(meeting_id, _("No such meeting.")))
    return services.questions_for(meeting, user)


@bp.route("/meetings/<int:meeting_id>/questions", methods=["POST"])
@token_required
@_meeting_first
@bp.arguments(ms.QuestionCreate)
@errors_documented(401, 403, 404)
@bp.response(201, ms.QuestionSchema)
@bp.doc(security=BEARER, summary="Send a question in advance")
def ask_question(body: dict[str, Any], meeting_id: int) -> tuple[MeetingQuestion, int]:
    """An invited enterprise's contact sends a question before the meeting starts: a draft request (not
    numbered, no clocks) the host files at the meeting (``question`` of an item of ``…/requests``).  Sending
    one confirms a pending invitation.  400 with every field's problem; 403 for anyone else."""
    user = api_user()
    values = {k: v for k, v in body.items() if v is not None}
    question = perform(lambda: services.ask_question(meeting_id, user, utcnow(), values))
    return question, 201


@bp.route("/meetings/<int:meeting_id>/minutes", methods=["POST"])
@token_required
@_meeting_first
@bp.arguments(ms.MinutesBody)
@errors_documented(401, 403, 404)
@bp.response(200, ms.MeetingSchema)
@bp.doc(security=BEARER, summary="Record the minutes: who came, what was said")
def record_minutes(body: dict[str, Any], meeting_id: int) -> ms.MeetingView:
    """The host (or whoever scheduled it, or a manager) records attendance (``attended``: every enterprise
    that came; the other invited ones are absent; left out, the attendance stays as it was) and a summary
    (left out, it stays), from the meeting's start; the meeting becomes held.  Recorded again, it corrects
    them; an enterprise that raised a request stays attended."""
    user = api_user()
    values = {k: v for k, v in body.items() if v is not None}
    perform(lambda: services.record_minutes(meeting_id, user, utcnow(), values))
    return _answer(user, meeting_id)


@bp.route("/meetings/<int:meeting_id>/requests", methods=["POST"])
@token_required
@_meeting_first
@bp.arguments(ms.MeetingRequestsBody)
@errors_documented(401, 403, 404, 409)
@bp.response(201, schemas.TicketSchema(many=True), headers=idempotency_doc.REPLAYED_HEADER_DOC)
@bp.doc(
    security=BEARER,
    summary="File the requests raised at the meeting, all at once",
    parameters=[idempotency_doc.KEY_PARAMETER],
)
def file_requests(body: dict[str, Any], meeting_id: int) -> Response:
    """The requests raised at the table, several at once, each for one enterprise that came, all filed or
    none: every problem is named at its row (``items.<n>.<field>``) and nothing is saved unless every row is
    valid.  An item with an ``answer`` is filed and resolved in one step (the enterprise still rates it);
    the rest are filed with the meeting's channel and routed as usual.  Each answer carries ``"meeting"``.
    Every item's enterprise is marked as attended and the meeting as held.

    With an ``Idempotency-Key`` header the batch is filed once however often the call is sent, as with
    ``POST /tickets``: the same key and body within 24 hours answers the first 201 and its list again
    (``Idempotent-Replayed: true``); the key with another body (or for another meeting) is 409
    ``idempotency_key_reused``; the key while its first call is still running waits up to a second for it,
    else 409 ``idempotency_key_in_flight`` with ``Retry-After``."""
    user = api_user()
    key = intake.api_key()  # 400 for a malformed key, before anything is filed

    def file() -> tuple[list[dict[str, Any]], int | None]:
        filed = services.file_meeting_requests(meeting_id, user, utcnow(), body.get("items"))
        schemas.known_origins({t.id: (meeting_id, None) for t in filed})
        # read before the commit, while the requests and what they name are loaded
        return [dict(TICKET_ANSWER.dump(t)) for t in filed], (filed[0].id if filed else None)

    if key is not None:
        return intake.file_api_batch_once(user, key, file)
    answer = jsonify(perform(file)[0])
    answer.status_code = 201
    return answer


@bp.route("/meetings/<int:meeting_id>/agenda", methods=["GET"])
@token_required
@errors_documented(401, 403, 404)
@bp.response(200, ms.AgendaSchema)
@bp.doc(security=BEARER, summary="The follow-up agenda")
def agenda(meeting_id: int) -> dict[str, Any]:
    """For each enterprise invited to the meeting (or that came): its requests still open, with their state
    and deadlines, and those resolved since the previous meeting of the same buildings (or in the 90 days
    before this one) with their rating.  For the district's staff who may see the meeting; 403 for an
    invited enterprise's contact and a department's staff (it lists other enterprises' requests)."""
    user = api_user()
    meeting = _visible(
        user,
        meeting_id,
        selectinload(Meeting.invitations)
        .selectinload(MeetingInvitation.enterprise)
        .selectinload(Enterprise.building),
    )
    if user.role not in AGENDA_READERS:
        raise Forbidden(_("The follow-up agenda is for the district's staff."))
    found = queries.agenda(meeting, user)
    return {
        "meeting": _views([meeting], user)[0],
        "previous": found.previous,
        "since": found.since,
        "enterprises": found.enterprises,
        "truncated": found.truncated,
        "left_out": found.left_out,
    }


# --------------------------------------------------------------------------- visits


def _visit_views(visits: list[Visit], user: User) -> list[ms.VisitView]:
    """The visits with the numbers of their requests (one query for a page), as ``user`` reads them (an
    enterprise's contact without the liaison's notes)."""
    ids = [v.id for v in visits]
    numbers: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        rows = db.session.execute(
            select(TicketOrigin.visit_id, Ticket.number)
            .join(Ticket, Ticket.id == TicketOrigin.ticket_id)
            .where(TicketOrigin.visit_id.in_(ids))
            .order_by(Ticket.id)
        )
        for visit_id, number in rows:
            if visit_id is not None:
                numbers[visit_id].append(number)
    staff_view = user.role != Role.ENTERPRISE
    return [ms.VisitView(v, numbers.get(v.id, []), staff_view) for v in visits]


VISIT_RELATIONS = (selectinload(Visit.enterprise), selectinload(Visit.building), selectinload(Visit.liaison))


@bp.route("/visits", methods=["GET"])
@token_required
@bp.arguments(ms.VisitListArgs, location="query")
@errors_documented(401)
@bp.response(200, ms.VisitPage)
@bp.doc(security=BEARER, summary="The visits the caller may see")
def list_visits(args: dict[str, Any]) -> dict[str, Any]:
    """走访, latest first: staff all, a liaison those to enterprises of its buildings and its own, an
    enterprise's contact those to its enterprise; ``enterprise`` (a credit code) keeps one enterprise's."""
    user = api_user()
    query = services.visible_visits(user)
    if args.get("enterprise"):
        code = uscc_codes.normalise(args["enterprise"])
        query = query.join(Enterprise, Enterprise.id == Visit.enterprise_id).where(Enterprise.uscc == code)
    query = query.order_by(Visit.visited_on.desc(), Visit.id.desc()).options(*VISIT_RELATIONS)
    result = paginate(query, args)
    return schemas.page_answer(result, _visit_views(list(result.items), user))


def _visit_location(answer: Any) -> str | None:
    """The ``Location`` of a visit's answer (as it was stored, for a replay): the visit it logged."""
    visit = answer.get("visit") if isinstance(answer, dict) else None
    visit_id = visit.get("id") if isinstance(visit, dict) else None
    return url_for("api.visit_detail", visit_id=visit_id) if isinstance(visit_id, int) else None


@bp.route("/visits", methods=["POST"])
@token_required
@bp.arguments(ms.VisitCreate)
@errors_documented(401, 403, 409)
@bp.response(201, ms.VisitWithRequests, headers=idempotency_doc.REPLAYED_HEADER_DOC)
@bp.doc(
    security=BEARER,
    summary="Log a visit and the requests raised on it",
    parameters=[idempotency_doc.KEY_PARAMETER],
)
def log_visit(body: dict[str, Any]) -> Response:
    """A liaison logs its visit to an enterprise of its buildings (a manager to any): the day, whom it met,
    notes, and the requests raised (``items``: each as a meeting's, without the enterprise), filed with
    channel ``visit``, answered on the spot when they carry an ``answer``.  All or nothing: every problem
    at its field or row (``items.<n>.<field>``).  The answer is the visit and its requests, each carrying
    ``"visit"``.

    With an ``Idempotency-Key`` header the visit and its requests are logged once however often the call is
    sent, as with ``POST /tickets``: the same key and body within 24 hours answers the first 201 again
    (``Idempotent-Replayed: true``, the same ``Location``); the key with another body is 409
    ``idempotency_key_reused``; the key while its first call is still running waits up to a second for it,
    else 409 ``idempotency_key_in_flight`` with ``Retry-After``."""
    user = api_user()
    key = intake.api_key()  # 400 for a malformed key, before anything is logged
    values = {k: v for k, v in body.items() if v is not None}

    def log() -> tuple[dict[str, Any], int | None]:
        visit, filed = services.log_visit(user, utcnow(), values)
        schemas.known_origins({t.id: (None, visit.id) for t in filed})
        # read before the commit, while the visit, the requests and what they name are loaded
        view = ms.VisitView(visit, [t.number for t in filed])
        return {
            "visit": ms.VisitSchema().dump(view),
            "requests": TICKET_ANSWER.dump(filed, many=True),
        }, (filed[0].id if filed else None)

    if key is not None:
        return intake.file_api_batch_once(user, key, log, location=_visit_location)
    body_out, _ticket_id = perform(log)
    answer = jsonify(body_out)
    answer.status_code = 201
    answer.headers["Location"] = url_for("api.visit_detail", visit_id=body_out["visit"]["id"])
    return answer


@bp.route("/visits/<int:visit_id>", methods=["GET"])
@token_required
@errors_documented(401, 404)
@bp.response(200, ms.VisitWithRequests)
@bp.doc(security=BEARER, summary="One visit with its requests")
def visit_detail(visit_id: int) -> dict[str, Any]:
    """One visit the caller may see, with the requests raised on it that the caller may see."""
    user = api_user()
    wanted = schemas.row_id(visit_id, _("No such visit."))
    visit = db.session.scalars(
        services.visible_visits(user).where(Visit.id == wanted).options(*VISIT_RELATIONS)
    ).first()
    if visit is None:
        raise NotFound(_("No such visit."))
    raised = list(
        db.session.scalars(
            visible_tickets(user)
            .join(TicketOrigin, TicketOrigin.ticket_id == Ticket.id)
            .where(TicketOrigin.visit_id == visit.id)
            .order_by(Ticket.id)
            .options(*TICKET_RELATIONS)
        )
    )
    schemas.known_origins({t.id: (None, visit.id) for t in raised})
    return {"visit": _visit_views([visit], user)[0], "requests": raised}
