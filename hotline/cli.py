"""Command-line tools: ``flask users create|reset-password|deactivate``, ``flask seed-demo``, ``flask calendar
sync``, ``flask import streets|buildings|liaisons|enterprises|coverage FILE [--apply]``, ``backup``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from hotline.auth import services as accounts
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
        summary = seed_demo(if_empty=if_empty)
    except RuntimeError as error:  # production, or a database that already has accounts
        raise click.ClickException(str(error)) from None
    click.echo(summary)


calendar_cli = AppGroup("calendar", help="The working-day calendar.")


@calendar_cli.command("sync")
def calendar_sync_command() -> None:
    """Load every year chinese-calendar knows that the database lacks (existing years are left alone)."""
    from hotline.sla.services import missing_years, sync_calendar_from_package

    now = utcnow()
    loaded = sync_calendar_from_package(now)
    missing = missing_years(now)
    db.session.commit()
    click.echo(f"loaded years: {', '.join(map(str, loaded)) or 'none'}")
    if missing:
        click.echo(f"still missing (enter them on the calendar page): {', '.join(map(str, missing))}")


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
