from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, Optional

from hotline.auth.services import PASSWORD_MIN

# The rule of check_password_rules, shown under every field that sets a password.
PASSWORD_RULE = _l(
    "At least %(n)d characters of at least two kinds (lowercase letters, capitals, digits, symbols); "
    "not your username, nor a common or easily guessed password.",
    n=PASSWORD_MIN,
)


def password_help(advice: LazyString) -> LazyString:
    """The password rule followed by ``advice`` (both lazily translated), as one field description."""
    return LazyString(lambda: f"{PASSWORD_RULE} {advice}")  # two sentences: nothing of its own to translate


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class RegisterForm(FlaskForm):
    """Enterprise self-registration: the enterprise and its first contact person."""

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
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=200)], description=PASSWORD_RULE
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=200)],
        description=PASSWORD_RULE,
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )


class AvailabilityForm(FlaskForm):
    """A liaison's leave button: the wanted state only."""

    available = HiddenField(validators=[AnyOf(["0", "1"])])


class ForgotPasswordForm(FlaskForm):
    """ "Forgot your password?": the username or e-mail address of the account."""

    account = StringField(
        _l("Username or email"),
        validators=[DataRequired(), Length(max=254)],
        description=_l("We send a link to set a new password to the account's email address."),
    )


class ResetPasswordForm(FlaskForm):
    """The new password, set through a reset link."""

    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(max=200)], description=PASSWORD_RULE
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
