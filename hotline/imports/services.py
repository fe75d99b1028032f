"""Importing the district's lists (issue 10, point 3): streets, buildings with their street and address,
liaisons' accounts (administrators only; they set their passwords through a reset link), enterprises with
their code, building, room and contact, and who covers which building.

An import is two steps.  :func:`upload` keeps the file and answers its **dry run**: row by row, what would
be created, changed, left as it is, or refused and why (a bad check character, an unknown street, a
building named twice …).  :func:`apply` reads the kept file again, plans it again against the database as
it is *now*, and applies every row in the caller's one transaction — or, if any row is refused, nothing.

Rows are checked with the rules of the pages and the API (the same sentences); lookups are done once per
file, not per row, so ten thousand rows plan and apply in seconds.  A blank cell never erases a value:
it leaves it as it is.  Enterprises created from the district's own list count as verified by the manager
who imports them; coverage rows are the truth of the list (a primary named replaces the building's current
primary, whose coverage ends and stays in the history).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import insert, select, update

from hotline.audit import services as audit
from hotline.audit.models import AuditAction
from hotline.auth.models import Role, User
from hotline.district import services as district
from hotline.enterprises import uscc as uscc_codes
from hotline.enterprises.models import Building, Coverage, CoverageRole, Enterprise, Street
from hotline.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.imports.models import ImportFile, ImportKind
from hotline.imports.reading import Row, bad_cell, read_rows


class RowAction(enum.StrEnum):
    """What a row of an import does."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    REFUSE = "refuse"


CREATE, UPDATE, UNCHANGED, REFUSE = RowAction.CREATE, RowAction.UPDATE, RowAction.UNCHANGED, RowAction.REFUSE
ACTIONS = tuple(RowAction)
FILENAME_MAX = 200
_CHUNK = 500  # values in one IN (…): well under SQLite's limit of bound parameters

# The words a coverage row may use for its kind.
KIND_WORDS = {
    CoverageRole.PRIMARY: {"primary", "主", "主包联", "包联", "负责", "负责人", "零号员工"},
    CoverageRole.DEPUTY: {"deputy", "副", "副包联", "协管", "协助", "备岗", "b角"},
}


@dataclass
class RowPlan:
    """What one row would do: ``action`` one of :data:`ACTIONS`; ``key`` what the row names (a building's
    name, an enterprise's code …); ``changes`` field → (before, after) for an update, the new values for
    a creation; ``errors`` field → why, for a refusal."""

    line: int
    action: RowAction
    key: str
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # how it is applied: a change to rows already loaded, a row to insert (its model and values), and for
    # coverage the coverages it ends first
    apply: Callable[[], None] | None = None
    insert: tuple[type[Any], dict[str, Any]] | None = None
    ends: list[Coverage] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "action": self.action.value,
            "key": self.key,
            "changes": {name: {"before": old, "after": new} for name, (old, new) in self.changes.items()},
            "errors": dict(self.errors),
        }


@dataclass
class Report:
    kind: ImportKind
    rows: list[RowPlan]

    @property
    def counts(self) -> dict[str, int]:
        counts = {action.value: 0 for action in ACTIONS}
        for row in self.rows:
            counts[row.action.value] += 1
        return counts

    @property
    def digest(self) -> str:
        """What the plan does, row by row, as a SHA-256: the same file planned against the same data has the
        same digest (applying checks it against the dry run the manager read)."""
        import hashlib
        import json

        described = [
            [row.line, row.action.value, row.key, sorted(row.changes.items()), sorted(row.errors)]
            for row in self.rows
        ]
        return hashlib.sha256(json.dumps(described, ensure_ascii=False).encode()).hexdigest()

    @property
    def refused(self) -> list[RowPlan]:
        return [row for row in self.rows if row.action == REFUSE]


# --------------------------------------------------------------------------- the two steps


def upload(kind: Any, filename: str, content: bytes, actor: User, now: datetime) -> tuple[ImportFile, Report]:
    """Keep an uploaded spreadsheet of ``kind`` and answer its dry run (nothing else changes).

    Raises :class:`Forbidden` (not a manager), :class:`NotFound` (no such kind) and
    :class:`ValidationFailed` on ``file`` (not a workbook or CSV, its header, no rows, too many).
    """
    district.require_manager(actor)
    import_kind = _kind(kind)
    _require_for(import_kind, actor)
    rows = read_rows(import_kind, content)
    report = plan(import_kind, rows, actor, now)
    kept = ImportFile(
        kind=import_kind,
        filename=_clean_filename(filename),
        content=content,
        rows=len(rows),
        counts=report.counts,
        plan_digest=report.digest,
        created_at=now,
        created_by_id=actor.id,
    )
    db.session.add(kept)
    db.session.flush()
    return kept, report


def apply(
    import_id: int, actor: User, now: datetime, planned: Report | None = None, shown: str | None = None
) -> Report:
    """Apply a kept file: plan it again and carry out every row, or none — and only if the plan is still the
    one the manager read: ``shown`` is the digest of the dry run a page showed (by default, the upload's).
    Another manager's change in between (a primary named, a building added) makes it refuse, so nothing is
    applied that nobody saw.

    ``planned`` is the dry run :func:`upload` answered in this same transaction (the API's ``dry_run=0``):
    nothing can have changed since, so the file is not read and planned twice.  The writes are made in
    bulk: the coverages to end, then the changes, then one insert per table — a row at a time would take
    minutes for the ten thousand rows a district's list holds.

    Raises :class:`Forbidden`, :class:`NotFound` (no such file), :class:`Conflict` (already applied, or
    applied at this moment by another call; the plan changed since the dry run) and
    :class:`ValidationFailed` on ``file`` when a row is refused now (the caller rolls everything back).
    """
    district.require_manager(actor)
    kept = kept_file(import_id)
    _require_for(kept.kind, actor)
    # claimed first, by one conditional UPDATE: a second click, or a second manager, waits for this
    # transaction and then finds it applied (its rows were not written twice)
    claimed = db.session.execute(
        update(ImportFile)
        .where(ImportFile.id == kept.id, ImportFile.applied_at.is_(None))
        .values(applied_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(claimed, "rowcount", 0):
        raise Conflict(_("This file has already been imported."))
    report = (
        planned if planned is not None else plan(kept.kind, read_rows(kept.kind, kept.content), actor, now)
    )
    refused = report.refused
    if refused:
        lines = ", ".join(str(row.line) for row in refused[:20])
        message = _(
            "%(n)d rows are refused (lines %(lines)s): nothing was imported. Correct them and upload the "
            "file again.",
            n=len(refused),
            lines=lines + ("…" if len(refused) > 20 else ""),
        )
        raise ValidationFailed(message, {"file": message})
    if report.digest != (shown or kept.plan_digest):
        raise Conflict(
            _("The district's data changed since this dry run: read the rows again, then import them.")
        )
    ended = {coverage.id: coverage for row in report.rows for coverage in row.ends}
    for coverage in ended.values():
        coverage.active, coverage.ended_at, coverage.ended_by_id = False, now, actor.id
    for row in report.rows:
        if row.apply is not None:
            row.apply()
    # the ended coverages are written before the new ones: the partial unique indexes see one at a time
    db.session.flush()
    inserts: dict[type[Any], list[dict[str, Any]]] = {}
    for row in report.rows:
        if row.insert is not None:
            model, values = row.insert
            inserts.setdefault(model, []).append(values)
    for model, rows in inserts.items():
        db.session.execute(insert(model), rows)
    db.session.flush()
    db.session.refresh(kept)
    kept.counts = report.counts
    details = {"import_id": kept.id, "kind": kept.kind.value, "counts": report.counts}
    audit.record(actor, AuditAction.IMPORT_APPLIED, kept.filename or kept.kind.value, details, now)
    return report


def kept_file(import_id: int) -> ImportFile:
    """The kept upload of this id; :class:`NotFound` otherwise."""
    kept = db.session.get(ImportFile, import_id) if 0 < import_id < 2**63 else None
    if kept is None:
        raise NotFound(_("No such import."))
    return kept


def _require_for(kind: ImportKind, actor: User) -> None:
    """Accounts are the administrators' (DESIGN §3): only they import liaisons."""
    if kind == ImportKind.LIAISONS and actor.role != Role.ADMIN:
        raise Forbidden(_("Only an administrator may import liaisons' accounts."))


def _kind(kind: Any) -> ImportKind:
    try:
        return ImportKind(kind)
    except ValueError:
        raise NotFound(_("One can import streets, buildings, liaisons, enterprises or coverage.")) from None


def _clean_filename(name: str) -> str:
    text = "".join(c for c in (name or "") if c.isprintable())
    return text[-FILENAME_MAX:]


def plan(kind: ImportKind, rows: Sequence[Row], actor: User, now: datetime) -> Report:
    """The dry run of ``rows``: what each would do (nothing is changed; see :func:`apply`)."""
    planner = {
        ImportKind.STREETS: _plan_streets,
        ImportKind.LIAISONS: _plan_liaisons,
        ImportKind.BUILDINGS: _plan_buildings,
        ImportKind.ENTERPRISES: _plan_enterprises,
        ImportKind.COVERAGE: _plan_coverage,
    }[kind]
    return Report(kind, planner(rows, actor, now))


# --------------------------------------------------------------------------- shared checks


def _texts(
    row: Row, limits: dict[str, int], required: Iterable[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The row's cells by column, and the problems of those too long, bad or missing."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, limit in limits.items():
        value = row.values.get(name, "").strip()
        why = bad_cell(value)
        if why is None and len(value) > limit:
            why = _("At most %(n)d characters.", n=limit)
        if why is not None:
            errors[name] = why
        values[name] = value
    for name in required:
        if not values.get(name) and name not in errors:
            errors[name] = _("This field is required.")
    return values, errors


def _folded(text: str) -> str:
    return text.strip().lower()


def _in_chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _changes(current: dict[str, str], wanted: dict[str, str]) -> dict[str, tuple[str, str]]:
    """The fields whose non-blank cell differs from what is stored (a blank cell leaves a value alone)."""
    return {
        name: (current.get(name, ""), value)
        for name, value in wanted.items()
        if value and value != current.get(name, "")
    }


def _buildings_by_name() -> dict[str, Building]:
    return {_folded(b.name): b for b in db.session.scalars(select(Building))}


# --------------------------------------------------------------------------- streets


def _plan_streets(rows: Sequence[Row], actor: User, now: datetime) -> list[RowPlan]:
    by_code = {_folded(s.code): s for s in db.session.scalars(select(Street))}
    by_name = {_folded(s.name): s for s in by_code.values()}
    seen_codes: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    plans = []
    limits = {"code": district.CODE_MAX, "name": district.NAME_MAX, "name_en": district.NAME_MAX}
    for row in rows:
        values, errors = _texts(row, limits, ("code", "name"))
        code, name = values["code"], values["name"]
        if code and "code" not in errors and not district.CODE_RE.fullmatch(code):
            errors["code"] = _(
                "A code is 1 to 32 Latin letters, digits, '-' or '_', beginning with a letter or a digit."
            )
        existing = by_code.get(_folded(code)) if code else None
        for value, seen, field_name in ((code, seen_codes, "code"), (name, seen_names, "name")):
            if value and _folded(value) in seen and field_name not in errors:
                errors[field_name] = _("This street is already on line %(line)d.", line=seen[_folded(value)])
            elif value:
                seen[_folded(value)] = row.line
        named = by_name.get(_folded(name)) if name else None
        if named is not None and named is not existing and "name" not in errors:
            errors["name"] = _("Another street has this name.")
        if errors:
            plans.append(RowPlan(row.line, REFUSE, code, errors=errors))
            continue
        if existing is None:
            new = {"code": code, "name": name, "name_en": values["name_en"], "active": True}
            changes = {
                field_name: ("", value)
                for field_name, value in new.items()
                if isinstance(value, str) and value
            }
            plans.append(RowPlan(row.line, CREATE, code, changes, insert=(Street, new)))
            continue
        changes = _changes(
            {"name": existing.name, "name_en": existing.name_en}, {"name": name, "name_en": values["name_en"]}
        )
        if not changes:
            plans.append(RowPlan(row.line, UNCHANGED, code))
        else:
            plans.append(RowPlan(row.line, UPDATE, code, changes, apply=_set(existing, changes)))
    return plans


def _set(row: Any, changes: dict[str, tuple[str, str]]) -> Callable[[], None]:
    def run() -> None:
        for name, (_old, new) in changes.items():
            setattr(row, name, new)

    return run


# --------------------------------------------------------------------------- liaisons

# A liaison imported has no password it could log in with: it sets its own through a reset link (by e-mail,
# or one an administrator hands over), so no password travels in a spreadsheet.
NO_PASSWORD = "!"


def _plan_liaisons(rows: Sequence[Row], actor: User, now: datetime) -> list[RowPlan]:
    from hotline.auth.labels import role_label
    from hotline.auth.services import USERNAME_RE, checked_profile

    if actor.role != Role.ADMIN:
        message = _("Only an administrator may import liaisons' accounts.")
        return [
            RowPlan(row.line, REFUSE, row.values.get("username", ""), errors={"username": message})
            for row in rows
        ]
    usernames = {row.values.get("username", "").strip() for row in rows}
    existing: dict[str, User] = {}
    for chunk in _in_chunks(name for name in usernames if name):
        for user in db.session.scalars(select(User).where(User.username.in_(chunk))):
            existing[user.username] = user
    seen: dict[str, int] = {}
    plans = []
    for row in rows:
        values, errors = _texts(
            row, {"username": 64, "name": 100, "phone": 32, "email": 254}, ("username", "name")
        )
        username = values["username"]
        if username and "username" not in errors and not USERNAME_RE.match(username):
            errors["username"] = _("3 to 64 letters, digits, dots, dashes or underscores.")
        if username in seen:
            errors["username"] = _("This account is already on line %(line)d.", line=seen[username])
        elif username:
            seen[username] = row.line
        checked, problems = checked_profile(
            name=values["name"] or None, phone=values["phone"] or None, email=values["email"] or None
        )
        for field_name, why in problems.items():
            errors.setdefault(field_name, why)
        found = existing.get(username)
        if found is not None and found.role != Role.LIAISON:
            errors["username"] = _(
                "This username belongs to an account of another role (%(role)s).", role=role_label(found.role)
            )
        if errors:
            plans.append(RowPlan(row.line, REFUSE, username, errors=errors))
            continue
        wanted = {name: checked.get(name, "") for name in ("name", "phone", "email")}
        if found is None:
            new = {
                "username": username,
                "password_hash": NO_PASSWORD,
                "role": Role.LIAISON,
                "active": True,
                "available": True,
                "locale": "",
                "created_at": now,
                **wanted,
            }
            changes = {name: ("", value) for name, value in wanted.items() if value}
            plans.append(RowPlan(row.line, CREATE, username, changes, insert=(User, new)))
            continue
        changes = _changes({"name": found.name, "phone": found.phone, "email": found.email}, wanted)
        if not changes:
            plans.append(RowPlan(row.line, UNCHANGED, username))
        else:
            plans.append(RowPlan(row.line, UPDATE, username, changes, apply=_set(found, changes)))
    return plans


# --------------------------------------------------------------------------- buildings


def _plan_buildings(rows: Sequence[Row], actor: User, now: datetime) -> list[RowPlan]:
    streets: dict[str, Street] = {}
    for each in db.session.scalars(select(Street)):
        streets[_folded(each.code)] = each
        streets.setdefault(_folded(each.name), each)
    buildings = _buildings_by_name()
    seen: dict[str, int] = {}
    plans = []
    limits = {
        "name": district.NAME_MAX,
        "street": district.NAME_MAX,
        "address": district.ADDRESS_MAX,
        "name_en": district.NAME_MAX,
    }
    for row in rows:
        values, errors = _texts(row, limits, ("name", "street"))
        key = values["name"]
        street = streets.get(_folded(values["street"])) if values["street"] else None
        if values["street"] and "street" not in errors and street is None:
            errors["street"] = _("No street has this code or name.")
        folded = _folded(key)
        if key and folded in seen:
            errors["name"] = _("This building is already on line %(line)d.", line=seen[folded])
        elif key:
            seen[folded] = row.line
        existing = buildings.get(folded) if key else None
        if street is not None and not street.active and (existing is None or existing.street_id != street.id):
            errors["street"] = _("This street is no longer in use.")
        if errors:
            plans.append(RowPlan(row.line, REFUSE, key, errors=errors))
            continue
        assert street is not None
        wanted = {"street": street.code, "address": values["address"], "name_en": values["name_en"]}
        if existing is None:
            plans.append(
                RowPlan(
                    row.line,
                    CREATE,
                    key,
                    changes={name: ("", value) for name, value in wanted.items() if value},
                    insert=(
                        Building,
                        {
                            "street_id": street.id,
                            "name": key,
                            "address": values["address"],
                            "name_en": values["name_en"],
                            "active": True,
                        },
                    ),
                )
            )
            continue
        current = {"street": existing.street.code, "address": existing.address, "name_en": existing.name_en}
        changes = _changes(current, wanted)
        if not changes:
            plans.append(RowPlan(row.line, UNCHANGED, key))
        else:
            plans.append(
                RowPlan(row.line, UPDATE, key, changes, apply=_update_building(existing, street, changes))
            )
    return plans


def _update_building(
    building: Building, street: Street, changes: dict[str, tuple[str, str]]
) -> Callable[[], None]:
    def run() -> None:
        if "street" in changes:
            building.street_id = street.id
        for name in ("address", "name_en"):
            if name in changes:
                setattr(building, name, changes[name][1])

    return run


# --------------------------------------------------------------------------- enterprises

ENTERPRISE_LIMITS = {
    "uscc": 40,
    "name": 200,
    "building": district.NAME_MAX,
    "room": 50,
    "industry": 100,
    "contact_name": 100,
    "contact_phone": 32,
}


def _plan_enterprises(rows: Sequence[Row], actor: User, now: datetime) -> list[RowPlan]:
    from hotline.tickets.services import PHONE_RE

    buildings = _buildings_by_name()
    names_by_id = {b.id: b.name for b in buildings.values()}
    checked: list[tuple[Row, dict[str, str], dict[str, str], str]] = []
    for row in rows:
        values, errors = _texts(row, ENTERPRISE_LIMITS, ("uscc", "name", "building"))
        code = ""
        if values["uscc"] and "uscc" not in errors:
            try:
                code = uscc_codes.validate(values["uscc"])
            except uscc_codes.InvalidUSCC as error:
                errors["uscc"] = str(error)
        phone = values["contact_phone"]
        if phone and "contact_phone" not in errors and not PHONE_RE.match(phone):
            errors["contact_phone"] = _("Enter a valid phone number (digits, optionally with + and dashes).")
        checked.append((row, values, errors, code))
    existing: dict[str, Enterprise] = {}
    for chunk in _in_chunks({code for _row, _values, _errors, code in checked if code}):
        for enterprise in db.session.scalars(select(Enterprise).where(Enterprise.uscc.in_(chunk))):
            existing[enterprise.uscc] = enterprise
    seen: dict[str, int] = {}
    plans = []
    for row, values, errors, code in checked:
        key = code or values["uscc"]
        building = buildings.get(_folded(values["building"])) if values["building"] else None
        if values["building"] and "building" not in errors and building is None:
            errors["building"] = _("No building has this name.")
        if code and code in seen:
            errors["uscc"] = _("This enterprise is already on line %(line)d.", line=seen[code])
        elif code:
            seen[code] = row.line
        found = existing.get(code) if code else None
        if (
            building is not None
            and not building.active
            and (found is None or found.building_id != building.id)
        ):
            errors["building"] = _("This building is no longer in use.")
        if errors:
            plans.append(RowPlan(row.line, REFUSE, key, errors=errors))
            continue
        assert building is not None
        wanted = {
            "name": values["name"],
            "building": building.name,
            "room": values["room"],
            "industry": values["industry"],
            "contact_name": values["contact_name"],
            "contact_phone": values["contact_phone"],
        }
        if found is None:
            plans.append(
                RowPlan(
                    row.line,
                    CREATE,
                    key,
                    changes={name: ("", value) for name, value in wanted.items() if value},
                    insert=(
                        Enterprise,
                        {
                            "uscc": code,
                            "name": values["name"],
                            "building_id": building.id,
                            "room": values["room"],
                            "industry": values["industry"],
                            "contact_name": values["contact_name"],
                            "contact_phone": values["contact_phone"],
                            "description": "",
                            "created_at": now,
                            "verified_at": now,  # the district's own list vouches for it
                            "verified_by_id": actor.id,
                        },
                    ),
                )
            )
            continue
        current = {
            "name": found.name,
            "building": names_by_id.get(found.building_id, ""),
            "room": found.room,
            "industry": found.industry,
            "contact_name": found.contact_name,
            "contact_phone": found.contact_phone,
        }
        changes = _changes(current, wanted)
        if not changes:
            plans.append(RowPlan(row.line, UNCHANGED, key))
        else:
            plans.append(
                RowPlan(row.line, UPDATE, key, changes, apply=_update_enterprise(found, building, changes))
            )
    return plans


def _update_enterprise(
    enterprise: Enterprise, building: Building, changes: dict[str, tuple[str, str]]
) -> Callable[[], None]:
    def run() -> None:
        if "building" in changes:
            enterprise.building_id = building.id  # its open requests keep their building and liaison
        for name in ("name", "room", "industry", "contact_name", "contact_phone"):
            if name in changes:
                setattr(enterprise, name, changes[name][1])

    return run


# --------------------------------------------------------------------------- coverage


def _coverage_kind(word: str) -> CoverageRole | None:
    folded = _folded(word)
    for kind, words in KIND_WORDS.items():
        if folded in words:
            return kind
    return None


def _plan_coverage(rows: Sequence[Row], actor: User, now: datetime) -> list[RowPlan]:
    buildings = _buildings_by_name()
    liaisons = {
        _folded(u.username): u for u in db.session.scalars(select(User).where(User.role == Role.LIAISON))
    }
    active: dict[int, list[Coverage]] = {}
    for coverage in db.session.scalars(select(Coverage).where(Coverage.active.is_(True))):
        active.setdefault(coverage.building_id, []).append(coverage)
    names = {u.id: u.name for u in liaisons.values()}
    seen: dict[tuple[int, int], int] = {}
    primaries: dict[int, int] = {}
    plans = []
    limits = {"building": district.NAME_MAX, "liaison": 64, "kind": 20}
    for row in rows:
        values, errors = _texts(row, limits, ("building", "liaison", "kind"))
        key = f"{values['building']} · {values['liaison']}"
        building = buildings.get(_folded(values["building"])) if values["building"] else None
        if values["building"] and "building" not in errors:
            if building is None:
                errors["building"] = _("No building has this name.")
            elif not building.active:
                errors["building"] = _("This building is no longer in use.")
        liaison = (
            liaisons.get(values["liaison"]) if values["liaison"] else None
        )  # usernames: exact, as at login
        if values["liaison"] and "liaison" not in errors:
            if liaison is None:
                errors["liaison"] = _("No liaison has this username.")
            elif not liaison.active:
                errors["liaison"] = _("This liaison's account is deactivated.")
        kind = _coverage_kind(values["kind"]) if values["kind"] else None
        if values["kind"] and "kind" not in errors and kind is None:
            errors["kind"] = _("Write primary (主包联) or deputy (副包联).")
        if building is not None and liaison is not None:
            if (building.id, liaison.id) in seen:
                errors["liaison"] = _(
                    "This liaison is already named for this building on line %(line)d.",
                    line=seen[(building.id, liaison.id)],
                )
            else:
                seen[(building.id, liaison.id)] = row.line
            if kind == CoverageRole.PRIMARY and not errors:
                if building.id in primaries:
                    errors["kind"] = _(
                        "This building's primary liaison is already on line %(line)d.",
                        line=primaries[building.id],
                    )
                else:
                    primaries[building.id] = row.line
        if errors:
            plans.append(RowPlan(row.line, REFUSE, key, errors=errors))
            continue
        assert building is not None and liaison is not None and kind is not None
        covers = active.get(building.id, [])
        own = next((c for c in covers if c.liaison_id == liaison.id), None)
        if own is not None and own.role == kind:
            plans.append(RowPlan(row.line, UNCHANGED, key))
            continue
        changes = {"kind": (own.role.value if own else "", kind.value)}
        current = next((c for c in covers if c.role == CoverageRole.PRIMARY), None)
        if kind == CoverageRole.PRIMARY and current is not None and current.liaison_id != liaison.id:
            changes["replaces"] = (names.get(current.liaison_id, ""), "")
        ends = [own] if own is not None else []
        if "replaces" in changes and current is not None:
            ends.append(current)
        new = {
            "liaison_id": liaison.id,
            "building_id": building.id,
            "role": kind,
            "active": True,
            "created_at": now,
            "created_by_id": actor.id,
        }
        plans.append(
            RowPlan(row.line, UPDATE if own else CREATE, key, changes, insert=(Coverage, new), ends=ends)
        )
    return plans


def row_text(row: RowPlan) -> str:
    """One row of a report as a line of text (the command line's)."""
    if row.action == REFUSE:
        detail = "; ".join(f"{name}: {why}" for name, why in row.errors.items())
    else:
        detail = "; ".join(f"{name}: {old or '—'} → {new or '—'}" for name, (old, new) in row.changes.items())
    return f"line {row.line}\t{row.action}\t{row.key}\t{detail}".rstrip()


def recent_imports(limit: int = 20) -> list[ImportFile]:
    """The latest uploads, newest first (their bytes are not loaded)."""
    from sqlalchemy.orm import defer

    return list(
        db.session.scalars(
            select(ImportFile).options(defer(ImportFile.content)).order_by(ImportFile.id.desc()).limit(limit)
        )
    )
