"""Command-line tools: ``flask users create|reset-password|deactivate``, ``flask seed-demo``, ``flask calendar
sync [--apply]|import FILE [--apply]``, ``flask import streets|buildings|liaisons|enterprises|coverage FILE
[--apply]``, ``backup``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from hotline.auth import services as accounts
from hotline.auth.models import User
from hotline.db import utcnow
from hotline.errors import DomainError
from hotline.extensions import db

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--name", required=True, help="Display name.")
@click.option("--role", required=True, type=click.Choice(["liaison", "department", "manager", "admin"]))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--email", default="")
@click.option("--phone", default="")
@click.option("--department", "department_code", default=None, help="Department code, for department staff.")
def create_user_command(
    username: str, name: str, role: str, password: str, email: str, phone: str, department_code: str | None
) -> None:
    """Create a staff account (liaison, department staff, manager or admin)."""
    try:
        user = accounts.create_user(
            username=username,
            password=password,
            name=name,
            role=role,
            email=email,
            phone=phone,
            department_code=department_code,
            now=utcnow(),
        )
    except DomainError as error:
        raise _refused(error) from None
    db.session.commit()
    click.echo(f"created {user.username} ({user.role.value})")


def _refused(error: DomainError) -> click.ClickException:
    db.session.rollback()
    details = "; ".join(f"{k}: {v}" for k, v in error.fields.items())
    return click.ClickException(f"{error.message} {details}".strip())


@users_cli.command("reset-password")
@click.argument("username")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True)
def reset_password_command(username: str, password: str) -> None:
    """Give USERNAME a new password; its sessions and API tokens end."""
    try:
        user = accounts.reset_password(username, password, utcnow())
    except DomainError as error:
        raise _refused(error) from None
    db.session.commit()
    click.echo(f"{user.username}: new password set; its sessions and API tokens have ended")


@users_cli.command("deactivate")
@click.argument("username")
def deactivate_command(username: str) -> None:
    """Deactivate USERNAME (logged out everywhere); refused for a liaison still holding open requests."""
    from sqlalchemy import select

    from hotline.auth.models import User

    user_id = db.session.scalar(select(User.id).where(User.username == username.strip()))
    try:
        if user_id is None:
            raise click.ClickException(f"no user {username!r}")
        user = accounts.set_user_active(user_id, False, actor=None, now=utcnow())
    except DomainError as error:
        raise _refused(error) from None
    db.session.commit()
    click.echo(f"{user.username} deactivated and logged out everywhere")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
def seed_demo_command(if_empty: bool) -> None:
    """Fill the database with a realistic demo district (refused in production)."""
    if current_app.config["HOTLINE_ENV"] == "production":
        raise click.ClickException("demo data is refused in production")
    from hotline.demo import seed_demo

    try:
        summary = seed_demo(if_empty=if_empty, progress=click.echo)
    except RuntimeError as error:  # production, or a database that already has accounts
        raise click.ClickException(str(error)) from None
    click.echo(summary)


calendar_cli = AppGroup("calendar", help="The working-day calendar.")


@calendar_cli.command("sync")
@click.option(
    "--apply", "apply_it", is_flag=True, help="Replace years entered by hand with the package's days."
)
def calendar_sync_command(apply_it: bool) -> None:
    """Load every year chinese-calendar knows that the database lacks, and report every day where a year
    entered by hand differs from what the package now knows; only --apply replaces such a year."""
    from hotline.sla.services import (
        adopt_package_years,
        hand_years_the_package_knows,
        missing_years,
        sync_calendar_from_package,
    )

    now = utcnow()
    loaded = sync_calendar_from_package(now)
    hand_years = hand_years_the_package_knows()
    adopted = adopt_package_years([h.year for h in hand_years], now) if apply_it else []
    missing = missing_years(now)
    db.session.commit()
    click.echo(f"loaded years: {', '.join(map(str, loaded)) or 'none'}")
    for hand in hand_years:
        if not hand.differences:
            click.echo(f"{hand.year} was entered by hand and agrees with chinese-calendar on every day")
        else:
            click.echo(
                f"{hand.year} was entered by hand; chinese-calendar differs on {len(hand.differences)} days:"
            )
        for d in hand.differences:
            entered = "working day" if d.entered_workday else "rest day"
            package = "working day" if d.package_workday else "rest day"
            click.echo(
                f"  {d.day.isoformat()} {d.day:%a}: entered {entered}"
                f"{f' ({d.entered_note})' if d.entered_note else ''}, package {package}"
                f"{f' ({d.package_note})' if d.package_note else ''}"
            )
        if hand.year in adopted:
            click.echo(f"{hand.year} now follows chinese-calendar; open deadlines were recomputed")
        elif hand.differences:
            click.echo(f"{hand.year} left as entered: run with --apply to take the package's days")
    if missing:
        click.echo(f"still missing (enter them on the calendar page): {', '.join(map(str, missing))}")


@calendar_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--year", type=int, default=None, help="The year entered (default: the year of the first row).")
@click.option(
    "--apply", "apply_it", is_flag=True, help="Save it (the whole year, or nothing); without: a dry run."
)
@click.option("--by", "by", default="", help="The manager or admin it is done as (default: the first admin).")
def calendar_import_command(path: str, year: int | None, apply_it: bool, by: str) -> None:
    """Enter a year from a CSV of its holidays and make-up working days (columns: date or range start, end,
    kind as 休/班 or holiday/workday, name): prints the year's days off and make-up days and what changes
    against the calendar; with --apply, saves the whole year in one transaction and recomputes deadlines."""
    from pathlib import Path

    from hotline.sla import notice
    from hotline.sla import services as sla

    actor = _acting_staff(by)
    rows = notice.read_csv(Path(path).read_bytes())
    now = utcnow()
    try:
        plan = sla.import_rows(rows, year, actor, now) if apply_it else sla.plan_rows(rows, year, actor)
    except DomainError as error:
        db.session.rollback()
        problems = "\n".join(f"  {message}" for message in error.fields.values())
        raise click.ClickException(f"{error.message}\n{problems}\nnothing was saved") from None
    db.session.commit()
    for item in plan.ranges:
        span = item.start.isoformat() if item.start == item.end else f"{item.start} – {item.end}"
        kind = "make-up working day" if item.kind == notice.DayKind.WORKDAY else "day off"
        click.echo(f"{span}  {kind}  {item.name}".rstrip())
    for day in plan.outside:
        click.echo(f"{day.isoformat()} is not in {plan.year}: left as it is")
    click.echo(f"{plan.year}: {plan.holidays} days off, {plan.makeup_days} make-up working days")
    if not plan.year_known:
        click.echo(f"{plan.year} is not in the calendar yet: every day is new")
    for d in plan.changed:
        before = "working day" if d.stored_workday else "rest day"
        after = "working day" if d.is_workday else "rest day"
        click.echo(f"changes {d.day.isoformat()} {d.day:%a}: {before} -> {after}")
    if plan.year_known and not plan.changed:
        click.echo("no working day changes against the calendar")
    click.echo("saved" if apply_it else "dry run: nothing saved (run with --apply to save)")


def _acting_staff(by: str) -> User:
    """The user ``by`` names (active), or the first active admin."""
    from sqlalchemy import select

    from hotline.auth.models import Role

    query = select(User).where(User.active.is_(True))
    if by:
        query = query.where(User.username == by.strip())
    else:
        query = query.where(User.role == Role.ADMIN).order_by(User.id)
    actor = db.session.scalars(query.limit(1)).first()
    if actor is None:
        raise click.ClickException(
            f"no active user {by!r}" if by else "no active admin: create one, or give --by"
        )
    return actor


@click.command("import")
@click.argument("kind", type=click.Choice(["streets", "buildings", "liaisons", "enterprises", "coverage"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--apply", "apply_it", is_flag=True, help="Apply it (every row, or none); without: a dry run.")
@click.option("--by", "by", default="", help="The manager or admin it is done as (default: the first admin).")
def import_command(kind: str, path: str, apply_it: bool, by: str) -> None:
    """Import a spreadsheet (.xlsx or .csv) of streets, buildings, liaisons, enterprises or coverage (in that
    order for a new district): prints what each row does (or why it is refused); with --apply, applies all
    of it in one transaction, or nothing."""
    from pathlib import Path

    from sqlalchemy import select

    from hotline.auth.models import Role, User
    from hotline.imports import services as imports

    query = select(User).where(User.active.is_(True))
    if by:
        query = query.where(User.username == by.strip())
    else:
        query = query.where(User.role == Role.ADMIN).order_by(User.id)
    actor = db.session.scalars(query.limit(1)).first()
    if actor is None:
        raise click.ClickException(
            f"no active user {by!r}" if by else "no active admin: create one, or give --by"
        )
    content = Path(path).read_bytes()
    now = utcnow()
    try:
        kept, report = imports.upload(kind, Path(path).name, content, actor, now)
        for row in report.rows:
            click.echo(imports.row_text(row))
        if apply_it:
            report = imports.apply(kept.id, actor, now, planned=report)
    except DomainError as error:
        raise _refused(error) from None
    db.session.commit()
    counts = ", ".join(f"{name} {count}" for name, count in report.counts.items())
    click.echo(f"{'applied' if apply_it else 'dry run'}: {counts}")
    if not apply_it and report.refused:
        raise click.ClickException(f"{len(report.refused)} rows are refused; nothing would be imported")


def init_app(app: Flask) -> None:
    from hotline import backup

    backup.init_app(app)
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(calendar_cli)
    app.cli.add_command(import_command)
