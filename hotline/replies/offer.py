"""What a request's page offers of the reply templates: a template global, so the request's page (the
core's :mod:`hotline.tickets`) needs no import of this feature, as the meetings' ``ticket_origin``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import request
from flask_login import current_user
from flask_wtf import FlaskForm

from hotline.replies import TARGETS
from hotline.replies.placeholders import fill, values_of
from hotline.replies.queries import STAFF, offered_for
from hotline.text import whole_number
from hotline.tickets.models import Category, Ticket


@dataclass(frozen=True)
class Offered:
    """A template as offered on one request: its text filled for it."""

    id: int
    title: str
    text: str
    category: Category | None
    shared: bool


def reply_templates_for(ticket: Ticket, action_forms: Mapping[str, FlaskForm]) -> list[Offered]:
    """The templates offered to the current user on ``ticket``'s page (none unless the page has a reply or
    an answer form), in one query.  ``?template=<id>&into=reply|resolve`` (the picker without script)
    puts that template's text in that form when it is empty."""
    if current_user.role not in STAFF or not any(name in action_forms for name in TARGETS):
        return []
    values = values_of(ticket)
    offered = [
        Offered(t.id, t.title, fill(t.body, values), t.category, t.shared)
        for t in offered_for(current_user, ticket)
    ]
    into = request.args.get("into")
    chosen = whole_number(request.args.get("template"))
    if request.method == "GET" and into in TARGETS and into in action_forms and chosen is not None:
        field = action_forms[into][TARGETS[into]]
        text = next((o.text for o in offered if o.id == chosen), None)
        if text is not None and not field.data:
            field.data = text
    return offered
