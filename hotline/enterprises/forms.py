from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SearchField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional


class EnterpriseFilterForm(FlaskForm):
    """The filters above the enterprise list (a GET form, so no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Name or code"), validators=[Optional(), Length(max=200)])
    unverified = BooleanField(_l("Unverified only"))


class VerifyForm(FlaskForm):
    """The verify button: only the CSRF token and where to go back to."""

    next = HiddenField()


class OnboardForm(FlaskForm):
    """A liaison or manager onboards an enterprise with its first contact account."""

    uscc = StringField(
        _l("Unified social credit code"),
        validators=[DataRequired(), Length(max=30)],
        description=_l("18 characters, on the business licence."),
    )
    name = StringField(_l("Enterprise name"), validators=[DataRequired(), Length(max=200)])
    building = SelectField(_l("Building"), coerce=int, validators=[DataRequired()])
    room = StringField(_l("Floor and room"), validators=[Optional(), Length(max=50)])
    contact_name = StringField(_l("Contact person"), validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("Mobile phone"), validators=[DataRequired(), Length(max=32)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("The contact logs in with this name."),
    )
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("Give it to the contact person, who should change it on the account page."),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
