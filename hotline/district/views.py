"""The managers' pages of the district's setup: streets and their buildings with who covers each (the
coverage page of a street), a building with its coverage history, departments, and new categories (their
clocks are edited on the clocks page, :mod:`hotline.sla.views`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from werkzeug.wrappers import Response

from hotline.auth.access import roles_required
from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.district import forms
from hotline.district import services as district
from hotline.enterprises.models import Building, Coverage, Department, Street
from hotline.errors import NotFound, ValidationFailed
from hotline.extensions import db
from hotline.meetings.queries import FieldCoverage, field_coverage
from hotline.stats import periods
from hotline.tickets.forms import choices
from hotline.tickets.models import Category
from hotline.timeutil import local_date
from hotline.web import perform

bp = Blueprint("district", __name__, url_prefix="/manage")

Page = str | tuple[str, int] | Response


def _street_or_404(code: str) -> Street:
    try:
        return district.street_by_code(code)
    except NotFound:
        abort(404)


# --------------------------------------------------------------------------- 走访覆盖 (issue 12, point 4)


@dataclass(frozen=True)
class FieldView:
    """走访覆盖 as the coverage pages show it: the period's form and text, and the figures (None when the
    period cannot be read: its message is next to the field)."""

    form: forms.FieldPeriodForm
    period: str
    coverage: FieldCoverage | None


def _field_view(street_id: int | None = None) -> FieldView:
    """走访覆盖 for the ``period`` argument (this quarter by default), of the district or of one street: one
    grouped query."""
    form = forms.FieldPeriodForm(formdata=request.args)
    text = (form.period.data or "").strip() or periods.default_value("quarter", local_date(utcnow()))
    try:
        start, end = periods.parse_period(text)
    except ValidationFailed as error:
        form.period.errors = [error.message]
        return FieldView(form, text, None)
    form.period.data = text
    return FieldView(form, periods.describe(start, end), field_coverage(start, end, street_id=street_id))


# --------------------------------------------------------------------------- streets


def _streets_page(form: forms.StreetForm | None = None) -> Page:
    streets = db.session.scalars(select(Street).order_by(Street.active.desc(), Street.code)).all()
    counts = dict(
        db.session.execute(select(Building.street_id, func.count()).group_by(Building.street_id)).all()
    )
    # the gaps as the dashboard's 楼宇覆盖率 counts them: no primary there today (active, not on leave)
    from hotline.stats.queries import coverage

    gaps: dict[str, int] = {}
    for _building_id, _name, street_name, _kind in coverage().gaps:
        gaps[street_name] = gaps.get(street_name, 0) + 1
    uncovered = {street.id: gaps.get(street.name, 0) for street in streets}
    field = _field_view()
    page = render_template(
        "district/streets.html",
        streets=streets,
        counts=counts,
        uncovered=uncovered,
        form=form or forms.StreetForm(formdata=None),
        field=field,
    )
    return (page, 400) if form is not None or field.coverage is None else page


@bp.route("/streets")
@roles_required(Role.MANAGER)
def streets() -> Page:
    return _streets_page()


@bp.route("/streets", methods=["POST"])
@roles_required(Role.MANAGER)
def new_street() -> Page:
    form = forms.StreetForm()
    if form.validate_on_submit():
        street = perform(
            lambda: district.create_street(
                current_user, utcnow(), code=form.code.data, name=form.name.data, name_en=form.name_en.data
            ),
            form=form,
        )
        if isinstance(street, Street):
            flash(_("The street %(name)s is added.", name=street.name), "success")
            return redirect(url_for(".street", code=street.code))
    return _streets_page(form)


# --------------------------------------------------------------------------- a street and its coverage


def _street_page(
    street: Street,
    *,
    edit: forms.StreetEditForm | None = None,
    building: forms.BuildingForm | None = None,
    cover: forms.CoverageForm | None = None,
) -> Page:
    refused = edit is not None or building is not None or cover is not None
    today = local_date(utcnow())
    board = district.coverage_board(street, today)
    if edit is None:
        edit = forms.StreetEditForm(formdata=None, obj=street, prefix="street")
    if building is None:
        building = forms.BuildingForm(formdata=None, street=street.code, prefix="new")
    _street_choices(building)
    if cover is None:
        cover = forms.CoverageForm(formdata=None, prefix="cover")
    cover.building.choices = choices(
        (str(row.building.id), row.building.name) for row in board if row.building.active
    )
    cover.liaison.choices = choices(
        (person.username, f"{person.name} ({person.username})") for person in district.active_liaisons()
    )
    field = _field_view(street.id)
    page = render_template(
        "district/street.html",
        street=street,
        field=field,
        board=board,
        edit=edit,
        building_form=building,
        cover=cover,
        end_form=forms.EndCoverageForm(formdata=None),
        targets=[row.building for row in board if row.building.active],
        today=today,
    )
    return (page, 400) if refused or field.coverage is None else page


def _street_choices(form: forms.BuildingForm, keep: Street | None = None) -> None:
    """The active streets (and ``keep``, a building's own street even when retired)."""
    wanted = Street.active.is_(True) if keep is None else or_(Street.active.is_(True), Street.id == keep.id)
    form.street.choices = choices(
        (s.code, f"{s.name} ({s.code})")
        for s in db.session.scalars(select(Street).where(wanted).order_by(Street.code))
    )


@bp.route("/streets/<code>")
@roles_required(Role.MANAGER)
def street(code: str) -> Page:
    return _street_page(_street_or_404(code))


@bp.route("/streets/<code>", methods=["POST"])
@roles_required(Role.MANAGER)
def edit_street(code: str) -> Page:
    street = _street_or_404(code)
    form = forms.StreetEditForm(prefix="street")
    if form.validate_on_submit():
        changes = {"name": form.name.data, "name_en": form.name_en.data, "active": bool(form.active.data)}
        done = perform(lambda: district.update_street(code, current_user, utcnow(), changes), form=form)
        if isinstance(done, Street):
            flash(_("The street %(name)s is saved.", name=done.name), "success")
            return redirect(url_for(".street", code=code))
    return _street_page(street, edit=form)


@bp.route("/streets/<code>/buildings", methods=["POST"])
@roles_required(Role.MANAGER)
def new_building(code: str) -> Page:
    street = _street_or_404(code)
    form = forms.BuildingForm(prefix="new")
    if form.validate_on_submit():
        done = perform(
            lambda: district.create_building(
                current_user,
                utcnow(),
                street=form.street.data,
                name=form.name.data,
                name_en=form.name_en.data,
                address=form.address.data,
            ),
            form=form,
        )
        if isinstance(done, Building):
            flash(
                _("The building %(name)s is added: now give it a primary liaison.", name=done.name), "success"
            )
            return redirect(url_for(".street", code=done.street.code, _anchor=f"building-{done.id}"))
    return _street_page(street, building=form)


@bp.route("/streets/<code>/coverage", methods=["POST"])
@roles_required(Role.MANAGER)
def cover(code: str) -> Page:
    street = _street_or_404(code)
    form = forms.CoverageForm(prefix="cover")
    if form.validate_on_submit():
        building_id = form.building.data or ""
        done = perform(
            lambda: district.assign_coverage(
                current_user,
                utcnow(),
                building=building_id or None,  # the service reads the number (or says there is none)
                liaison=form.liaison.data or "",
                kind=form.kind.data,
                replace=bool(form.replace.data),
            ),
            form=form,
        )
        if isinstance(done, Coverage):
            flash(
                _(
                    "%(liaison)s now covers %(building)s as %(kind)s.",
                    liaison=done.liaison.name,
                    building=done.building.name,
                    kind=forms.KIND_LABELS[done.role],
                ),
                "success",
            )
            return redirect(url_for(".street", code=code, _anchor=f"building-{done.building_id}"))
    return _street_page(street, cover=form)


@bp.route("/coverage/<int:coverage_id>/move", methods=["POST"])
@roles_required(Role.MANAGER)
def move_coverage(coverage_id: int) -> Response:
    form = forms.MoveCoverageForm()
    if not form.validate_on_submit():
        abort(400)
    coverage = db.session.get(Coverage, coverage_id)
    if coverage is None:
        abort(404)
    back = url_for(".street", code=coverage.building.street.code)
    target = form.building.data or ""
    done = perform(
        lambda: district.move_coverage(coverage_id, current_user, utcnow(), {"building": target or None}),
        back=back,
    )
    flash(
        _(
            "%(liaison)s now covers %(building)s as %(kind)s.",
            liaison=done.liaison.name,
            building=done.building.name,
            kind=forms.KIND_LABELS[done.role],
        ),
        "success",
    )
    return redirect(
        url_for(".street", code=done.building.street.code, _anchor=f"building-{done.building_id}")
    )


@bp.route("/coverage/<int:coverage_id>/end", methods=["POST"])
@roles_required(Role.MANAGER)
def end_coverage(coverage_id: int) -> Response:
    form = forms.EndCoverageForm()
    if not form.validate_on_submit():
        abort(400)
    coverage = db.session.get(Coverage, coverage_id)
    if coverage is None:
        abort(404)
    back = url_for(".street", code=coverage.building.street.code, _anchor=f"building-{coverage.building_id}")
    done = perform(lambda: district.end_coverage(coverage_id, current_user, utcnow()), back=back)
    flash(
        _(
            "%(liaison)s no longer covers %(building)s.",
            liaison=done.liaison.name,
            building=done.building.name,
        ),
        "success",
    )
    return redirect(back)


# --------------------------------------------------------------------------- one building


def _building_or_404(building_id: int) -> Building:
    building = db.session.get(Building, building_id)
    if building is None:
        abort(404)
    return building


@bp.route("/buildings/<int:building_id>", methods=["GET", "POST"])
@roles_required(Role.MANAGER)
def building(building_id: int) -> Page:
    row = _building_or_404(building_id)
    form = forms.BuildingEditForm() if _posted() else forms.BuildingEditForm(obj=row, street=row.street.code)
    _street_choices(form, keep=row.street)
    if form.validate_on_submit():
        changes: dict[str, Any] = {
            "street": form.street.data,
            "name": form.name.data,
            "name_en": form.name_en.data,
            "address": form.address.data,
            "active": bool(form.active.data),
        }
        done = perform(
            lambda: district.update_building(building_id, current_user, utcnow(), changes), form=form
        )
        if isinstance(done, Building):
            flash(_("The building %(name)s is saved.", name=done.name), "success")
            return redirect(url_for(".street", code=done.street.code, _anchor=f"building-{done.id}"))
    page = render_template(
        "district/building.html", building=row, form=form, history=district.coverage_history(row.id)
    )
    return (page, 400) if _posted() else page


def _posted() -> bool:
    return request.method == "POST"


# --------------------------------------------------------------------------- departments


def _departments_page(form: forms.DepartmentForm | None = None) -> Page:
    rows = db.session.scalars(select(Department).order_by(Department.active.desc(), Department.code)).all()
    page = render_template(
        "district/departments.html", departments=rows, form=form or forms.DepartmentForm(formdata=None)
    )
    return (page, 400) if form is not None else page


@bp.route("/departments")
@roles_required(Role.MANAGER)
def departments() -> Page:
    return _departments_page()


@bp.route("/departments", methods=["POST"])
@roles_required(Role.MANAGER)
def new_department() -> Page:
    form = forms.DepartmentForm()
    if form.validate_on_submit():
        done = perform(
            lambda: district.create_department(
                current_user, utcnow(), code=form.code.data, name=form.name.data, name_en=form.name_en.data
            ),
            form=form,
        )
        if isinstance(done, Department):
            flash(_("The department %(name)s is added.", name=done.name), "success")
            return redirect(url_for(".departments"))
    return _departments_page(form)


@bp.route("/departments/<code>", methods=["GET", "POST"])
@roles_required(Role.MANAGER)
def department(code: str) -> Page:
    try:
        row = district.department_by_code(code)
    except NotFound:
        abort(404)
    form = forms.DepartmentEditForm() if _posted() else forms.DepartmentEditForm(obj=row)
    if form.validate_on_submit():
        changes = {"name": form.name.data, "name_en": form.name_en.data, "active": bool(form.active.data)}
        done = perform(lambda: district.update_department(code, current_user, utcnow(), changes), form=form)
        if isinstance(done, Department):
            flash(_("The department %(name)s is saved.", name=done.name), "success")
            return redirect(url_for(".departments"))
    page = render_template("district/department.html", department=row, form=form)
    return (page, 400) if _posted() else page


# --------------------------------------------------------------------------- categories (their names)


@bp.route("/categories/new", methods=["GET", "POST"])
@roles_required(Role.MANAGER)
def new_category() -> Page:
    form = forms.CategoryForm()
    if form.validate_on_submit():
        values = {
            "code": form.code.data,
            "name": form.name.data,
            "name_en": form.name_en.data,
            "sort_order": form.sort_order.data or "0",
        }
        done = perform(lambda: district.create_category(current_user, utcnow(), values), form=form)
        if isinstance(done, Category):
            flash(_("The category %(name)s is added: check its clocks.", name=done.name), "success")
            return redirect(url_for("sla.edit_category", category_id=done.id))
    page = render_template("district/new_category.html", form=form)
    return (page, 400) if _posted() else page


@bp.route("/categories/<int:category_id>/names", methods=["POST"])
@roles_required(Role.MANAGER)
def category_names(category_id: int) -> Page:
    row = db.session.get(Category, category_id)
    if row is None:
        abort(404)
    form = forms.CategoryNamesForm()
    if form.validate_on_submit():
        changes = {"name": form.name.data, "name_en": form.name_en.data, "active": bool(form.active.data)}
        if (form.sort_order.data or "").strip():  # a blank order leaves it as it is
            changes["sort_order"] = form.sort_order.data
        code = row.code
        done = perform(lambda: district.update_category(code, current_user, utcnow(), changes), form=form)
        if isinstance(done, Category):
            flash(_("The category %(name)s is saved.", name=done.name), "success")
            return redirect(url_for("sla.categories"))
    from hotline.sla.forms import CategoryClocksForm

    page = render_template(
        "sla/category_edit.html", category=row, form=CategoryClocksForm(formdata=None, obj=row), names=form
    )
    return page, 400
