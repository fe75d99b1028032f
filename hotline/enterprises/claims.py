"""Claims on a registered enterprise (issue 10, point 4).

Anyone could once register any valid 统一社会信用代码, and the real company was then refused as "already
registered".  Now a second self-registration of a code is a claim: the registrant's account is made at once
but attached to no enterprise (``users.enterprise_id`` stays NULL, so it sees no request and files none: the
query layer already answers nothing for such an account), and the enterprise's building liaisons (and the
managers) confirm it, making the account a contact of the enterprise, or reject it, leaving the account
without an enterprise.  The claimant is told either way (a notification).
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from hotline.auth import services as accounts
from hotline.auth.models import Role, User
from hotline.enterprises.models import Building, ClaimState, Coverage, Enterprise, EnterpriseClaim
from hotline.enterprises.services import covered_building_ids, liaison_covers
from hotline.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.text import has_control_characters

NOTE_MAX = 1000


def file_claim(
    enterprise: Enterprise,
    *,
    claimed_name: str,
    building: Building | None,
    contact_name: str,
    username: str,
    password: str,
    email: str,
    phone: str,
    now: datetime,
) -> User:
    """Make the claimant's account (attached to no enterprise) and a pending claim on ``enterprise``; the
    liaisons of its building are told (the managers when the building has none).

    The fields were checked by the caller (:func:`hotline.enterprises.services.register_enterprise`).
    """
    from hotline.notifications import services as notifications
    from hotline.notifications.models import NotificationKind

    user = accounts.create_user(
        username=username,
        password=password,
        name=contact_name,
        role=Role.ENTERPRISE,
        email=email,
        phone=phone,
        now=now,
        claimant=True,
    )
    claim = EnterpriseClaim(
        enterprise_id=enterprise.id,
        user_id=user.id,
        state=ClaimState.PENDING,
        claimed_name=claimed_name[:200],
        claimed_building_id=building.id if building is not None else None,
        created_at=now,
    )
    db.session.add(claim)
    db.session.flush()
    reviewers = list(
        db.session.scalars(
            select(User)
            .join(Coverage, Coverage.liaison_id == User.id)
            .where(
                Coverage.building_id == enterprise.building_id,
                Coverage.active.is_(True),
                User.role == Role.LIAISON,
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    ) or list(
        db.session.scalars(
            select(User).where(User.role == Role.MANAGER, User.active.is_(True)).order_by(User.id)
        )
    )
    notifications.notify(
        reviewers,
        NotificationKind.CLAIM_FILED,
        now,
        params={"enterprise": enterprise.name, "claimant": user.name},
    )
    return user


def visible_claims(user: User) -> Select[EnterpriseClaim]:
    """A SELECT of the claims ``user`` may review: a manager all, a liaison those on the enterprises of the
    buildings it covers, anyone else none."""
    query = select(EnterpriseClaim)
    if user.is_staff:
        return query
    if user.role == Role.LIAISON:
        return query.join(Enterprise, Enterprise.id == EnterpriseClaim.enterprise_id).where(
            Enterprise.building_id.in_(covered_building_ids(user))
        )
    return query.where(EnterpriseClaim.id == -1)


def claim_list(user: User, state: ClaimState | None = ClaimState.PENDING) -> Select[EnterpriseClaim]:
    """The claims ``user`` may review in ``state`` (all when None): pending ones oldest first, else newest."""
    query = visible_claims(user).options(
        joinedload(EnterpriseClaim.enterprise).joinedload(Enterprise.building),
        joinedload(EnterpriseClaim.claimant),
        joinedload(EnterpriseClaim.decided_by),
    )
    if state is not None:
        query = query.where(EnterpriseClaim.state == state)
    if state == ClaimState.PENDING:
        return query.order_by(EnterpriseClaim.created_at, EnterpriseClaim.id)
    return query.order_by(EnterpriseClaim.created_at.desc(), EnterpriseClaim.id.desc())


def visible_claim(user: User, claim_id: int) -> EnterpriseClaim | None:
    """One claim, if ``user`` may review it."""
    return db.session.scalars(claim_list(user, None).where(EnterpriseClaim.id == claim_id)).first()


def pending_claims_of(enterprise_id: int) -> list[EnterpriseClaim]:
    """The pending claims on one enterprise (for its page, already shown to its reviewer), oldest first."""
    return list(
        db.session.scalars(
            select(EnterpriseClaim)
            .where(
                EnterpriseClaim.enterprise_id == enterprise_id, EnterpriseClaim.state == ClaimState.PENDING
            )
            .options(joinedload(EnterpriseClaim.claimant))
            .order_by(EnterpriseClaim.created_at, EnterpriseClaim.id)
        )
    )


def latest_claim_of(user: User) -> EnterpriseClaim | None:
    """The claimant's newest claim (what the portal tells an account attached to no enterprise)."""
    return db.session.scalars(
        select(EnterpriseClaim)
        .where(EnterpriseClaim.user_id == user.id)
        .options(joinedload(EnterpriseClaim.enterprise))
        .order_by(EnterpriseClaim.created_at.desc(), EnterpriseClaim.id.desc())
    ).first()


def _claim_to_decide(claim_id: int, actor: User) -> EnterpriseClaim:
    # locked (PostgreSQL): of two people deciding at once, the second waits, then finds it decided
    claim = (
        db.session.get(EnterpriseClaim, claim_id, with_for_update=True, populate_existing=True)
        if 0 < claim_id <= 2**63 - 1
        else None
    )
    if claim is None:
        raise NotFound(_("No such claim."))
    if actor.is_staff:
        pass
    elif actor.role == Role.LIAISON:
        if not liaison_covers(actor, claim.enterprise.building_id):
            raise NotFound(_("No such claim."))
    else:
        raise Forbidden(_("Only the building's liaison or a manager may decide a claim."))
    if claim.state != ClaimState.PENDING:
        raise InvalidTransition(_("This claim is already decided."))
    return claim


def _checked_note(note: str | None, *, required: bool) -> str:
    text = (note or "").strip()
    message = None
    if required and not text:
        message = _("Say why the claim is rejected: the claimant reads it.")
    elif len(text) > NOTE_MAX:
        message = _("At most %(n)d characters.", n=NOTE_MAX)
    elif has_control_characters(text, multiline=True):
        message = _("This text contains characters that are not allowed.")
    if message:
        raise ValidationFailed(message, {"note": message})
    return text


def _decide(claim: EnterpriseClaim, state: ClaimState, actor: User, note: str, now: datetime) -> None:
    from hotline.notifications import services as notifications
    from hotline.notifications.models import NotificationKind

    claim.state = state
    claim.note = note
    claim.decided_at = now
    claim.decided_by_id = actor.id
    kind = (
        NotificationKind.CLAIM_CONFIRMED if state == ClaimState.CONFIRMED else NotificationKind.CLAIM_REJECTED
    )
    params = {"enterprise": claim.enterprise.name}
    if note:  # shown beneath the sentence, as a reply is
        params["excerpt"] = " ".join(note.split())[: notifications.EXCERPT_MAX]
    db.session.flush()
    notifications.notify([claim.claimant], kind, now, params=params)


def confirm_claim(claim_id: int, actor: User, note: str | None, now: datetime) -> EnterpriseClaim:
    """The liaison of the enterprise's building, or a manager, confirms a pending claim: the claimant's
    account becomes a contact of the enterprise (it sees and files its requests from now on) and is told so.

    Raises :class:`NotFound` (no such claim, or a liaison's claim of another building), :class:`Forbidden`
    (anyone else but staff), :class:`InvalidTransition` (already decided), and :class:`ValidationFailed`
    (``note`` too long or with control characters; it is optional here).
    """
    claim = _claim_to_decide(claim_id, actor)
    text = _checked_note(note, required=False)
    claimant = claim.claimant
    if claimant.enterprise_id is not None and claimant.enterprise_id != claim.enterprise_id:
        raise InvalidTransition(_("The claimant's account already belongs to another enterprise."))
    claimant.enterprise_id = claim.enterprise_id
    _decide(claim, ClaimState.CONFIRMED, actor, text, now)
    return claim


def reject_claim(claim_id: int, actor: User, note: str | None, now: datetime) -> EnterpriseClaim:
    """The liaison of the enterprise's building, or a manager, rejects a pending claim with a note (required:
    the claimant is told it).  The account stays, attached to no enterprise; an administrator may deactivate
    it on the Users page.

    Raises as :func:`confirm_claim`; an empty ``note`` is a :class:`ValidationFailed` on ``note``.
    """
    claim = _claim_to_decide(claim_id, actor)
    text = _checked_note(note, required=True)
    _decide(claim, ClaimState.REJECTED, actor, text, now)
    return claim
