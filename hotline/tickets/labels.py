"""What each value of the request enums is called on the pages, in the API's ``*_label`` fields, in messages.

One place per enum, so that a page, an export and a refusal name a state the same way.  Lazy strings: each is
translated when it is shown, in the reader's language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from hotline.tickets.models import (
    Channel,
    EventKind,
    FollowupOutcome,
    RatingScore,
    RatingSource,
    TicketState,
    Urgency,
)

STATE_LABELS: dict[TicketState, LazyString] = {
    TicketState.SUBMITTED: _l("Awaiting dispatch"),
    TicketState.ASSIGNED: _l("Awaiting acknowledgement"),
    TicketState.IN_PROGRESS: _l("In progress"),
    TicketState.RESOLVED: _l("Resolved, awaiting rating"),
    TicketState.CLOSED: _l("Closed"),
    TicketState.RETURNED: _l("Returned, awaiting review"),
    TicketState.WITHDRAWN: _l("Withdrawn"),
    TicketState.MERGED: _l("Merged"),
}

EVENT_LABELS: dict[EventKind, LazyString] = {
    EventKind.SUBMITTED: _l("Submitted"),
    EventKind.ASSIGNED: _l("Assigned"),
    EventKind.ACKNOWLEDGED: _l("Acknowledged"),
    EventKind.REPLIED: _l("Reply"),
    EventKind.NOTED: _l("Internal note"),
    EventKind.INFO_ADDED: _l("More information from the enterprise"),
    EventKind.TRANSFERRED: _l("Transferred to a department"),
    EventKind.HANDED_BACK: _l("Handed back to the liaison"),
    EventKind.RETURNED: _l("Returned for re-dispatch"),
    EventKind.RETURN_ACCEPTED: _l("Return accepted"),
    EventKind.RETURN_REFUSED: _l("Return refused"),
    EventKind.RESOLVED: _l("Resolved"),
    EventKind.RATED: _l("Rated"),
    EventKind.REOPENED: _l("Reopened"),
    EventKind.CLOSED: _l("Closed"),
    EventKind.WITHDRAWN: _l("Withdrawn"),
    EventKind.POOLED: _l("Waiting in the dispatch pool"),
    EventKind.WARNING: _l("Deadline approaching"),
    EventKind.OVERDUE: _l("Overdue, escalated to supervisors"),
    EventKind.ESCALATED: _l("Escalated to the district managers"),
    EventKind.EXTENSION_REQUESTED: _l("Extension requested"),
    EventKind.EXTENSION_APPROVED: _l("Extension approved"),
    EventKind.EXTENSION_REFUSED: _l("Extension refused"),
    EventKind.CLOCKS_RECOMPUTED: _l("Deadlines recomputed"),
    EventKind.FOLLOWUP_CALLED: _l("Follow-up call"),
    EventKind.MERGED: _l("Merged (并单)"),
    EventKind.UNMERGED: _l("Merge undone"),
    EventKind.LINKED: _l("Linked to a related request"),
    EventKind.UNLINKED: _l("Link to a related request removed"),
}

CHANNEL_LABELS: dict[Channel, LazyString] = {
    Channel.WEB: _l("Web"),
    Channel.PHONE: _l("Phone"),
    Channel.TEA_MEETING: _l("Tea meeting"),
    Channel.ROUNDTABLE: _l("Roundtable"),
    Channel.VISIT: _l("Visit"),
    Channel.API: _l("API"),
}

SCORE_LABELS: dict[RatingScore, LazyString] = {
    RatingScore.SATISFIED: _l("Satisfied"),
    RatingScore.BASICALLY_SATISFIED: _l("Basically satisfied"),
    RatingScore.DISSATISFIED: _l("Dissatisfied"),
}

RATING_SOURCE_LABELS: dict[RatingSource, LazyString] = {
    RatingSource.ENTERPRISE: _l("The enterprise, online"),
    RatingSource.FOLLOWUP_CALL: _l("Follow-up call"),
}

OUTCOME_LABELS: dict[FollowupOutcome, LazyString] = {
    FollowupOutcome.SOLVED: _l("The problem is solved"),
    FollowupOutcome.UNSOLVED: _l("The problem is not solved"),
}

URGENCY_LABELS: dict[Urgency, LazyString] = {Urgency.NORMAL: _l("Normal"), Urgency.URGENT: _l("Urgent")}


def state_label(state: TicketState) -> str:
    """The state's name in the current language."""
    return str(STATE_LABELS[state])
