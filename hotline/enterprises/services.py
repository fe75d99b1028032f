"""Enterprises: self-registration, creation by staff, verification by the building's liaison."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Select, select

from hotline.auth import services as accounts
from hotline.auth.models import Role, User
from hotline.enterprises import uscc as uscc_codes
from hotline.enterprises.models import Building, Coverage, Enterprise, Street
from hotline.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from hotline.extensions import db


def _check_new_enterprise(uscc: str, name: str, building_id: int | None) -> tuple[str, str, Building]:
    errors: dict[str, str] = {}
    code = ""
    try:
        code = uscc_codes.validate(uscc or "")
    except uscc_codes.InvalidUSCC as error:
        errors["uscc"] = str(error)
    if code and db.session.scalars(select(Enterprise.id).where(Enterprise.uscc == code)).first() is not None:
        errors["uscc"] = _(
            "An enterprise with this code is already registered; ask its contact or your liaison."
        )
    display = (name or "").strip()
    if not display:
        errors["name"] = _("This field is required.")
    elif len(display) > 200:
        errors["name"] = _("At most %(n)d characters.", n=200)
    building = db.session.get(Building, building_id) if building_id else None
    if building is None or not building.active:
        errors["building"] = _("Choose the building the enterprise is in.")
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    assert building is not None
    return code, display, building


def _check_enterprise_and_contact(
    *,
    uscc: str,
    name: str,
    building_id: int | None,
    contact_name: str,
    username: str,
    password: str,
    extra_errors: dict[str, str] | None = None,
) -> tuple[str, str, Building]:
    """Every problem of a new enterprise and its first contact at once, as one :class:`ValidationFailed`."""
    errors: dict[str, str] = {}
    code, display, building = "", "", None
    try:
        code, display, building = _check_new_enterprise(uscc, name, building_id)
    except ValidationFailed as error:
        errors.update(error.fields)
    for check in (
        lambda: accounts.check_username(username),
        lambda: accounts.check_password_rules(password, username=username),
    ):
        try:
            check()
        except ValidationFailed as error:
            errors.update(error.fields)
    if not (contact_name or "").strip():
        errors["contact_name"] = _("This field is required.")
    for field, message in (extra_errors or {}).items():
        errors.setdefault(field, message)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    assert building is not None
    return code, display, building


def register_enterprise(
    *,
    uscc: str,
    name: str,
    building_id: int | None,
    room: str,
    contact_name: str,
    username: str,
    password: str,
    email: str,
    phone: str,
    now: datetime,
) -> User:
    """Self-registration: the enterprise and its first contact, usable at once, unverified until checked.

    Raises :class:`ValidationFailed` with every field's problem at once; nothing is saved on failure.
    """
    code, display, building = _check_enterprise_and_contact(
        uscc=uscc,
        name=name,
        building_id=building_id,
        contact_name=contact_name,
        username=username,
        password=password,
    )
    _enterprise, contact = _save_enterprise_and_contact(
        code=code,
        display=display,
        building=building,
        room=room,
        contact_name=contact_name,
        username=username,
        password=password,
        email=email,
        phone=phone,
        now=now,
    )
    return contact


def create_enterprise_with_contact(
    *,
    actor: User,
    uscc: str,
    name: str,
    building_id: int | None,
    room: str,
    contact_name: str,
    username: str,
    password: str,
    email: str,
    phone: str,
    now: datetime,
) -> Enterprise:
    """Onboarding: a liaison (for a building it covers) or a manager creates an enterprise and its contact.

    The same checks as self-registration.  The enterprise counts as verified by ``actor`` at once:
    the person onboarding it is the one who would verify it.
    Raises :class:`Forbidden` for other roles and :class:`ValidationFailed` with every field's problem at once
    (a building the liaison does not cover is a ``building`` error); nothing is saved on failure.
    """
    if not (actor.is_staff or actor.role == Role.LIAISON):
        raise Forbidden(_("Only liaisons and managers may onboard enterprises."))
    extra: dict[str, str] = {}
    if building_id and not actor.is_staff and not liaison_covers(actor, building_id):
        extra["building"] = _("You can only onboard enterprises of the buildings you cover.")
    code, display, building = _check_enterprise_and_contact(
        uscc=uscc,
        name=name,
        building_id=building_id,
        contact_name=contact_name,
        username=username,
        password=password,
        extra_errors=extra,
    )
    enterprise, _contact = _save_enterprise_and_contact(
        code=code,
        display=display,
        building=building,
        room=room,
        contact_name=contact_name,
        username=username,
        password=password,
        email=email,
        phone=phone,
        now=now,
        verified_by=actor,
    )
    return enterprise


def _save_enterprise_and_contact(
    *,
    code: str,
    display: str,
    building: Building,
    room: str,
    contact_name: str,
    username: str,
    password: str,
    email: str,
    phone: str,
    now: datetime,
    verified_by: User | None = None,
) -> tuple[Enterprise, User]:
    """Insert a checked enterprise and its first contact account (verified at once when ``verified_by``)."""
    enterprise = Enterprise(
        uscc=code,
        name=display,
        building_id=building.id,
        room=(room or "").strip()[:50],
        created_at=now,
        verified_at=now if verified_by else None,
        verified_by_id=verified_by.id if verified_by else None,
    )
    db.session.add(enterprise)
    db.session.flush()
    contact = accounts.create_user(
        username=username,
        password=password,
        name=contact_name,
        role=Role.ENTERPRISE,
        email=email,
        phone=phone,
        enterprise_id=enterprise.id,
        now=now,
    )
    return enterprise, contact


def buildings_for_onboarding(actor: User) -> list[Building]:
    """The active buildings ``actor`` may onboard enterprises into: a liaison its own, staff all."""
    query = (
        select(Building).join(Street).where(Building.active.is_(True)).order_by(Street.name, Building.name)
    )
    if not actor.is_staff:
        query = query.where(Building.id.in_(covered_building_ids(actor)))
    return list(db.session.scalars(query))


def covered_building_ids(liaison: User) -> Select[int]:
    """A SELECT of the ids of the buildings ``liaison`` actively covers (primary or deputy)."""
    return select(Coverage.building_id).where(Coverage.liaison_id == liaison.id, Coverage.active.is_(True))


def liaison_covers(liaison: User, building_id: int) -> bool:
    return (
        db.session.scalars(
            select(Coverage.id).where(
                Coverage.liaison_id == liaison.id,
                Coverage.building_id == building_id,
                Coverage.active.is_(True),
            )
        ).first()
        is not None
    )


def visible_enterprises(user: User) -> Select[Enterprise]:
    """A SELECT of the enterprises ``user`` may see: a liaison those of its buildings, staff all."""
    query = select(Enterprise)
    if user.is_staff:
        return query
    if user.role == Role.LIAISON:
        return query.where(Enterprise.building_id.in_(covered_building_ids(user)))
    if user.role == Role.ENTERPRISE:
        return query.where(Enterprise.id == user.enterprise_id)
    return query.where(Enterprise.id == -1)


def verify_enterprise(enterprise_id: int, actor: User, now: datetime) -> Enterprise:
    """The liaison of the enterprise's building (or a manager) confirms the enterprise is real."""
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound(_("No such enterprise."))
    if not (actor.is_staff or (actor.role == Role.LIAISON and liaison_covers(actor, enterprise.building_id))):
        if actor.role == Role.LIAISON:
            raise NotFound(_("No such enterprise."))
        raise Forbidden(_("Only the building's liaison or a manager may verify an enterprise."))
    if enterprise.verified_at is not None:
        raise InvalidTransition(_("This enterprise is already verified."))
    enterprise.verified_at = now
    enterprise.verified_by_id = actor.id
    db.session.flush()
    return enterprise
