"""The request lifecycle as one table (DESIGN §4): every action, where it is allowed, who may take it, what it
asks for, where it leads and what it leaves on the timeline.

Everything else is derived from :data:`ACTIONS`:

- the services' guards (:func:`check`), so that a refusal is the same sentence wherever it comes from;
- the actions a request's page offers (:func:`offered`) and the forms it shows (``tickets/views.py`` builds
  each form from the action's :class:`Field` list);
- the web dispatch ``POST /tickets/<number>/<action>`` and the API routes
  ``POST /api/v1/tickets/<number>/<action>`` with their body schemas, and so the OpenAPI document
  (``hotline/api``).

Adding an action is a row here, one service function bound to it with :func:`bind`, and its tests; the
page, the API and the document then have it by themselves.  A feature above the core (the extensions of
``hotline.sla``) binds its own service to its row the same way, from its own module.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from hotline.auth.models import Role, User
from hotline.errors import Forbidden, InvalidTransition
from hotline.tickets.labels import state_label
from hotline.tickets.models import (
    OPEN_STATES,
    EventKind,
    FollowupOutcome,
    RatingScore,
    Ticket,
    TicketState,
)

TEXT_MAX = 5000
TITLE_MAX = 100
EXTENSION_TEXT_MAX = 2000
EXTENSION_DAYS_MAX = 30
FOLLOWUP_CONTACT_MAX = 50


class Who(enum.StrEnum):
    """The parties an action can be allowed to, as the guard and the documentation name them."""

    ASSIGNEE = "assignee"  # the liaison the request is assigned to
    DEPARTMENT = "department"  # staff of the department holding it (转办)
    MANAGER = "manager"  # managers and admins (督办)
    ENTERPRISE = "enterprise"  # a contact of the enterprise that filed it
    STAFF = "staff"  # anyone but an enterprise who may see the request


WHO_ROLES: dict[Who, frozenset[Role]] = {
    Who.ASSIGNEE: frozenset({Role.LIAISON}),
    Who.DEPARTMENT: frozenset({Role.DEPARTMENT}),
    Who.MANAGER: frozenset({Role.MANAGER, Role.ADMIN}),
    Who.ENTERPRISE: frozenset({Role.ENTERPRISE}),
    Who.STAFF: frozenset({Role.LIAISON, Role.DEPARTMENT, Role.MANAGER, Role.ADMIN}),
}

# For the API document (English, like the rest of it).
WHO_LABELS: dict[Who, str] = {
    Who.ASSIGNEE: "the assignee",
    Who.DEPARTMENT: "the department holding it",
    Who.MANAGER: "a manager",
    Who.ENTERPRISE: "the enterprise that filed it",
    Who.STAFF: "any staff member who may see it",
}


def is_party(who: Who, ticket: Ticket, user: User) -> bool:
    """Whether ``user`` is ``who`` for ``ticket`` (the role and, where it matters, the relation)."""
    if user.role not in WHO_ROLES[who]:
        return False
    if who == Who.ASSIGNEE:
        return ticket.assignee_id is not None and ticket.assignee_id == user.id
    if who == Who.DEPARTMENT:
        return ticket.department_id is not None and ticket.department_id == user.department_id
    if who == Who.ENTERPRISE:
        return user.enterprise_id is not None and user.enterprise_id == ticket.enterprise_id
    return True  # MANAGER, STAFF: the role is enough


@dataclass(frozen=True)
class Field:
    """One input of an action, the same on the page's form and in the API's body.

    ``required`` marks it for the page (the asterisk), the API schema and the document; whether the value is
    acceptable is still the service's decision, so the page and the API refuse it with the same message.
    ``param`` is the service's parameter when it is not called like the field.
    """

    name: str
    kind: Literal["text", "line", "choice", "boolean", "integer", "datetime"]
    label: LazyString
    required: bool = False
    max_length: int | None = None
    param: str | None = None
    enum: type[enum.StrEnum] | None = None
    choices: Literal["departments", "liaisons"] | None = None
    description: LazyString | None = None
    true_label: LazyString | None = None
    false_label: LazyString | None = None
    missing: LazyString | None = None  # the message when a required choice is not made
    minimum: int | None = None
    maximum: int | None = None

    @property
    def parameter(self) -> str:
        return self.param or self.name


@dataclass(frozen=True)
class Action:
    """One row of the lifecycle table."""

    name: str
    title: LazyString  # the form's heading and its button
    done: LazyString  # said after it succeeded
    states: tuple[TicketState, ...]  # where it is allowed
    who: tuple[Who, ...]  # who may take it (any of them)
    events: tuple[EventKind, ...]  # the event kinds it appends (the first always)
    refused: LazyString  # when the state does not allow it; ``%(state)s`` is the state's name
    forbidden: LazyString  # when the user may not take it
    fields: tuple[Field, ...] = ()
    leads_to: tuple[TicketState, ...] = ()  # the states it can lead to; () = the state does not change
    public: bool = True  # whether the enterprise sees its (first) event
    button: str = "btn-primary"
    summary: str = ""  # for the API document (English, like the rest of it)
    # A condition of the request besides its state (e.g. "is with a department"), and what is said when unmet.
    condition: Callable[[Ticket], bool] | None = None
    unmet: LazyString | None = None

    def allowed_roles(self) -> frozenset[Role]:
        roles: set[Role] = set()
        for who in self.who:
            roles |= WHO_ROLES[who]
        return frozenset(roles)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


ALL_STATES = tuple(TicketState)
# When a follow-up call was made: the same field on both call rows.
CALLED_AT = Field("called_at", "datetime", _l("Time of the call"), description=_l("Leave empty for now."))


# An enterprise's rating of an answer: the same two fields on its request (rate) and on one merged into
# another (rate_merged).
RATING_FIELDS = (
    Field(
        "score",
        "choice",
        _l("Rating"),
        required=True,
        enum=RatingScore,
        missing=_l("Choose satisfied, basically satisfied or dissatisfied."),
    ),
    Field(
        "comment",
        "text",
        _l("Comment"),
        max_length=TEXT_MAX,
        description=_l("Required when dissatisfied."),
    ),
)


def _with_department(ticket: Ticket) -> bool:
    return ticket.department_id is not None


_ROWS: tuple[Action, ...] = (
    # -------------------------------------------------------------- dispatch (managers)
    Action(
        "assign",
        _l("Assign to a liaison"),
        _l("The request has been assigned."),
        states=(TicketState.SUBMITTED, TicketState.ASSIGNED, TicketState.IN_PROGRESS, TicketState.RETURNED),
        who=(Who.MANAGER,),
        events=(EventKind.ASSIGNED,),
        leads_to=(TicketState.ASSIGNED, TicketState.IN_PROGRESS),
        refused=_l("A request that is “%(state)s” cannot be dispatched."),
        forbidden=_l("Only a manager may dispatch requests."),
        fields=(
            Field(
                "liaison",
                "choice",
                _l("Liaison"),
                required=True,
                choices="liaisons",
                param="liaison_username",
            ),
            Field("reason", "text", _l("Reason"), max_length=TEXT_MAX),
        ),
        summary=(
            "Dispatch a waiting request to a liaison, or hand an open one over to another: an assigned or "
            "returned request is acknowledged anew by the new liaison; one in progress stays in progress "
            "with its resolve deadline."
        ),
    ),
    Action(
        "review_return",
        _l("Review the return"),
        _l("The return has been reviewed."),
        states=(TicketState.RETURNED,),
        who=(Who.MANAGER,),
        events=(EventKind.RETURN_ACCEPTED, EventKind.RETURN_REFUSED),
        leads_to=(TicketState.SUBMITTED, TicketState.ASSIGNED, TicketState.IN_PROGRESS),
        public=False,
        refused=_l("A request that is “%(state)s” has no return to review."),
        forbidden=_l("Only a manager may review returns."),
        fields=(
            Field(
                "accept",
                "boolean",
                _l("Decision"),
                required=True,
                true_label=_l("Accept the return"),
                false_label=_l("Refuse the return"),
                missing=_l("Choose to accept or to refuse the return."),
            ),
            Field("note", "text", _l("Note"), max_length=TEXT_MAX, description=_l("Required when refusing.")),
        ),
        summary=(
            "Accept a return (the request goes back to routing, never to the same liaison) or refuse it "
            "(back to the state it was returned from)."
        ),
    ),
    # -------------------------------------------------------------- the assignee's work
    Action(
        "acknowledge",
        _l("Acknowledge"),
        _l("You have acknowledged the request."),
        states=(TicketState.ASSIGNED,),
        who=(Who.ASSIGNEE,),
        events=(EventKind.ACKNOWLEDGED,),
        leads_to=(TicketState.IN_PROGRESS,),
        refused=_l("A request that is “%(state)s” cannot be acknowledged."),
        forbidden=_l("Only the assignee may acknowledge this request."),
        summary=("签收: the assignee takes responsibility; the resolve clock starts."),
    ),
    Action(
        "reply",
        _l("Reply"),
        _l("The reply has been sent to the enterprise."),
        states=(TicketState.IN_PROGRESS,),
        who=(Who.ASSIGNEE, Who.DEPARTMENT, Who.MANAGER),
        events=(EventKind.REPLIED,),
        refused=_l("A request that is “%(state)s” cannot be replied to."),
        forbidden=_l("Only the assignee, the department holding it or a manager may reply to this request."),
        fields=(Field("body", "text", _l("Reply to the enterprise"), required=True, max_length=TEXT_MAX),),
        summary=("A public reply to the enterprise."),
    ),
    Action(
        "transfer",
        _l("Transfer to a department"),
        _l("The request has been transferred."),
        states=(TicketState.IN_PROGRESS,),
        who=(Who.ASSIGNEE, Who.MANAGER),
        events=(EventKind.TRANSFERRED,),
        refused=_l("A request that is “%(state)s” cannot be transferred."),
        forbidden=_l("Only the assignee or a manager may transfer this request."),
        fields=(
            Field(
                "department",
                "choice",
                _l("Department"),
                required=True,
                choices="departments",
                param="department_code",
            ),
            Field("note", "text", _l("Note"), max_length=TEXT_MAX),
        ),
        summary=("转办: hand the work to a district department; the liaison stays the enterprise's contact."),
    ),
    Action(
        "handback",
        _l("Hand back to the liaison"),
        _l("The request is back with the liaison."),
        states=(TicketState.IN_PROGRESS,),
        who=(Who.DEPARTMENT, Who.ASSIGNEE, Who.MANAGER),
        events=(EventKind.HANDED_BACK,),
        public=False,
        refused=_l("A request that is “%(state)s” cannot be handed back."),
        forbidden=_l("Only the department holding it, the assignee or a manager may hand this request back."),
        fields=(Field("body", "text", _l("Note to the liaison"), required=True, max_length=TEXT_MAX),),
        button="btn-outline-secondary",
        condition=_with_department,
        unmet=_l("The request is not with a department."),
        summary=("The department gives the work back to the liaison (or the liaison takes it back)."),
    ),
    Action(
        "extend",
        _l("Ask for more time"),
        _l("The extension has been requested; a manager will decide on it."),
        states=(TicketState.IN_PROGRESS,),
        who=(Who.ASSIGNEE,),
        events=(EventKind.EXTENSION_REQUESTED,),
        public=False,
        refused=_l("Only a request in progress can be given more time."),
        forbidden=_l("Only the assignee may ask for more time."),
        fields=(
            Field(
                "working_days",
                "integer",
                _l("Extra working days"),
                required=True,
                param="days",
                minimum=1,
                maximum=EXTENSION_DAYS_MAX,
            ),
            Field("reason", "text", _l("Reason"), required=True, max_length=EXTENSION_TEXT_MAX),
        ),
        button="btn-outline-secondary",
        summary=("延期: the assignee asks a manager for more working days on the resolve clock."),
    ),
    Action(
        "decide_extension",
        _l("Decide on the extension"),
        _l("The extension has been decided."),
        states=(TicketState.IN_PROGRESS,),
        who=(Who.MANAGER,),
        events=(EventKind.EXTENSION_APPROVED, EventKind.EXTENSION_REFUSED),
        refused=_l("The request is no longer on the clock this extension was asked for."),
        forbidden=_l("Only a manager may decide on extensions."),
        fields=(
            Field(
                "approve",
                "boolean",
                _l("Decision"),
                required=True,
                true_label=_l("Approve the extension"),
                false_label=_l("Refuse the extension"),
                missing=_l("Choose approve or refuse."),
            ),
            Field(
                "note",
                "text",
                _l("Note"),
                max_length=EXTENSION_TEXT_MAX,
                description=_l("Required when refusing."),
            ),
        ),
        summary=("A manager approves (the deadline moves) or refuses the pending extension of this request."),
    ),
    Action(
        "return",
        _l("Return for re-dispatch"),
        _l("The request has been returned; a manager will review the return."),
        states=(TicketState.ASSIGNED, TicketState.IN_PROGRESS),
        who=(Who.ASSIGNEE,),
        events=(EventKind.RETURNED,),
        leads_to=(TicketState.RETURNED,),
        public=False,
        refused=_l("A request that is “%(state)s” cannot be returned."),
        forbidden=_l("Only the assignee may return this request."),
        fields=(Field("reason", "text", _l("Reason for returning"), required=True, max_length=TEXT_MAX),),
        button="btn-outline-danger",
        summary=("退单: the assignee gives the request back for re-dispatch; a manager reviews it."),
    ),
    Action(
        "resolve",
        _l("Resolve"),
        _l("The request is resolved; the enterprise can now rate the answer."),
        states=(TicketState.IN_PROGRESS,),
        who=(Who.ASSIGNEE, Who.DEPARTMENT, Who.MANAGER),
        events=(EventKind.RESOLVED,),
        leads_to=(TicketState.RESOLVED,),
        refused=_l("A request that is “%(state)s” cannot be resolved."),
        forbidden=_l("Only the assignee, the department holding it or a manager may resolve this request."),
        fields=(
            Field(
                "answer",
                "text",
                _l("Answer"),
                required=True,
                max_length=TEXT_MAX,
                description=_l("The enterprise sees this answer and rates it."),
            ),
        ),
        button="btn-success",
        summary=("办结: the answer is given; the rating window starts."),
    ),
    Action(
        "note",
        _l("Internal note"),
        _l("The note has been added."),
        states=ALL_STATES,
        who=(Who.STAFF,),
        events=(EventKind.NOTED,),
        public=False,
        refused=_l("A request that is “%(state)s” cannot take a note."),
        forbidden=_l("Enterprises cannot add internal notes."),
        fields=(
            Field(
                "body",
                "text",
                _l("Internal note"),
                required=True,
                max_length=TEXT_MAX,
                description=_l("Seen by staff only, never by the enterprise."),
            ),
        ),
        button="btn-outline-secondary",
        summary=("An internal note, seen by staff only; allowed in any state."),
    ),
    # -------------------------------------------------------------- the enterprise's side
    Action(
        "add_information",
        _l("Add information"),
        _l("Your information has been added."),
        states=OPEN_STATES,
        who=(Who.ENTERPRISE,),
        events=(EventKind.INFO_ADDED,),
        refused=_l("A request that is “%(state)s” cannot take more information."),
        forbidden=_l("Only the enterprise that filed this request may add information to it."),
        fields=(Field("body", "text", _l("More information"), required=True, max_length=TEXT_MAX),),
        summary=("The enterprise adds information to its open request."),
    ),
    Action(
        "rate",
        _l("Rate the answer"),
        _l("Thank you, the rating has been recorded."),
        states=(TicketState.RESOLVED,),
        who=(Who.ENTERPRISE,),
        events=(EventKind.RATED, EventKind.REOPENED),
        leads_to=(TicketState.CLOSED, TicketState.IN_PROGRESS),
        refused=_l("A request that is “%(state)s” cannot be rated."),
        forbidden=_l(
            "Only the enterprise that filed this request may rate it online; staff record what it says "
            "on a follow-up call."
        ),
        fields=RATING_FIELDS,
        summary=(
            "评价: the enterprise rates the answer online.  Satisfied or basically satisfied closes the "
            "request; dissatisfied (with a comment) reopens it (重办)."
        ),
    ),
    # -------------------------------------------------------------- 回访: follow-up calls (managers)
    Action(
        "followup",
        _l("Record a follow-up call"),
        _l("The follow-up call has been recorded."),
        states=(TicketState.RESOLVED,),
        who=(Who.MANAGER,),
        events=(EventKind.FOLLOWUP_CALLED, EventKind.RATED, EventKind.REOPENED),
        leads_to=(TicketState.CLOSED, TicketState.IN_PROGRESS),
        refused=_l("A request that is “%(state)s” has no follow-up call to make."),
        forbidden=_l("Only a manager may record a follow-up call."),
        fields=(
            CALLED_AT,
            Field(
                "contact",
                "line",
                _l("Who answered"),
                required=True,
                max_length=FOLLOWUP_CONTACT_MAX,
                description=_l("The name (and role) of the person reached."),
            ),
            Field(
                "outcome",
                "choice",
                _l("Is the problem solved?"),
                required=True,
                enum=FollowupOutcome,
                missing=_l("Choose whether the problem is solved."),
            ),
            Field(
                "score",
                "choice",
                _l("Satisfaction, as stated by the contact"),
                required=True,
                enum=RatingScore,
                missing=_l("Choose satisfied, basically satisfied or dissatisfied."),
            ),
            Field(
                "comment",
                "text",
                _l("What the contact said"),
                max_length=TEXT_MAX,
                description=_l("Required when dissatisfied or not solved."),
            ),
        ),
        summary=(
            "回访: a manager who did not handle the request records a call that reached the enterprise: "
            "who answered, whether the problem is solved and the satisfaction they stated.  It is the "
            "request's rating (source followup_call): satisfied or basically satisfied closes it, "
            "dissatisfied reopens it (重办).  Allowed once the enterprise has not rated online within the "
            "configured working days after resolution."
        ),
    ),
    Action(
        "followup_unanswered",
        _l("Record an unanswered follow-up call"),
        _l("The unanswered call has been recorded."),
        states=(TicketState.RESOLVED,),
        who=(Who.MANAGER,),
        events=(EventKind.FOLLOWUP_CALLED, EventKind.CLOSED),
        leads_to=(TicketState.CLOSED,),
        refused=_l("A request that is “%(state)s” has no follow-up call to make."),
        forbidden=_l("Only a manager may record a follow-up call."),
        fields=(
            CALLED_AT,
            Field("note", "text", _l("Note"), max_length=TEXT_MAX),
        ),
        button="btn-outline-secondary",
        summary=(
            "回访: nobody answered the follow-up call.  The request stays in the follow-up queue; the third "
            "unanswered call closes it unrated, every attempt on its timeline."
        ),
    ),
    # -------------------------------------------------------------- 并单: merging duplicates (issue 13)
    Action(
        "merge",
        _l("Merge into another request"),
        _l("The request has been merged; its enterprise follows the main request."),
        states=OPEN_STATES,
        who=(Who.ASSIGNEE, Who.MANAGER),
        events=(EventKind.MERGED,),
        leads_to=(TicketState.MERGED,),
        refused=_l("A request that is “%(state)s” cannot be merged."),
        forbidden=_l("Only the assignee or a manager may merge this request."),
        fields=(
            Field(
                "into",
                "line",
                _l("Main request number"),
                required=True,
                max_length=20,
                description=_l("An open or resolved request of the same enterprise or building."),
            ),
            Field("reason", "text", _l("Reason"), required=True, max_length=TEXT_MAX),
        ),
        button="btn-outline-secondary",
        summary=(
            "并单: a repeated request is merged into the main one (open or resolved, of the same enterprise "
            "or building, not merged itself).  It leaves the figures; its enterprise is told of the main "
            "request's answer."
        ),
    ),
    Action(
        "unmerge",
        _l("Undo the merge"),
        _l("The merge has been undone."),
        states=(TicketState.MERGED,),
        who=(Who.MANAGER,),
        events=(EventKind.UNMERGED,),
        leads_to=OPEN_STATES,
        refused=_l("A request that is “%(state)s” is not merged."),
        forbidden=_l("Only a manager may undo a merge."),
        fields=(Field("reason", "text", _l("Reason"), max_length=TEXT_MAX),),
        button="btn-outline-danger",
        summary=("A manager undoes a merge on the day it was made: the request is back in its former state."),
    ),
    Action(
        "rate_merged",
        _l("Rate the answer"),
        _l("Thank you, the rating has been recorded."),
        states=(TicketState.MERGED,),
        who=(Who.ENTERPRISE,),
        events=(EventKind.RATED,),
        refused=_l("A request that is “%(state)s” is rated as any other, not here."),
        forbidden=_l("Only the enterprise that filed this request may rate the answer it was given."),
        fields=RATING_FIELDS,
        summary=(
            "The enterprise of a merged request (并单) rates the answer the main request was given, once "
            "that is resolved; the rating stays with the merged request (outside the figures, DESIGN §7); a "
            "dissatisfied one is noted on the main request's timeline.  Offered once, after the answer."
        ),
    ),
    Action(
        "link",
        _l("Link a related request"),
        _l("The requests are linked."),
        states=ALL_STATES,
        who=(Who.STAFF,),
        events=(EventKind.LINKED,),
        public=False,
        refused=_l("A request that is “%(state)s” cannot be linked."),
        forbidden=_l("Only staff may link requests."),
        fields=(
            Field(
                "other",
                "line",
                _l("Related request number"),
                required=True,
                max_length=20,
                description=_l("Related, not the same: each is shown on the other's page."),
            ),
        ),
        button="btn-outline-secondary",
        summary=(
            "Link a related (not repeated) request: each is listed on the other; internal events on both."
        ),
    ),
    Action(
        "unlink",
        _l("Remove a link"),
        _l("The link has been removed."),
        states=ALL_STATES,
        who=(Who.STAFF,),
        events=(EventKind.UNLINKED,),
        public=False,
        refused=_l("A request that is “%(state)s” cannot be unlinked."),
        forbidden=_l("Only staff may remove links between requests."),
        fields=(Field("other", "line", _l("Related request number"), required=True, max_length=20),),
        button="btn-outline-secondary",
        summary=("Remove the link between two related requests."),
    ),
    Action(
        "withdraw",
        _l("Withdraw the request"),
        _l("The request has been withdrawn."),
        states=OPEN_STATES,
        who=(Who.ENTERPRISE,),
        events=(EventKind.WITHDRAWN,),
        leads_to=(TicketState.WITHDRAWN,),
        refused=_l("A request that is “%(state)s” cannot be withdrawn."),
        forbidden=_l("Only the enterprise that filed this request may withdraw it."),
        fields=(Field("reason", "text", _l("Reason for withdrawing"), max_length=TEXT_MAX),),
        button="btn-outline-danger",
        summary=("The enterprise withdraws its request before it is resolved."),
    ),
)

ACTIONS: dict[str, Action] = {row.name: row for row in _ROWS}
# Whether the enterprise sees an event of each kind an action appends (the services' default).
PUBLIC_OF_KIND: dict[EventKind, bool] = {kind: row.public for row in _ROWS for kind in row.events}


# --------------------------------------------------------------------------- the guard


def refusal(action: Action, ticket: Ticket) -> InvalidTransition:
    """The domain error for ``action`` in the request's present state."""
    return InvalidTransition(str(action.refused) % {"state": state_label(ticket.state)})


def check(name: str, ticket: Ticket, actor: User) -> Action:
    """Refuse ``actor`` taking action ``name`` on ``ticket`` now, with the table's sentence; else the action.

    In this order: a user whose role can never take it is :class:`Forbidden`; a request whose state does not
    allow it is an :class:`InvalidTransition` (409); then a user who is not the right party (another liaison,
    another department) is :class:`Forbidden`; then the action's own condition (``unmet``).
    """
    action = ACTIONS[name]
    if actor.role not in action.allowed_roles():
        raise Forbidden(str(action.forbidden))
    if ticket.state not in action.states:
        raise refusal(action, ticket)
    if not any(is_party(who, ticket, actor) for who in action.who):
        raise Forbidden(str(action.forbidden))
    if action.condition is not None and not action.condition(ticket):
        raise InvalidTransition(str(action.unmet or action.refused))
    return action


# --------------------------------------------------------------------------- binding services to rows

Handler = Callable[..., Any]


@dataclass(frozen=True)
class Binding:
    """The service that carries out an action, and a further condition a feature puts on offering it."""

    handler: Handler
    offered_if: Callable[[Ticket, User], bool] | None = None
    parameters: frozenset[str] = field(default_factory=frozenset)


_bindings: dict[str, Binding] = {}


def bind(name: str, handler: Handler, *, offered_if: Callable[[Ticket, User], bool] | None = None) -> None:
    """Bind the service ``handler`` to the table's row ``name`` (each feature does it in its ``init_app``).

    The handler takes ``ticket_id``, ``actor`` and ``now`` and one parameter per field of the row (named by
    the field's ``parameter``); that is checked here, so a row and its service cannot drift apart.
    ``offered_if`` lets the binding feature narrow when the page offers it (e.g. only while an extension is
    pending).  Binding the same handler again is harmless (several applications in one process).
    """
    if name not in ACTIONS:
        raise KeyError(f"no action {name!r} in the lifecycle table")
    parameters = frozenset(inspect.signature(handler).parameters)
    missing = {"ticket_id", "actor", "now", *(f.parameter for f in ACTIONS[name].fields)} - parameters
    if missing:
        raise TypeError(f"{handler.__qualname__} does not take {sorted(missing)} for action {name!r}")
    _bindings[name] = Binding(handler, offered_if, parameters)


def bound(name: str) -> bool:
    return name in _bindings


def run(name: str, ticket_id: int, actor: User, values: Mapping[str, Any], now: datetime) -> Any:
    """Carry out action ``name`` with the field ``values`` (absent text reads as "", absent choices as None).

    The service raises the domain errors; the caller commits.
    """
    binding = _bindings[name]
    arguments: dict[str, Any] = {"ticket_id": ticket_id, "actor": actor, "now": now}
    for spec in ACTIONS[name].fields:
        value = values.get(spec.name)
        if value is None and spec.kind in ("text", "line"):
            value = ""
        arguments[spec.parameter] = value
    return binding.handler(**arguments)


# --------------------------------------------------------------------------- what is offered


def offered(ticket: Ticket, user: User) -> list[Action]:
    """The actions ``user`` may take on ``ticket`` now, in the table's order (what the page shows)."""
    result = []
    for action in _ROWS:
        binding = _bindings.get(action.name)
        if binding is None:
            continue
        try:
            check(action.name, ticket, user)
        except (Forbidden, InvalidTransition):
            continue
        if binding.offered_if is not None and not binding.offered_if(ticket, user):
            continue
        result.append(action)
    return result


def rows() -> Iterable[Action]:
    """Every action of the table, in order."""
    return iter(_ROWS)
