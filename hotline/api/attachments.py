"""A request's files through the API (issue 13, point 1): upload one, download one.  A request's JSON lists
them (``attachments``, :class:`hotline.api.schemas.AttachmentSchema`)."""

from __future__ import annotations

from flask import jsonify, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hotline.api import schemas
from hotline.api.auth import api_user, token_required
from hotline.api.views import BEARER, bp, errors_documented
from hotline.attachments import queries, services
from hotline.attachments.views import _serve
from hotline.db import utcnow
from hotline.errors import ValidationFailed
from hotline.tickets.queries import get_visible_ticket
from hotline.web import perform

UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "One file"},
                    "event": {
                        "type": "integer",
                        "description": "The id of the request's event (a reply, a note …) it belongs to",
                    },
                },
            }
        }
    },
}


def _event_id() -> int | None:
    value = request.form.get("event", "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        message = _("Enter a whole number.")
        raise ValidationFailed(message, {"event": message})
    return int(value)


@bp.route("/tickets/<number>/attachments", methods=["POST"])
@token_required
@errors_documented(401, 404, 413, 415)
@bp.response(201, schemas.AttachmentSchema)
@bp.doc(security=BEARER, requestBody=UPLOAD_BODY)
def upload_attachment(number: str) -> Response:
    """Attach a file to a request (multipart: `file`, and `event` to attach it to one of its messages).

    Whoever may see the request may attach, an enterprise only while it is open.  The type is found from the
    content: PDF, JPEG, PNG, Word, Excel, PowerPoint (pptx) or UTF-8 plain text; anything else (HTML, SVG,
    executables, whatever their names) is 415 `unsupported_media_type`, a file over `ATTACHMENT_MAX_BYTES`
    (10 MB) 413 `too_large`.  A file attached to an internal note is internal (never shown to the
    enterprise)."""
    user = api_user()
    ticket = get_visible_ticket(user, number)
    uploads = request.files.getlist("file")
    if len(uploads) > 1:
        message = _("Send one file per call.")
        raise ValidationFailed(message, {"file": message})
    event_id = _event_id()
    ticket_id = ticket.id

    def work() -> dict[str, object]:
        attached = services.attach_many(ticket_id, user, uploads, event_id, utcnow())[0]
        return dict(schemas.AttachmentSchema().dump(attached))

    body = perform(work)
    answer = jsonify(body)
    answer.status_code = 201
    answer.headers["Location"] = url_for("api.attachment", number=number, attachment_id=body["id"])
    return answer


@bp.route("/tickets/<number>/attachments/<int:attachment_id>", methods=["GET"])
@token_required
@errors_documented(401, 404)
@bp.doc(
    security=BEARER,
    responses={
        "200": {"description": "The file, with its type; `Content-Disposition: attachment` but for pictures"}
    },
)
def attachment(number: str, attachment_id: int) -> Response:
    """Download a file of a request (404 as the request for anyone who may not see it, and for an enterprise
    a file of an internal note)."""
    _ticket, found = queries.get_visible_attachment(api_user(), number, attachment_id)
    return _serve(found, found.stored_name, found.content_type, found.is_image)
