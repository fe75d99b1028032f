"""A filing call with a key, as the views run it: claim the key, file the request and store the answer, all
in the one transaction of the call (:mod:`hotline.tickets.idempotency.services`).

``POST /api/v1/tickets`` with an ``Idempotency-Key`` header goes through :func:`file_api_request_once`:
the first call files the request and answers 201; the same call again within 24 hours gets the same 201 and
body with ``Idempotent-Replayed: true`` (sent while the first is still running, it waits for it up to
:data:`API_LOCK_WAIT_SECONDS`); the key with another body is 409 ``idempotency_key_reused``; the key while
its first call is still running after that wait is 409 ``idempotency_key_in_flight`` with ``Retry-After``.
The calls that file several requests at once (``POST /api/v1/meetings/<id>/requests``, ``POST
/api/v1/visits``) go through :func:`file_api_batch_once`, with the same rules.  The fingerprint holds the
method and the path, so a key's answer is only ever given to the endpoint (and meeting) it was sent to.

The filing forms carry a one-time token (a hidden field, :func:`issue_form_token`);
:func:`file_form_once` files the request once per token and user, and hands the request already filed to
a form sent again (a double click, back and resubmit, a retry after a timeout).  A form without a usable
token is filed as before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import flash, jsonify, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms import Field

from hotline.auth.models import User
from hotline.db import utcnow
from hotline.errors import json_error
from hotline.extensions import db
from hotline.tickets.idempotency import services
from hotline.tickets.idempotency.models import IdempotencyScope
from hotline.tickets.models import Ticket
from hotline.web import perform, refused

# How soon a client should try again when its key's first call is still running (a filing takes well
# under a second; gunicorn kills a stuck one after 30 s, which releases the key).
IN_FLIGHT_RETRY_AFTER_SECONDS = 1
# How long a call waits for another call with its key to finish before it is told "being processed" (the
# API) or asked to wait a moment (a form: a double click waits for its first click's request).
API_LOCK_WAIT_SECONDS = 1.0
FORM_LOCK_WAIT_SECONDS = 5.0


# --------------------------------------------------------------------------- the API


def api_key() -> str | None:
    """The ``Idempotency-Key`` of the current call, None without one; 400 when it is malformed."""
    return services.parse_key(request.headers.get(services.HEADER))


def _answer(status: int, body: Any, location: str | None, *, replayed: bool) -> Response:
    response = jsonify(body)
    response.status_code = status
    if location is not None:
        response.headers["Location"] = location
    if replayed:
        response.headers[services.REPLAYED_HEADER] = "true"
    return response


def _ticket_location(number: str | None) -> str | None:
    return url_for("api.ticket_detail", number=number) if number is not None else None


def _claim_api_key(user: User, key: str, now: datetime) -> services.Claim | Response:
    """Claim the user's key for the current call (its method, path and body), or the 409 "being processed"
    answer (``Retry-After``) when another call with the key is still running.  Raises
    :class:`~hotline.tickets.idempotency.services.IdempotencyKeyReused` (409) for another body."""
    _settle_language()
    user_id = user.id
    print_ = services.fingerprint(request.method, request.path, request.get_data(cache=True))
    try:
        return services.claim(
            user_id, IdempotencyScope.API, key, print_, now, lock_wait=API_LOCK_WAIT_SECONDS
        )
    except services.IdempotencyKeyInFlight as error:
        db.session.rollback()
        response, status = json_error(error.code, error.message, {}, error.status)
        response.status_code = status
        response.headers["Retry-After"] = str(IN_FLIGHT_RETRY_AFTER_SECONDS)
        return response
    except services.IdempotencyKeyReused:
        db.session.rollback()
        raise


def file_api_request_once(
    user: User, key: str, work: Callable[[], Ticket], dump: Callable[[Ticket], Any]
) -> Response:
    """File the request ``work`` files, once per user and key, and answer with ``dump`` of it (201).

    Raises :class:`~hotline.tickets.idempotency.services.IdempotencyKeyReused` (409) and the errors of
    ``work``; answers 409 with ``Retry-After`` while another call with the key is running.
    """
    now = utcnow()
    claim = _claim_api_key(user, key, now)
    if isinstance(claim, Response):
        return claim
    if claim.answered:
        number = _number(claim.ticket_id)
        db.session.rollback()  # nothing to change: let the row go
        return _answer(int(claim.status or 201), claim.body, _ticket_location(number), replayed=True)

    def filed() -> tuple[Any, str]:
        # the body is read before the commit, while the request is loaded
        with services.answer_with_the_filing(claim, status=201, dump=dump, now=now) as answer:
            ticket = work()
        return answer.settle(ticket), ticket.number

    body, number = perform(filed)
    return _answer(201, body, _ticket_location(number), replayed=False)


def file_api_batch_once(
    user: User,
    key: str,
    work: Callable[[], tuple[Any, int | None]],
    *,
    location: Callable[[Any], str | None] | None = None,
) -> Response:
    """Run ``work``, which files several requests at once and returns the answer's body and the id of a
    request it filed (None if none), once per user and key, and answer 201 with that body (and
    ``location`` of it, if given, as ``Location``).

    The same call again within 24 hours answers the stored body again, with ``Idempotent-Replayed``; as
    :func:`file_api_request_once`, it raises
    :class:`~hotline.tickets.idempotency.services.IdempotencyKeyReused` (409) and the errors of ``work``
    (a refusal is rolled back with the key's claim: nothing is kept), and answers 409 with ``Retry-After``
    while another call with the key is running.  ``work`` builds its body before the commit, while what it
    filed is loaded; the answer is stored after its flushes (a batch is several requests: it is not
    written in the statement of one of them, as :func:`file_api_request_once`'s is).
    """
    now = utcnow()
    claim = _claim_api_key(user, key, now)
    if isinstance(claim, Response):
        return claim
    if claim.answered:
        db.session.rollback()  # nothing to change: let the row go
        body = claim.body
        return _answer(int(claim.status or 201), body, location(body) if location else None, replayed=True)

    def filed() -> Any:
        body, ticket_id = work()
        services.record_answer(claim, status=201, body=body, ticket_id=ticket_id, now=now)
        return body

    body = perform(filed)
    return _answer(201, body, location(body) if location else None, replayed=False)


def _settle_language() -> None:
    """Decide the answer's language now, while the user's row is loaded.

    A refusal rolls the transaction back, which expires the user; if the database has gone away meanwhile,
    the answer would read the user's language from the database it cannot reach (a 500 instead of the
    503).  Flask-Babel keeps the locale once asked for the request.
    """
    get_locale()


def _number(ticket_id: int | None) -> str | None:
    ticket = db.session.get(Ticket, ticket_id) if ticket_id is not None else None
    return ticket.number if ticket is not None else None


# --------------------------------------------------------------------------- the forms


def issue_form_token(field: Field) -> None:
    """Give a filing form's token field a fresh token, unless it holds one (a form shown again after a
    refusal keeps its token: nothing was filed with it)."""
    if services.form_token(field.data) is None:
        field.data = services.new_form_token()


def file_form_once(
    user: User, token: str | None, work: Callable[[], Ticket], *, form: Any
) -> tuple[str | None, bool]:
    """File the request ``work`` files, once per user and form token; ``(its number, filed_before)``.

    ``(None, False)`` when the filing was refused (the errors are on ``form``, as with
    :func:`hotline.web.perform`).  A second submission with the token waits for the first to finish (up to
    :data:`FORM_LOCK_WAIT_SECONDS`, else it is refused with a message to wait) and gets the request it
    filed, ``filed_before`` true.  Without a usable token, ``work`` simply runs.  The number is read before
    the commit: after it, the request's attributes would be read from the database again.
    """
    key = services.form_token(token)
    if key is None:
        result = perform(lambda: work().number, form=form)
        return (None if refused(result) else result), False
    _settle_language()
    now = utcnow()
    try:
        claim = services.claim(user.id, IdempotencyScope.FORM, key, "", now, lock_wait=FORM_LOCK_WAIT_SECONDS)
    except services.IdempotencyKeyInFlight:
        db.session.rollback()
        flash(_("This form is still being submitted. Wait a moment, then submit it again."), "warning")
        return None, False
    if claim.answered:
        number = _number(claim.ticket_id)
        if number is not None:
            db.session.rollback()  # nothing to change: let the row go
            return number, True
        claim = services.Claim(claim.row_id)  # its request is gone: file anew under the row this call holds

    def filed() -> str:
        with services.answer_with_the_filing(claim, status=302, dump=None, now=now) as answer:
            ticket = work()
        answer.settle(ticket)
        return ticket.number

    result = perform(filed, form=form)
    return (None if refused(result) else result), False
