from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SearchField, SelectField
from wtforms.validators import Length, Optional, ValidationError

from hotline.audit.labels import ACTION_LABELS


class AuditFilterForm(FlaskForm):
    """The search above the audit log (a GET form, so no CSRF token)."""

    class Meta:
        csrf = False

    actor = SearchField(_l("Who (username or name)"), validators=[Optional(), Length(max=100)])
    action = SelectField(_l("Action"), validators=[Optional()])
    target = SearchField(_l("Target contains"), validators=[Optional(), Length(max=200)])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.action.choices = [("", _l("All actions"))] + [
            (action.value, label) for action, label in ACTION_LABELS.items()
        ]

    def validate_end(self, field: DateField) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("The last day is before the first."))
