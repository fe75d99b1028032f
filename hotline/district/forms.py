"""The forms of the district's setup pages.  They only carry the values: the services check them, so a
page and the API refuse the same things with the same sentences (the asterisks are :class:`Required`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from hotline.enterprises.models import CoverageRole
from hotline.tickets.forms import Required


def _code() -> StringField:
    return StringField(
        _l("Code"), validators=[Required()], description=_l("Latin letters and digits; it never changes.")
    )


class StreetForm(FlaskForm):
    code = _code()
    name = StringField(_l("Street name"), validators=[Required()])
    name_en = StringField(_l("English name"))


class StreetEditForm(FlaskForm):
    name = StringField(_l("Street name"), validators=[Required()])
    name_en = StringField(_l("English name"))
    active = BooleanField(_l("In use (unticked: no new building is put in it)"))


class BuildingForm(FlaskForm):
    street = SelectField(_l("Street"), validators=[Required()], validate_choice=False)
    name = StringField(_l("Building name"), validators=[Required()])
    name_en = StringField(_l("English name"))
    address = StringField(_l("Address"))


class BuildingEditForm(BuildingForm):
    active = BooleanField(_l("In use (unticked: offered to no new enterprise)"))


class DepartmentForm(FlaskForm):
    code = _code()
    name = StringField(_l("Department name"), validators=[Required()])
    name_en = StringField(_l("English name"))


class DepartmentEditForm(FlaskForm):
    name = StringField(_l("Department name"), validators=[Required()])
    name_en = StringField(_l("English name"))
    active = BooleanField(_l("In use (unticked: offered for no new transfer)"))


class CategoryForm(FlaskForm):
    code = _code()
    name = StringField(_l("Category name"), validators=[Required()])
    name_en = StringField(_l("English name"))
    sort_order = StringField(_l("Order in lists"), default="0")


class CategoryNamesForm(FlaskForm):
    name = StringField(_l("Category name"), validators=[Required()])
    name_en = StringField(_l("English name"))
    sort_order = StringField(_l("Order in lists"))
    active = BooleanField(_l("In use (unticked: offered to no new request)"))


KIND_LABELS = {CoverageRole.PRIMARY: _l("Primary liaison"), CoverageRole.DEPUTY: _l("Deputy")}


class CoverageForm(FlaskForm):
    building = SelectField(_l("Building to cover"), validators=[Required()], validate_choice=False)
    liaison = SelectField(_l("Liaison"), validators=[Required()], validate_choice=False)
    kind = RadioField(
        _l("Covers it as"),
        choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
        default=CoverageRole.PRIMARY.value,
        validate_choice=False,
    )
    replace = BooleanField(_l("Replace the building's current primary liaison (its coverage ends)"))


class EndCoverageForm(FlaskForm):
    coverage = HiddenField()


class MoveCoverageForm(FlaskForm):
    """A coverage moved to another building of the street (ended, and started there: both in the history)."""

    building = SelectField(_l("Move to"), validators=[Required()], validate_choice=False)


class FieldPeriodForm(FlaskForm):
    """The period of 走访覆盖 on the coverage pages (a GET form, so no CSRF token)."""

    class Meta:
        csrf = False

    period = StringField(
        _l("Field coverage in"),
        description=_l(
            "A month like 2026-03, a quarter like 2026Q1 or a year like 2026; this quarter if empty."
        ),
    )
