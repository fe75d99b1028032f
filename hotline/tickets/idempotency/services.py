"""The rules of idempotency keys: what a key may be, a body's fingerprint, claiming a key, keeping the answer,
forgetting keys after 24 hours.

A call with a key runs in one transaction, the one that files its request
(:mod:`hotline.tickets.idempotency.intake` drives it):

1. :func:`claim` inserts the key's row (``INSERT … ON CONFLICT DO NOTHING RETURNING id``: the unique
   constraint on (user, scope, key) decides a race).  Inserted: the call owns the key until it commits or
   rolls back, since a second call's insert of the same key waits for that.  Not inserted: the row was
   committed by an earlier call, and :func:`claim` locks it (``SELECT … FOR UPDATE``) and either hands back
   its stored answer (a repeat) or resets it for this call (answered more than 24 hours ago, or left
   unanswered by an old two-transaction call);
2. the call files its request and stores the answer, committed together (:func:`answer_with_the_filing`:
   on PostgreSQL in the statement that writes the request; :func:`record_answer` otherwise).

So a request and its key's answer are committed together or not at all: whatever a client sees or misses
(a reset connection, a timeout, a killed server), sending the same call again files nothing twice, and a
refused or failed call leaves no row behind.  On PostgreSQL a second call with the key while the first is
still running waits for it at most ``lock_wait`` seconds (``lock_timeout``, for the call's whole transaction),
then gets its answer; a first call still running after that is reported (:class:`IdempotencyKeyInFlight`).
SQLite has one writer at a time: there the second call waits for the first (the busy timeout) and then gets
its answer.

Services take the user's id and ``now``; they flush and never commit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from hotline.db import Rider, with_the_next_flush
from hotline.errors import Conflict, DomainError
from hotline.extensions import db
from hotline.tickets.idempotency.models import KEY_MAX, IdempotencyKey, IdempotencyScope
from hotline.tickets.models import Ticket

# A key is answered with its first outcome for this long, then forgotten (the IETF draft and Stripe: 24 h).
REPLAY_WINDOW = timedelta(hours=24)
HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock not had within lock_timeout


class InvalidIdempotencyKey(DomainError):
    """The ``Idempotency-Key`` header is empty, too long or holds other than printable ASCII."""

    code = "invalid_idempotency_key"
    status = 400


class IdempotencyKeyReused(Conflict):
    """The key was used for a different request (another body) within the replay window."""

    code = "idempotency_key_reused"


class IdempotencyKeyInFlight(Conflict):
    """A call with this key is still being processed."""

    code = "idempotency_key_in_flight"


# --------------------------------------------------------------------------- keys and fingerprints


def _printable_ascii(text: str) -> bool:
    return all(" " <= c <= "~" for c in text)


def _unquote(value: str) -> str | None:
    """The content of a Structured Fields string (RFC 8941 §3.3.3: ``"…"`` with ``\\"`` and ``\\\\``), as
    the IETF draft sends the key; None when it is not one."""
    if len(value) < 2 or not value.endswith('"'):
        return None
    out: list[str] = []
    chars = iter(value[1:-1])
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            if escaped not in ('"', "\\"):
                return None
            out.append(escaped)
        elif char == '"':
            return None
        else:
            out.append(char)
    return "".join(out)


def parse_key(value: str | None) -> str | None:
    """The key of a request's ``Idempotency-Key`` header; None when it has no such header.

    A key is 1 to 255 printable ASCII characters, sent bare (as Stripe's clients do) or as a Structured
    Fields string (as the IETF draft does).  Raises :class:`InvalidIdempotencyKey` for anything else.  (A
    header sent twice reaches a WSGI application as one, its values joined by a comma: one key, the same
    on every retry.)
    """
    if value is None:
        return None
    raw = value.strip()
    key = _unquote(raw) if raw.startswith('"') else raw
    if key is None or not 1 <= len(key) <= KEY_MAX or not _printable_ascii(key):
        raise InvalidIdempotencyKey(
            _(
                "The Idempotency-Key header must be 1 to %(n)d printable ASCII characters.",
                n=KEY_MAX,
            )
        )
    return key


def form_token(value: str | None) -> str | None:
    """A form's one-time token if it has the shape of a key, else None (the form is then filed without)."""
    token = (value or "").strip()
    return token if 1 <= len(token) <= KEY_MAX and _printable_ascii(token) else None


def new_form_token() -> str:
    """A fresh one-time token for a filing form (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def fingerprint(method: str, path: str, body: bytes) -> str:
    """sha256 of the call: its method, its path and its JSON body in canonical form (keys sorted, no spaces),
    so the same request sent with other spacing or key order is recognised as the same."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        content = canonical.encode("ascii")
    except (ValueError, RecursionError):  # not JSON after all: the bytes themselves
        content = body
    digest = hashlib.sha256(f"{method.upper()} {path}\n".encode())
    digest.update(content)
    return digest.hexdigest()


# --------------------------------------------------------------------------- claiming and answering


def _dialect() -> str:
    return str(db.session.get_bind().dialect.name)


@dataclass(frozen=True)
class Claim:
    """The key's row as this call holds it: ``answered`` when the call is a repeat (give ``status``,
    ``body`` and the request ``ticket_id`` again), otherwise the call's own to file and
    :func:`record_answer`."""

    row_id: int
    answered: bool = False
    status: int | None = None
    body: Any = None
    ticket_id: int | None = None


def _in_flight() -> IdempotencyKeyInFlight:
    return IdempotencyKeyInFlight(
        _("A request with this Idempotency-Key is being processed. Try again in a moment.")
    )


def _lock_timed_out(error: OperationalError) -> bool:
    return getattr(error.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE


def claim(
    user_id: int,
    scope: IdempotencyScope,
    key: str,
    fingerprint: str,
    now: datetime,
    *,
    lock_wait: float,
) -> Claim:
    """Claim the user's key for the current transaction (see the module docstring) and return the claim.

    Raises :class:`IdempotencyKeyReused` when the key was answered within :data:`REPLAY_WINDOW` for another
    fingerprint, and :class:`IdempotencyKeyInFlight` when another call still holds the key after
    ``lock_wait`` seconds (PostgreSQL; the transaction is then rolled back: the timed-out lock aborted it),
    or when the key's row vanished meanwhile (pruned: the client's retry files it).
    """
    values = {"user_id": user_id, "scope": scope, "key": key, "fingerprint": fingerprint, "created_at": now}
    dialect = _dialect()
    milliseconds = max(1, round(lock_wait * 1000)) if dialect == "postgresql" else 0
    statement = _claim_statement(dialect, milliseconds)
    try:
        # on the session's connection: a plain statement, without the ORM's layer
        row_id = db.session.connection().execute(statement, values).scalar()
        if row_id is not None:  # a new key: this call's own
            return Claim(int(row_id))
        mine = (IdempotencyKey.user_id == user_id, IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        row = db.session.scalars(
            select(IdempotencyKey).where(*mine).with_for_update().execution_options(populate_existing=True)
        ).one_or_none()
    except OperationalError as error:
        if not _lock_timed_out(error):
            raise
        # The failed statement aborted the transaction; the message may read the database (the user's
        # language), so end it first.
        db.session.rollback()
        raise _in_flight() from None
    if row is None:  # deleted since the insert found it (pruned long expired): the client's retry files it
        raise _in_flight()
    if row.answered and row.created_at > now - REPLAY_WINDOW:
        if row.fingerprint != fingerprint:
            raise IdempotencyKeyReused(_("This Idempotency-Key was already used for a different request."))
        return Claim(row.id, True, row.response_status, row.response_body, row.ticket_id)
    # answered long ago, or claimed by a call that committed no answer (the two-transaction protocol of
    # before): this call's now
    row.fingerprint = fingerprint
    row.created_at = now
    row.response_status = None
    row.response_body = None
    row.ticket_id = None
    row.completed_at = None
    db.session.flush()
    return Claim(row.id)


def record_answer(claim: Claim, *, status: int, body: Any, ticket_id: int | None, now: datetime) -> None:
    """Store the answer of the call that holds the key (in the transaction that filed its request)."""
    values = _answer_values(claim, status, body, ticket_id, now)
    db.session.connection().execute(_answer_statement(), values)  # a plain statement, as the claim's


@dataclass(eq=False)
class FilingAnswer:
    """The answer of the call holding ``claim``, stored with the request it files: see
    :func:`answer_with_the_filing`.  ``body`` is the stored body once :meth:`settle` returned."""

    claim: Claim
    status: int
    dump: Callable[[Ticket], Any] | None  # the body of the answer from the request filed; None: no body
    now: datetime
    body: Any = None
    rider: Rider | None = None

    def values(self, rows: list[Any]) -> dict[str, Any] | None:
        """The answer's parameters from the new rows of a flush, or None when it writes no request."""
        ticket = next((row for row in rows if isinstance(row, Ticket)), None)
        if ticket is None or ticket.id is None:
            return None
        # dumped from the rows as they are about to be written (keys and defaults filled in): as a dump
        # after the flush reads them
        self.body = None if self.dump is None else self.dump(ticket)
        return _answer_values(self.claim, self.status, self.body, ticket.id, self.now)

    def settle(self, ticket: Ticket) -> Any:
        """Store the answer now unless the filing's flush stored it; the body stored."""
        if self.rider is None or not self.rider.taken:
            self.body = None if self.dump is None else self.dump(ticket)
            record_answer(self.claim, status=self.status, body=self.body, ticket_id=ticket.id, now=self.now)
        return self.body


@contextmanager
def answer_with_the_filing(
    claim: Claim, *, status: int, dump: Callable[[Ticket], Any] | None, now: datetime
) -> Iterator[FilingAnswer]:
    """Within the block, store the call's answer with the flush that writes its request (PostgreSQL: in its
    one statement, :func:`hotline.db.with_the_next_flush`; one round trip less than :func:`record_answer`
    after it).  After the block, :meth:`FilingAnswer.settle` with the request filed stores it if that
    flush did not, and gives the body."""
    answer = FilingAnswer(claim, status, dump, now)
    with with_the_next_flush(db.session, _answer_statement(), answer.values) as rider:
        answer.rider = rider
        yield answer


def _answer_values(
    claim: Claim, status: int, body: Any, ticket_id: int | None, now: datetime
) -> dict[str, Any]:
    return {
        "answer_row_id": claim.row_id,
        "answer_status": status,
        "answer_body": body,
        "answer_ticket_id": ticket_id,
        "answer_now": now,
    }


@functools.cache
def _claim_statement(dialect: str, lock_milliseconds: int) -> Any:
    """The claim's ``INSERT … ON CONFLICT DO NOTHING RETURNING id``, made once per dialect and wait."""
    table = IdempotencyKey.__table__
    names = ("user_id", "scope", "key", "fingerprint", "created_at")
    given = [bindparam(name, type_=table.c[name].type) for name in names]
    statement: Any
    if dialect == "postgresql":
        # A bounded wait for a call racing on the same key (the insert waits for its transaction) or holding
        # the key's row, and for every lock the rest of the filing takes (the day's number: its twin holds
        # it): ``lock_timeout`` for the transaction, set in the same statement (the ``set_config`` in the
        # ``FROM`` runs before the row is inserted, and so before the insert waits).  A later lock not had
        # in time is answered 503 "try again" (hotline.errors), the transaction rolled back.
        bound = func.set_config("lock_timeout", f"{lock_milliseconds}ms", True).label("bound")
        statement = postgresql.insert(table).from_select(
            list(names), select(*given).select_from(select(bound).subquery())
        )
    else:
        statement = sqlite.insert(table).values(dict(zip(names, given, strict=True)))
    return statement.on_conflict_do_nothing(
        index_elements=[table.c.user_id, table.c.scope, table.c.key]
    ).returning(table.c.id)


@functools.cache
def _answer_statement() -> Any:
    table = IdempotencyKey.__table__
    # its parameters named apart from those of the rows it may be written with (hotline.db.flush_new_rows)
    return (
        update(table)
        .where(table.c.id == bindparam("answer_row_id"))
        .values(
            response_status=bindparam("answer_status"),
            response_body=bindparam("answer_body", type_=table.c.response_body.type),
            ticket_id=bindparam("answer_ticket_id"),
            completed_at=bindparam("answer_now", type_=table.c.completed_at.type),
        )
    )


def prune_expired(now: datetime, limit: int = 5000) -> int:
    """Delete keys claimed more than twice :data:`REPLAY_WINDOW` ago (at most ``limit`` a run); returns how
    many.

    An expired key would be reset by its next use anyway; pruning keeps the table to two days of calls.  Not
    one: a call that meets its expired key (registered, about to be taken and reset) must not find it gone.
    """
    expired = IdempotencyKey.created_at < now - 2 * REPLAY_WINDOW
    ids = list(
        db.session.scalars(select(IdempotencyKey.id).where(expired).order_by(IdempotencyKey.id).limit(limit))
    )
    if not ids:
        return 0
    # ``expired`` again: a key reset by a new call meanwhile (created_at is then now) is kept
    deleted = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids), expired))
    return int(getattr(deleted, "rowcount", 0) or 0)
