"""The article form (staff).  The fields are checked by the service, all at once."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from hotline.kb.models import ArticleLanguage
from hotline.tickets.forms import Required, choices

LANGUAGE_LABELS = {ArticleLanguage.ZH: _l("Chinese"), ArticleLanguage.EN: _l("English")}


class ArticleForm(FlaskForm):
    source_ticket = HiddenField()
    language = SelectField(
        _l("Language"),
        choices=choices(((k.value, v) for k, v in LANGUAGE_LABELS.items()), blank=False),
        validate_choice=False,
    )
    title = StringField(_l("Title"), validators=[Required()])
    body = TextAreaField(
        _l("Body"),
        validators=[Required()],
        description=_l(
            "Markdown: **bold**, lists with -, links as [text](https://…). HTML is shown as text."
        ),
    )
    category = SelectField(_l("Category"), validate_choice=False)
    tags = StringField(_l("Tags"), description=_l("Separated by commas."))
    policy_title = StringField(_l("Policy document"), description=_l("The title of the policy it rests on."))
    policy_number = StringField(_l("Document number"), description=_l("e.g. 国办函〔2025〕66号"))
    policy_url = StringField(
        _l("Policy address"), description=_l("Its address on the web, starting with https://.")
    )
    valid_until = DateField(
        _l("Valid until"),
        validators=[Optional()],
        description=_l("After this day the article is hidden from enterprises and listed for you to review."),
    )
