"""The core: requests, their lifecycle (one table, :mod:`hotline.tickets.workflow`) and its domain events.

Nothing here imports the features above it (clocks, routing, notifications, figures): they subscribe to the
events (:mod:`hotline.tickets.events`) and bind their own actions to the table from their ``init_app``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind the lifecycle's services to the table's rows; the pages; the labels for templates."""
    from hotline.tickets import labels, services, views, workflow

    handlers: dict[str, Callable[..., Any]] = {
        "assign": services.assign,
        "review_return": services.review_return,
        "acknowledge": services.acknowledge,
        "reply": services.reply,
        "transfer": services.transfer,
        "handback": services.handback,
        "return": services.return_ticket,
        "resolve": services.resolve,
        "note": services.add_note,
        "add_information": services.add_information,
        "rate": services.rate,  # the follow-up calls are bound by hotline.followup
        "withdraw": services.withdraw,
    }
    for name, handler in handlers.items():
        workflow.bind(name, handler)
    app.register_blueprint(views.bp)
    app.jinja_env.globals.update(
        state_label=labels.state_label,
        event_labels=labels.EVENT_LABELS,
        channel_labels=labels.CHANNEL_LABELS,
        score_labels=labels.SCORE_LABELS,
        outcome_labels=labels.OUTCOME_LABELS,
        urgency_labels=labels.URGENCY_LABELS,
        ticket_states=list(labels.STATE_LABELS),
    )
