"""Forms of the request pages.

The forms check shape only (lengths, CSRF).  Whether a field is required, a phone number valid, a choice known
or a comment needed is decided by the services, so all errors of a submission show at once, by their fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, Form, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from hotline.tickets.models import RECORDED_CHANNELS, Channel, RatingScore, Urgency
from hotline.tickets.services import TEXT_MAX, TITLE_MAX

CHANNEL_LABELS = {
    Channel.WEB: _l("Web"),
    Channel.PHONE: _l("Phone"),
    Channel.TEA_MEETING: _l("Tea meeting"),
    Channel.ROUNDTABLE: _l("Roundtable"),
    Channel.VISIT: _l("Visit"),
    Channel.API: _l("API"),
}

SCORE_LABELS = {
    RatingScore.SATISFIED: _l("Satisfied"),
    RatingScore.BASICALLY_SATISFIED: _l("Basically satisfied"),
    RatingScore.DISSATISFIED: _l("Dissatisfied"),
}

URGENCY_LABELS = {Urgency.NORMAL: _l("Normal"), Urgency.URGENT: _l("Urgent")}

CHOOSE = _l("— choose —")


def choices(pairs: Iterable[tuple[str, Any]], *, blank: bool = True) -> list[SelectChoice]:
    """Options from (value, label) pairs, after a "choose" option unless ``blank`` is false."""
    head = [SelectChoice("", CHOOSE)] if blank else []
    return head + [SelectChoice(value, label) for value, label in pairs]


class Required:
    """Marks a field required (the asterisk) without checking it: the service does, with the other fields."""

    field_flags: ClassVar[dict[str, bool]] = {"required": True}

    def __call__(self, form: Form, field: Field) -> None:
        return None


def _text(label: Any, maximum: int = TEXT_MAX, required: bool = True, **kwargs: Any) -> TextAreaField:
    validators: list[Any] = [Required()] if required else []
    validators.append(Length(max=maximum))
    return TextAreaField(label, validators=validators, **kwargs)


class TicketForm(FlaskForm):
    """An enterprise files a request."""

    category = SelectField(_l("Category"), validators=[Required()], validate_choice=False)
    title = StringField(_l("Title"), validators=[Required(), Length(max=TITLE_MAX)])
    description = _text(_l("Description"), description=_l("What happened, what you need, since when."))
    urgency = RadioField(
        _l("Urgency"),
        choices=choices(((u.value, label) for u, label in URGENCY_LABELS.items()), blank=False),
        default=Urgency.NORMAL.value,
        validate_choice=False,
    )
    contact_phone = StringField(
        _l("Contact phone"),
        validators=[Required(), Length(max=32)],
        description=_l("The liaison calls this number about the request."),
    )


class RecordForm(TicketForm):
    """A liaison (or a manager) records a request raised by phone, at a meeting or on a visit."""

    enterprise_uscc = SelectField(_l("Enterprise"), validators=[Required()], validate_choice=False)
    channel = SelectField(
        _l("Channel"),
        choices=choices((c.value, CHANNEL_LABELS[c]) for c in RECORDED_CHANNELS),
        validators=[Required()],
        validate_choice=False,
    )


class InfoForm(FlaskForm):
    body = _text(_l("More information"))


class ReplyForm(FlaskForm):
    body = _text(_l("Reply to the enterprise"))


class NoteForm(FlaskForm):
    body = _text(_l("Internal note"), description=_l("Seen by staff only, never by the enterprise."))


class HandbackForm(FlaskForm):
    body = _text(_l("Note to the liaison"))


class AcknowledgeForm(FlaskForm):
    """No fields: the button is the whole form."""


class WithdrawForm(FlaskForm):
    reason = _text(_l("Reason for withdrawing"), required=False)


class ReturnForm(FlaskForm):
    reason = _text(_l("Reason for returning"))


class ResolveForm(FlaskForm):
    answer = _text(_l("Answer"), description=_l("The enterprise sees this answer and rates it."))


class TransferForm(FlaskForm):
    department = SelectField(_l("Department"), validators=[Required()], validate_choice=False)
    note = _text(_l("Note"), required=False)


class AssignForm(FlaskForm):
    liaison = SelectField(_l("Liaison"), validators=[Required()], validate_choice=False)
    reason = _text(_l("Reason"), required=False)


class ReviewReturnForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=choices(
            [("accept", _l("Accept the return")), ("refuse", _l("Refuse the return"))], blank=False
        ),
        validators=[Required()],
        validate_choice=False,
    )
    note = _text(_l("Note"), required=False, description=_l("Required when refusing."))


class RateForm(FlaskForm):
    score = RadioField(
        _l("Rating"),
        choices=choices(((s.value, label) for s, label in SCORE_LABELS.items()), blank=False),
        validators=[Required()],
        validate_choice=False,
    )
    comment = _text(_l("Comment"), required=False, description=_l("Required when dissatisfied."))
