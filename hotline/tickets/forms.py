"""Forms of the request pages.

The forms check shape only (lengths, CSRF).  Whether a field is required, a phone number valid, a choice known
or a comment needed is decided by the services, so all errors of a submission show at once, by their fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    Field,
    Form,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from hotline.attachments.sniffing import ACCEPT as ATTACHMENT_ACCEPT
from hotline.tickets.labels import CHANNEL_LABELS, OUTCOME_LABELS, SCORE_LABELS, URGENCY_LABELS
from hotline.tickets.models import RECORDED_CHANNELS, FollowupOutcome, RatingScore, Urgency
from hotline.tickets.workflow import TEXT_MAX, TITLE_MAX, Action
from hotline.tickets.workflow import Field as WorkflowField

__all__ = [
    "CHANNEL_LABELS",
    "SCORE_LABELS",
    "URGENCY_LABELS",
]  # the labels the forms show, for other features


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
    """An enterprise files a request.

    ``submission_token`` is a one-time token given when the form is shown
    (:mod:`hotline.tickets.idempotency`): the form sent twice with it files one request.
    """

    submission_token = HiddenField()
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
    # Evidence filed with the request (hotline.attachments): attached in the filing's transaction.  The
    # recording form does not show it.
    file = MultipleFileField(
        _l("Files or photos"),
        render_kw={"accept": ATTACHMENT_ACCEPT},
        description=_l("Optional: PDF, pictures, Office documents or plain text."),
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


# ------------------------------------------------------------------------ the actions' forms, from the table

ENUM_LABELS: dict[type[Any], Mapping[Any, Any]] = {
    RatingScore: SCORE_LABELS,
    FollowupOutcome: OUTCOME_LABELS,
}
_FORM_CLASSES: dict[str, type[FlaskForm]] = {}


def _field(spec: WorkflowField) -> Field:
    validators: list[Any] = [Required()] if spec.required else []
    if spec.max_length:
        validators.append(Length(max=spec.max_length))
    kwargs: dict[str, Any] = {"validators": validators, "description": spec.description or ""}
    if spec.kind == "text":
        return TextAreaField(spec.label, **kwargs)
    if spec.kind in ("line", "integer", "datetime"):
        if spec.kind == "integer":
            kwargs["render_kw"] = {"inputmode": "numeric"}
        if spec.kind == "datetime":  # the browser's picker; the service reads it as Asia/Shanghai time
            kwargs["render_kw"] = {"type": "datetime-local"}
        return StringField(spec.label, **kwargs)
    if spec.kind == "boolean":
        pairs = [("true", spec.true_label), ("false", spec.false_label)]
        return RadioField(spec.label, choices=choices(pairs, blank=False), validate_choice=False, **kwargs)
    if spec.enum is not None:
        labels = ENUM_LABELS[spec.enum]
        pairs = [(member.value, labels[member]) for member in spec.enum]
        return RadioField(spec.label, choices=choices(pairs, blank=False), validate_choice=False, **kwargs)
    return SelectField(spec.label, validate_choice=False, **kwargs)  # choices filled per page


def action_form_class(action: Action) -> type[FlaskForm]:
    """The form of a lifecycle action, built once from its row's fields (:mod:`hotline.tickets.workflow`)."""
    form_class = _FORM_CLASSES.get(action.name)
    if form_class is None:
        fields = {spec.name: _field(spec) for spec in action.fields}
        form_class = type(f"{action.name.title().replace('_', '')}Form", (FlaskForm,), fields)
        _FORM_CLASSES[action.name] = form_class
    return form_class


def form_values(action: Action, form: FlaskForm) -> dict[str, Any]:
    """The values of a submitted action form, typed as the service takes them (booleans True/False/None)."""
    values: dict[str, Any] = {}
    for spec in action.fields:
        data = getattr(form, spec.name).data
        if spec.kind == "boolean":
            values[spec.name] = {"true": True, "false": False}.get(str(data or ""))
        elif spec.kind == "choice":
            values[spec.name] = data or None
        else:
            values[spec.name] = data or ""
    return values


class HandoverForm(FlaskForm):
    """A liaison's open work to another liaison (``/manage/liaisons``); the service checks both fields."""

    to = SelectField(_l("Hand over to"), validators=[Required()], validate_choice=False)
    reason = _text(_l("Reason"))


class LeaveForm(FlaskForm):
    """A liaison's leave (``/manage/liaisons``): both days, or neither to end it; the service checks them."""

    leave_from = StringField(_l("First day of leave"), render_kw={"type": "date"})
    leave_until = StringField(_l("Last day of leave"), render_kw={"type": "date"})
