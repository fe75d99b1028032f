"""A district sets itself up (issue 10): its streets, buildings, departments and request categories, and who
covers which building (包联).

Only managers and admins change them.  Nothing that requests point to is ever deleted: a street, building,
department or category is deactivated (no new enterprise, transfer or request uses it; what exists keeps
pointing to it), and a coverage is ended (its row stays, with when and by whom, so the history of who
covered what is readable).

Every create and update checks all its fields at once and raises :class:`ValidationFailed` with each
field's message (``code``, ``name``, ``name_en``, ``street``, ``address``, ``building``, ``liaison``,
``kind`` …); nothing is changed then.  The names in ``fields`` are the API's body keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from hotline.audit import services as audit
from hotline.audit.models import AuditAction
from hotline.auth.models import Role, User
from hotline.auth.services import liaison_named
from hotline.enterprises.models import Building, Coverage, CoverageRole, Department, Street
from hotline.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.text import read_text, whole_number
from hotline.tickets.models import Category

CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
CODE_MAX = 32
NAME_MAX = 100
CATEGORY_NAME_MAX = 50
CATEGORY_NAME_EN_MAX = 80
ADDRESS_MAX = 200
SORT_ORDER_RANGE = (-1000, 1000)
ID_MAX = 2**63 - 1


def require_manager(actor: User) -> None:
    """Raise :class:`Forbidden` unless ``actor`` is a manager or an admin."""
    if not actor.is_staff:
        raise Forbidden(_("Only managers may change the district's streets, buildings and coverage."))


def _refused(errors: Mapping[str, str]) -> ValidationFailed:
    return ValidationFailed(_("Please correct the marked fields."), dict(errors))


# --------------------------------------------------------------------------- field checks


def _text(value: Any, field: str, errors: dict[str, str], *, required: bool, limit: int) -> str:
    """The trimmed one-line text of ``value``, or '' with a message in ``errors``."""
    return read_text(value, field, errors, required=required, limit=limit)


def _code(value: Any, errors: dict[str, str]) -> str:
    code = _text(value, "code", errors, required=True, limit=CODE_MAX)
    if code and not CODE_RE.fullmatch(code):
        errors["code"] = _(
            "A code is 1 to 32 Latin letters, digits, '-' or '_', beginning with a letter or a digit."
        )
        return ""
    return code


def _flag(value: Any, field: str, errors: dict[str, str]) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    errors[field] = _("Say true or false.")
    return None


def _whole(value: Any, field: str, errors: dict[str, str], bounds: tuple[int, int]) -> int | None:
    if value is None:
        return None
    number = whole_number(value, digits=8)
    if number is None:
        errors[field] = _("A whole number is needed.")
        return None
    value = number
    low, high = bounds
    if not low <= value <= high:
        errors[field] = _("Between %(low)d and %(high)d.", low=low, high=high)
        return None
    return value


def _taken(model: Any, column: Any, value: str, own_id: int | None) -> bool:
    """Whether another row of ``model`` already has ``value`` in ``column`` (compared without case)."""
    query = select(model.id).where(func.lower(column) == value.lower())
    if own_id is not None:
        query = query.where(model.id != own_id)
    return db.session.scalar(query.limit(1)) is not None


def _common_fields(
    row: Any,
    values: Mapping[str, Any],
    errors: dict[str, str],
    *,
    new: bool,
    taken: tuple[str, str],
    name_limit: int = NAME_MAX,
    name_en_limit: int = NAME_MAX,
) -> None:
    """What streets, buildings, departments and categories share: a ``code`` (new ones, when the model has
    one; never changed), a ``name`` unique without case, a ``name_en``, and ``active``.  ``taken`` is the
    message for a code and for a name another row already has."""
    model = type(row)
    if new and hasattr(model, "code"):
        code = _code(values.get("code"), errors)
        if code and _taken(model, model.code, code, None):
            errors["code"] = taken[0]
        row.code = code
    if new or "name" in values:
        name = _text(values.get("name"), "name", errors, required=True, limit=name_limit)
        if name and _taken(model, model.name, name, row.id):
            errors["name"] = taken[1]
        row.name = name
    if new or "name_en" in values:
        row.name_en = _text(values.get("name_en"), "name_en", errors, required=False, limit=name_en_limit)
    if "active" in values:
        active = _flag(values["active"], "active", errors)
        if active is not None:
            row.active = active


def _unknown_fields(changes: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise _refused({name: _("Unknown field.") for name in unknown})


# --------------------------------------------------------------------------- streets


def _by_code(model: Any, code: Any, missing: str) -> Any:
    """The row of ``model`` with this code; :class:`NotFound` with ``missing`` otherwise (any value, however
    odd, is just not found: it never reaches SQL unless it can be a code)."""
    row = None
    if isinstance(code, str) and CODE_RE.fullmatch(code):
        row = db.session.scalar(select(model).where(model.code == code))
    if row is None:
        raise NotFound(missing)
    return row


def street_by_code(code: Any) -> Street:
    """The street of this code; :class:`NotFound` otherwise."""
    street: Street = _by_code(Street, code, _("No such street."))
    return street


def create_street(actor: User, now: datetime, *, code: Any, name: Any, name_en: Any = "") -> Street:
    """A new street.  Raises :class:`Forbidden`, :class:`ValidationFailed` (``code`` or ``name`` taken, bad
    texts)."""
    require_manager(actor)
    errors: dict[str, str] = {}
    street = Street(active=True)
    _street_fields(street, {"code": code, "name": name, "name_en": name_en}, errors, new=True)
    if errors:
        raise _refused(errors)
    db.session.add(street)
    db.session.flush()
    return street


def update_street(code: Any, actor: User, now: datetime, changes: Mapping[str, Any]) -> Street:
    """Change a street's ``name``, ``name_en`` or ``active`` (its code names it for good).  A deactivated
    street keeps its buildings; no new building is put in it.  Raises :class:`Forbidden`,
    :class:`NotFound`, :class:`ValidationFailed`."""
    require_manager(actor)
    street = street_by_code(code)
    _unknown_fields(changes, {"name", "name_en", "active"})
    errors: dict[str, str] = {}
    _street_fields(street, changes, errors, new=False)
    if errors:
        raise _refused(errors)
    db.session.flush()
    return street


def _street_fields(street: Street, values: Mapping[str, Any], errors: dict[str, str], *, new: bool) -> None:
    taken = (_("Another street has this code."), _("Another street has this name."))
    _common_fields(street, values, errors, new=new, taken=taken)


# --------------------------------------------------------------------------- buildings


def building_by_id(building_id: Any) -> Building:
    """The building of this id; :class:`NotFound` otherwise."""
    number = whole_number(building_id)
    if number is None or not 0 < number <= ID_MAX:
        raise NotFound(_("No such building."))
    building_id = number
    building = db.session.get(Building, building_id)
    if building is None:
        raise NotFound(_("No such building."))
    return building


def create_building(
    actor: User,
    now: datetime,
    *,
    street: Any,
    name: Any,
    name_en: Any = "",
    address: Any = "",
) -> Building:
    """A new building in the active street of code ``street``.  Raises :class:`Forbidden` and
    :class:`ValidationFailed` (unknown or inactive street, name taken, bad texts)."""
    require_manager(actor)
    errors: dict[str, str] = {}
    building = Building(active=True)
    with db.session.no_autoflush:  # the checks' queries must not flush the half-made building
        _building_fields(
            building,
            {"street": street, "name": name, "name_en": name_en, "address": address},
            errors,
            new=True,
        )
    if errors:
        raise _refused(errors)
    db.session.add(building)
    db.session.flush()
    return building


def update_building(building_id: Any, actor: User, now: datetime, changes: Mapping[str, Any]) -> Building:
    """Change a building's ``street``, ``name``, ``name_en``, ``address`` or ``active``.

    A deactivated building keeps its enterprises, requests and coverage (the enterprises there still file
    requests and they route as before); it is offered to no new enterprise.  Its requests keep the street
    they were filed in (the figures count a request where it was), new ones take the new street.  Raises
    :class:`Forbidden`, :class:`NotFound`, :class:`ValidationFailed`."""
    require_manager(actor)
    building = building_by_id(building_id)
    _unknown_fields(changes, {"street", "name", "name_en", "address", "active"})
    errors: dict[str, str] = {}
    with db.session.no_autoflush:
        _building_fields(building, changes, errors, new=False)
    if errors:
        raise _refused(errors)
    db.session.flush()
    return building


def _building_fields(
    building: Building, values: Mapping[str, Any], errors: dict[str, str], *, new: bool
) -> None:
    if new or "street" in values:
        code = values.get("street")
        street = None
        if code is None or code == "":
            errors["street"] = _("This field is required.")
        else:
            try:
                street = street_by_code(code)
            except NotFound:
                errors["street"] = _("No street has this code.")
            else:
                if not street.active and street.id != building.street_id:
                    errors["street"] = _("This street is no longer in use.")
                    street = None
        if street is not None:
            building.street = street
    _common_fields(building, values, errors, new=new, taken=("", _("Another building has this name.")))
    if new or "address" in values:
        building.address = _text(values.get("address"), "address", errors, required=False, limit=ADDRESS_MAX)


# --------------------------------------------------------------------------- departments


def department_by_code(code: Any) -> Department:
    """The department of this code; :class:`NotFound` otherwise."""
    department: Department = _by_code(Department, code, _("No such department."))
    return department


def create_department(actor: User, now: datetime, *, code: Any, name: Any, name_en: Any = "") -> Department:
    """A new district department requests can be transferred to.  Raises :class:`Forbidden`,
    :class:`ValidationFailed`."""
    require_manager(actor)
    errors: dict[str, str] = {}
    department = Department(active=True)
    _department_fields(department, {"code": code, "name": name, "name_en": name_en}, errors, new=True)
    if errors:
        raise _refused(errors)
    db.session.add(department)
    db.session.flush()
    return department


def update_department(code: Any, actor: User, now: datetime, changes: Mapping[str, Any]) -> Department:
    """Change a department's ``name``, ``name_en`` or ``active``.  A deactivated department is offered for
    no new transfer; requests already with it stay there to be answered, and its staff keep their accounts.
    Raises :class:`Forbidden`, :class:`NotFound`, :class:`ValidationFailed`."""
    require_manager(actor)
    department = department_by_code(code)
    _unknown_fields(changes, {"name", "name_en", "active"})
    errors: dict[str, str] = {}
    _department_fields(department, changes, errors, new=False)
    if errors:
        raise _refused(errors)
    db.session.flush()
    return department


def _department_fields(
    department: Department, values: Mapping[str, Any], errors: dict[str, str], *, new: bool
) -> None:
    taken = (_("Another department has this code."), _("Another department has this name."))
    _common_fields(department, values, errors, new=new, taken=taken)


# --------------------------------------------------------------------------- categories

# A category's clocks are set by :func:`hotline.sla.services.set_category_clocks` (which also re-derives the
# deadlines of its open requests); these are its body keys, taken here too.
CATEGORY_CLOCKS = ("acknowledge_minutes", "acknowledge_minutes_urgent", "resolve_days", "resolve_days_urgent")
CATEGORY_DEFAULT_CLOCKS = {
    "acknowledge_minutes": 120,
    "acknowledge_minutes_urgent": 30,
    "resolve_days": 5,
    "resolve_days_urgent": 1,
}


def category_by_code(code: Any) -> Category:
    """The category of this code; :class:`NotFound` otherwise."""
    category: Category = _by_code(Category, code, _("No such category."))
    return category


def create_category(actor: User, now: datetime, values: Mapping[str, Any]) -> Category:
    """A new request category: ``code``, ``name``, ``name_en``, ``sort_order``, and its clocks
    (``acknowledge_minutes``/``_urgent`` in working minutes, ``resolve_days``/``_urgent`` in working days;
    those left out take :data:`CATEGORY_DEFAULT_CLOCKS`).  Raises :class:`Forbidden` and
    :class:`ValidationFailed` (the names first, then the clocks)."""
    require_manager(actor)
    _unknown_fields(values, {"code", "name", "name_en", "sort_order", *CATEGORY_CLOCKS})
    errors: dict[str, str] = {}
    category = Category(active=True, sort_order=0, **CATEGORY_DEFAULT_CLOCKS)
    _category_fields(category, values, errors, new=True)
    if errors:
        raise _refused(errors)
    db.session.add(category)
    db.session.flush()
    _set_clocks(category, values, actor, now)
    return category


def update_category(code: Any, actor: User, now: datetime, changes: Mapping[str, Any]) -> Category:
    """Change a category's ``name``, ``name_en``, ``sort_order``, ``active`` or clocks.  New clocks re-derive
    the deadlines of its open requests (as on the clocks page); a deactivated category is offered to no new
    request, and its requests keep it.  Raises :class:`Forbidden`, :class:`NotFound`,
    :class:`ValidationFailed`."""
    require_manager(actor)
    category = category_by_code(code)
    _unknown_fields(changes, {"name", "name_en", "sort_order", "active", *CATEGORY_CLOCKS})
    errors: dict[str, str] = {}
    _category_fields(category, changes, errors, new=False)
    if errors:
        raise _refused(errors)
    db.session.flush()
    _set_clocks(category, changes, actor, now)
    return category


def _set_clocks(category: Category, values: Mapping[str, Any], actor: User, now: datetime) -> None:
    if not any(field in values for field in CATEGORY_CLOCKS):
        return
    from hotline.sla.services import set_category_clocks

    clocks = {field: values.get(field, getattr(category, field)) for field in CATEGORY_CLOCKS}
    for field, value in clocks.items():
        if value is None or isinstance(value, bool) or not isinstance(value, int | str):
            raise _refused({field: _("A whole number is needed.")})
    set_category_clocks(category.id, actor=actor, now=now, **clocks)


def _category_fields(
    category: Category, values: Mapping[str, Any], errors: dict[str, str], *, new: bool
) -> None:
    taken = (_("Another category has this code."), _("Another category has this name."))
    _common_fields(
        category,
        values,
        errors,
        new=new,
        taken=taken,
        name_limit=CATEGORY_NAME_MAX,
        name_en_limit=CATEGORY_NAME_EN_MAX,
    )
    if "sort_order" in values:
        order = _whole(values["sort_order"], "sort_order", errors, SORT_ORDER_RANGE)
        if order is not None:
            category.sort_order = order


# --------------------------------------------------------------------------- coverage (包联)


def coverage_by_id(coverage_id: Any) -> Coverage:
    """The coverage of this id (ended ones too); :class:`NotFound` otherwise."""
    if isinstance(coverage_id, bool) or not isinstance(coverage_id, int) or not 0 < coverage_id <= ID_MAX:
        raise NotFound(_("No such coverage."))
    coverage = db.session.get(Coverage, coverage_id)
    if coverage is None:
        raise NotFound(_("No such coverage."))
    return coverage


def _kind(value: Any, errors: dict[str, str]) -> CoverageRole | None:
    try:
        return CoverageRole(value)
    except ValueError:
        errors["kind"] = _("Choose primary or deputy.")
        return None


def _active_coverage(
    building_id: int, *, liaison_id: int | None = None, primary: bool = False
) -> Coverage | None:
    query = select(Coverage).where(Coverage.building_id == building_id, Coverage.active.is_(True))
    if liaison_id is not None:
        query = query.where(Coverage.liaison_id == liaison_id)
    if primary:
        query = query.where(Coverage.role == CoverageRole.PRIMARY)
    return db.session.scalar(query.limit(1))


def assign_coverage(
    actor: User,
    now: datetime,
    *,
    building: Any,
    liaison: Any,
    kind: Any,
    replace: bool = False,
) -> Coverage:
    """The liaison ``liaison`` (a username) covers the building of id ``building`` as its ``primary``
    liaison or a ``deputy`` from now on.

    A building has one primary: naming a second is refused (:class:`Conflict`, saying who covers it now)
    unless ``replace``, which ends the current primary's coverage (it stays in the history).  A liaison
    covers a building once: a deputy named primary has its deputy coverage ended and a primary one started
    (and the other way round).  Requests already filed keep their liaison; new ones route by the new
    coverage.  Raises :class:`Forbidden`, :class:`ValidationFailed` (``building``: unknown or inactive,
    ``liaison``: no such active liaison, ``kind``), :class:`Conflict` (already covers it so, or a primary
    is there)."""
    coverage = _assign_coverage(actor, now, building=building, liaison=liaison, kind=kind, replace=replace)
    audit.record(actor, AuditAction.COVERAGE_ASSIGNED, _audit_target(coverage), _audit_details(coverage), now)
    return coverage


def _audit_target(coverage: Coverage) -> str:
    return f"{coverage.building.name} · {coverage.liaison.username}"


def _audit_details(coverage: Coverage) -> dict[str, Any]:
    """What the audit log keeps of a coverage."""
    return {
        "coverage_id": coverage.id,
        "building_id": coverage.building_id,
        "building": coverage.building.name,
        "liaison": coverage.liaison.username,
        "kind": coverage.role.value,
    }


def _assign_coverage(
    actor: User,
    now: datetime,
    *,
    building: Any,
    liaison: Any,
    kind: Any,
    replace: bool = False,
) -> Coverage:
    """:func:`assign_coverage` without its audit entry (:func:`move_coverage` writes its own)."""
    require_manager(actor)
    errors: dict[str, str] = {}
    target: Building | None = None
    try:
        target = building_by_id(building)
    except NotFound:
        errors["building"] = _("No such building.")
    else:
        if not target.active:
            errors["building"] = _("This building is no longer in use.")
    person: User | None = None
    try:
        person = liaison_named(liaison if isinstance(liaison, str) else None)
    except NotFound:
        errors["liaison"] = _("No liaison has this username.")
    else:
        if not person.active:
            errors["liaison"] = _("This liaison's account is deactivated.")
    role = _kind(kind, errors)
    if errors:
        raise _refused(errors)
    assert target is not None and person is not None and role is not None
    own = _active_coverage(target.id, liaison_id=person.id)
    if own is not None and own.role == role:
        raise Conflict(
            _("%(liaison)s already covers %(building)s.", liaison=person.name, building=target.name)
        )
    if role == CoverageRole.PRIMARY:
        current = _active_coverage(target.id, primary=True)
        if current is not None and current.liaison_id != person.id:
            if not replace:
                raise Conflict(
                    _(
                        "%(building)s already has a primary liaison, %(liaison)s: end that coverage first, "
                        "or replace it.",
                        building=target.name,
                        liaison=current.liaison.name,
                    )
                )
            _end(current, actor, now)
    if own is not None:
        _end(own, actor, now)
    # the ended rows must be written before the new one, or the partial unique indexes would see two
    db.session.flush()
    coverage = Coverage(
        liaison_id=person.id,
        building_id=target.id,
        role=role,
        active=True,
        created_at=now,
        created_by_id=actor.id,
    )
    db.session.add(coverage)
    db.session.flush()
    return coverage


def _end(coverage: Coverage, actor: User, now: datetime) -> None:
    coverage.active = False
    coverage.ended_at = now
    coverage.ended_by_id = actor.id


def end_coverage(coverage_id: Any, actor: User, now: datetime) -> Coverage:
    """End a coverage: the liaison no longer covers the building; the row stays, with when and by whom.
    Requests the liaison holds stay with it (hand them over on the liaisons page).  Raises
    :class:`Forbidden`, :class:`NotFound`, :class:`Conflict` (already ended)."""
    require_manager(actor)
    coverage = coverage_by_id(coverage_id)
    if not coverage.active:
        raise Conflict(_("This coverage has already ended."))
    _end(coverage, actor, now)
    db.session.flush()
    audit.record(actor, AuditAction.COVERAGE_ENDED, _audit_target(coverage), _audit_details(coverage), now)
    return coverage


def move_coverage(coverage_id: Any, actor: User, now: datetime, changes: Mapping[str, Any]) -> Coverage:
    """Move a coverage to another ``building`` or change its ``kind``: the coverage is ended and a new one
    started (both stay in the history), under the rules of :func:`assign_coverage` (``replace`` too).
    Raises what :func:`assign_coverage` and :func:`end_coverage` raise."""
    require_manager(actor)
    _unknown_fields(changes, {"building", "kind", "replace"})
    coverage = coverage_by_id(coverage_id)
    if not coverage.active:
        raise Conflict(_("This coverage has already ended."))
    building = changes.get("building", coverage.building_id)
    if isinstance(building, str):
        building = whole_number(building)
    kind = changes.get("kind", coverage.role.value)
    if building == coverage.building_id and kind == coverage.role.value:
        raise _refused({"building": _("Give another building or another kind.")})
    liaison = coverage.liaison
    moved_from = _audit_details(coverage)
    if building != coverage.building_id:
        try:
            target: Building | None = building_by_id(building)
        except NotFound:
            target = None  # assign_coverage says so, on the field "building"
        if target is not None and _active_coverage(target.id, liaison_id=liaison.id) is not None:
            raise Conflict(
                _("%(liaison)s already covers %(building)s.", liaison=liaison.name, building=target.name)
            )
        _end(coverage, actor, now)
        db.session.flush()
    moved = _assign_coverage(
        actor,
        now,
        building=building,
        liaison=liaison.username,
        kind=kind,
        replace=bool(changes.get("replace")),
    )
    details = {"from": moved_from, "to": _audit_details(moved)}
    audit.record(actor, AuditAction.COVERAGE_MOVED, _audit_target(moved), details, now)
    return moved


# --------------------------------------------------------------------------- the coverage board


@dataclass(frozen=True)
class BuildingCover:
    """One building on the coverage page: its primary coverage and deputies (active ones), and whether it
    is covered today as the dashboard's 楼宇覆盖率 counts it: ``covered`` (a primary there to take its
    requests: an active liaison, not on leave), ``deputy_only`` (no such primary, but such a deputy) or
    ``uncovered``."""

    building: Building
    primary: Coverage | None
    deputies: list[Coverage]
    state: str

    @property
    def uncovered(self) -> bool:
        return self.state == "uncovered"


def _present(coverage: Coverage, today: date) -> bool:
    person = coverage.liaison
    return person.active and person.role == Role.LIAISON and not person.away_on(today)


def coverage_board(street: Street, today: date) -> list[BuildingCover]:
    """Every building of ``street`` (retired ones last) with who covers it now (two queries)."""
    buildings = db.session.scalars(
        select(Building)
        .where(Building.street_id == street.id)
        .order_by(Building.active.desc(), Building.name)
    ).all()
    coverages = db.session.scalars(
        select(Coverage)
        .join(User, User.id == Coverage.liaison_id)
        .where(Coverage.active.is_(True), Coverage.building_id.in_([b.id for b in buildings]))
        .order_by(Coverage.role, User.name)
    ).all()
    by_building: dict[int, list[Coverage]] = {}
    for coverage in coverages:
        by_building.setdefault(coverage.building_id, []).append(coverage)
    board = []
    for building in buildings:
        rows = by_building.get(building.id, [])
        primary = next((c for c in rows if c.role == CoverageRole.PRIMARY), None)
        deputies = [c for c in rows if c.role == CoverageRole.DEPUTY]
        if primary is not None and _present(primary, today):
            state = "covered"
        elif any(_present(d, today) for d in deputies):
            state = "deputy_only"
        else:
            state = "uncovered"
        board.append(BuildingCover(building, primary, deputies, state))
    return board


def coverage_history(building_id: int, limit: int = 50) -> list[Coverage]:
    """The coverages of a building, newest first, ended ones included (bounded)."""
    return list(
        db.session.scalars(
            select(Coverage)
            .where(Coverage.building_id == building_id)
            .order_by(Coverage.created_at.desc(), Coverage.id.desc())
            .limit(limit)
        )
    )


def active_liaisons() -> list[User]:
    """The liaisons a coverage may name."""
    return list(
        db.session.scalars(
            select(User).where(User.role == Role.LIAISON, User.active.is_(True)).order_by(User.name)
        )
    )
