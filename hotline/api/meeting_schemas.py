"""The bodies of the field work's API (issue 12): meetings (政企早茶会, 恳谈会), their invitations, the
questions sent in advance, the minutes, the requests raised at the table, the follow-up agenda, and visits
(走访).

As in :mod:`hotline.api.schemas`, a body is checked here for its JSON types (a text is a string without
control characters, a list a list, an id a whole number, an enum one of its values); whether a field is
given at all and what it means (a known building, an enterprise of the caller's buildings, a time ahead)
is decided by :mod:`hotline.meetings.services`, which names every field's problem at once, the batch's at
their row (``items.<n>.<field>``).
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields

from hotline.api.schemas import (
    ID_MAX,
    MUST_BE_NUMBER,
    TIME,
    TIME_REQUIRED,
    Base,
    LocalTime,
    PageArgs,
    Person,
    TicketSchema,
    choice,
    clean_text,
    page_of,
    text,
)
from hotline.i18n import localized_name
from hotline.meetings.models import (
    InvitationResponse,
    Meeting,
    MeetingInvitation,
    MeetingKind,
    MeetingState,
    Visit,
)
from hotline.meetings.services import ITEMS_MAX, MET_MAX, PLACE_MAX
from hotline.tickets.models import TicketState, Urgency
from hotline.tickets.workflow import TEXT_MAX, TITLE_MAX

A_LIST = _l("A list is needed.")
MOMENT = "YYYY-MM-DD HH:MM in Asia/Shanghai time (a T, seconds and an ISO 8601 offset are accepted)"
# A day a query may name: the years a moment of the database can be converted from and to.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)


def _id() -> fields.Integer:
    return fields.Integer(
        strict=True,
        metadata={"minimum": 1, "maximum": ID_MAX},
        error_messages={"invalid": MUST_BE_NUMBER, "null": MUST_BE_NUMBER, "too_large": MUST_BE_NUMBER},
    )


def _list(inner: fields.Field, description: str) -> fields.List:
    return fields.List(
        inner,
        allow_none=True,
        metadata={"description": description},
        error_messages={"invalid": A_LIST},
    )


def _code() -> fields.String:
    return clean_text()


class InvitationAnswerValue(enum.StrEnum):
    """What an invited enterprise answers (its invitation is pending until it does)."""

    CONFIRMED = InvitationResponse.CONFIRMED.value
    DECLINED = InvitationResponse.DECLINED.value


class MeetingStateChange(enum.StrEnum):
    """The state a change may give a meeting (its minutes make it held)."""

    CANCELLED = MeetingState.CANCELLED.value


def _one_of(values: type[enum.StrEnum], description: str) -> fields.String:
    """A text that should be one of ``values`` (documented so): the service says what is wrong with another,
    with the other fields' problems, rather than the body's check alone."""
    field = clean_text(description=description)
    field.metadata = {**field.metadata, "enum": [v.value for v in values]}
    return field


def _moment(description: str) -> fields.String:
    field = clean_text(description=description)
    field.metadata = {**field.metadata, "format": "date-time"}
    return field


def _day(description: str) -> fields.Date:
    message = _l("Give the day as YYYY-MM-DD.")
    return fields.Date(
        load_default=None,
        validate=ma.validate.Range(min=FIRST_DAY, max=LAST_DAY, error=message),
        metadata={"description": description},
        error_messages={"invalid": message},
    )


# --------------------------------------------------------------------------- what a meeting shows


class EnterpriseName(Base):
    uscc = fields.String(required=True, metadata={"description": "统一社会信用代码 (18 characters)"})
    name = fields.String(required=True)


class BuildingRef(Base):
    id = fields.Integer(required=True)
    name = fields.Function(localized_name, required=True, metadata={"type": "string"})


class DepartmentRef(Base):
    code = fields.String(required=True)
    name = fields.Function(
        localized_name, required=True, metadata={"type": "string", "description": "In the caller's language"}
    )


class InvitationSchema(Base):
    enterprise = fields.Nested(EnterpriseName, required=True)
    invited = fields.Boolean(
        required=True,
        metadata={"description": "false: came without an invitation (recorded with the minutes)"},
    )
    response = fields.Enum(InvitationResponse, by_value=True, required=True)
    responded_at = LocalTime(required=True, metadata=TIME)
    attended = fields.Boolean(
        required=True, allow_none=True, metadata={"description": "null until the minutes are recorded"}
    )


class MeetingView:
    """A meeting as its reader sees it: the invitations it may see, how many requests were raised there."""

    def __init__(self, meeting: Meeting, invitations: list[MeetingInvitation], requests_raised: int) -> None:
        self.meeting = meeting
        self.invitations = invitations
        self.requests_raised = requests_raised

    def __getattr__(self, name: str) -> Any:
        return getattr(self.meeting, name)


class MeetingSchema(Base):
    id = fields.Integer(required=True)
    kind = fields.Enum(
        MeetingKind,
        by_value=True,
        required=True,
        metadata={"description": "tea_meeting 早茶会, roundtable 恳谈会"},
    )
    title = fields.String(required=True)
    starts_at = LocalTime(required=True, metadata=TIME_REQUIRED)
    ends_at = LocalTime(required=True, metadata=TIME_REQUIRED)
    place = fields.String(required=True)
    state = fields.Enum(MeetingState, by_value=True, required=True)
    street = fields.Function(
        lambda m: m.street.code if m.street is not None else None,
        required=True,
        metadata={"type": ["string", "null"], "description": "The code of the street it serves as a whole"},
    )
    buildings = fields.List(fields.Nested(BuildingRef), required=True)
    host = fields.Nested(Person, required=True)
    departments = fields.List(fields.Nested(DepartmentRef), required=True)
    description = fields.String(required=True)
    minutes = fields.String(required=True)
    held_at = LocalTime(required=True, metadata=TIME)
    invitations = fields.List(
        fields.Nested(InvitationSchema),
        required=True,
        metadata={"description": "All of them for staff; an enterprise's contact sees its own only"},
    )
    requests_raised = fields.Integer(
        required=True, metadata={"description": "Requests filed from the meeting's minutes"}
    )


MeetingPage = page_of(MeetingSchema, "MeetingPage")

MeetingListArgs = PageArgs.from_dict(
    {
        "from": _day("YYYY-MM-DD: meetings starting on this day (Asia/Shanghai) or later"),
        "to": _day("YYYY-MM-DD: meetings starting on this day or earlier"),
        "state": choice(MeetingState, description="Only meetings in this state"),
    },
    name="MeetingListArgs",
)


# --------------------------------------------------------------------------- scheduling and changing


def _meeting_fields() -> dict[str, fields.Field]:
    return {
        "kind": _one_of(MeetingKind, "Required: tea_meeting (早茶会) or roundtable (恳谈会)"),
        "title": text(max_length=TITLE_MAX, description="Required"),
        "starts_at": _moment(f"Required: {MOMENT}"),
        "ends_at": _moment(f"{MOMENT}; 90 minutes after the start when absent, at most 12 hours"),
        "place": text(max_length=PLACE_MAX, description="Required"),
        "buildings": _list(_id(), "The ids of the buildings it serves (a liaison: buildings it covers)"),
        "street": clean_text(description="A street's code: it serves all the street's active buildings"),
        "host": clean_text(
            description="A liaison's or manager's username (managers; a liaison hosts its own)"
        ),
        "departments": _list(_code(), "The codes of the departments that attend"),
        "invite": _list(_code(), "The credit codes of enterprises of its buildings to invite"),
        "invite_buildings": _list(_id(), "Invite every enterprise of these of its buildings (ids)"),
        "description": text(max_length=TEXT_MAX),
    }


MeetingCreate = Base.from_dict(_meeting_fields(), name="MeetingCreate")

MeetingUpdate = Base.from_dict(
    {
        **_meeting_fields(),
        "uninvite": _list(_code(), "Take back the invitations of these enterprises (not of those that came)"),
        "state": _one_of(MeetingStateChange, "cancelled: cancel the meeting (the invited are told)"),
    },
    name="MeetingUpdate",
)


class InvitationAnswer(Base):
    response = _one_of(InvitationAnswerValue, "Required: confirmed or declined, until the meeting starts")


# --------------------------------------------------------------------------- questions sent in advance


def _request_fields() -> dict[str, fields.Field]:
    return {
        "category": clean_text(description="Required: a category code (GET /api/v1/categories)"),
        "title": text(max_length=TITLE_MAX, description="Required"),
        "description": text(max_length=TEXT_MAX, description="Required"),
        "contact_phone": clean_text(description="Required: 7 to 20 digits, a leading + and dashes allowed"),
        "urgency": _one_of(Urgency, "normal (the default) or urgent"),
    }


QuestionCreate = Base.from_dict(_request_fields(), name="QuestionCreate")


class QuestionSchema(Base):
    id = fields.Integer(required=True)
    enterprise = fields.Nested(EnterpriseName, required=True)
    category = fields.String(required=True, attribute="category.code")
    title = fields.String(required=True)
    description = fields.String(required=True)
    contact_phone = fields.String(required=True)
    urgency = fields.Enum(Urgency, by_value=True, required=True)
    created_at = LocalTime(required=True, metadata=TIME_REQUIRED)
    ticket = fields.Function(
        lambda q: q.ticket.number if q.ticket is not None else None,
        required=True,
        metadata={"type": ["string", "null"], "description": "The request it was filed as, at the meeting"},
    )


# --------------------------------------------------------------------------- minutes and batch intake


class MinutesBody(Base):
    attended = _list(
        _code(), "The credit codes of the enterprises that came (invited, or walk-ins of its buildings)"
    )
    minutes = text(max_length=TEXT_MAX, description="A summary of what was discussed")


class _Row(Base):
    """One request of a batch; a row that is not an object is refused at its row."""

    error_messages = {"type": _l("Each request is an object of fields.")}  # noqa: RUF012 (marshmallow's)


MeetingItem = _Row.from_dict(
    {
        "enterprise_uscc": clean_text(
            description="Required: an invited enterprise, or one of the meeting's buildings that came"
        ),
        **_request_fields(),
        "answer": text(
            max_length=TEXT_MAX, description="The answer given at the table: filed and resolved in one step"
        ),
        "question": fields.Integer(
            strict=True,
            allow_none=True,
            metadata={"description": "The id of a question the enterprise sent in advance, now filed"},
            error_messages={"invalid": MUST_BE_NUMBER, "too_large": MUST_BE_NUMBER},
        ),
    },
    name="MeetingItem",
)

VisitItem = _Row.from_dict(
    {
        **_request_fields(),
        "answer": text(
            max_length=TEXT_MAX, description="The answer given on the spot: filed and resolved in one step"
        ),
    },
    name="VisitItem",
)


def _items(item: type[ma.Schema], description: str) -> fields.List:
    return fields.List(
        fields.Nested(item),
        allow_none=True,
        metadata={"description": f"{description}; at most {ITEMS_MAX}, all filed or none"},
        error_messages={"invalid": A_LIST},
    )


class MeetingRequestsBody(Base):
    items = _items(MeetingItem, "Required: the requests raised, each for one attending enterprise")


# --------------------------------------------------------------------------- the follow-up agenda


class AgendaOpen(Base):
    number = fields.String(required=True)
    title = fields.String(required=True)
    state = fields.Enum(TicketState, by_value=True, required=True)
    category = fields.String(required=True, attribute="category.code")
    created_at = LocalTime(required=True, metadata=TIME_REQUIRED)
    acknowledge_due_at = LocalTime(required=True, metadata=TIME)
    resolve_due_at = LocalTime(required=True, metadata=TIME)


class AgendaRating(Base):
    score = fields.String(required=True, attribute="rating_score")
    comment = fields.Function(lambda t: t.rating_comment or "", required=True, metadata={"type": "string"})


class AgendaResolved(Base):
    number = fields.String(required=True)
    title = fields.String(required=True)
    state = fields.Enum(TicketState, by_value=True, required=True)
    resolved_at = LocalTime(required=True, metadata=TIME)
    rating = fields.Function(
        lambda t: AgendaRating().dump(t) if t.rating_score is not None else None,
        required=True,
        metadata={
            "type": ["object", "null"],
            "description": "The latest rating {score, comment}; null while unrated",
        },
    )


class AgendaEnterpriseSchema(Base):
    uscc = fields.String(required=True, attribute="enterprise.uscc")
    name = fields.String(required=True, attribute="enterprise.name")
    building = fields.Function(
        lambda e: e.enterprise.building.name if e.enterprise.building is not None else None,
        required=True,
        metadata={"type": ["string", "null"]},
    )
    attended_previous = fields.Boolean(
        required=True,
        allow_none=True,
        metadata={
            "description": "At the previous meeting; null when it was not invited to it or its attendance "
            "was not recorded"
        },
    )
    more = fields.Boolean(
        required=True,
        metadata={"description": "true: it has more requests than listed (the oldest 20 are)"},
    )
    open = fields.List(fields.Nested(AgendaOpen), required=True, metadata={"description": "Still open"})
    resolved = fields.List(
        fields.Nested(AgendaResolved), required=True, metadata={"description": "Resolved since `since`"}
    )


class PreviousMeeting(Base):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    starts_at = LocalTime(required=True, metadata=TIME_REQUIRED)


class AgendaSchema(Base):
    meeting = fields.Nested(MeetingSchema, required=True)
    previous_meeting = fields.Nested(
        PreviousMeeting,
        required=True,
        allow_none=True,
        attribute="previous",
        metadata={"description": "The latest earlier meeting of the same buildings, not cancelled"},
    )
    since = LocalTime(
        required=True,
        metadata={
            **TIME_REQUIRED,
            "description": "Resolved requests listed are those resolved from here (the previous meeting's "
            "start, or 90 days before this one)",
        },
    )
    enterprises = fields.List(fields.Nested(AgendaEnterpriseSchema), required=True)
    truncated = fields.Boolean(
        required=True, metadata={"description": "true: an enterprise has more requests than listed"}
    )
    left_out = fields.Integer(
        required=True,
        metadata={"description": "Invited enterprises of buildings the calling liaison does not cover"},
    )


# --------------------------------------------------------------------------- visits


class VisitView:
    """A visit with the numbers of the requests raised on it; ``staff_view`` false hides the liaison's
    notes (an enterprise's contact reads when and whom, not what the liaison wrote down)."""

    def __init__(self, visit: Visit, requests: list[str], staff_view: bool = True) -> None:
        self.visit = visit
        self.requests = requests
        self.notes = visit.notes if staff_view else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.visit, name)


class VisitSchema(Base):
    id = fields.Integer(required=True)
    enterprise = fields.Nested(EnterpriseName, required=True)
    building = fields.Nested(BuildingRef, required=True, metadata={"description": "The building on the day"})
    liaison = fields.Nested(Person, required=True)
    visited_on = fields.Date(required=True, metadata={"description": "The local day of the visit"})
    met = fields.String(required=True)
    notes = fields.String(
        required=True,
        allow_none=True,
        metadata={"type": ["string", "null"], "description": "The liaison's notes; null for an enterprise"},
    )
    created_at = LocalTime(required=True, metadata=TIME_REQUIRED)
    requests = fields.List(
        fields.String(), required=True, metadata={"description": "The numbers of the requests raised on it"}
    )


VisitPage = page_of(VisitSchema, "VisitPage")


class VisitListArgs(PageArgs):
    enterprise = clean_text(description="An enterprise's credit code: only the visits to it")


class VisitCreate(Base):
    enterprise_uscc = clean_text(description="Required: an enterprise of a building the caller covers")
    visited_on = clean_text(description="Required: YYYY-MM-DD, not in the future, at most a year back")
    met = text(max_length=MET_MAX, description="Required: whom it met (names and positions)")
    notes = text(max_length=TEXT_MAX)
    items = _items(VisitItem, "The requests raised on the visit, filed with channel visit")


class VisitWithRequests(Base):
    visit = fields.Nested(VisitSchema, required=True)
    requests = fields.List(
        fields.Nested(TicketSchema), required=True, metadata={"description": "Each carries `visit`"}
    )
