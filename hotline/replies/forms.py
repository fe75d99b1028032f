"""The reply template's form: CSRF and the asterisks; the service checks every field at once (lengths
included), so every problem of a submission shows together, next to its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from hotline.tickets.forms import Required

PLACEHOLDER_HELP = _l(
    "Placeholders, filled in on each request: {企业名称} or {enterprise} (the enterprise's name), "
    "{诉求编号} or {number} (the request's number), {诉求标题} or {title} (its title)."
)


class ReplyTemplateForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Required()])
    body = TextAreaField(_l("Text"), validators=[Required()], description=PLACEHOLDER_HELP)
    category = SelectField(
        _l("Category"),
        validate_choice=False,
        description=_l("Offered first on the requests of this category; none: for every request."),
    )
    shared = BooleanField(_l("Shared with all staff"))
