"""A filing call with a key, as the views run it: register the key and commit, then lock it, then file the
request and store the answer in one more transaction (:mod:`hotline.tickets.idempotency.services`).

``POST /api/v1/tickets`` with an ``Idempotency-Key`` header goes through :func:`file_api_request_once`:
the first call files the request and answers 201; the same call again within 24 hours gets the same 201 and
body with ``Idempotent-Replayed: true``; the key with another body is 409 ``idempotency_key_reused``; the
key while its first call is still running is 409 ``idempotency_key_in_flight`` with ``Retry-After``.

The filing forms carry a one-time token (a hidden field, :func:`issue_form_token`);
:func:`file_form_once` files the request once per token and user, and hands the request already filed to
a form sent again (a double click, back and resubmit, a retry after a timeout).  A form without a usable
token is filed as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify, request, url_for
from flask_babel import get_locale
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


# --------------------------------------------------------------------------- the API


def api_key() -> str | None:
    """The ``Idempotency-Key`` of the current call, None without one; 400 when it is malformed."""
    return services.parse_key(request.headers.get(services.HEADER))


def _answer(status: int, body: Any, number: str | None, *, replayed: bool) -> Response:
    response = jsonify(body)
    response.status_code = status
    if number is not None:
        response.headers["Location"] = url_for("api.ticket_detail", number=number)
    if replayed:
        response.headers[services.REPLAYED_HEADER] = "true"
    return response


def file_api_request_once(
    user: User, key: str, work: Callable[[], Ticket], dump: Callable[[Ticket], Any]
) -> Response:
    """File the request ``work`` files, once per user and key, and answer with ``dump`` of it (201).

    Raises :class:`~hotline.tickets.idempotency.services.IdempotencyKeyReused` (409) and the errors of
    ``work``; answers 409 with ``Retry-After`` while another call with the key is running.
    """
    _settle_language()
    now = utcnow()
    user_id = user.id
    print_ = services.fingerprint(request.method, request.path, request.get_data(cache=True))
    row_id = perform(lambda: services.register(user_id, IdempotencyScope.API, key, print_, now))
    try:
        row = services.take(row_id, print_, now, wait=False)
    except services.IdempotencyKeyInFlight as error:
        db.session.rollback()
        response, status = json_error(error.code, error.message, {}, error.status)
        response.status_code = status
        response.headers["Retry-After"] = str(IN_FLIGHT_RETRY_AFTER_SECONDS)
        return response
    if row.answered:
        number = _number(row.ticket_id)
        status, body = int(row.response_status or 201), row.response_body
        db.session.rollback()  # nothing to change: let the row go
        return _answer(status, body, number, replayed=True)

    def filed() -> tuple[Any, str]:
        ticket = work()
        body = dump(ticket)
        services.record_answer(row, status=201, body=body, ticket_id=ticket.id, now=now)
        return body, ticket.number

    body, number = perform(filed)
    return _answer(201, body, number, replayed=False)


def _settle_language() -> None:
    """Decide the answer's language now, while the user's row is loaded.

    The first commit of the call expires the user; if the database then goes away, the rollback leaves it
    expired and the 503 would read the user's language from the database it cannot reach (a 500 instead).
    Flask-Babel keeps the locale once asked for the request.
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
) -> tuple[Ticket | None, bool]:
    """File the request ``work`` files, once per user and form token; ``(ticket, filed_before)``.

    ``(None, False)`` when the filing was refused (the errors are on ``form``, as with
    :func:`hotline.web.perform`).  A second submission with the token waits for the first to finish and
    gets the request it filed, ``filed_before`` true.  Without a usable token, ``work`` simply runs.
    """
    key = services.form_token(token)
    if key is None:
        result = perform(work, form=form)
        return (None if refused(result) else result), False
    _settle_language()
    now = utcnow()
    user_id = user.id
    row_id = perform(lambda: services.register(user_id, IdempotencyScope.FORM, key, "", now))
    row = services.take(row_id, "", now, wait=True)
    if row.answered:
        earlier = db.session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
        if earlier is not None:
            return earlier, True

    def filed() -> Ticket:
        ticket = work()
        services.record_answer(row, status=302, body=None, ticket_id=ticket.id, now=now)
        return ticket

    result = perform(filed, form=form)
    return (None if refused(result) else result), False
