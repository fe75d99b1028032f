"""The request page's upload form and the files themselves, served only to those who may see the request."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from hotline.attachments import queries, services, storage
from hotline.attachments.forms import AttachmentForm
from hotline.attachments.models import Attachment
from hotline.auth.access import roles_required
from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.errors import NotFound
from hotline.tickets import queries as ticket_queries
from hotline.web import perform, refused

bp = Blueprint("attachments", __name__)

FORM_KEY = "hotline_attachment_form"  # in flask.g: the refused upload form, shown again on the page


def parse_event(value: str | None) -> int | None:
    """The ``event`` choice as an id (None: the request itself; 0 for anything not a number, which names no
    message and is refused by the service)."""
    value = (value or "").strip()
    if not value:
        return None
    return int(value) if value.isdigit() and len(value) < 19 else 0


@bp.route("/tickets/<number>/attachments", methods=["POST"])
@roles_required(*Role)
def upload(number: str) -> tuple[str, int] | Response:
    from hotline.tickets.views import _render_detail

    ticket = ticket_queries.get_visible_ticket(current_user, number)
    form = AttachmentForm()
    if form.validate():
        uploads = [*request.files.getlist("file"), *request.files.getlist("photo")]
        ticket_id, event_id = ticket.id, parse_event(form.event.data)
        done = perform(
            lambda: services.attach_many(ticket_id, current_user, uploads, event_id, utcnow()),
            form=form,
            back=url_for("tickets.detail", number=number),
        )
        if not refused(done):
            flash(_("Files attached."), "success")
            return redirect(url_for("tickets.detail", number=number, _anchor="attachments"))
    setattr(g, FORM_KEY, form)
    return _render_detail(ticket_queries.get_visible_ticket(current_user, number)), 400


def _serve(attachment: Attachment, stored_name: str, mimetype: str, inline: bool) -> Response:
    path = storage.path_of(stored_name)
    if not path.is_file():  # the folder was not restored with the database: the file is gone, not a 500
        raise NotFound(_("No such request."))
    response = send_file(
        path,
        mimetype=mimetype,
        as_attachment=not inline,
        download_name=attachment.original_name,
        conditional=True,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # a file is never a page: nothing in it runs, even opened directly
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/tickets/<number>/attachments/<int:attachment_id>")
@roles_required(*Role)
def download(number: str, attachment_id: int) -> Response:
    _ticket, attachment = queries.get_visible_attachment(current_user, number, attachment_id)
    return _serve(attachment, attachment.stored_name, attachment.content_type, attachment.is_image)


@bp.route("/tickets/<number>/attachments/<int:attachment_id>/thumbnail")
@roles_required(*Role)
def thumbnail(number: str, attachment_id: int) -> Response:
    _ticket, attachment = queries.get_visible_attachment(current_user, number, attachment_id)
    if attachment.thumbnail_name is None:
        raise NotFound(_("No such request."))
    return _serve(attachment, attachment.thumbnail_name, "image/jpeg", True)
