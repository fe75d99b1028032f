"""The API's request and response bodies, declared once as marshmallow schemas.

They validate what comes in (the JSON types, and the values of enums; what the values *mean* — a known
category, a phone number, a required answer — stays the services' decision, so the web and the API refuse
the same things with the same sentences) and they are what ``/api/v1/openapi.json`` is generated from
(flask-smorest with apispec).  Output schemas dump the ORM rows directly: a ticket's JSON shape is written
here and nowhere else.

Error messages are lazy translated strings, so a refused body is explained in the caller's language
(:mod:`hotline.api.parser` turns them into ``{"error": {"code", "message", "fields"}}``).
"""

from __future__ import annotations

import enum
from contextvars import ContextVar
from typing import Any

import marshmallow as ma
from flask import g
from flask_babel import lazy_gettext as _l
from marshmallow import fields

from hotline.audit.labels import action_label
from hotline.audit.models import AuditAction
from hotline.auth.models import Role
from hotline.auth.services import EMAIL_MAX, NAME_MAX
from hotline.enterprises.models import ClaimState, CoverageRole
from hotline.errors import NotFound
from hotline.i18n import localized_name
from hotline.imports.services import RowAction
from hotline.meetings.models import InvitationResponse, MeetingKind, MeetingState
from hotline.notifications.models import Notification, NotificationKind
from hotline.notifications.services import render_notification
from hotline.sla.models import DaySource, Extension, ExtensionState
from hotline.sla.services import NOTE_MAX
from hotline.text import NOT_ALLOWED_CHARACTERS, has_control_characters
from hotline.tickets.labels import state_label
from hotline.tickets.models import (
    Channel,
    EventKind,
    RatingScore,
    RatingSource,
    Ticket,
    TicketEvent,
    TicketState,
    Urgency,
)
from hotline.tickets.queries import event_payload, latest_rating
from hotline.tickets.search import SEARCH_LIMIT, SEARCH_MAX
from hotline.tickets.workflow import EXTENSION_TEXT_MAX, TEXT_MAX, TITLE_MAX, Action, Field
from hotline.timeutil import iso

MUST_BE_TEXT = _l("Must be a string.")
MUST_BE_BOOLEAN = _l("Must be true or false.")
MUST_BE_NUMBER = _l("Enter a whole number.")
REQUIRED = _l("This field is required.")
PAGE_MAX = 1_000_000
PER_PAGE_MAX = 100


class Base(ma.Schema):
    """Unknown keys are ignored, as clients of a government API send what their other systems have."""

    class Meta:
        unknown = ma.EXCLUDE


ID_MAX = 2**63 - 1  # the largest BIGINT: a larger id cannot name a row, and overflows the driver
TIME_REQUIRED = {"type": "string", "format": "date-time", "description": "ISO 8601 with the +08:00 offset"}


def row_id(value: int, message: str) -> int:
    """``value`` when it can be a row's id; otherwise :class:`NotFound` with ``message``, before any query."""
    if not 1 <= value <= ID_MAX:
        raise NotFound(message)
    return value


def _no_control_characters(*, multiline: bool) -> Any:
    def check(value: str | None) -> None:
        if has_control_characters(value, multiline=multiline):
            raise ma.ValidationError(str(NOT_ALLOWED_CHARACTERS))

    return check


def clean_text(
    *,
    required: bool = False,
    description: Any = None,
    max_length: int | None = None,
    multiline: bool = False,
    check_length: bool = False,
) -> fields.String:
    """A JSON string (null reads as absent) without control characters (a multi-line one may break lines).

    ``max_length`` is documented; it is checked here only with ``check_length`` (where no service checks it).
    """
    metadata: dict[str, Any] = {}
    if description:
        metadata["description"] = str(description)
    validators: list[Any] = [_no_control_characters(multiline=multiline)]
    if max_length:
        metadata["maxLength"] = max_length
        if check_length:
            validators.append(
                ma.validate.Length(max=max_length, error=_l("At most %(n)d characters.", n=max_length))
            )
    return fields.String(
        required=required,
        allow_none=True,
        metadata=metadata,
        validate=validators,
        error_messages={"invalid": MUST_BE_TEXT, "required": REQUIRED, "invalid_utf8": MUST_BE_TEXT},
    )


class JsonBoolean(fields.Boolean):
    """JSON ``true`` or ``false`` only: ``1`` and ``0`` are refused too (``1 in {True}`` in Python)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def json_boolean(*, required: bool = False, description: str = "", missing: Any = None) -> fields.Boolean:
    """A body's true/false: JSON ``true`` or ``false`` only."""
    return JsonBoolean(
        required=required,
        metadata={"description": description} if description else {},
        error_messages={
            "invalid": MUST_BE_BOOLEAN,
            "required": missing or REQUIRED,
            "null": missing or REQUIRED,
        },
    )


def query_flag(*, description: str) -> fields.Boolean:
    """A query-string switch: ``true`` or ``false`` (also 1 or 0)."""
    return fields.Boolean(
        truthy={"true", "1"},
        falsy={"false", "0"},
        load_default=None,
        metadata={"description": description},
        error_messages={"invalid": MUST_BE_BOOLEAN},
    )


# --------------------------------------------------------------------------- pages


class PageArgs(Base):
    """``page`` and ``per_page``, checked like those of ``GET /api/v1/tickets``."""

    page = fields.Integer(
        load_default=1,
        validate=ma.validate.Range(
            min=1, max=PAGE_MAX, error=_l("Give a whole number from 1 to %(n)d.", n=PAGE_MAX)
        ),
        error_messages={"invalid": _l("Give a whole number of 1 or more.")},
    )
    per_page = fields.Integer(
        load_default=None,
        validate=ma.validate.Range(
            min=1, max=PER_PAGE_MAX, error=_l("Give a whole number from 1 to %(n)d.", n=PER_PAGE_MAX)
        ),
        error_messages={"invalid": _l("Give a whole number from 1 to %(n)d.", n=PER_PAGE_MAX)},
    )


def page_answer(result: Any, items: list[Any] | None = None) -> dict[str, Any]:
    """The page's shape of every list: ``items``, ``page``, ``pages``, ``per_page``, ``total``."""
    return {
        "items": result.items if items is None else items,
        "page": result.page,
        "pages": result.pages,
        "per_page": result.per_page,
        "total": result.total,
    }


def page_of(item: type[ma.Schema], name: str, **extra: fields.Field) -> type[ma.Schema]:
    declared: dict[str, fields.Field] = {
        "items": fields.List(fields.Nested(item), required=True),
        "page": fields.Integer(required=True),
        "pages": fields.Integer(required=True),
        "per_page": fields.Integer(required=True),
        "total": fields.Integer(required=True),
        **extra,
    }
    return Base.from_dict(declared, name=name)


def _enum_message(values: list[str]) -> Any:
    return _l("Choose one of: %(values)s.", values=", ".join(values))


def text(*, required: bool = False, description: Any = None, max_length: int | None = None) -> fields.String:
    """A text field of a body: a JSON string (null reads as absent), never with control characters."""
    return clean_text(required=required, description=description, max_length=max_length, multiline=True)


def boolean(*, required: bool = False, description: Any = None, missing: Any = None) -> fields.Boolean:
    """A JSON true/false; ``1``, ``0`` and strings such as "yes" are refused: a record says what it means."""
    return json_boolean(required=required, description=str(description or ""), missing=missing)


def integer(
    *, required: bool = False, minimum: int | None = None, maximum: int | None = None
) -> fields.Integer:
    metadata: dict[str, Any] = {}
    if minimum is not None:
        metadata["minimum"] = minimum
    if maximum is not None:
        metadata["maximum"] = maximum
    return fields.Integer(
        required=required,
        strict=True,
        metadata=metadata,
        error_messages={
            "invalid": MUST_BE_NUMBER,
            "required": REQUIRED,
            "null": REQUIRED,
            "too_large": MUST_BE_NUMBER,
        },
    )


def choice(
    enum_class: type[enum.StrEnum], *, required: bool = False, missing: Any = None, description: Any = None
) -> fields.Enum:
    """One value of ``enum_class`` (by value); the document lists exactly the enum's values."""
    values = [member.value for member in enum_class]
    message = missing or _enum_message(values)
    return fields.Enum(
        enum_class,
        by_value=True,
        required=required,
        allow_none=not required,
        metadata={"description": str(description)} if description else {},
        error_messages={"unknown": message, "required": message, "null": message, "invalid": message},
    )


class LocalTime(fields.Field):
    """A moment as ISO 8601 with the +08:00 offset (Asia/Shanghai), or null."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return iso(value)


# --------------------------------------------------------------------------- errors


class ErrorDetail(Base):
    code = fields.String(
        required=True,
        metadata={
            "examples": ["validation_failed", "unauthorized", "forbidden", "not_found", "invalid_transition"]
        },
    )
    message = fields.String(required=True, metadata={"description": "In the caller's language"})
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "Field name → message, for validation errors"},
    )


class Error(Base):
    error = fields.Nested(ErrorDetail, required=True)


# --------------------------------------------------------------------------- tokens, categories


class TokenRequest(Base):
    username = text(required=True)
    password = text(required=True)


class TokenUser(Base):
    username = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.Enum(Role, by_value=True, required=True)


class Token(Base):
    token = fields.String(required=True, metadata={"description": "Send as `Authorization: Bearer <token>`"})
    expires_at = LocalTime(required=True, metadata={"type": "string", "format": "date-time"})
    user = fields.Nested(TokenUser)


class Category(Base):
    code = fields.String(required=True)
    name = fields.Method(
        "_name", required=True, metadata={"type": "string", "description": "In the caller's language"}
    )

    def _name(self, category: Any) -> str:
        return localized_name(category)


# --------------------------------------------------------------------------- tickets


class Person(Base):
    username = fields.String(required=True)
    name = fields.String(required=True)


class EnterpriseRef(Base):
    name = fields.String(required=True)
    uscc = fields.String(required=True, metadata={"description": "统一社会信用代码 (18 characters)"})
    verified = fields.Boolean(
        required=True, metadata={"description": "false: not yet verified by its liaison or a manager"}
    )


class RatingSchema(Base):
    """The latest rating of a request, with its provenance (issue 11): given by the enterprise online or
    recorded by staff from a follow-up call, by whom, and when."""

    score = fields.Enum(RatingScore, by_value=True, required=True)
    comment = fields.String(required=True)
    source = fields.Enum(
        RatingSource,
        by_value=True,
        required=True,
        metadata={"description": "enterprise: rated online; followup_call: recorded by staff from a call"},
    )
    recorded_by = fields.Nested(Person, required=True, attribute="rated_by")
    rated_at = LocalTime(
        required=True, attribute="created_at", metadata={"type": "string", "format": "date-time"}
    )


TIME = {"type": ["string", "null"], "format": "date-time", "description": "ISO 8601 with the +08:00 offset"}


class TicketSchema(Base):
    """A request as DESIGN §9 shows it, plus a few extras (state label, department, answer, rating window)."""

    number = fields.String(required=True, metadata={"examples": ["QH20260103-0001"]})
    state = fields.Enum(TicketState, by_value=True, required=True)
    state_label = fields.Function(lambda t: state_label(t.state), metadata={"type": "string"})
    title = fields.String(required=True)
    description = fields.String(required=True)
    category = fields.String(
        required=True, attribute="category.code", metadata={"description": "Category code"}
    )
    urgency = fields.Enum(Urgency, by_value=True, required=True)
    channel = fields.Enum(Channel, by_value=True, required=True)
    contact_phone = fields.String()
    enterprise = fields.Nested(EnterpriseRef, required=True)
    building = fields.String(
        required=True, attribute="building.name", metadata={"description": "Building name"}
    )
    assignee = fields.Nested(Person, required=True, allow_none=True)
    department = fields.Function(
        lambda t: t.department.code if t.department is not None else None,
        metadata={"type": ["string", "null"], "description": "Code of the department holding it"},
    )
    answer = fields.String(allow_none=True)
    created_at = LocalTime(required=True, metadata={"type": "string", "format": "date-time"})
    updated_at = LocalTime(metadata={"type": "string", "format": "date-time"})
    acknowledge_due_at = LocalTime(required=True, metadata=TIME)
    resolve_due_at = LocalTime(required=True, metadata=TIME)
    rating_due_at = LocalTime(metadata=TIME)
    acknowledged_at = LocalTime(required=True, metadata=TIME)
    resolved_at = LocalTime(required=True, metadata=TIME)
    closed_at = LocalTime(required=True, metadata=TIME)
    rating = fields.Method(
        "_rating",
        required=True,
        metadata={"oneOf": [{"$ref": "#/components/schemas/Rating"}, {"type": "null"}]},
    )
    reopen_count = fields.Integer()
    meeting = fields.Function(
        lambda t: origin_of(t)[0],
        required=True,
        metadata={
            "type": ["integer", "null"],
            "description": "The meeting it was raised at (GET /api/v1/meetings/<id>), or null",
        },
    )
    visit = fields.Function(
        lambda t: origin_of(t)[1],
        required=True,
        metadata={"type": ["integer", "null"], "description": "The visit it was raised on, or null"},
    )
    attachments = fields.Method(
        "_attachments",
        required=True,
        metadata={
            "type": "array",
            "items": {"$ref": "#/components/schemas/Attachment"},
            "description": "Its files (an enterprise's reader: not those of internal notes)",
        },
    )

    def _attachments(self, ticket: Ticket) -> list[dict[str, Any]]:
        dumped: list[dict[str, Any]] = AttachmentSchema(many=True).dump(attachments_of(ticket))
        return dumped

    def _rating(self, ticket: Ticket) -> dict[str, Any] | None:
        if ticket.rating_score is None:
            return None
        preloaded = page_ratings.get()
        latest = (
            preloaded[ticket.id]
            if preloaded is not None and ticket.id in preloaded
            else latest_rating(ticket.id)
        )
        if latest is None:  # a rating on the row without its record: never made by the services
            return None
        result: dict[str, Any] = RatingSchema().dump(latest)
        return result


# The latest ratings of a list's page, loaded in one query by the view (else one query per rated ticket).
page_ratings: ContextVar[dict[int, Any] | None] = ContextVar("page_ratings", default=None)

# Only a request filed at a meeting or on a visit (hotline.meetings.services) has an origin, and it is
# filed with the meeting's or the visit's channel: a request of any other channel is answered without a look.
FIELD_CHANNELS = frozenset({Channel.TEA_MEETING, Channel.ROUNDTABLE, Channel.VISIT})
_ORIGINS = "api_ticket_origins"  # on ``flask.g``: ticket id → (meeting id, visit id), for this call only


def known_origins(origins: dict[int, tuple[int | None, int | None]]) -> None:
    """Tell the answer of this call where these requests were raised (a filing knows it: no query).  They
    were filed in this call: they have no attachments yet either."""
    g.setdefault(_ORIGINS, {}).update(origins)
    g.setdefault(_ATTACHMENTS, {}).update({ticket_id: [] for ticket_id in origins})


def forget_origins() -> None:
    g.pop(_ORIGINS, None)
    g.pop(_ATTACHMENTS, None)


_ATTACHMENTS = "api_ticket_attachments"  # on ``flask.g``: ticket id → its attachments the caller may see


def preload_attachments(tickets: list[Ticket]) -> None:
    """The attachments of a page of requests, as the caller may see them, in one query."""
    from hotline.api.auth import api_user
    from hotline.attachments.queries import attachments_by_ticket, sees_internal

    internal = sees_internal(api_user())
    found = attachments_by_ticket([t.id for t in tickets], include_internal=internal)
    g.setdefault(_ATTACHMENTS, {}).update(found)


def attachments_of(ticket: Ticket) -> list[Any]:
    known: dict[int, list[Any]] = g.setdefault(_ATTACHMENTS, {})
    if ticket.id not in known:
        preload_attachments([ticket])
    return known[ticket.id]


class AttachmentSchema(Base):
    """A file attached to a request: ``GET /api/v1/tickets/<number>/attachments/<id>`` downloads it."""

    id = fields.Integer(required=True)
    name = fields.String(
        required=True, attribute="original_name", metadata={"description": "The uploader's file name (text)"}
    )
    size = fields.Integer(required=True, metadata={"description": "Bytes"})
    content_type = fields.String(
        required=True,
        metadata={"description": "What its content was found to be", "examples": ["image/jpeg"]},
    )
    event = fields.Integer(
        attribute="event_id",
        allow_none=True,
        metadata={"type": ["integer", "null"], "description": "The event it was attached to, or null"},
    )
    internal = fields.Boolean(metadata={"description": "Attached to an internal note: staff only"})
    thumbnail = fields.Function(
        lambda a: a.thumbnail_name is not None,
        metadata={"type": "boolean", "description": "A thumbnail exists (pictures): …/<id>/thumbnail"},
    )
    created_at = LocalTime(metadata={"type": "string", "format": "date-time"})


def preload_origins(tickets: list[Ticket]) -> None:
    """The origins of a page of requests in one query (none when no request of it has a field channel)."""
    from hotline.meetings.services import origins_of

    ids = [t.id for t in tickets if t.channel in FIELD_CHANNELS]
    found = origins_of(ids)
    known_origins({i: (found[i].meeting_id, found[i].visit_id) if i in found else (None, None) for i in ids})


def origin_of(ticket: Ticket) -> tuple[int | None, int | None]:
    """(meeting id, visit id) of the request, each None when it was not raised there."""
    if ticket.channel not in FIELD_CHANNELS:
        return None, None
    known: dict[int, tuple[int | None, int | None]] = g.setdefault(_ORIGINS, {})
    if ticket.id not in known:
        preload_origins([ticket])
    return known[ticket.id]


# Whether the reader of an event may see its internal payload (staff) or only the public keys (an enterprise).
reader_sees_internal: ContextVar[bool] = ContextVar("reader_sees_internal", default=False)


class EventSchema(Base):
    kind = fields.Enum(EventKind, by_value=True, required=True)
    from_state = fields.Enum(TicketState, by_value=True, allow_none=True)
    to_state = fields.Enum(TicketState, by_value=True, allow_none=True)
    actor = fields.Function(
        lambda e: e.actor.name if e.actor is not None else None, metadata={"type": ["string", "null"]}
    )
    body = fields.String()
    public = fields.Boolean()
    created_at = LocalTime(metadata={"type": "string", "format": "date-time"})
    payload = fields.Method(
        "_payload",
        metadata={
            "type": "object",
            "description": "Facts of the event; an enterprise sees only the public ones",
        },
    )

    def _payload(self, event: TicketEvent) -> dict[str, Any]:
        return event_payload(event, include_internal=reader_sees_internal.get())


class TicketDetailSchema(TicketSchema):
    events = fields.Method(
        "_events",
        metadata={"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
    )

    def _events(self, ticket: Any) -> list[dict[str, Any]]:
        events = getattr(ticket, "timeline", [])
        dumped: list[dict[str, Any]] = EventSchema(many=True).dump(events)
        return dumped


class TicketWithTimeline:
    """A request and the events its reader may see, for :class:`TicketDetailSchema`."""

    def __init__(self, ticket: Ticket, timeline: list[TicketEvent]) -> None:
        self.ticket = ticket
        self.timeline = timeline

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ticket, name)


TicketPage = page_of(
    TicketSchema,
    "TicketPage",
    more_matches=fields.Boolean(
        metadata={"description": "With q: more requests match than the newest listed (narrow the search)"}
    ),
)


class TicketListArgs(PageArgs):
    state = choice(TicketState, description="Only requests in this state")
    q = clean_text(
        max_length=SEARCH_MAX,
        check_length=True,
        description=(
            "Search: words (at least 2 characters each, up to 5) that a request must all hold, in its "
            "number, title, description, contact phone or enterprise name; case aside, wildcards literal. "
            f"The newest {SEARCH_LIMIT} matches at most are listed; more_matches says whether there are more."
        ),
    )


class TicketCreate(Base):
    category = text(required=True, description="A category code (GET /api/v1/categories)")
    title = text(required=True, max_length=TITLE_MAX)
    description = text(required=True, max_length=TEXT_MAX)
    urgency = choice(Urgency)
    contact_phone = text(required=True)
    enterprise_uscc = text(description="Staff only: the enterprise the request is recorded for")
    channel = choice(Channel, description="Staff only: phone, tea_meeting, roundtable or visit")


# ----------------------------------------------------------------------- bodies of the lifecycle's actions


def _action_field(spec: Field) -> fields.Field:
    label = str(spec.description) if spec.description else None
    if spec.kind == "boolean":
        return boolean(required=spec.required, description=label, missing=spec.missing)
    if spec.kind == "integer":
        return integer(required=spec.required, minimum=spec.minimum, maximum=spec.maximum)
    if spec.enum is not None:
        return choice(spec.enum, required=spec.required, missing=spec.missing, description=label)
    if spec.kind == "datetime":
        when = clean_text(
            required=spec.required,
            description="ISO 8601, with an offset or in Asia/Shanghai time; absent or empty for now",
        )
        when.metadata = {**when.metadata, "format": "date-time"}
        return when
    return text(required=spec.required, description=label, max_length=spec.max_length)


_action_schemas: dict[str, type[ma.Schema]] = {}


def action_schema(action: Action) -> type[ma.Schema]:
    """The body schema of a lifecycle action, from its row's fields (one class per action, for the doc)."""
    schema = _action_schemas.get(action.name)
    if schema is None:
        name = "".join(part.title() for part in action.name.split("_")) + "Body"
        schema = Base.from_dict({spec.name: _action_field(spec) for spec in action.fields}, name=name)
        _action_schemas[action.name] = schema
    return schema


# --------------------------------------------------------------------------- figures


class StatsArgs(Base):
    """The cohort of ``GET /api/v1/stats/summary`` (checked by
    :func:`~hotline.stats.periods.filter_from_query`)."""

    from_ = fields.String(
        data_key="from",
        metadata={"format": "date", "description": "YYYY-MM-DD, included; default 1 January of this year"},
    )
    to = fields.String(
        metadata={
            "format": "date",
            "description": "YYYY-MM-DD, included; default 31 December of `from`'s year",
        }
    )
    street = fields.String(metadata={"description": "Street code"})
    building = fields.String(metadata={"description": "Building id"})
    category = fields.String(metadata={"description": "Category code"})
    channel = fields.String(metadata={"enum": [c.value for c in Channel]})
    liaison = fields.String(metadata={"description": "Liaison username"})


def _stats_summary_schema() -> type[ma.Schema]:
    """Every figure of DESIGN §7 by its snake_case name; rates in [0, 1] or null when the denominator is 0."""
    from dataclasses import fields as dataclass_fields

    from hotline.stats.queries import Figures

    declared: dict[str, fields.Field] = {}
    for f in dataclass_fields(Figures):
        if f.name.endswith("_rate") or f.name == "avg_handling_hours":
            declared[f.name] = fields.Float(allow_none=True, required=True)
        elif f.type in (float, "float"):
            declared[f.name] = fields.Float(required=True)
        else:
            declared[f.name] = fields.Integer(required=True)
    declared["resolved_late"] = fields.Integer(required=True)
    declared["coverage"] = fields.Float(
        allow_none=True,
        required=True,
        metadata={
            "description": "楼宇覆盖率, now: buildings whose primary liaison is active and not on leave"
        },
    )
    declared["buildings"] = fields.Integer(required=True)
    declared["covered_buildings"] = fields.Integer(required=True)
    declared["field_coverage"] = fields.Float(
        allow_none=True,
        required=True,
        metadata={
            "description": "走访覆盖 in the period: buildings whose every enterprise was visited or "
            "attended a held meeting ÷ buildings with enterprises; null when no building has an enterprise"
        },
    )
    declared["field_covered"] = fields.Integer(
        required=True, metadata={"description": "Buildings whose every enterprise was seen in the period"}
    )
    declared["field_buildings"] = fields.Integer(
        required=True, metadata={"description": "Active buildings with at least one enterprise"}
    )
    declared["from"] = fields.String(required=True, metadata={"format": "date"})
    declared["to"] = fields.String(required=True, metadata={"format": "date"})
    return Base.from_dict(declared, name="StatsSummary")


StatsSummary = _stats_summary_schema()

# --------------------------------------------------------------------------- the caller's account


class Profile(Base):
    username = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.Enum(Role, by_value=True, required=True)
    email = fields.String(required=True, metadata={"description": "Empty when none is given"})
    phone = fields.String(required=True, metadata={"description": "Empty when none is given"})
    locale = fields.Function(
        lambda u: u.locale or None,
        required=True,
        metadata={"type": ["string", "null"], "description": "zh or en; null: not chosen yet"},
    )
    available = fields.Function(
        lambda u: u.available if u.role == Role.LIAISON else None,
        required=True,
        metadata={"type": ["boolean", "null"], "description": "A liaison: false when on leave; else null"},
    )
    leave_from = fields.Function(
        lambda u: u.leave_from.isoformat() if u.leave_from else None,
        required=True,
        metadata={"type": ["string", "null"], "format": "date", "description": "A leave set by a manager"},
    )
    leave_until = fields.Function(
        lambda u: u.leave_until.isoformat() if u.leave_until else None,
        required=True,
        metadata={"type": ["string", "null"], "format": "date", "description": "Its last day, included"},
    )
    enterprise = fields.Nested(EnterpriseRef, required=True, allow_none=True)
    department = fields.Function(
        lambda u: u.department.code if u.department is not None else None,
        required=True,
        metadata={"type": ["string", "null"], "description": "Department staff: its code"},
    )


class ProfileUpdate(Base):
    """Any subset; an absent (or null) key leaves the value as it is."""

    name = clean_text(max_length=NAME_MAX)
    phone = clean_text(description="Like a request's contact phone; empty removes it")
    email = clean_text(max_length=EMAIL_MAX, description="Empty stops emails")
    locale = clean_text(description="zh or en")


class AvailabilityUpdate(Base):
    available = json_boolean(required=True, description="false: on leave, routing skips you")


class HandoverBody(Base):
    to = clean_text(required=True, description="The username of the liaison who takes the work over")
    reason = clean_text(required=True, max_length=TEXT_MAX, description="Written on every request's event")


class LeaveBody(Base):
    leave_from = clean_text(
        description="YYYY-MM-DD, the first day (Asia/Shanghai); null with leave_until: none"
    )
    leave_until = clean_text(description="YYYY-MM-DD, the last day, included")


class KeptRequest(Base):
    number = fields.String(required=True)
    reason = fields.String(required=True, metadata={"description": "Why it was not handed over"})


class HandoverAnswer(Base):
    handed_over = fields.List(
        fields.String(), required=True, metadata={"description": "The numbers of the requests handed over"}
    )
    kept = fields.List(fields.Nested(KeptRequest), required=True)


# --------------------------------------------------------------------------- notifications


class NotificationSchema(Base):
    id = fields.Integer(required=True)
    kind = fields.Enum(NotificationKind, by_value=True, required=True)
    subject = fields.Method("_subject", required=True, metadata={"type": "string"})
    text = fields.Method(
        "_text", required=True, metadata={"type": "string", "description": "In the caller's language"}
    )
    excerpt = fields.Function(
        lambda n: (n.params or {}).get("excerpt") or None,
        required=True,
        metadata={"type": ["string", "null"], "description": "The reply, answer or reason quoted"},
    )
    ticket_number = fields.Function(
        lambda n: ((n.params or {}).get("number") or None) if n.ticket_id is not None else None,
        required=True,
        metadata={"type": ["string", "null"], "description": "The request it is about, if any"},
    )
    created_at = LocalTime(required=True, metadata=TIME_REQUIRED)
    read_at = LocalTime(required=True, metadata=TIME)

    def _subject(self, notification: Notification) -> str:
        return render_notification(notification)[0]

    def _text(self, notification: Notification) -> str:
        return render_notification(notification)[1]


class NotificationListArgs(PageArgs):
    unread = query_flag(description="true: only unread ones; false: only read ones; absent: all")


NotificationPage = page_of(
    NotificationSchema,
    "NotificationPage",
    unread=fields.Integer(required=True, metadata={"description": "How many of all are unread"}),
)


# --------------------------------------------------------------------------- extensions (延期)


class ExtensionWithTicket:
    """An extension and the number of its request, for :class:`ExtensionSchema`."""

    def __init__(self, extension: Extension, ticket_number: str) -> None:
        self.extension = extension
        self.ticket_number = ticket_number

    def __getattr__(self, name: str) -> Any:
        return getattr(self.extension, name)


class ExtensionSchema(Base):
    id = fields.Integer(required=True)
    ticket_number = fields.String(required=True, metadata={"examples": ["QH20260103-0001"]})
    state = fields.Enum(ExtensionState, by_value=True, required=True)
    working_days = fields.Integer(required=True, attribute="days")
    reason = fields.String(required=True)
    requested_by = fields.Nested(Person, required=True)
    created_at = LocalTime(required=True, metadata=TIME_REQUIRED)
    decided_by = fields.Nested(Person, required=True, allow_none=True)
    decided_at = LocalTime(required=True, metadata=TIME)
    decision_note = fields.String(required=True)
    old_due_at = LocalTime(required=True, metadata=TIME)
    new_due_at = LocalTime(required=True, metadata=TIME)


class ExtensionListArgs(PageArgs):
    state = choice(ExtensionState, description="pending (the default): oldest first; decided: newest first")


ExtensionPage = page_of(ExtensionSchema, "ExtensionPage")


class ExtensionDecision(Base):
    approve = json_boolean(
        required=True, description="true approves, false refuses", missing=_l("Choose approve or refuse.")
    )
    note = clean_text(max_length=EXTENSION_TEXT_MAX, multiline=True, description="Required when refusing")


# --------------------------------------------------------------------------- the working-day calendar


class DayKind(enum.StrEnum):
    WORKDAY = "workday"
    RESTDAY = "restday"


class CalendarDaySchema(Base):
    date = fields.Function(
        lambda d: d.day.isoformat(), required=True, metadata={"type": "string", "format": "date"}
    )
    kind = fields.Function(
        lambda d: (DayKind.WORKDAY if d.is_workday else DayKind.RESTDAY).value,
        required=True,
        metadata={"type": "string", "enum": [k.value for k in DayKind]},
    )
    source = fields.Enum(
        DaySource,
        by_value=True,
        required=True,
        metadata={
            "description": "package: the official schedule; weekday: entered Monday to Friday; "
            "override: set by a manager"
        },
    )
    note = fields.String(required=True)


class CalendarYear(Base):
    year = fields.Integer(required=True)
    known = fields.Boolean(
        required=True, metadata={"description": "false: the year is not entered yet (and days is empty)"}
    )
    days = fields.List(fields.Nested(CalendarDaySchema), required=True)


class CalendarDayUpdate(Base):
    kind = choice(DayKind, required=True, missing=_l("Choose working day or rest day."))
    note = clean_text(max_length=NOTE_MAX, description="Why, e.g. a make-up working day")


# --------------------------------------------------------------------------- enterprises


class EnterpriseSchema(Base):
    uscc = fields.String(required=True, metadata={"description": "统一社会信用代码 (18 characters)"})
    name = fields.String(required=True)
    building = fields.String(required=True, attribute="building.name")
    street = fields.String(required=True, attribute="building.street.name")
    verified = fields.Boolean(required=True)
    verified_at = LocalTime(required=True, metadata=TIME)


class EnterpriseListArgs(PageArgs):
    q = clean_text(max_length=200, check_length=True, description="A part of the name or code")
    unverified = query_flag(description="true: only enterprises not verified yet")


EnterprisePage = page_of(EnterpriseSchema, "EnterprisePage")


# --------------------------------------------------------------------------- the district's setup (issue 10)
# Bodies take their values as they come: their meaning (a code's characters, a taken name, an unknown street)
# is checked by hotline.district.services, which answers every field's problem at once in `fields`.


class StreetSchema(Base):
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    active = fields.Boolean(required=True)
    buildings = fields.Function(
        lambda s: len(s.buildings), required=True, metadata={"type": "integer", "description": "How many"}
    )


class StreetCreate(Base):
    code = clean_text(required=True, description="Latin letters, digits, '-' or '_'; never changes")
    name = clean_text(required=True)
    name_en = clean_text()


class StreetUpdate(Base):
    """Any subset."""

    name = clean_text()
    name_en = clean_text()
    active = json_boolean(description="false: no new building is put in it; its buildings stay")


class BuildingSchema(Base):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    street = fields.String(required=True, attribute="street.code", metadata={"description": "Its code"})
    street_name = fields.String(required=True, attribute="street.name")
    address = fields.String(required=True)
    active = fields.Boolean(required=True)


class BuildingListArgs(PageArgs):
    street = clean_text(description="A street's code")
    active = query_flag(description="true: only buildings in use; false: only retired ones")
    q = clean_text(max_length=100, check_length=True, description="A part of the name or address")


BuildingPage = page_of(BuildingSchema, "BuildingPage")


class BuildingCreate(Base):
    street = clean_text(required=True, description="The street's code")
    name = clean_text(required=True)
    name_en = clean_text()
    address = clean_text()


class BuildingUpdate(Base):
    """Any subset."""

    street = clean_text(description="Move it to the street of this code")
    name = clean_text()
    name_en = clean_text()
    address = clean_text()
    active = json_boolean(description="false: offered to no new enterprise; its enterprises stay")


class DepartmentSchema(Base):
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    active = fields.Boolean(required=True)


class DepartmentCreate(StreetCreate):
    pass


class DepartmentUpdate(Base):
    """Any subset."""

    name = clean_text()
    name_en = clean_text()
    active = json_boolean(description="false: offered for no new transfer")


class CategoryAdminSchema(Base):
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    sort_order = fields.Integer(required=True)
    active = fields.Boolean(required=True)
    acknowledge_minutes = fields.Integer(required=True, metadata={"description": "Working minutes"})
    acknowledge_minutes_urgent = fields.Integer(required=True)
    resolve_days = fields.Integer(required=True, metadata={"description": "Working days"})
    resolve_days_urgent = fields.Integer(required=True)


class CategoryCreate(Base):
    code = clean_text(required=True, description="Latin letters, digits, '-' or '_'; never changes")
    name = clean_text(required=True)
    name_en = clean_text()
    sort_order = integer(minimum=-1000, maximum=1000)
    acknowledge_minutes = integer(minimum=1)
    acknowledge_minutes_urgent = integer(minimum=1)
    resolve_days = integer(minimum=1)
    resolve_days_urgent = integer(minimum=1)


class CategoryUpdate(Base):
    """Any subset; new clocks re-derive the deadlines of the category's open requests."""

    name = clean_text()
    name_en = clean_text()
    sort_order = integer(minimum=-1000, maximum=1000)
    active = json_boolean(description="false: offered to no new request")
    acknowledge_minutes = integer(minimum=1)
    acknowledge_minutes_urgent = integer(minimum=1)
    resolve_days = integer(minimum=1)
    resolve_days_urgent = integer(minimum=1)


class CoverageBuilding(Base):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    street = fields.String(required=True, attribute="street.code")


class CoverageSchema(Base):
    id = fields.Integer(required=True)
    building = fields.Nested(CoverageBuilding, required=True)
    liaison = fields.Nested(Person, required=True)
    kind = fields.Function(
        lambda c: c.role.value,
        required=True,
        metadata={"type": "string", "enum": [k.value for k in CoverageRole]},
    )
    active = fields.Boolean(required=True)
    on_leave = fields.Method(
        "_on_leave",
        required=True,
        metadata={
            "type": "boolean",
            "description": "The liaison is away today (its word or its leave dates)",
        },
    )
    created_at = LocalTime(required=True, metadata=TIME)
    created_by = fields.Nested(Person, required=True, allow_none=True)
    ended_at = LocalTime(required=True, metadata=TIME)
    ended_by = fields.Nested(Person, required=True, allow_none=True)

    def _on_leave(self, coverage: Any) -> bool:
        from hotline.db import utcnow
        from hotline.timeutil import local_date

        return bool(coverage.liaison.away_on(local_date(utcnow())))


class CoverageListArgs(PageArgs):
    street = clean_text(description="A street's code")
    building = fields.Integer(
        load_default=None,
        strict=False,
        validate=ma.validate.Range(min=1, max=ID_MAX, error=_l("No such building.")),
        error_messages={"invalid": MUST_BE_NUMBER},
        metadata={"description": "A building's id"},
    )
    liaison = clean_text(description="A liaison's username")
    history = query_flag(description="true: ended coverages too, newest first")


CoveragePage = page_of(CoverageSchema, "CoveragePage")


class CoverageCreate(Base):
    building = integer(required=True, minimum=1)
    liaison = clean_text(required=True, description="The liaison's username")
    kind = clean_text(required=True, description="primary or deputy")
    replace = json_boolean(description="true: a primary ends the building's current primary coverage")


class CoverageMove(Base):
    building = integer(minimum=1)
    kind = clean_text(description="primary or deputy")
    replace = json_boolean()


class ImportChange(Base):
    before = fields.String(required=True)
    after = fields.String(required=True)


class ImportRow(Base):
    line = fields.Integer(required=True, metadata={"description": "The row's line in the file (header: 1)"})
    action = fields.String(required=True, metadata={"enum": [a.value for a in RowAction]})
    key = fields.String(required=True, metadata={"description": "What the row names"})
    changes = fields.Dict(keys=fields.String(), values=fields.Nested(ImportChange), required=True)
    errors = fields.Dict(
        keys=fields.String(), values=fields.String(), required=True, metadata={"description": "Why refused"}
    )


class ImportArgs(Base):
    dry_run = query_flag(description="1: only say what each row would do (the default); 0: apply it all")


class ImportReport(Base):
    id = fields.Integer(required=True, metadata={"description": "The kept file (apply a dry run by it)"})
    kind = fields.String(required=True)
    filename = fields.String(required=True)
    applied = fields.Boolean(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    rows = fields.List(fields.Nested(ImportRow), required=True)


# --------------------------------------------------------------------------- enterprises edited, their
# contacts, onboarding by staff and claims (issue 10, point 4)


class ContactSchema(Base):
    username = fields.String(required=True)
    name = fields.String(required=True)
    phone = fields.String(required=True)
    email = fields.String(required=True)
    active = fields.Boolean(required=True, metadata={"description": "false: removed (deactivated)"})


class EnterpriseDetailSchema(EnterpriseSchema):
    building_id = fields.Integer(required=True)
    room = fields.String(required=True)
    industry = fields.String(required=True)
    contacts = fields.Method(
        "_contacts",
        required=True,
        metadata={"type": "array", "items": {"$ref": "#/components/schemas/Contact"}},
    )

    def _contacts(self, enterprise: Any) -> list[dict[str, Any]]:
        from hotline.enterprises.queries import contacts_of

        dumped: list[dict[str, Any]] = ContactSchema(many=True).dump(contacts_of(enterprise.id))
        return dumped


def _building_id() -> fields.Integer:
    return fields.Integer(
        strict=True,
        allow_none=True,
        metadata={"description": "The id of a building"},
        error_messages={"invalid": MUST_BE_NUMBER, "required": REQUIRED, "too_large": MUST_BE_NUMBER},
    )


class EnterpriseUpdate(Base):
    """Any subset; an absent (or null) key leaves the value as it is.  The code is not editable."""

    uscc = clean_text(description="Refused unless it is the enterprise's own code: it cannot be changed")
    name = clean_text(max_length=200)
    building = _building_id()
    room = clean_text(max_length=50)
    industry = clean_text(max_length=100)


class ContactCreate(Base):
    username = clean_text(required=True, max_length=64)
    name = clean_text(required=True, max_length=NAME_MAX)
    phone = clean_text(required=True)
    email = clean_text(max_length=EMAIL_MAX)
    password = clean_text(required=True, description="The rules of every password")


class EnterpriseCreate(Base):
    uscc = clean_text(required=True, description="统一社会信用代码 (18 characters)")
    name = clean_text(required=True, max_length=200)
    building = _building_id()
    room = clean_text(max_length=50)
    contact = fields.Nested(
        ContactCreate,
        required=True,
        error_messages={"type": _l("Must be an object."), "required": REQUIRED, "null": REQUIRED},
    )


class ClaimSchema(Base):
    id = fields.Integer(required=True)
    state = fields.Enum(ClaimState, by_value=True, required=True)
    enterprise = fields.Nested(EnterpriseRef, required=True)
    claimant = fields.Nested(ContactSchema, required=True)
    claimed_name = fields.String(required=True, metadata={"description": "The name the claimant typed"})
    created_at = LocalTime(required=True, metadata=TIME_REQUIRED)
    decided_by = fields.Nested(Person, required=True, allow_none=True)
    decided_at = LocalTime(required=True, metadata=TIME)
    note = fields.String(required=True)


class ClaimListArgs(PageArgs):
    state = choice(ClaimState, description="pending (the default: oldest first), confirmed or rejected")


ClaimPage = page_of(ClaimSchema, "ClaimPage")


class ClaimDecision(Base):
    note = clean_text(max_length=1000, multiline=True, description="Required when rejecting")


# ------------------------------------------------------------------------- an enterprise's profile (issue 12)
# Built by the view as plain values (hotline.api.enterprises.profile): what a reader sees of it depends on who
# it is, so the view decides and these schemas document and dump.

_STAFF_ONLY = "null when read by one of the enterprise's contacts (except its own row): staff only"


class EnterpriseProfileArgs(TicketListArgs):
    """The page of the profile's requests: `state`, `q`, `page`, `per_page` as for `GET /tickets`."""


class ProfileContact(Base):
    name = fields.String(required=True)
    username = fields.String(required=True, allow_none=True, metadata={"description": _STAFF_ONLY})
    phone = fields.String(required=True, allow_none=True, metadata={"description": _STAFF_ONLY})
    email = fields.String(required=True, allow_none=True, metadata={"description": _STAFF_ONLY})
    active = fields.Boolean(required=True, metadata={"description": "false: removed (deactivated)"})


class ProfileLiaison(Person):
    role = fields.Enum(CoverageRole, by_value=True, required=True)
    phone = fields.String(required=True, metadata={"description": "Empty when none is given"})


class ProfileFigures(Base):
    """Over the enterprise's whole history (DESIGN §7: withdrawn and merged requests left out)."""

    total = fields.Integer(required=True)
    resolved = fields.Integer(required=True)
    closure_rate = fields.Float(
        required=True, allow_none=True, metadata={"description": "resolved ÷ total; null when 0 requests"}
    )
    rated = fields.Integer(required=True)
    satisfaction_rate = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "(satisfied + basically satisfied) ÷ rated; null when none rated"},
    )


class ProfileMeeting(Base):
    id = fields.Integer(required=True)
    kind = fields.Enum(MeetingKind, by_value=True, required=True)
    title = fields.String(required=True)
    starts_at = LocalTime(required=True, metadata=TIME_REQUIRED)
    place = fields.String(required=True)
    state = fields.Enum(MeetingState, by_value=True, required=True)
    invited = fields.Boolean(required=True, metadata={"description": "false: it came without an invitation"})
    response = fields.Enum(InvitationResponse, by_value=True, required=True)
    attended = fields.Boolean(
        required=True, allow_none=True, metadata={"description": "null until the minutes are recorded"}
    )


class ProfileVisit(Base):
    id = fields.Integer(required=True)
    visited_on = fields.String(required=True, metadata={"format": "date"})
    liaison = fields.Nested(Person, required=True)
    met = fields.String(required=True, metadata={"description": "Whom the liaison met"})
    notes = fields.String(required=True, allow_none=True, metadata={"description": _STAFF_ONLY})


class EnterpriseProfileSchema(Base):
    """An enterprise, its people, its figures and its field record; its requests a page at a time."""

    uscc = fields.String(required=True, metadata={"description": "统一社会信用代码 (18 characters)"})
    name = fields.String(required=True)
    building_id = fields.Integer(required=True)
    building = fields.String(required=True)
    street = fields.String(required=True)
    room = fields.String(required=True)
    industry = fields.String(required=True)
    verified = fields.Boolean(required=True)
    verified_at = LocalTime(required=True, metadata=TIME)
    contacts = fields.List(fields.Nested(ProfileContact), required=True)
    liaisons = fields.List(
        fields.Nested(ProfileLiaison),
        required=True,
        metadata={"description": "Who covers its building now, the primary liaison first"},
    )
    figures = fields.Nested(ProfileFigures, required=True)
    meetings = fields.List(
        fields.Nested(ProfileMeeting),
        required=True,
        metadata={
            "description": "Invited to or attended, latest first (50 at most; a contact: not cancelled)"
        },
    )
    visits = fields.List(
        fields.Nested(ProfileVisit), required=True, metadata={"description": "Latest first (50 at most)"}
    )
    requests = fields.Nested(
        TicketPage,
        required=True,
        metadata={"description": "Its requests the caller may see, newest first, by `state`, `q`, `page`"},
    )


# --------------------------------------------------------------------------- accounts and admins (issue 10)


class StaffRole(enum.StrEnum):
    """The roles an administrator gives a new account (enterprise contacts register or are onboarded)."""

    LIAISON = "liaison"
    DEPARTMENT = "department"
    MANAGER = "manager"
    ADMIN = "admin"


class UserSchema(Profile):
    """An account as administrators see it."""

    active = fields.Boolean(required=True, metadata={"description": "false: deactivated, cannot log in"})
    created_at = LocalTime(required=True, metadata=TIME_REQUIRED)
    last_login_at = LocalTime(required=True, metadata=TIME)


UserPage = page_of(UserSchema, "UserPage")


class UserListArgs(PageArgs):
    role = choice(Role, description="Only accounts of this role")
    q = clean_text(max_length=100, check_length=True, description="A part of the username or name")
    active = query_flag(description="true: only active accounts; false: only deactivated ones")


class UserCreate(Base):
    username = clean_text(required=True, description="3 to 64 letters, digits, dots, dashes or underscores")
    name = clean_text(required=True, max_length=NAME_MAX)
    role = choice(StaffRole, required=True)
    password = clean_text(required=True, description="The initial password; the project's password rules")
    phone = clean_text(description="Like a request's contact phone")
    email = clean_text(max_length=EMAIL_MAX)
    department = clean_text(description="The department's code; required for the department role")


class UserUpdate(Base):
    """Any subset; an absent (or null) key leaves the value as it is."""

    name = clean_text(max_length=NAME_MAX)
    phone = clean_text(description="Like a request's contact phone; empty removes it")
    email = clean_text(max_length=EMAIL_MAX, description="Empty removes it")
    role = choice(Role, description="Refused where it would strand work; ends the user's sessions")
    department = clean_text(description="The department's code (department staff)")
    active = json_boolean(description="false deactivates the account and ends its sessions")


class ResetLink(Base):
    reset_url = fields.String(required=True, metadata={"description": "Absolute; works once"})
    expires_at = LocalTime(required=True, metadata=TIME_REQUIRED)


class PasswordResetBody(Base):
    password = clean_text(required=True, description="The new password; the project's password rules")


# --------------------------------------------------------------------------- frozen reports (issue 11)


# "from" is a Python keyword: the body's schema is made from a dict
ReportCreate = Base.from_dict(
    {
        "from": clean_text(required=True, description="YYYY-MM-DD, the first day (Asia/Shanghai)"),
        "to": clean_text(required=True, description="YYYY-MM-DD, the last day, included"),
    },
    name="ReportCreate",
)


class ReportSummary(Base):
    id = fields.Integer(required=True)
    from_ = fields.Function(lambda r: r.period_start.isoformat(), data_key="from", required=True)
    to = fields.Function(lambda r: r.period_end.isoformat(), required=True)
    version = fields.Integer(required=True, metadata={"description": "The nth freeze of the same period"})
    as_of = LocalTime(required=True, metadata=TIME_REQUIRED)
    frozen_by = fields.Nested(Person, attribute="created_by", required=True)


class FrozenBreakdownRow(Base):
    key = fields.String(
        required=True, metadata={"description": "A street's id or 'none', a category's code, a channel"}
    )
    label = fields.String(
        required=True,
        metadata={
            "description": "In the reader's language (Accept-Language); in a report frozen before both "
            "languages were kept, the one label it has, in the language of the manager who froze it"
        },
    )
    label_zh = fields.String(
        required=True, allow_none=True, metadata={"description": "null in a report frozen before"}
    )
    label_en = fields.String(
        required=True, allow_none=True, metadata={"description": "null in a report frozen before"}
    )
    figures = fields.Dict(required=True, metadata={"description": "As /stats/summary names them"})


class ReportSchema(ReportSummary):
    figures = fields.Dict(
        required=True, metadata={"description": "Every figure, as /stats/summary names them"}
    )
    breakdowns = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.Nested(FrozenBreakdownRow)),
        attribute="readable_breakdowns",
        required=True,
        metadata={"description": "By street, category and channel: each a list of rows"},
    )
    definitions = fields.Dict(required=True, metadata={"description": "What each figure counts, zh and en"})


ReportPage = page_of(ReportSummary, "ReportPage")

# --------------------------------------------------------------------------- the audit log (issue 11)


class AuditListArgs(PageArgs):
    actor = clean_text(
        max_length=100, check_length=True, description="A part of the actor's username or name"
    )
    action = choice(AuditAction, description="Only entries of this action")
    target = clean_text(max_length=200, check_length=True, description="A part of the target")
    start = clean_text(description="YYYY-MM-DD (Asia/Shanghai), the first day, included")
    end = clean_text(description="YYYY-MM-DD, the last day, included")


class AuditEntrySchema(Base):
    id = fields.Integer(required=True)
    at = LocalTime(attribute="created_at", required=True, metadata=TIME_REQUIRED)
    actor = fields.Method(
        "_actor",
        required=True,
        metadata={
            "type": ["object", "null"],
            "description": "{username, name, role} as they were then; null: the system or the command line",
        },
    )
    action = fields.String(required=True, metadata={"enum": [a.value for a in AuditAction]})
    action_label = fields.Function(lambda e: action_label(e.action), required=True)
    target = fields.String(required=True)
    details = fields.Dict(required=True)

    def _actor(self, entry: Any) -> dict[str, str] | None:
        if not entry.actor_username:
            return None
        return {"username": entry.actor_username, "name": entry.actor_name, "role": entry.actor_role}


AuditPage = page_of(AuditEntrySchema, "AuditPage")

# ------------------------------------------------------------------------ a year from the notice (issue 11.7)


class CalendarNoticeBody(Base):
    text = clean_text(
        required=True,
        multiline=True,
        max_length=5000,
        description="The notice's holidays and make-up working days, e.g. "
        "'元旦 1月1日–3日; 春节 2月15日–23日 休, 2月14日、2月28日 上班', or one range per line",
    )
    apply = json_boolean(description="true saves the whole year; false or absent only previews it")


class NoticeRangeSchema(Base):
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    kind = fields.Function(  # the words of PUT /calendar/<day>: a holiday range is rest days
        lambda r: (DayKind.WORKDAY if r.kind.value == "workday" else DayKind.RESTDAY).value,
        required=True,
        metadata={"type": "string", "enum": [k.value for k in DayKind]},
    )
    name = fields.String(required=True)


class NoticeChangeSchema(Base):
    date = fields.Function(
        lambda d: d.day.isoformat(), required=True, metadata={"type": "string", "format": "date"}
    )
    before = fields.Function(
        lambda d: (DayKind.WORKDAY if d.stored_workday else DayKind.RESTDAY).value,
        required=True,
        metadata={"type": "string", "enum": [k.value for k in DayKind]},
    )
    after = fields.Function(
        lambda d: (DayKind.WORKDAY if d.is_workday else DayKind.RESTDAY).value,
        required=True,
        metadata={"type": "string", "enum": [k.value for k in DayKind]},
    )
    note = fields.String(required=True)


class CalendarNoticePlan(Base):
    year = fields.Integer(required=True)
    saved = fields.Boolean(required=True)
    known = fields.Boolean(
        required=True, attribute="year_known", metadata={"description": "the calendar had the year before"}
    )
    holidays = fields.Integer(required=True, metadata={"description": "days off named by the notice"})
    makeup_days = fields.Integer(required=True, metadata={"description": "make-up working days"})
    ranges = fields.List(fields.Nested(NoticeRangeSchema), required=True)
    changed = fields.List(
        fields.Nested(NoticeChangeSchema),
        required=True,
        metadata={"description": "days whose working or not differs from what the calendar holds"},
    )
    outside = fields.List(
        fields.Date(), required=True, metadata={"description": "days of another year: left as they are"}
    )


# --------------------------------------------------------------------------- 回访: the follow-up queue


class FollowupQueueItem(Base):
    """A resolved request waiting for its follow-up call, with the calls made so far."""

    number = fields.String(required=True)
    title = fields.String(required=True)
    enterprise = fields.Nested(EnterpriseRef, required=True)
    contact_phone = fields.String(required=True, metadata={"description": "The phone given with the request"})
    assignee = fields.Nested(Person, required=True, allow_none=True)
    resolved_at = LocalTime(required=True, metadata={"type": "string", "format": "date-time"})
    attempts = fields.Integer(required=True, metadata={"description": "Follow-up calls made so far"})
    last_attempt_at = LocalTime(required=True, metadata=TIME)
    may_call = fields.Boolean(
        required=True, metadata={"description": "false when the caller handled the request"}
    )


FollowupQueuePage = page_of(
    FollowupQueueItem,
    "FollowupQueuePage",
    waiting=fields.Integer(
        required=True, metadata={"description": "Resolved requests still within their time to rate online"}
    ),
    attempts_allowed=fields.Integer(required=True),
)
