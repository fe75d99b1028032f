"""What people read for a claim's state (in their language)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from hotline.enterprises.models import ClaimState

CLAIM_STATE_LABELS = {
    ClaimState.PENDING: _l("Awaiting review"),
    ClaimState.CONFIRMED: _l("Confirmed"),
    ClaimState.REJECTED: _l("Rejected"),
}


def claim_state_label(state: ClaimState | str) -> str:
    return str(CLAIM_STATE_LABELS.get(ClaimState(state), state))
