"""Languages: Chinese by default, English on request (header switch, kept in the session)."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request, session
from flask_login import current_user

from hotline.extensions import babel


def select_locale() -> str:
    languages: list[str] = current_app.config["LANGUAGES"]
    if not has_request_context():  # workers and the CLI speak the default language
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    asked = request.args.get("lang")
    if asked in languages:
        return asked
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return str(current_user.locale)
    if request.path.startswith("/api/"):
        # API clients say what they want; pages stay Chinese until switched.
        return request.accept_languages.best_match(languages) or languages[0]
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_timezone=app.config["BABEL_DEFAULT_TIMEZONE"])
