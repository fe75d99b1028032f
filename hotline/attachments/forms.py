"""The upload form of a request's page: files chosen from the device, or a photo taken with the phone's
camera (``capture``), optionally attached to one of the request's messages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, SelectField

from hotline.attachments import sniffing


class AttachmentForm(FlaskForm):
    file = MultipleFileField(
        _l("Files"),
        render_kw={"accept": sniffing.ACCEPT},
        description=_l("PDF, JPEG or PNG pictures, Office documents or plain text; several at once."),
    )
    # A second input for the camera: ``capture`` opens it directly on a phone (on the first input it would
    # leave no way to choose a file already taken).
    photo = MultipleFileField(
        _l("Take a photo"), render_kw={"accept": "image/jpeg,image/png,image/*", "capture": "environment"}
    )
    event = SelectField(_l("Attach to"), validate_choice=False)
