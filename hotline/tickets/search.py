"""Search for everyone (issue 9, point 4): requests by a part of their number, title, description, contact
phone or enterprise name, Chinese included, within what the caller may see, served by indexes only.

A search is a few words (terms) separated by spaces; a request matches when it holds every term, in any of
those fields, case aside.  Wildcards (``%``, ``_``) are ordinary characters.  Each term needs at least
:data:`TERM_MIN` characters, and the whole search at most :data:`SEARCH_MAX` characters; control characters
are taken for spaces.

The indexes are described in :mod:`hotline.tickets.search_index`.  The query for one term is
``<the document matches> OR enterprise_id IN (<ids of the enterprises whose name matches>)``, the ids read
first (at most :data:`ENTERPRISE_MATCHES_MAX`), so that PostgreSQL can combine the GIN index and the btree on
``enterprise_id`` in a BitmapOr.  On PostgreSQL the newest :data:`RECENT_WINDOW` requests the caller may see
are looked through first, with exact tests only, and the indexes are asked only when those hold too few
matches (:func:`_newest_matches`).

A word shaped like the start of a request number — ``QH`` and four digits or more, as ``QH2026`` or
``QH20260103-00`` — finds the requests whose number begins with it (case aside), and only those (other
words of letters and digits, a patent's ``ZL2023…`` or a standard's ``GB50016``, are searched everywhere): on
PostgreSQL by walking the number's ``COLLATE "C"`` btree (``ix_tickets_number_c``) from the newest down, so
a prefix that matches a tenth of the table, all of it old, costs no more than the page (:func:`_by_number`).
Any other part of a number (``0103-0001``) is searched for like any other word.

A search lists the newest :data:`SEARCH_LIMIT` matches at most (a term such as ``2026`` matches every
request): counting or sorting every match of a common word would grow with the table.  The caller is told
when there may be more (:attr:`Search.more`), so the page can ask for another word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    Text,
    bindparam,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)

from hotline.enterprises.models import Enterprise
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.tickets import search_index
from hotline.tickets.models import Ticket

SEARCH_MAX = 50  # characters of a whole search
TERM_MIN = 2  # characters of each of its words
TERMS_MAX = 5
SEARCH_LIMIT = 1000  # matches listed, the newest first
RECENT_WINDOW = 20_000  # the newest requests a search looks through first (PostgreSQL: _newest_matches)
ENTERPRISE_MATCHES_MAX = 200  # enterprises whose name matches a term, looked at
VOCABULARY_MAX = 2000  # trigrams beginning with a two-character term, looked at (SQLite)

# Control characters (and lone surrogates, which cannot be encoded) are read as spaces.
_NOT_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# pg_trgm extracts trigrams from runs of letters and digits: a term with such a run of three that holds a
# Latin letter or a digit (a number, a phone, 企业12) is served best by them; Chinese words by their pairs
# (_postgresql_matches).
_WORDLIKE = re.compile(r"[^\W_]{3}")
_LATIN = re.compile(r"[A-Za-z0-9]")
# The start of a request number (QH20260103-0001: QH, the day, a hyphen, the day's sequence; see
# hotline.tickets.services._number).
NUMBER_PREFIX = re.compile(r"QH[0-9]{4,}(?:-[0-9]*)?", re.IGNORECASE)


@dataclass(frozen=True)
class Search:
    """The outcome of a search: ``query`` selects the matches listed (``limit`` at most, the newest);
    ``more`` is true when more requests may match than those."""

    terms: tuple[str, ...]
    query: Select[Ticket]
    more: bool
    limit: int


def parse(text_: str | None) -> tuple[str, ...]:
    """The terms of a search: its words, each once.

    Raises :class:`ValidationFailed` (on field ``q``) for a search longer than :data:`SEARCH_MAX`, a word
    shorter than :data:`TERM_MIN` or more than :data:`TERMS_MAX` words.
    """
    cleaned = _NOT_TEXT.sub(" ", text_ or "").strip()
    if len(cleaned) > SEARCH_MAX:
        _refuse(_("A search has at most %(n)d characters.", n=SEARCH_MAX))
    terms = tuple(dict.fromkeys(cleaned.split()))
    if any(len(term) < TERM_MIN for term in terms):
        _refuse(_("Each word of a search needs at least %(n)d characters.", n=TERM_MIN))
    if len(terms) > TERMS_MAX:
        _refuse(_("A search has at most %(n)d words.", n=TERMS_MAX))
    return terms


def _refuse(message: str) -> None:
    raise ValidationFailed(message, {"q": message})


def search(query: Select[Ticket], text_: str | None) -> Search:
    """The requests of ``query`` (a :func:`~hotline.tickets.queries.visible_tickets` SELECT) that hold every
    term of ``text_``, the newest :data:`SEARCH_LIMIT` of them.  Raises :class:`ValidationFailed` as
    :func:`parse`."""
    terms = parse(text_)
    if not terms:
        return Search((), query, False, SEARCH_LIMIT)
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    more = False
    wanted: list[tuple[str, list[int]]] = []  # each term, with the enterprises whose name holds it
    for term in terms:
        if NUMBER_PREFIX.fullmatch(term):  # a number's start: the number only (_by_number)
            wanted.append((term, []))
            continue
        enterprise_ids, too_many = _enterprise_ids(term, postgresql)
        more = more or too_many
        wanted.append((term, enterprise_ids))
    ids = _newest_matches(query, wanted, postgresql)
    more = more or len(ids) > SEARCH_LIMIT
    listed = _only(query, ids[:SEARCH_LIMIT], postgresql) if ids else query.where(false())
    return Search(terms, listed, more, SEARCH_LIMIT)


def _only(query: Select[Ticket], ids: list[int], postgresql: bool) -> Select[Ticket]:
    """``query`` narrowed to the requests ``ids``.

    On PostgreSQL as a join to the ids (``unnest`` of one array parameter), which the planner reads first
    and looks up by primary key; with ``id IN (…)``, a page of the list (newest first, 20 rows)
    would rather walk the date index in the hope of meeting 20 of them soon, and read the whole table when
    the matches are old.
    """
    if not postgresql:
        return query.where(Ticket.id.in_(ids))
    given = bindparam("matched_ids", ids, type_=ARRAY(Integer))  # one parameter: the statement is cached
    matched = func.unnest(given).table_valued("id").render_derived(name="matched")
    return query.join(matched, matched.c.id == Ticket.id)


def _newest_matches(
    query: Select[Ticket], wanted: list[tuple[str, list[int]]], postgresql: bool
) -> list[int]:
    """The ids of the newest :data:`SEARCH_LIMIT` + 1 requests of ``query`` that hold every term (in their
    document, or in their enterprise's name: one of the term's ``enterprise_ids``).

    On PostgreSQL in two steps, so that no search walks the table.  Walking the requests newest first until
    enough match is quick when matches are common among recent requests, and reads the whole table when
    they are not (a term found only in old requests: the planner takes matches to be spread evenly over
    time); reading every match through the indexes and sorting them is quick when matches are few, and slow
    for a common term.  So: first the newest :data:`RECENT_WINDOW` requests the caller may see, newest
    first, each checked with the exact tests alone (no index: a bitmap of a common trigram would cost more
    than the window), stopping at enough matches: those are the newest (as are those found when the window
    held every request the caller may see).  Otherwise every match, from the indexes (a ``MATERIALIZED``
    CTE: the planner cannot turn it into the walk), sorted.
    """
    order = (Ticket.created_at.desc(), Ticket.id.desc())
    base = query.order_by(None)
    prefixes = [term for term, _ in wanted if NUMBER_PREFIX.fullmatch(term)]
    if prefixes:
        return _by_number(base, prefixes, [w for w in wanted if w[0] not in prefixes], postgresql)
    if not postgresql:
        conditions = [_sqlite_condition(term, enterprises) for term, enterprises in wanted]
        found = base.with_only_columns(Ticket.id).where(*conditions).order_by(*order)
        return list(db.session.scalars(found.limit(SEARCH_LIMIT + 1)))
    window = base.order_by(*order).limit(RECENT_WINDOW).subquery("recent")
    in_window = [_exact_condition(window.c, term, enterprises) for term, enterprises in wanted]
    newest_first = (window.c.created_at.desc(), window.c.id.desc())
    found = select(window.c.id).where(*in_window).order_by(*newest_first).limit(SEARCH_LIMIT + 1)
    ids = list(db.session.scalars(found))
    if len(ids) > SEARCH_LIMIT:
        return ids
    window_rows = select(func.count()).select_from(
        base.with_only_columns(Ticket.id).order_by(*order).limit(RECENT_WINDOW).subquery()
    )
    if (db.session.scalar(window_rows) or 0) < RECENT_WINDOW:  # the window held all the caller may see
        return ids
    conditions = [_indexed_condition(term, enterprises) for term, enterprises in wanted]
    matches = base.with_only_columns(Ticket.id, Ticket.created_at).where(*conditions)
    every = matches.cte("matches").prefix_with("MATERIALIZED")
    newest = select(every.c.id).order_by(every.c.created_at.desc(), every.c.id.desc())
    return list(db.session.scalars(newest.limit(SEARCH_LIMIT + 1)))


def _by_number(
    base: Select[Ticket], prefixes: list[str], others: list[tuple[str, list[int]]], postgresql: bool
) -> list[int]:
    """The newest :data:`SEARCH_LIMIT` + 1 requests of ``base`` whose number begins with each of
    ``prefixes`` and that hold the ``others`` terms.

    Numbers are issued in filing order, so walking the longest prefix's range of the number's btree from its
    end down meets the newest matches first and stops at enough: one index range, however old or common the
    prefix.  The btree is over ``number COLLATE "C"`` (byte order, whatever the database's collation), so the
    range of a prefix is exactly the numbers that begin with it.  Other terms are checked on the rows met.
    """
    wanted = sorted((p.upper() for p in prefixes), key=len, reverse=True)
    if postgresql:
        number = Ticket.number.collate("C")
        longest = wanted[0]
        after = longest[:-1] + chr(ord(longest[-1]) + 1)  # ASCII: the first string past the prefix's range
        conditions: list[ColumnElement[bool]] = [number >= longest, number < after]
        conditions += [number.startswith(p, autoescape=True) for p in wanted[1:]]
        conditions += [_exact_condition(Ticket.__table__.c, term, ids) for term, ids in others]
        order: tuple[Any, ...] = (number.desc(),)
    else:
        conditions = [Ticket.number.startswith(p, autoescape=True) for p in wanted]  # LIKE: ASCII case aside
        conditions += [_sqlite_condition(term, ids) for term, ids in others]
        order = (Ticket.created_at.desc(), Ticket.id.desc())
    found = base.with_only_columns(Ticket.id).where(*conditions).order_by(*order)
    return list(db.session.scalars(found.limit(SEARCH_LIMIT + 1)))


# --------------------------------------------------------------------------- one term


def _indexed_condition(term: str, enterprise_ids: list[int]) -> ColumnElement[bool]:
    """PostgreSQL: the request holds ``term``, by the search indexes (or is of one of the enterprises)."""
    matches = _postgresql_matches(search_index.ticket_document(Ticket.__table__.c), term)
    return _or_of_enterprises(matches, Ticket.enterprise_id, enterprise_ids)


def _exact_condition(columns: Any, term: str, enterprise_ids: list[int]) -> ColumnElement[bool]:
    """PostgreSQL: the row of ``columns`` (a subquery's) holds ``term``, case aside, by the exact test alone
    (``strpos`` over the lower-cased document), or is of one of the enterprises."""
    document = search_index.ticket_document(columns)
    return _or_of_enterprises(_holds(document, term), columns.enterprise_id, enterprise_ids)


def _sqlite_condition(term: str, enterprise_ids: list[int]) -> ColumnElement[bool]:
    matches = Ticket.id.in_(_sqlite_rowids("tickets", term))
    return _or_of_enterprises(matches, Ticket.enterprise_id, enterprise_ids)


def _or_of_enterprises(
    matches: ColumnElement[bool], enterprise_id: Any, enterprise_ids: list[int]
) -> ColumnElement[bool]:
    """A term's test on the request, or its enterprise is one of those whose name holds the term."""
    return or_(matches, enterprise_id.in_(enterprise_ids)) if enterprise_ids else matches


def _enterprise_ids(term: str, postgresql: bool) -> tuple[list[int], bool]:
    """The ids of the enterprises whose name holds ``term`` (:data:`ENTERPRISE_MATCHES_MAX` at most), and
    whether there were more."""
    if postgresql:
        found = select(Enterprise.id).where(_postgresql_matches(Enterprise.__table__.c.name, term))
    else:
        found = _sqlite_rowids("enterprises", term)
    ids = list(db.session.scalars(found.limit(ENTERPRISE_MATCHES_MAX + 1)))
    return ids[:ENTERPRISE_MATCHES_MAX], len(ids) > ENTERPRISE_MATCHES_MAX


def _postgresql_matches(document: ColumnElement[str], term: str) -> ColumnElement[bool]:
    """``document`` holds ``term``, case aside, by one of its GIN indexes.

    A term with a run of three letters or digits, Latin ones among them (a number, a phone, 企业12), is an
    ``ILIKE`` served by the trigram index.  Any other (Chinese words of any length, two characters, ``a-b``,
    ``、、、``) is looked up by all its pairs in the bigram index and checked with ``strpos``: those keys are
    exact, so a bitmap of them needs no recheck, and a search of several Chinese words intersects the lists
    of one index (with a trigram term among them, each candidate row would be rechecked by both
    expressions).
    """
    if _WORDLIKE.search(term) and _LATIN.search(term):
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return document.ilike(f"%{escaped}%")  # PostgreSQL's default escape character is the backslash
    # The exact test is cheap: where the planner walks the rows in date order (a common term), it runs
    # before the costly hotline_bigrams() (a row's tests run cheapest first), which then sees matches only.
    # The term's pairs come from the same function, so that they are lower-cased as the document's are.
    wanted = search_index.bigrams(literal(term, Text))
    return search_index.bigrams(document).op("@>", is_comparison=True)(wanted) & _holds(document, term)


def _holds(document: ColumnElement[str], term: str) -> ColumnElement[bool]:
    """The exact test: ``document`` holds ``term``, both lower-cased by PostgreSQL (as ``ILIKE`` and the
    bigram index fold them: Python's ``str.lower`` differs for a few letters, İ and a final Σ among them)."""
    return func.strpos(func.lower(document), func.lower(literal(term, Text))) > 0


def _sqlite_rowids(table: str, term: str) -> Select[int]:
    """The rowids (ids) of the rows of ``table`` whose FTS5 document holds ``term``."""
    fts = search_index.fts_table(table)
    phrases = [term] if len(term) > TERM_MIN else _trigrams_beginning(table, term.lower())
    rows = select(literal_column("rowid", Integer)).select_from(text(fts))
    if not phrases:
        return rows.where(false())
    expression = " OR ".join('"' + phrase.replace('"', '""') + '"' for phrase in phrases)
    # unique: each term of a search is a MATCH of its own in one statement
    matched = text(f"{fts} MATCH :expression").bindparams(bindparam("expression", expression, unique=True))
    return rows.where(matched)


def _trigrams_beginning(table: str, pair: str) -> list[str]:
    """The indexed trigrams that begin with ``pair``, from the FTS5 vocabulary (a range of its terms)."""
    vocabulary = search_index.vocab_table(table)
    found = db.session.scalars(
        text(f"SELECT term FROM {vocabulary} WHERE term >= :low AND term < :high LIMIT :n"),
        {"low": pair, "high": pair + "\U0010ffff", "n": VOCABULARY_MAX},
    )
    return list(found)
