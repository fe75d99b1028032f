"""Enterprises: self-registration, creation by staff, verification by the building's liaison."""

from __future__ import annotations

from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import contains_eager

from hotline.auth import services as accounts
from hotline.auth.models import Role, User
from hotline.enterprises import uscc as uscc_codes
from hotline.enterprises.models import Building, Coverage, Enterprise, Street
from hotline.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.text import has_control_characters

ROOM_MAX = 50  # enterprises.room


def _check_new_enterprise(
    uscc: str, name: str, building_id: int | None, *, claim: bool = False
) -> tuple[str, str, Building]:
    errors: dict[str, str] = {}
    code = ""
    try:
        code = uscc_codes.validate(uscc or "")
    except uscc_codes.InvalidUSCC as error:
        errors["uscc"] = str(error)
    if (
        code
        and not claim
        and db.session.scalars(select(Enterprise.id).where(Enterprise.uscc == code)).first() is not None
    ):
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
    room: str = "",
    phone: str = "",
    email: str = "",
    extra_errors: dict[str, str] | None = None,
    claim: bool = False,
) -> tuple[str, str, Building]:
    """Every problem of a new enterprise and its first contact at once, as one :class:`ValidationFailed`
    (with ``claim``, a code already registered is no problem: self-registration makes it a claim): the
    code, names, building, room, the contact's username, password, phone and e-mail."""
    errors: dict[str, str] = {}
    if len((room or "").strip()) > ROOM_MAX:
        errors["room"] = _("At most %(n)d characters.", n=ROOM_MAX)
    _changes, problems = accounts.checked_profile(name=None, phone=phone or "", email=email or "")
    errors.update(problems)
    code, display, building = "", "", None
    try:
        code, display, building = _check_new_enterprise(uscc, name, building_id, claim=claim)
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

    A code already registered is not refused (the real company would be locked out by whoever registered it
    first): it becomes a claim on that enterprise (:func:`hotline.enterprises.claims.file_claim`), and the
    account returned is attached to no enterprise (``enterprise_id`` None) until the building's liaison or
    a manager confirms it.
    Raises :class:`ValidationFailed` with every field's problem at once; nothing is saved on failure.
    """
    code, display, building = _check_enterprise_and_contact(
        uscc=uscc,
        name=name,
        building_id=building_id,
        contact_name=contact_name,
        username=username,
        password=password,
        room=room,
        phone=phone,
        email=email,
        claim=True,
    )
    existing = db.session.scalars(select(Enterprise).where(Enterprise.uscc == code)).first()
    if existing is not None:
        from hotline.enterprises.claims import file_claim  # it builds on this module

        return file_claim(
            existing,
            claimed_name=display,
            building=building,
            contact_name=contact_name,
            username=username,
            password=password,
            email=email,
            phone=phone,
            now=now,
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
        room=room,
        phone=phone,
        email=email,
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
        room=(room or "").strip(),  # checked: at most ROOM_MAX
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
    """The active buildings ``actor`` may onboard enterprises into: a liaison its own, staff all (each with
    its street loaded: the pages label a building by its street, without one query per street)."""
    query = (
        select(Building)
        .join(Street)
        .options(contains_eager(Building.street))
        .where(Building.active.is_(True))
        .order_by(Street.name, Building.name)
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


# --------------------------------------------------------------------------- editing and contacts

INDUSTRY_MAX = 100  # enterprises.industry


def _check_staff_over(actor: User, enterprise_id: int, refusal: str) -> Enterprise:
    """The enterprise, if ``actor`` may change it: a manager any, a liaison those of the buildings it covers.

    A liaison is told :class:`NotFound` for an enterprise it cannot see, as it is on every other path;
    anyone else who is not staff is :class:`Forbidden` with ``refusal``.
    """
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound(_("No such enterprise."))
    if actor.is_staff:
        return enterprise
    if actor.role == Role.LIAISON:
        if not liaison_covers(actor, enterprise.building_id):
            raise NotFound(_("No such enterprise."))
        return enterprise
    raise Forbidden(refusal)


def _short_text(value: str, field: str, limit: int, errors: dict[str, str], *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        errors[field] = _("This field is required.")
    elif len(text) > limit:
        errors[field] = _("At most %(n)d characters.", n=limit)
    elif has_control_characters(text, multiline=False):
        errors[field] = _("This text contains characters that are not allowed.")
    return text


def update_enterprise(
    enterprise_id: int,
    actor: User,
    now: datetime,
    *,
    uscc: str | None = None,
    name: str | None = None,
    building_id: int | None = None,
    room: str | None = None,
    industry: str | None = None,
) -> Enterprise:
    """A manager, or the liaison of the enterprise's building, changes its name, building, room or industry;
    a value left None stays as it is.

    Moving it to another building changes where its *new* requests are routed; the open ones keep their
    building and liaison (a request's building is written on it when it is filed).  A liaison may move an
    enterprise only into a building it covers.  The 统一社会信用代码 identifies the enterprise and is not
    changed: ``uscc`` given and different is refused.
    Raises :class:`NotFound` (no such enterprise, or a liaison's enterprise of another building),
    :class:`Forbidden` (enterprise contacts, department staff) and :class:`ValidationFailed` with every
    field's problem at once (``uscc``, ``name``, ``building``, ``room``, ``industry``); nothing is changed
    then.
    """
    enterprise = _check_staff_over(
        actor, enterprise_id, _("Only the building's liaison or a manager may edit an enterprise.")
    )
    errors: dict[str, str] = {}
    changes: dict[str, object] = {}
    if uscc is not None and uscc_codes.normalise(uscc) != enterprise.uscc:
        errors["uscc"] = _("The unified social credit code of an enterprise cannot be changed.")
    if name is not None:
        changes["name"] = _short_text(name, "name", 200, errors, required=True)
    if room is not None:
        changes["room"] = _short_text(room, "room", ROOM_MAX, errors, required=False)
    if industry is not None:
        changes["industry"] = _short_text(industry, "industry", INDUSTRY_MAX, errors, required=False)
    if building_id is not None and building_id != enterprise.building_id:
        building = db.session.get(Building, building_id) if 0 < building_id <= 2**63 - 1 else None
        if building is None or not building.active:
            errors["building"] = _("Choose the building the enterprise is in.")
        elif not actor.is_staff and not liaison_covers(actor, building.id):
            errors["building"] = _("You can only move enterprises into the buildings you cover.")
        else:
            # the relationship, not only the key: a request filed later in this session reads it
            changes["building"] = building
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    for field, value in changes.items():
        setattr(enterprise, field, value)
    db.session.flush()
    return enterprise


def buildings_for_editing(actor: User, enterprise: Enterprise) -> list[Building]:
    """The buildings the edit page offers: those ``actor`` may onboard into, and the enterprise's own."""
    buildings = buildings_for_onboarding(actor)
    if all(b.id != enterprise.building_id for b in buildings):
        buildings.insert(0, enterprise.building)
    return buildings


def add_contact(
    enterprise_id: int,
    actor: User,
    now: datetime,
    *,
    username: str,
    name: str,
    phone: str,
    email: str,
    password: str,
) -> User:
    """A manager, or the liaison of the enterprise's building, gives the enterprise another contact account
    (an enterprise may have several; each sees all its requests).

    Raises :class:`NotFound` / :class:`Forbidden` as :func:`update_enterprise`, and :class:`ValidationFailed`
    with every field's problem at once (``username`` taken or malformed, ``password`` too weak, ``name``,
    ``phone``, ``email``); nothing is saved then.
    """
    from hotline.tickets.services import PHONE_RE  # the tickets package builds on this one

    enterprise = _check_staff_over(
        actor, enterprise_id, _("Only the building's liaison or a manager may add contact persons.")
    )
    errors: dict[str, str] = {}
    display = _short_text(name, "name", accounts.NAME_MAX, errors, required=True)
    number = (phone or "").strip()
    if not number:
        errors["phone"] = _("This field is required.")
    elif not PHONE_RE.match(number):
        errors["phone"] = _("Enter a phone number of 7 to 20 digits (a leading + and dashes allowed).")
    address = (email or "").strip()
    if address:
        try:
            address = validate_email(address, check_deliverability=False).normalized
        except EmailNotValidError:
            errors["email"] = _("Enter a valid email address, like name@example.com.")
        else:
            if len(address) > accounts.EMAIL_MAX:
                errors["email"] = _("At most %(n)d characters.", n=accounts.EMAIL_MAX)
    for check in (
        lambda: accounts.check_username(username),
        lambda: accounts.check_password_rules(password, username=username),
    ):
        try:
            check()
        except ValidationFailed as error:
            errors.update(error.fields)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    return accounts.create_user(
        username=username,
        password=password,
        name=display,
        role=Role.ENTERPRISE,
        email=address,
        phone=number,
        enterprise_id=enterprise.id,
        now=now,
    )


def contact_of(enterprise_id: int, username: str) -> User | None:
    """The contact account of this enterprise with this username (None for another enterprise's, or staff)."""
    user = accounts.user_named(username)
    if user is None or user.role != Role.ENTERPRISE or user.enterprise_id != enterprise_id:
        return None
    return user


def remove_contact(enterprise_id: int, username: str, actor: User, now: datetime) -> User:
    """A manager, or the liaison of the enterprise's building, removes a contact: the account is deactivated
    (logged out everywhere, its tokens revoked), never deleted, so the requests it filed keep their author.

    The last active contact is not removed: an enterprise without one could not rate answers nor hear of
    its requests, and nobody could add a contact back but its liaison; add the new contact first.  (An
    administrator can still deactivate any account on the Users page, e.g. someone who left the company.)
    Raises :class:`NotFound` (no such enterprise or contact), :class:`Forbidden` as :func:`update_enterprise`,
    :class:`InvalidTransition` (already deactivated) and :class:`Conflict` (the last active contact).
    """
    enterprise = _check_staff_over(
        actor, enterprise_id, _("Only the building's liaison or a manager may remove contact persons.")
    )
    contact = contact_of(enterprise.id, username)
    if contact is None:
        raise NotFound(_("This enterprise has no such contact person."))
    if not contact.active:
        raise InvalidTransition(_("This contact person is already deactivated."))
    others = db.session.scalar(
        select(func.count(User.id)).where(
            User.enterprise_id == enterprise.id,
            User.role == Role.ENTERPRISE,
            User.active.is_(True),
            User.id != contact.id,
        )
    )
    if not others:
        raise Conflict(
            _(
                "%(name)s is the enterprise's last active contact person: add the new contact first, "
                "then remove this one.",
                name=contact.name,
            )
        )
    return accounts.deactivate_account(contact, now)
