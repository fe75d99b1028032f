"""What a request's page offers of the reply templates: a template global, so the request's page (the
core's :mod:`hotline.tickets`) needs no import of this feature, as the meetings' ``ticket_origin``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from hotline.db import utcnow
from hotline.kb.models import KbArticle
from hotline.kb.queries import answers_for_category
from hotline.replies import TARGETS
from hotline.replies.placeholders import fill, values_of
from hotline.replies.queries import STAFF, offered_for
from hotline.tickets.models import Category, Ticket
from hotline.timeutil import local_date


@dataclass(frozen=True)
class Offered:
    """A template as offered on one request: its text filled for it.  ``value`` is what the picker sends:
    the template's id, or ``kb-<id>`` for an answer of the knowledge base."""

    id: int
    title: str
    text: str
    category: Category | None
    shared: bool
    from_kb: bool = False

    @property
    def value(self) -> str:
        return f"kb-{self.id}" if self.from_kb else str(self.id)


def _kb_answer(article: KbArticle) -> str:
    """An article as the text of a reply: its body, then the policy it rests on and where to read it."""
    lines = [article.body.strip()]
    policy = " ".join(p for p in (article.policy_title, article.policy_number) if p)
    if policy:
        lines.append(_("Policy: %(policy)s", policy=policy))
    lines.append(url_for("kb.article", article_id=article.id, _external=True))
    return "\n\n".join(lines)


def kb_answers_for(ticket: Ticket) -> list[Offered]:
    """The knowledge base's published answers of the request's category, offered beside the templates."""
    return [
        Offered(a.id, a.title, _kb_answer(a), None, True, from_kb=True)
        for a in answers_for_category(ticket.category_id, local_date(utcnow()))
    ]


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
    offered += kb_answers_for(ticket)
    into = request.args.get("into")
    chosen = request.args.get("template")
    if request.method == "GET" and into in TARGETS and into in action_forms and chosen:
        field = action_forms[into][TARGETS[into]]
        text = next((o.text for o in offered if o.value == chosen), None)
        if text is not None and not field.data:
            field.data = text
    return offered
