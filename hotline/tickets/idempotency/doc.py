"""How the OpenAPI document describes the ``Idempotency-Key`` header of the filing calls: ``POST
/api/v1/tickets`` and the batches, ``POST /api/v1/meetings/<id>/requests`` and ``POST /api/v1/visits``."""

from __future__ import annotations

from typing import Any

from hotline.tickets.idempotency.models import KEY_MAX
from hotline.tickets.idempotency.services import HEADER, REPLAYED_HEADER

KEY_PARAMETER: dict[str, Any] = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": (
        f"A key of your choosing (1 to {KEY_MAX} printable ASCII characters, e.g. a UUID; bare or as a "
        "quoted Structured Fields string), unique per call that files (one request, or a batch of them).  "
        "Send the same call again with the same key after a timeout, a lost connection or a 5xx: within 24 "
        "hours it files nothing new and answers the first answer again.  The same key with another body, or "
        "sent to another path, is 409 "
        "`idempotency_key_reused`; sent while the first call is still running, it waits up to a second for "
        "it and answers its answer, or else 409 `idempotency_key_in_flight` with `Retry-After`.  Keys are "
        "your own: another user's key of the same value is another key."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX, "pattern": "^[\\x20-\\x7e]+$"},
}

REPLAYED_HEADER_DOC: dict[str, Any] = {
    REPLAYED_HEADER: {
        "description": "`true` when this is the stored answer of an earlier call with the same key",
        "schema": {"type": "string", "const": "true"},
    }
}
