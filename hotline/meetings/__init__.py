"""The liaisons' field work (issue 12): 政企早茶会 and 恳谈会, visits (走访), and what they produce."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The meetings' and visits' pages, and the labels their templates use."""
    from hotline.meetings import labels
    from hotline.meetings.views import bp

    app.register_blueprint(bp)
    app.jinja_env.globals.update(
        meeting_kind_labels=labels.KIND_LABELS,
        meeting_state_labels=labels.STATE_LABELS,
        meeting_response_labels=labels.RESPONSE_LABELS,
    )
