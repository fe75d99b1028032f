"""Forms of the manager's working-time pages and of extension requests.

The forms check shape only (a date is a date, a choice is made, lengths, CSRF); numbers go to the services
as typed.  Whether a number is in range, a year may be entered, working hours make sense or a refusal has a
note is decided by the services, so every error of a submission shows at once next to its field.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, Form, RadioField, StringField, TextAreaField
from wtforms.validators import Length, StopValidation
from wtforms.widgets import DateInput, NumberInput

from hotline.tickets.forms import Required, choices

NOTE_MAX = 200
TEXT_MAX = 2000
NOTICE_TEXT_MAX = 5000


class Filled:
    """A value the service cannot do without (a date, a number, a choice): say so next to the field."""

    field_flags: ClassVar[dict[str, bool]] = {"required": True}

    def __init__(self, message: Any, allowed: tuple[str, ...] | None = None) -> None:
        self.message = message
        self.allowed = allowed

    def __call__(self, form: Form, field: Field) -> None:
        if field.process_errors:  # the field's own parse error is already there
            return
        if field.data is None or field.data == "" or (self.allowed and field.data not in self.allowed):
            raise StopValidation(str(self.message))


class DayField(StringField):
    """A calendar date typed as ``2026-10-01`` (the browser's date picker sends that form)."""

    widget = DateInput()
    data: date | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not text:
            return
        try:
            self.data = date.fromisoformat(text)
        except ValueError:
            raise ValueError(_("Enter a date like 2026-10-01.")) from None

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return self.data.isoformat() if self.data else ""


class WholeNumberField(StringField):
    """A number box; the text goes to the service, which says what is wrong with it next to the field."""

    widget = NumberInput(step=1)


class DayForm(FlaskForm):
    """Mark one day working or rest (a local closure, a newly published holiday or make-up day)."""

    day = DayField(_l("Date"), validators=[Filled(_l("Enter a date like 2026-10-01."))])
    kind = RadioField(
        _l("The day is"),
        choices=choices([("work", _l("a working day")), ("rest", _l("a rest day"))], blank=False),
        validators=[Filled(_l("Choose working day or rest day."), ("work", "rest"))],
        validate_choice=False,
    )
    note = StringField(
        _l("Note"),
        validators=[Length(max=NOTE_MAX)],
        description=_l("Why, e.g. “National Day make-up working day” or “building closed for repairs”."),
    )


class YearForm(FlaskForm):
    """Enter a year the chinese-calendar package does not know yet (Monday to Friday to start from)."""

    year = WholeNumberField(
        _l("Year"),
        validators=[Required()],
        description=_l(
            "Creates Monday-to-Friday working days; then mark the published holidays and make-up days "
            "one by one."
        ),
    )


class NoticeForm(FlaskForm):
    """A whole year from the State Council's notice: its holiday ranges and make-up working days."""

    year = WholeNumberField(_l("Year"), validators=[Required()])
    text = TextAreaField(
        _l("Holidays and make-up working days"),
        validators=[Required(), Length(max=NOTICE_TEXT_MAX)],
        description=_l(
            "As the notice gives them, e.g. “元旦 1月1日–3日; 春节 2月15日–23日 休, 2月14日、2月28日 上班”, "
            "the notice's own sentences, or one range per line. Dates without 休 or 班 are days off; every "
            "other day is a working day from Monday to Friday."
        ),
    )


class HoursForm(FlaskForm):
    hours = StringField(
        _l("Working hours"),
        validators=[Required(), Length(max=200)],
        description=_l("Periods of the working day, Beijing time, e.g. 09:00-12:00,13:30-17:30."),
    )


class CategoryClocksForm(FlaskForm):
    """The four clocks of a category (DESIGN §5)."""

    acknowledge_minutes = WholeNumberField(
        _l("Acknowledge within (working minutes)"), validators=[Required()]
    )
    acknowledge_minutes_urgent = WholeNumberField(
        _l("Acknowledge within, urgent (working minutes)"), validators=[Required()]
    )
    resolve_days = WholeNumberField(_l("Resolve within (working days)"), validators=[Required()])
    resolve_days_urgent = WholeNumberField(
        _l("Resolve within, urgent (working days)"), validators=[Required()]
    )


F = TypeVar("F", bound=FlaskForm)


def unique_ids(form: F, prefix: str) -> F:
    """Give the fields of ``form`` ids of their own: several forms with the same field names share a page."""
    for field in form:
        field.id = f"{prefix}-{field.name}"
        field.label.field_id = field.id
    return form
