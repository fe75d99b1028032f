"""Log in, log out, password reset links, enterprise self-registration, language switch, the account
page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from hotline import throttle
from hotline.auth import resets
from hotline.auth import services as accounts
from hotline.auth.access import safe_next
from hotline.auth.forms import (
    AvailabilityForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.enterprises.models import Building, Street
from hotline.enterprises.services import register_enterprise
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.web import perform, refused

bp = Blueprint("auth", __name__)


def _start_session(user: User) -> None:
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
@throttle.login_attempts
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data or "", form.password.data or "", utcnow())
        if user is None:
            throttle.count_failure()
            form.password.errors.append(_("Wrong username or password."))
        else:
            lang = session.get("lang")
            perform(lambda: _start_session(user))
            if lang:
                session["lang"] = lang
            home = redirect(safe_next(request.args.get("next")) or url_for("pages.home"))
            return throttle.remember_device(home, user.username)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    perform(lambda: accounts.close_login_session(current_user.get_id()))
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password-reset", methods=["GET", "POST"])
@throttle.reset_requests
def forgot_password() -> str | Response:
    """Ask for a reset link by username or e-mail address.  The answer is the same whether an account was
    found, has an address or not (the link goes out by e-mail, from a worker); every request counts
    against the limits."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        throttle.count_failure()  # every request counts here, found or not
        perform(lambda: resets.request_password_reset(form.account.data or "", utcnow()))
        flash(
            _(
                "If an account matches, a link to set a new password is on its way to the account's "
                "email address. It works once, within %(minutes)d minutes. No email? Ask an administrator "
                "for a link.",
                minutes=resets.RESET_MINUTES,
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
@throttle.reset_link_attempts
def password_reset(token: str) -> str | Response | tuple[str, int]:
    """The new password, through a reset link; a link that does not work (unknown, used, replaced, expired)
    says so, with a way to ask for another."""
    form = ResetPasswordForm()
    try:
        resets.check_reset_link(token, utcnow())
        if form.validate_on_submit():
            done = perform(
                lambda: resets.complete_password_reset(token, form.password.data or "", utcnow()), form=form
            )
            if not refused(done):
                flash(
                    _("Your password is set, and every session of the account has ended. Log in with it."),
                    "success",
                )
                return redirect(url_for("auth.login"))
    except NotFound as error:
        throttle.count_failure()
        return render_template("auth/reset_link_unusable.html", message=error.message), 404
    return render_template("auth/reset_password.html", form=form)


@bp.route("/register", methods=["GET", "POST"])
@throttle.registration_attempts
def register() -> str | Response:
    form = RegisterForm()
    buildings = db.session.execute(
        select(Building.id, Building.name, Street.name)
        .join(Street)
        .where(Building.active.is_(True))
        .order_by(Street.name, Building.name)
    ).all()
    choices = [(b_id, f"{street} · {name}") for b_id, name, street in buildings]
    form.building.choices = [(0, _("— choose —")), *choices]
    if form.validate_on_submit():

        def register() -> User:
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
            _start_session(user)
            return user

        registered = perform(register, form=form)
        if refused(registered):
            throttle.count_failure()
        elif isinstance(registered, User) and registered.enterprise_id is None:  # a claim (see the service)
            flash(
                _(
                    "This enterprise is already registered. Your account is made and your claim to speak "
                    "for it is sent to its liaison: once confirmed, you can file and follow its requests."
                ),
                "info",
            )
            return redirect(url_for("tickets.portal"))
        else:
            flash(
                _(
                    "Welcome! Your enterprise is registered; its liaison will verify it. "
                    "You can file requests now."
                ),
                "success",
            )
            return redirect(url_for("tickets.portal"))
    return render_template("auth/register.html", form=form)


@bp.route("/lang/<code>", methods=["GET", "POST"])
def set_language(code: str) -> Response:
    """The page language, for this browser; chosen in the header (a POST, with the CSRF token) by a user who
    is logged in, it is also saved on the account: e-mails are then sent in it (a GET, a plain link, changes
    only the browser's)."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if request.method == "POST" and current_user.is_authenticated and current_user.locale != code:
            perform(lambda: accounts.update_profile(current_user, now=utcnow(), locale=code))
    return redirect(safe_next(request.values.get("next")) or url_for("pages.home"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
@throttle.password_change_attempts
def account() -> str | Response:
    """The user's profile; the password form posts here, the leave button to ``set_availability``."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        changed = perform(
            lambda: accounts.change_password(
                current_user,
                form.current_password.data or "",
                form.new_password.data or "",
                now=utcnow(),
                keep_session_key=current_user.get_id(),
            ),
            form=form,
        )
        if not refused(changed):
            flash(_("Your password is changed; your other browsers have been logged out."), "success")
            return redirect(url_for("auth.account"))
        if form.current_password.errors:  # the current password was wrong: a guess
            throttle.count_failure()
    availability = AvailabilityForm() if current_user.role == Role.LIAISON else None
    return render_template("auth/account.html", form=form, availability=availability)


@bp.route("/account/availability", methods=["POST"])
@login_required
def set_availability() -> Response:
    form = AvailabilityForm()
    if current_user.role != Role.LIAISON or not form.validate_on_submit():
        abort(400 if current_user.role == Role.LIAISON else 403)
    user = perform(lambda: accounts.set_availability(current_user, form.available.data == "1"))
    assert isinstance(user, User)
    if user.available:
        flash(_("Welcome back: new requests of your buildings come to you again."), "success")
    else:
        flash(_("You are on leave: new requests go to the other liaisons of your buildings."), "info")
    return redirect(url_for("auth.account"))
