"""Attachments (issue 13, point 1): files and photos on a request and on its messages.

Types are allowed by content (:mod:`hotline.attachments.sniffing`), files kept outside the static folder
under random names (:mod:`hotline.attachments.storage`), served only to those who may see the request
(:mod:`hotline.attachments.queries`: the request's own 404 otherwise; an internal note's files never to the
enterprise).  The request's page lists them (thumbnails for pictures) and carries the upload form; the API
has ``POST``/``GET /api/v1/tickets/<number>/attachments`` and lists them in a request's JSON.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import click
from flask import Flask, g, request

# Endpoints that take files: their bodies may be larger than MAX_CONTENT_LENGTH (a form's limit).
UPLOAD_ENDPOINTS = frozenset({"attachments.upload", "api.upload_attachment", "tickets.new_ticket"})
_SLACK = 256 * 1024  # the form's other fields and the multipart framing


@dataclass
class Panel:
    """What the request's page shows of its attachments: the files, and the upload form if the user may
    add some."""

    attachments: list[Any]
    form: Any | None


def init_app(app: Flask) -> None:
    from hotline.attachments.views import bp

    app.config.setdefault("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
    app.register_blueprint(bp)
    app.jinja_env.globals["attachment_panel"] = attachment_panel
    # first of all: CSRF protection reads the form (and so the body's length limit) in its own before_request
    app.before_request_funcs.setdefault(None, []).insert(0, _upload_limit)
    app.cli.add_command(attachments_cli)


def _upload_limit() -> None:
    if request.endpoint in UPLOAD_ENDPOINTS:
        from hotline.attachments.services import PER_UPLOAD_MAX, max_bytes

        files = 1 if request.endpoint == "api.upload_attachment" else PER_UPLOAD_MAX
        request.max_content_length = files * max_bytes() + _SLACK


def attachment_panel(ticket: Any, events: list[Any]) -> Panel:
    """The attachments the current user may see on ``ticket`` and, if it may add some, the upload form
    (the one refused on this request, with its errors, when there is one)."""
    from flask_babel import gettext as _
    from flask_login import current_user

    from hotline.attachments import queries
    from hotline.attachments.forms import AttachmentForm
    from hotline.attachments.views import FORM_KEY
    from hotline.auth.models import Role
    from hotline.templating import localtime
    from hotline.tickets.labels import EVENT_LABELS
    from hotline.tickets.models import EventKind

    attachments = queries.visible_attachments(ticket, current_user)
    enterprise = current_user.role == Role.ENTERPRISE
    if enterprise and not ticket.is_open:
        return Panel(attachments, None)
    form = g.get(FORM_KEY) or AttachmentForm(formdata=None)
    messages = (
        EventKind.SUBMITTED,
        EventKind.REPLIED,
        EventKind.NOTED,
        EventKind.INFO_ADDED,
        EventKind.RESOLVED,
    )
    choices = [("", _("The request itself"))]
    for event in events:
        if event.kind not in messages or (enterprise and event.actor_id != current_user.id):
            continue
        label = f"{EVENT_LABELS[event.kind]} · {localtime(event.created_at)}"
        choices.append((str(event.id), label))
    form.event.choices = choices
    return Panel(attachments, form)


@click.group("attachments")
def attachments_cli() -> None:
    """Attachments' files."""


@attachments_cli.command("sweep")
@click.option("--older-than", default=3600, show_default=True, help="Seconds a file must be old.")
def sweep_command(older_than: int) -> None:
    """Delete files that no attachment names (left by a process killed before its commit)."""
    from sqlalchemy import select

    from hotline.attachments import storage
    from hotline.attachments.models import Attachment
    from hotline.extensions import db

    names: set[str] = set()
    for stored, thumb in db.session.execute(select(Attachment.stored_name, Attachment.thumbnail_name)):
        names.add(stored)
        if thumb:
            names.add(thumb)
    removed = storage.sweep(names, older_than, time.time())
    click.echo(f"{len(removed)} orphaned files deleted")
