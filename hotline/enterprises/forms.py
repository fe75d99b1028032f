from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SearchField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional

from hotline.auth.forms import RegisterForm, password_help


class EnterpriseFilterForm(FlaskForm):
    """The filters above the enterprise list (a GET form, so no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Name or code"), validators=[Optional(), Length(max=200)])
    unverified = BooleanField(_l("Unverified only"))


class VerifyForm(FlaskForm):
    """The verify button: only the CSRF token and where to go back to."""

    next = HiddenField()


class OnboardForm(RegisterForm):
    """A liaison or manager onboards an enterprise with its first contact account (the registration fields,
    with the login explained for the person who hands it over)."""

    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("The contact logs in with this name."),
    )
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(), Length(max=200)],
        description=password_help(
            _l("Give it to the contact person, who should change it on the account page.")
        ),
    )
