"""The district's setup through the API (issue 10): streets, buildings, departments, categories and who
covers which building (包联).

Reading them needs a token of staff (a manager, an admin or a liaison: the same people who see them on the
pages); changing them needs a manager or an admin (403 otherwise).  Bodies are checked by
:mod:`hotline.district.services`: a refused body answers 400 ``validation_failed`` with every field's
problem in ``fields``, and nothing is saved.  Nothing is ever deleted: ``active: false`` retires a street,
building, department or category, and ``DELETE /coverage/<id>`` ends a coverage, which stays in its
history.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from hotline.api import schemas
from hotline.api.auth import api_user, token_required
from hotline.api.views import BEARER, bp, errors_documented, paginate
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.district import services as district
from hotline.enterprises.models import Building, Coverage, Department, Street
from hotline.errors import Forbidden
from hotline.extensions import db
from hotline.tickets.models import Category
from hotline.web import perform

READERS = (Role.MANAGER, Role.ADMIN, Role.LIAISON)


def _given(body: dict[str, Any]) -> dict[str, Any]:
    """A PATCH body's keys that carry a value: ``null`` reads as absent (leave it as it is), as everywhere in
    the API."""
    return {key: value for key, value in body.items() if value is not None}


def _reader() -> User:
    user = api_user()
    if user.role not in READERS:
        raise Forbidden(_("Only district staff may read the district's setup."))
    return user


# --------------------------------------------------------------------------- streets


@bp.route("/streets", methods=["GET"])
@token_required
@errors_documented(401, 403)
@bp.response(200, schemas.StreetSchema(many=True))
@bp.doc(security=BEARER)
def list_streets() -> list[Street]:
    """Every street, retired ones too (`active` false), by code."""
    _reader()
    return list(
        db.session.scalars(select(Street).options(selectinload(Street.buildings)).order_by(Street.code))
    )


@bp.route("/streets", methods=["POST"])
@token_required
@bp.arguments(schemas.StreetCreate)
@errors_documented(401, 403)
@bp.response(201, schemas.StreetSchema)
@bp.doc(security=BEARER)
def create_street(body: dict[str, Any]) -> tuple[Street, int]:
    """A manager adds a street: `code` (for good), `name`, `name_en`."""
    user = api_user()
    street = perform(lambda: district.create_street(user, utcnow(), **body))
    return street, 201


@bp.route("/streets/<code>", methods=["PATCH"])
@token_required
@bp.arguments(schemas.StreetUpdate)
@errors_documented(401, 403, 404)
@bp.response(200, schemas.StreetSchema)
@bp.doc(security=BEARER)
def update_street(body: dict[str, Any], code: str) -> Street:
    """A manager renames a street or retires it (`active` false: its buildings stay, no new one goes in)."""
    user = api_user()
    return perform(lambda: district.update_street(code, user, utcnow(), _given(body)))


# --------------------------------------------------------------------------- buildings


@bp.route("/buildings", methods=["GET"])
@token_required
@bp.arguments(schemas.BuildingListArgs, location="query")
@errors_documented(401, 403)
@bp.response(200, schemas.BuildingPage)
@bp.doc(security=BEARER)
def list_buildings(args: dict[str, Any]) -> dict[str, Any]:
    """The buildings by name, filtered by `street` (code), `active` and `q` (a part of name or address)."""
    _reader()
    query = select(Building).options(selectinload(Building.street)).order_by(Building.name, Building.id)
    if args.get("street"):
        query = query.join(Street, Street.id == Building.street_id).where(Street.code == args["street"])
    if args.get("active") is not None:
        query = query.where(Building.active.is_(args["active"]))
    if args.get("q"):
        term = args["q"].strip()
        query = query.where(
            or_(
                Building.name.icontains(term, autoescape=True),
                Building.address.icontains(term, autoescape=True),
            )
        )
    return schemas.page_answer(paginate(query, args))


@bp.route("/buildings", methods=["POST"])
@token_required
@bp.arguments(schemas.BuildingCreate)
@errors_documented(401, 403)
@bp.response(201, schemas.BuildingSchema)
@bp.doc(security=BEARER)
def create_building(body: dict[str, Any]) -> tuple[Building, int]:
    """A manager adds a building to an active street (`street` is its code); then covers it
    (`POST /api/v1/coverage`), or its requests go to the street's liaisons or the dispatch pool."""
    user = api_user()
    building = perform(lambda: district.create_building(user, utcnow(), **body))
    return building, 201


@bp.route("/buildings/<int:building_id>", methods=["PATCH"])
@token_required
@bp.arguments(schemas.BuildingUpdate)
@errors_documented(401, 403, 404)
@bp.response(200, schemas.BuildingSchema)
@bp.doc(security=BEARER)
def update_building(body: dict[str, Any], building_id: int) -> Building:
    """A manager changes a building's street, names or address, or retires it (`active` false: offered to no
    new enterprise; its enterprises, requests and coverage stay)."""
    user = api_user()
    return perform(lambda: district.update_building(building_id, user, utcnow(), _given(body)))


# --------------------------------------------------------------------------- departments


@bp.route("/departments", methods=["GET"])
@token_required
@errors_documented(401, 403)
@bp.response(200, schemas.DepartmentSchema(many=True))
@bp.doc(security=BEARER)
def list_departments() -> list[Department]:
    """Every district department, retired ones too, by code."""
    _reader()
    return list(db.session.scalars(select(Department).order_by(Department.code)))


@bp.route("/departments", methods=["POST"])
@token_required
@bp.arguments(schemas.DepartmentCreate)
@errors_documented(401, 403)
@bp.response(201, schemas.DepartmentSchema)
@bp.doc(security=BEARER)
def create_department(body: dict[str, Any]) -> tuple[Department, int]:
    """A manager adds a department requests can be transferred to: `code` (for good), `name`, `name_en`."""
    user = api_user()
    department = perform(lambda: district.create_department(user, utcnow(), **body))
    return department, 201


@bp.route("/departments/<code>", methods=["PATCH"])
@token_required
@bp.arguments(schemas.DepartmentUpdate)
@errors_documented(401, 403, 404)
@bp.response(200, schemas.DepartmentSchema)
@bp.doc(security=BEARER)
def update_department(body: dict[str, Any], code: str) -> Department:
    """A manager renames a department or retires it (`active` false: offered for no new transfer; what it
    holds stays with it to be answered)."""
    user = api_user()
    return perform(lambda: district.update_department(code, user, utcnow(), _given(body)))


# --------------------------------------------------------------------------- categories


@bp.route("/categories", methods=["POST"])
@token_required
@bp.arguments(schemas.CategoryCreate)
@errors_documented(401, 403)
@bp.response(201, schemas.CategoryAdminSchema)
@bp.doc(security=BEARER)
def create_category(body: dict[str, Any]) -> tuple[Category, int]:
    """A manager adds a request category with its clocks (those left out: 120 and 30 working minutes to
    acknowledge, 5 and 1 working days to resolve, normal and urgent)."""
    user = api_user()
    category = perform(lambda: district.create_category(user, utcnow(), body))
    return category, 201


@bp.route("/categories/<code>", methods=["PATCH"])
@token_required
@bp.arguments(schemas.CategoryUpdate)
@errors_documented(401, 403, 404)
@bp.response(200, schemas.CategoryAdminSchema)
@bp.doc(security=BEARER)
def update_category(body: dict[str, Any], code: str) -> Category:
    """A manager renames, reorders or retires a category, or changes its clocks (the deadlines of its open
    requests are re-derived)."""
    user = api_user()
    return perform(lambda: district.update_category(code, user, utcnow(), _given(body)))


# --------------------------------------------------------------------------- coverage (包联)


def _coverage_relations() -> tuple[Any, ...]:
    return (
        selectinload(Coverage.building).selectinload(Building.street),
        selectinload(Coverage.liaison),
        selectinload(Coverage.created_by),
        selectinload(Coverage.ended_by),
    )


@bp.route("/coverage", methods=["GET"])
@token_required
@bp.arguments(schemas.CoverageListArgs, location="query")
@errors_documented(401, 403)
@bp.response(200, schemas.CoveragePage)
@bp.doc(security=BEARER)
def list_coverage(args: dict[str, Any]) -> dict[str, Any]:
    """Who covers which building: the active coverages by building (`history=true`: ended ones too, newest
    first), filtered by `street` (code), `building` (id) and `liaison` (username)."""
    _reader()
    query = (
        select(Coverage).options(*_coverage_relations()).join(Building, Building.id == Coverage.building_id)
    )
    if args.get("street"):
        query = query.join(Street, Street.id == Building.street_id).where(Street.code == args["street"])
    if args.get("building"):
        query = query.where(Coverage.building_id == args["building"])
    if args.get("liaison"):
        query = query.join(User, User.id == Coverage.liaison_id).where(User.username == args["liaison"])
    if args.get("history"):
        query = query.order_by(Coverage.created_at.desc(), Coverage.id.desc())
    else:
        query = query.where(Coverage.active.is_(True)).order_by(Building.name, Coverage.role, Coverage.id)
    return schemas.page_answer(paginate(query, args))


@bp.route("/coverage", methods=["POST"])
@token_required
@bp.arguments(schemas.CoverageCreate)
@errors_documented(401, 403, 409)
@bp.response(201, schemas.CoverageSchema)
@bp.doc(security=BEARER)
def create_coverage(body: dict[str, Any]) -> tuple[Coverage, int]:
    """A manager has the liaison cover the building as its `primary` liaison or a `deputy` from now on.

    A building has one primary: naming another answers 409 saying who covers it now, unless `replace` is
    true (the current primary's coverage is ended, and kept in the history).  A deputy named primary stops
    being its deputy.  Requests already filed keep their liaison; new ones route by the new coverage."""
    user = api_user()
    coverage = perform(
        lambda: district.assign_coverage(
            user,
            utcnow(),
            building=body["building"],
            liaison=body["liaison"],
            kind=body["kind"],
            replace=bool(body.get("replace")),
        )
    )
    return coverage, 201


def _coverage_id(coverage_id: int) -> int:
    return schemas.row_id(coverage_id, _("No such coverage."))


@bp.route("/coverage/<int:coverage_id>")
class CoverageItem(MethodView):
    """One coverage: both methods on one URL rule (werkzeug's matcher answers 405 rather than 404 for an id
    out of range when each method has a rule of its own)."""

    @token_required
    @bp.arguments(schemas.CoverageMove)
    @errors_documented(401, 403, 404, 409)
    @bp.response(200, schemas.CoverageSchema)
    @bp.doc(security=BEARER)
    def patch(self, body: dict[str, Any], coverage_id: int) -> Coverage:
        """A manager moves a coverage to another `building` or changes its `kind`: the coverage is ended and
        the new one answered (both stay in the history); the rules of `POST /api/v1/coverage` apply."""
        user = api_user()
        return perform(
            lambda: district.move_coverage(_coverage_id(coverage_id), user, utcnow(), _given(body))
        )

    @token_required
    @errors_documented(401, 403, 404, 409)
    @bp.response(200, schemas.CoverageSchema)
    @bp.doc(security=BEARER)
    def delete(self, coverage_id: int) -> Coverage:
        """A manager ends a coverage: the liaison no longer covers the building (the row stays, with when and
        by whom).  What the liaison holds stays with it; hand it over with
        `POST /api/v1/users/<username>/handover`.  409 when it has already ended."""
        user = api_user()
        return perform(lambda: district.end_coverage(_coverage_id(coverage_id), user, utcnow()))
