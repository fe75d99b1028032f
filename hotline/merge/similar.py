"""Requests that look the same (重复诉求, issue 13 point 2).

Candidates are few and found by index: the same enterprise (``ix_tickets_enterprise_created``) or, for a
request's page, the same building (``ix_tickets_building_state``), the same category, open or resolved or
closed within :data:`RECENT_DAYS`, filed within :data:`CANDIDATES_DAYS`, newest first, at most
:data:`CANDIDATES_MAX` rows.  Their text is scored
with rapidfuzz (C++; maintained) over character bigrams, which suits Chinese (no spaces between words):
``token_set_ratio`` of the two bigram sets, 0-100.  Those at :data:`THRESHOLD` or more are shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlalchemy import and_, or_

from hotline.auth.models import User
from hotline.extensions import db
from hotline.tickets.models import OPEN_STATES, Ticket, TicketState
from hotline.tickets.queries import visible_tickets

RECENT_DAYS = 30
CANDIDATES_DAYS = (
    365  # filed longer ago than this, a request is not offered as a duplicate (rarely still open)
)
CANDIDATES_MAX = 200
THRESHOLD = 60
SHOWN_MAX = 5
TEXT_MAX = 2000  # characters of a typed text compared (the form's fields are longer at most)
_NOISE = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Similar:
    ticket: Ticket
    score: int


def bigrams(text: str) -> str:
    """The text's character bigrams, space-separated (lower case, punctuation and spaces dropped)."""
    letters = _NOISE.sub("", (text or "")[:TEXT_MAX].lower())
    if len(letters) < 2:
        return letters
    return " ".join(letters[i : i + 2] for i in range(len(letters) - 1))


def score(a: str, b: str) -> int:
    """0-100: how alike two texts are."""
    left, right = bigrams(a), bigrams(b)
    if not left or not right:
        return 0
    return round(fuzz.token_set_ratio(left, right))


def similar_requests(
    viewer: User,
    *,
    category_id: int,
    title: str,
    description: str,
    now: datetime,
    enterprise_id: int | None = None,
    building_id: int | None = None,
    exclude_id: int | None = None,
) -> list[Similar]:
    """The requests ``viewer`` may see that look like ``title``/``description`` (best first, at most
    :data:`SHOWN_MAX`): of ``enterprise_id`` (or, with ``building_id`` too, of either), of the category."""
    scope = []
    if enterprise_id is not None:
        scope.append(Ticket.enterprise_id == enterprise_id)
    if building_id is not None:
        scope.append(Ticket.building_id == building_id)
    if not scope:
        return []
    recent = now - timedelta(days=RECENT_DAYS)
    query = visible_tickets(viewer).where(
        or_(*scope),
        Ticket.category_id == category_id,
        # a year back at most: the created-at indexes bound what is read, not only what is kept
        Ticket.created_at >= now - timedelta(days=CANDIDATES_DAYS),
        or_(
            Ticket.state.in_((*OPEN_STATES, TicketState.RESOLVED)),
            and_(Ticket.state == TicketState.CLOSED, Ticket.closed_at >= recent),
        ),
    )
    if exclude_id is not None:
        query = query.where(Ticket.id != exclude_id)
    query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(CANDIDATES_MAX)
    typed = f"{title} {description}"
    found = []
    for ticket in db.session.scalars(query):
        value = score(typed, f"{ticket.title} {ticket.description}")
        if value >= THRESHOLD:
            found.append(Similar(ticket, value))
    found.sort(key=lambda s: (-s.score, -s.ticket.id))
    return found[:SHOWN_MAX]


def possible_duplicates(viewer: User, ticket: Ticket, now: datetime) -> list[Similar]:
    """For a request's page (staff): requests of its enterprise or building that look like it."""
    return similar_requests(
        viewer,
        category_id=ticket.category_id,
        title=ticket.title,
        description=ticket.description,
        now=now,
        enterprise_id=ticket.enterprise_id,
        building_id=ticket.building_id,
        exclude_id=ticket.id,
    )
