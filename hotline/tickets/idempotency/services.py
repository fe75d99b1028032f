"""The rules of idempotency keys: what a key may be, a body's fingerprint, claiming a key, keeping the answer,
forgetting keys after 24 hours.

A call with a key runs in two transactions (:mod:`hotline.tickets.idempotency.intake` drives them):

1. :func:`register` inserts the key's row unless it exists (``INSERT … ON CONFLICT DO NOTHING``: the unique
   constraint on (user, scope, key) decides a race) and the caller commits, so a second call with the same
   key sees the row at once;
2. :func:`take` locks the row for the rest of the call's transaction, and either hands back the stored
   answer (a repeat) or resets the row for this call, which then files its request and :func:`record_answer`
   stores the answer, both committed together.

So a request and its key's answer are committed together or not at all: whatever a client sees or misses
(a reset connection, a timeout, a killed server), sending the same call again files nothing twice.  On
PostgreSQL the lock is a row lock, and a second call with the key while the first is still running is told
so (409) instead of waiting; SQLite has one writer at a time, so there the second call waits for the first
and then gets its answer.

Services take the user's id and ``now``; they flush and never commit.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from hotline.errors import Conflict, DomainError
from hotline.extensions import db
from hotline.tickets.idempotency.models import KEY_MAX, IdempotencyKey, IdempotencyScope

# A key is answered with its first outcome for this long, then forgotten (the IETF draft and Stripe: 24 h).
REPLAY_WINDOW = timedelta(hours=24)
HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for FOR UPDATE NOWAIT on a locked row


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


def register(user_id: int, scope: IdempotencyScope, key: str, fingerprint: str, now: datetime) -> int:
    """Make sure the user's key has its row (inserted unless it exists) and return the row's id.

    The caller commits before :func:`take`, so that a second call with the key finds the row.  On
    PostgreSQL an insert racing another call's uncommitted insert waits for it, then does nothing.
    """
    insert: Any = postgresql.insert if _dialect() == "postgresql" else sqlite.insert
    table = IdempotencyKey.__table__
    statement = (
        insert(table)
        .values(user_id=user_id, scope=scope, key=key, fingerprint=fingerprint, created_at=now)
        .on_conflict_do_nothing(index_elements=[table.c.user_id, table.c.scope, table.c.key])
    )
    db.session.execute(statement)
    row_id = db.session.scalar(
        select(IdempotencyKey.id).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.scope == scope, IdempotencyKey.key == key
        )
    )
    assert row_id is not None  # inserted, or there already
    return int(row_id)


def take(row_id: int, fingerprint: str, now: datetime, *, wait: bool) -> IdempotencyKey:
    """Lock the key's row for the current transaction and return it: answered (the call is a repeat: give
    its answer again) or reset for this call (file the request, then :func:`record_answer`).

    A key answered more than :data:`REPLAY_WINDOW` ago, or claimed by a call that filed nothing (it failed
    or died: its transaction was rolled back), is reset for this call.  Raises
    :class:`IdempotencyKeyReused` when the key was answered for another fingerprint, and, unless ``wait``,
    :class:`IdempotencyKeyInFlight` when another call holds the row (PostgreSQL; the transaction is then
    rolled back: the failed lock aborted it).
    """
    if _dialect() == "sqlite":
        # SQLite locks the database, not rows: a write takes its one writer's lock for this transaction,
        # so a second call with the key waits here until this one has committed, then sees its answer.
        db.session.execute(update(IdempotencyKey).where(IdempotencyKey.id == row_id).values(id=row_id))
    query = (
        select(IdempotencyKey)
        .where(IdempotencyKey.id == row_id)
        .with_for_update(nowait=not wait)
        .execution_options(populate_existing=True)
    )
    try:
        row = db.session.scalars(query).one_or_none()
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        # The failed statement aborted the transaction; the message below may read the database (the
        # user's language), so end it here.
        db.session.rollback()
        raise IdempotencyKeyInFlight(
            _("A request with this Idempotency-Key is being processed. Try again in a moment.")
        ) from None
    if row is None:  # deleted since it was registered (pruned long expired): the client's retry files it
        raise IdempotencyKeyInFlight(
            _("A request with this Idempotency-Key is being processed. Try again in a moment.")
        )
    if row.answered and row.created_at > now - REPLAY_WINDOW:
        if row.fingerprint != fingerprint:
            raise IdempotencyKeyReused(_("This Idempotency-Key was already used for a different request."))
        return row
    row.fingerprint = fingerprint
    row.created_at = now
    row.response_status = None
    row.response_body = None
    row.ticket_id = None
    row.completed_at = None
    db.session.flush()
    return row


def record_answer(
    row: IdempotencyKey, *, status: int, body: Any, ticket_id: int | None, now: datetime
) -> None:
    """Store the answer of the call that holds the key (in the transaction that filed its request)."""
    row.response_status = status
    row.response_body = body
    row.ticket_id = ticket_id
    row.completed_at = now
    db.session.flush()


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
