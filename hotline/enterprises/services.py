"""Enterprises: self-registration, creation by staff, verification by the building's liaison."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from hotline.auth import services as accounts
from hotline.auth.models import Role, User
from hotline.enterprises import uscc as uscc_codes
from hotline.enterprises.models import Building, Coverage, Enterprise
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
        errors["uscc"] = _("An enterprise with this code is already registered; ask its contact or your liaison.")
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
    """Self-registration: the enterprise and its first contact, usable at once, unverified until its liaison checks.

    Raises :class:`ValidationFailed` with every field's problem at once; nothing is saved on failure.
    """
    errors: dict[str, str] = {}
    try:
        code, display, building = _check_new_enterprise(uscc, name, building_id)
    except ValidationFailed as error:
        errors.update(error.fields)
    for check in (
        lambda: accounts.check_username(username),
        lambda: accounts.check_password_rules(password),
    ):
        try:
            check()
        except ValidationFailed as error:
            errors.update(error.fields)
    if not (contact_name or "").strip():
        errors["contact_name"] = _("This field is required.")
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    enterprise = Enterprise(uscc=code, name=display, building_id=building.id, room=(room or "").strip()[:50], created_at=now)
    db.session.add(enterprise)
    db.session.flush()
    return accounts.create_user(
        username=username,
        password=password,
        name=contact_name,
        role=Role.ENTERPRISE,
        email=email,
        phone=phone,
        enterprise_id=enterprise.id,
        now=now,
    )


def liaison_covers(liaison: User, building_id: int) -> bool:
    return (
        db.session.scalars(
            select(Coverage.id).where(
                Coverage.liaison_id == liaison.id, Coverage.building_id == building_id, Coverage.active.is_(True)
            )
        ).first()
        is not None
    )


def visible_enterprises(user: User):  # type: ignore[no-untyped-def]
    """A SELECT of the enterprises ``user`` may see: a liaison those of its buildings, staff all."""
    query = select(Enterprise)
    if user.is_staff:
        return query
    if user.role == Role.LIAISON:
        covered = select(Coverage.building_id).where(Coverage.liaison_id == user.id, Coverage.active.is_(True))
        return query.where(Enterprise.building_id.in_(covered))
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
