"""What the lists of requests behind the figures are called: the drill-down page's title and the name of the
downloaded list (one definition, so the page and its download always agree)."""

from __future__ import annotations

from typing import Any, get_args

from flask_babel import lazy_gettext as _l

from hotline.stats.queries import FigureName

LIST_LABELS: dict[str, Any] = {
    "total": _l("Requests received"),
    "resolved": _l("Requests resolved"),
    "rated": _l("Rated requests"),
    "satisfied": _l("Satisfied and basically satisfied"),
    "dissatisfied": _l("Dissatisfied"),
    "acknowledged_on_time": _l("Acknowledged in time"),
    "acknowledged_late": _l("Acknowledged late"),
    "unacknowledged_overdue": _l("Not acknowledged, past the deadline"),
    "resolved_on_time": _l("Resolved in time"),
    "resolved_late": _l("Resolved late"),
    "reopened": _l("Reopened"),
    "overdue_open": _l("Open past the deadline"),
    "returned_late": _l("Returned after the signing deadline"),
    "rated_by_enterprise": _l("Rated by the enterprise online"),
    "rated_by_followup": _l("Rating recorded from a follow-up call"),
    "unrated": _l("Resolved, not rated"),
    "rated_resolved": _l("Resolved and rated"),
}

FIGURES: tuple[FigureName, ...] = get_args(FigureName)
assert set(FIGURES) == set(LIST_LABELS), "every list behind a figure has a title"
