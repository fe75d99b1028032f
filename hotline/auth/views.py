"""Log in, log out, enterprise self-registration, language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from hotline.auth import services as accounts
from hotline.auth.forms import LoginForm, RegisterForm
from hotline.db import utcnow
from hotline.enterprises.models import Building, Street
from hotline.enterprises.services import register_enterprise
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.web import apply_errors

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _start_session(user) -> None:  # type: ignore[no-untyped-def]
    session.clear()  # a fresh session on login: no fixation
    accounts.open_login_session(
        user,
        utcnow(),
        current_app.config["PERMANENT_SESSION_LIFETIME"],
        request.headers.get("User-Agent", ""),
    )
    session.permanent = True
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data or "", form.password.data or "", utcnow())
        if user is None:
            form.password.errors.append(_("Wrong username or password."))
        else:
            lang = session.get("lang")
            _start_session(user)
            if lang:
                session["lang"] = lang
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for("pages.home"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    accounts.close_login_session(current_user.get_id())
    db.session.commit()
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
def register() -> str | Response:
    form = RegisterForm()
    buildings = db.session.execute(
        select(Building.id, Building.name, Street.name)
        .join(Street)
        .where(Building.active.is_(True))
        .order_by(Street.name, Building.name)
    ).all()
    form.building.choices = [(0, _("— choose —"))] + [(b_id, f"{street} · {name}") for b_id, name, street in buildings]
    if form.validate_on_submit():
        try:
            user = register_enterprise(
                uscc=form.uscc.data or "",
                name=form.name.data or "",
                building_id=form.building.data,
                room=form.room.data or "",
                contact_name=form.contact_name.data or "",
                username=form.username.data or "",
                password=form.password.data or "",
                email=form.email.data or "",
                phone=form.phone.data or "",
                now=utcnow(),
            )
        except ValidationFailed as error:
            db.session.rollback()
            apply_errors(form, error, {"building": "building"})
        else:
            _start_session(user)
            db.session.commit()
            flash(
                _("Welcome! Your enterprise is registered; its liaison will verify it. You can file requests now."),
                "success",
            )
            return redirect(url_for("tickets.portal"))
    return render_template("auth/register.html", form=form)


@bp.route("/lang/<code>")
def set_language(code: str) -> Response:
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")) or url_for("pages.home"))
