"""Forms of the meetings' and visits' pages.

As the request forms (:mod:`hotline.tickets.forms`), they check shape only (lengths, CSRF): whether a field is
required, a time readable, a building one's own or an enterprise invitable is decided by the services
(:mod:`hotline.meetings.services`), so every problem of a submission shows at once, next to its field or at
its row.  Choices are filled per page by the views.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from hotline.enterprises import uscc as uscc_codes
from hotline.meetings.labels import KIND_LABELS
from hotline.meetings.models import MeetingKind
from hotline.meetings.services import INVITED_MAX, ITEMS_MAX, MET_MAX, PLACE_MAX
from hotline.tickets.forms import URGENCY_LABELS, Required, TicketForm, choices
from hotline.tickets.models import Urgency
from hotline.tickets.workflow import TEXT_MAX, TITLE_MAX

# Empty request rows offered beneath those filled in advance (more with the "add a row" button).
EMPTY_ROWS = 3
# Rows a form may carry, empty ones included (the services take ITEMS_MAX filled ones).
ROWS_MAX = 2 * ITEMS_MAX
# The browser's pickers: <input type=datetime-local> sends 2026-03-10T08:30, the services read it as
# Asia/Shanghai time; <input type=date> sends 2026-03-10.
MOMENT = {"type": "datetime-local"}
DAY = {"type": "date"}
# Credit codes typed in to invite: one a line, or separated by spaces, commas, semicolons or 、.
CODE_SEPARATORS = re.compile(r"[\s,;，；、]+")


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes (rendered by ``render_field`` as a group of form-checks)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _checkboxes(label: Any, **kwargs: Any) -> MultiCheckboxField:
    return MultiCheckboxField(label, validate_choice=False, **kwargs)


def _text(label: Any, maximum: int = TEXT_MAX, required: bool = False, **kwargs: Any) -> TextAreaField:
    validators: list[Any] = [Required()] if required else []
    validators.append(Length(max=maximum))
    return TextAreaField(label, validators=validators, **kwargs)


def _kinds() -> list[Any]:
    return choices(((k.value, KIND_LABELS[k]) for k in MeetingKind), blank=False)


def _urgencies() -> list[Any]:
    return choices(((u.value, label) for u, label in URGENCY_LABELS.items()), blank=False)


# --------------------------------------------------------------------------- scheduling and changing


class MeetingFields(FlaskForm):
    """The fields a meeting is scheduled with and changed by."""

    title = StringField(_l("Title"), validators=[Required(), Length(max=TITLE_MAX)])
    starts_at = StringField(
        _l("Starts"),
        validators=[Required(), Length(max=40)],
        render_kw=MOMENT,
        description=_l("Local time (Beijing)."),
    )
    ends_at = StringField(
        _l("Ends"),
        validators=[Length(max=40)],
        render_kw=MOMENT,
        description=_l("Leave empty for 90 minutes."),
    )
    place = StringField(_l("Place"), validators=[Required(), Length(max=PLACE_MAX)])
    description = _text(_l("Description"), description=_l("The agenda, what to bring, who attends."))
    departments = _checkboxes(_l("Departments attending"))
    host = SelectField(_l("Host"), validate_choice=False)
    invite = _checkboxes(_l("Invite enterprises"))
    invite_buildings = _checkboxes(_l("All enterprises of a building"))
    invite_codes = _text(
        _l("Invite by credit code"),
        maximum=INVITED_MAX * 20,
        description=_l(
            "Unified social credit codes of enterprises of the meeting's buildings, one a line or separated "
            "by commas: for those not listed above."
        ),
    )


class ScheduleForm(MeetingFields):
    """A liaison or a manager schedules a meeting (``/meetings/new``)."""

    kind = RadioField(
        _l("Kind"), choices=_kinds(), default=MeetingKind.TEA_MEETING.value, validate_choice=False
    )
    buildings = _checkboxes(_l("Buildings served"))
    street = SelectField(
        _l("A whole street"),
        validate_choice=False,
        description=_l("All active buildings of the street, in addition to those ticked."),
    )


class EditForm(MeetingFields):
    """Changes to a meeting (``/meetings/<id>/edit``): more invitations, some taken back."""

    uninvite = _checkboxes(
        _l("Take back invitations"), description=_l("Only enterprises that have not attended.")
    )


def meeting_values(form: MeetingFields) -> dict[str, Any]:
    """The values of the meeting's own fields, as the services take them."""
    return {
        "title": form.title.data or "",
        "starts_at": form.starts_at.data or "",
        "ends_at": form.ends_at.data or "",
        "place": form.place.data or "",
        "description": form.description.data or "",
        "departments": list(form.departments.data or []),
        "host": form.host.data or "",
        "invite": invited_codes(form),
        "invite_buildings": list(form.invite_buildings.data or []),
    }


def invited_codes(form: MeetingFields) -> list[str]:
    """The credit codes of the enterprises ticked and of those typed in, each once (as the services read
    them: without spaces, upper-case)."""
    typed = CODE_SEPARATORS.split(form.invite_codes.data or "")
    codes = (uscc_codes.normalise(raw) for raw in [*(form.invite.data or []), *typed])
    return list(dict.fromkeys(code for code in codes if code))


def schedule_values(form: ScheduleForm) -> dict[str, Any]:
    values = meeting_values(form)
    values.update(
        kind=form.kind.data or "",
        buildings=list(form.buildings.data or []),
        street=form.street.data or "",
    )
    return values


class CancelForm(FlaskForm):
    confirm = BooleanField(_l("Yes, cancel this meeting and tell the invited enterprises."))


# --------------------------------------------------------------------------- the enterprise's side


class RespondForm(FlaskForm):
    """Confirm or decline an invitation: the button pressed names the answer."""

    response = StringField(validators=[Length(max=20)])


class QuestionForm(TicketForm):
    """A question sent before the meeting: the fields of a request, filed by the host at the meeting."""

    submission_token = None  # a draft, not a filing: sent twice, it is two questions the host sees


# --------------------------------------------------------------------------- requests entered at once


class VisitRowForm(Form):
    """One request raised on a visit: the fields of a request, and an answer given on the spot."""

    category = SelectField(_l("Category"), validators=[Required()], validate_choice=False)
    title = StringField(_l("Title"), validators=[Required(), Length(max=TITLE_MAX)])
    description = _text(_l("Description"), required=True)
    contact_phone = StringField(_l("Contact phone"), validators=[Required(), Length(max=32)])
    urgency = SelectField(
        _l("Urgency"), choices=_urgencies(), default=Urgency.NORMAL.value, validate_choice=False
    )
    answer = _text(
        _l("Answered at the table"),
        description=_l(
            "If it was answered on the spot: the answer. The request is filed and resolved at once."
        ),
    )


class MinutesRowForm(VisitRowForm):
    """One request raised at a meeting, for one of the meeting's enterprises, maybe sent in advance."""

    enterprise_uscc = SelectField(_l("Enterprise"), validators=[Required()], validate_choice=False)
    question = HiddenField()


ROW_FIELDS = ("enterprise_uscc", "category", "title", "description", "contact_phone", "answer")


def row_values(row: Form) -> dict[str, Any]:
    """A row's values as the services take an item (only the fields the row has)."""
    values: dict[str, Any] = {}
    for name in (*ROW_FIELDS, "urgency", "question"):
        if name in row:
            values[name] = row[name].data or ""
    return values


def row_is_empty(values: Mapping[str, Any]) -> bool:
    """A row with nothing typed in it (urgency has a default, a question's id is hidden): left out."""
    return not any(str(values.get(name) or "").strip() for name in ROW_FIELDS)


class MinutesForm(FlaskForm):
    """The minutes of a meeting in one form: attendance, a summary, and the requests raised.

    ``submission_token`` is a one-time token (:mod:`hotline.tickets.idempotency`): the form sent twice
    (a double click, back and resubmit) records the minutes and files their requests once.
    """

    submission_token = HiddenField()
    attended = _checkboxes(_l("Attended"), description=_l("Tick the invited enterprises that came."))
    walk_ins = _checkboxes(
        _l("Came without an invitation"), description=_l("Enterprises of the meeting's buildings.")
    )
    minutes = _text(_l("Summary"), description=_l("What was discussed, agreed and promised."))
    items = FieldList(FormField(MinutesRowForm), max_entries=ROWS_MAX)


class VisitForm(FlaskForm):
    """走访: a visit to an enterprise and the requests raised there (one-time token as the minutes)."""

    submission_token = HiddenField()
    enterprise_uscc = SelectField(_l("Enterprise"), validators=[Required()], validate_choice=False)
    visited_on = StringField(_l("Day of the visit"), validators=[Required(), Length(max=20)], render_kw=DAY)
    met = StringField(
        _l("Whom you met"),
        validators=[Required(), Length(max=MET_MAX)],
        description=_l("Names and positions."),
    )
    notes = _text(_l("Notes"))
    items = FieldList(FormField(VisitRowForm), max_entries=ROWS_MAX)
