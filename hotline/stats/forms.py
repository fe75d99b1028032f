"""The dashboard's filter form: a GET form whose query string is also the filter of the drill-down lists and
of the exports.

The form checks shape and choices only; what a period means is decided by :mod:`hotline.stats.periods`, whose
errors the view puts next to the field they concern.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length
from wtforms.widgets import DateInput

from hotline.tickets.labels import CHANNEL_LABELS
from hotline.tickets.models import Channel

PERIOD_KINDS = ("month", "quarter", "year", "custom")
PERIOD_LABELS = {
    "month": _l("Month"),
    "quarter": _l("Quarter"),
    "year": _l("Year"),
    "custom": _l("Custom dates"),
}
ALL = _l("— all —")

# The query arguments that make a filter: the dashboard, its drill-down lists and its links all pass these on.
FILTER_ARGS = ("period", "value", "from", "to", "street", "building", "category", "channel", "liaison")


def with_all(pairs: list[tuple[str, Any]]) -> list[SelectChoice]:
    """Options after an "all" option (the empty value: no filter)."""
    return [SelectChoice("", ALL), *(SelectChoice(value, label) for value, label in pairs)]


class DashboardFilterForm(FlaskForm):
    """Period and filters of the figures; bound to the query string, no CSRF (it changes nothing)."""

    class Meta:
        csrf = False

    period = SelectField(
        _l("Period"),
        choices=[SelectChoice(kind, PERIOD_LABELS[kind]) for kind in PERIOD_KINDS],
        default="year",
    )
    value = StringField(
        _l("Month, quarter or year"),
        validators=[Length(max=16)],
        description=_l("For example 2026-03, 2026Q1 or 2026."),
    )
    start = StringField(_l("From"), name="from", widget=DateInput(), validators=[Length(max=10)])
    end = StringField(
        _l("To"),
        name="to",
        widget=DateInput(),
        validators=[Length(max=10)],
        description=_l("Both days included."),
    )
    # The choices are filled by the view; "" (all) is the default of each.
    street = SelectField(_l("Street"), choices=[], default="")
    building = SelectField(_l("Building"), choices=[], default="")
    category = SelectField(_l("Category"), choices=[], default="")
    channel = SelectField(
        _l("Channel"), choices=with_all([(c.value, CHANNEL_LABELS[c]) for c in Channel]), default=""
    )
    liaison = SelectField(_l("Liaison"), choices=[], default="")
