"""What each value of the meeting enums is called on the pages (lazy strings, translated when shown)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from hotline.meetings.models import InvitationResponse, MeetingKind, MeetingState

KIND_LABELS: dict[MeetingKind, LazyString] = {
    MeetingKind.TEA_MEETING: _l("Tea meeting"),
    MeetingKind.ROUNDTABLE: _l("Roundtable"),
}

STATE_LABELS: dict[MeetingState, LazyString] = {
    MeetingState.SCHEDULED: _l("Scheduled"),
    MeetingState.HELD: _l("Held"),
    MeetingState.CANCELLED: _l("Cancelled"),
}

RESPONSE_LABELS: dict[InvitationResponse, LazyString] = {
    InvitationResponse.PENDING: _l("No answer yet"),
    InvitationResponse.CONFIRMED: _l("Will attend"),
    InvitationResponse.DECLINED: _l("Declined"),
}
