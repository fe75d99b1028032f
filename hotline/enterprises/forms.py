from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SearchField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional

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


class EnterpriseEditForm(FlaskForm):
    """A liaison or manager edits an enterprise (its code is not editable: it is shown, not asked)."""

    name = StringField(_l("Enterprise name"), validators=[DataRequired(), Length(max=200)])
    building = SelectField(
        _l("Building"),
        coerce=int,
        validators=[DataRequired()],
        description=_l(
            "Moving the enterprise: its new requests go to the new building's liaison; "
            "the open ones stay with theirs."
        ),
    )
    room = StringField(_l("Floor and room"), validators=[Optional(), Length(max=50)])
    industry = StringField(_l("Industry"), validators=[Optional(), Length(max=100)])


class ContactForm(FlaskForm):
    """Another contact account for an enterprise, made by its liaison or a manager."""

    name = StringField(_l("Contact person"), validators=[DataRequired(), Length(max=100)])
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
        description=password_help(
            _l("Give it to the contact person, who should change it on the account page.")
        ),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class ClaimDecisionForm(FlaskForm):
    """Confirm or reject a claim on an enterprise, with a note the claimant reads."""

    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("confirm", _l("Confirm: the claimant becomes a contact")),
            SelectChoice("reject", _l("Reject")),
        ],
        validators=[InputRequired(message=_l("Choose confirm or reject."))],
    )
    note = TextAreaField(
        _l("Note to the claimant"),
        validators=[Optional(), Length(max=1000)],
        description=_l("Required when rejecting: say why."),
    )
