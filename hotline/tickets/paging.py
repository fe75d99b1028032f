"""Pages of requests that cost the same on page 1 and on page 50,000 (issue 9; DESIGN §10).

A list of requests is shown a page at a time with its exact ``total`` and ``pages`` (the API's stable core
and the pagination bar both promise them).  ``LIMIT/OFFSET`` over ``SELECT tickets.*`` reads and throws away
every full row before the page, and ``count(*)`` over the same query reads the visible set once more: both
grow with the table (1.9 s for page 500 of a million before this module).  Here a page is read in two steps:

1. the *ids* of the page, from a narrow query over ``ix_tickets_created_cover`` (``created_at, id`` with every
   column a list filters on included, so on PostgreSQL it is an index-only scan whatever the role's filter);
   a page in the second half of the list is read from the other end, in the opposite order, so no page skips
   more than half the list;
2. the full rows of those ids (at most ``per_page``), with the relations the page shows.

The total is not counted again: the caller passes the counts by state it already shows in its tabs
(:func:`hotline.tickets.queries.state_counts`, which reads the closed requests from the statistics rollup),
or, for a drill-down, the figure the list explains.

Two orders: ``newest`` (``created_at`` then ``id``, descending) and ``open_first`` (open requests, oldest
first, then the finished ones, oldest first): the second is two segments whose sizes come from the counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, Select, select

from hotline.extensions import db
from hotline.tickets.models import OPEN_STATES, Ticket, TicketState

Order = Literal["newest", "open_first"]


@dataclass(frozen=True)
class Segment:
    """A run of the list: the rows of ``query`` matching ``where``, ``size`` of them, read in ``descending``
    or ascending (``created_at``, ``id``) order."""

    where: ColumnElement[bool] | None
    size: int
    descending: bool


def segments(order: Order, counts: Mapping[TicketState, int], state: TicketState | None) -> list[Segment]:
    """The segments of a list in ``order`` whose rows number ``counts`` by state, narrowed to ``state``."""
    chosen = {s: n for s, n in counts.items() if state is None or s == state}
    if order == "newest":
        return [Segment(None, sum(chosen.values()), True)]
    open_size = sum(n for s, n in chosen.items() if s in OPEN_STATES)
    done_size = sum(n for s, n in chosen.items() if s not in OPEN_STATES)
    return [
        Segment(Ticket.state.in_(OPEN_STATES), open_size, False),
        Segment(Ticket.state.not_in(OPEN_STATES), done_size, False),
    ]


def _window_ids(query: Select[Any], segment: Segment, offset: int, limit: int) -> list[int]:
    """The ids of rows ``offset`` … ``offset + limit`` of the segment, in the segment's order."""
    limit = min(limit, segment.size - offset)
    if limit <= 0:
        return []
    ids = query.with_only_columns(Ticket.id).order_by(None)
    if segment.where is not None:
        ids = ids.where(segment.where)
    # Past the middle, read from the far end: skip (size - offset - limit) rows in the opposite order.
    reverse = offset > (segment.size - limit) // 2
    descending = segment.descending != reverse
    if descending:
        ids = ids.order_by(Ticket.created_at.desc(), Ticket.id.desc())
    else:
        ids = ids.order_by(Ticket.created_at, Ticket.id)
    skip = segment.size - offset - limit if reverse else offset
    found = list(db.session.scalars(ids.offset(skip).limit(limit)))
    return found[::-1] if reverse else found


def page_ids(query: Select[Any], parts: Sequence[Segment], offset: int, limit: int) -> list[int]:
    """The ids of the rows ``offset`` … ``offset + limit`` of the list made of ``parts`` in turn."""
    found: list[int] = []
    for segment in parts:
        if limit <= len(found):
            break
        if offset >= segment.size:
            offset -= segment.size
            continue
        found += _window_ids(query, segment, offset, limit - len(found))
        offset = 0
    return found


def load(ids: Sequence[int], options: Iterable[Any] = ()) -> list[Ticket]:
    """The requests with these ids, in this order."""
    if not ids:
        return []
    rows = db.session.scalars(select(Ticket).where(Ticket.id.in_(ids)).options(*options))
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


class TicketPagination(Pagination):
    """A :class:`~flask_sqlalchemy.pagination.Pagination` of requests read as the module says.

    ``query`` is the list's SELECT of requests (its filters; any ORDER BY is replaced), ``parts`` its
    segments (:func:`segments`), ``options`` the loader options of the page's rows.
    """

    def _query_items(self) -> list[Any]:
        args = self._query_args
        offset = (self.page - 1) * self.per_page
        ids = page_ids(args["query"], args["parts"], offset, self.per_page)
        return list(load(ids, args.get("options", ())))

    def _query_count(self) -> int:
        return sum(part.size for part in self._query_args["parts"])


def paginate(
    query: Select[Any],
    parts: Sequence[Segment],
    *,
    options: Iterable[Any] = (),
    page: int | None = None,
    per_page: int | None = None,
    max_per_page: int | None = 100,
    error_out: bool = True,
) -> TicketPagination:
    """A page of ``query`` (``page``/``per_page`` from the request's arguments when not given)."""
    return TicketPagination(
        page=page,
        per_page=per_page,
        max_per_page=max_per_page,
        error_out=error_out,
        query=query,
        parts=list(parts),
        options=list(options),
    )
