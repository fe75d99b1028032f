from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SearchField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, Optional

from hotline.auth.forms import password_help
from hotline.auth.models import Role

# Enterprise contacts are made by registration or onboarding, never here.
STAFF_ROLES = (Role.LIAISON, Role.DEPARTMENT, Role.MANAGER, Role.ADMIN)


class UserFilterForm(FlaskForm):
    """The filters above the user list (a GET form, so no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Username or name"), validators=[Optional(), Length(max=100)])
    role = SelectField(_l("Role"), validators=[Optional()])


class NewUserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    department = SelectField(
        _l("Department"),
        validators=[Optional()],
        description=_l("Only for department staff."),
    )
    phone = StringField(_l("Mobile phone"), validators=[Optional(), Length(max=32)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(), Length(max=200)],
        description=password_help(_l("Give it to the person, who should change it on the account page.")),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class ActiveForm(FlaskForm):
    """The deactivate / reactivate button: the wanted state and where to go back to."""

    active = HiddenField(validators=[AnyOf(["0", "1"])])
    next = HiddenField()


class EditUserForm(FlaskForm):
    """An administrator changes an account (the role's choices are set by the view)."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    department = SelectField(
        _l("Department"),
        validators=[Optional()],
        description=_l("Only for department staff."),
    )
    phone = StringField(_l("Mobile phone"), validators=[Optional(), Length(max=32)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    active = SelectField(_l("Status"), validators=[AnyOf(["0", "1"])])  # choices: set by the view


class ResetLinkForm(FlaskForm):
    """The button that makes a password reset link to hand over (nothing but the CSRF token)."""
