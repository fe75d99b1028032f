"""Languages: Chinese by default, English on request (header switch, kept in the session)."""

from __future__ import annotations

import functools
from typing import Any

from babel import support
from flask import Flask, current_app, g, has_request_context, request, session
from flask_login import current_user
from wtforms.i18n import messages_path

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
    from hotline.errors import database_unavailable

    # A user's own language is read from the database (an object expired by a rollback is loaded again):
    # while it is out of reach, the 503 that says so is answered in the default language, not a second error.
    if not database_unavailable():
        if current_user and current_user.is_authenticated and current_user.locale in languages:
            return str(current_user.locale)
        api_user = g.get("api_user")  # a token's user: the language it chose (PATCH /api/v1/me)
        if api_user is not None and api_user.locale in languages:
            return str(api_user.locale)
    if request.path.startswith("/api/"):
        # API clients say what they want; pages stay Chinese until switched.
        return request.accept_languages.best_match(languages) or languages[0]
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_timezone=app.config["BABEL_DEFAULT_TIMEZONE"])
    app.jinja_env.globals.update(current_locale=current_locale, localized_name=localized_name)
    app.before_request(_share_form_messages)


@functools.cache
def _wtforms_messages(locale: str) -> support.NullTranslations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _FormMessages:
    """WTForms' own messages ("This field is required.") in the request's language, from a catalogue read
    once per process and language: Flask-WTF would read it from disk again in every request with a form."""

    def _messages(self) -> support.NullTranslations:
        return _wtforms_messages(current_locale())

    def ugettext(self, string: str) -> str:
        return str(self._messages().ugettext(string))

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return str(self._messages().ungettext(singular, plural, n))


_FORM_MESSAGES = _FormMessages()


def _share_form_messages() -> None:
    # Flask-WTF takes the request's attribute when it is there (flask_wtf.i18n._get_translations)
    request.wtforms_translations = _FORM_MESSAGES  # type: ignore[attr-defined]


def current_locale() -> str:
    """The page's language code (``zh`` or ``en``)."""
    from flask_babel import get_locale

    return str(get_locale() or "zh")


def localized_name(row: Any) -> str:
    """A category's or department's name in the page's language (Chinese unless English is chosen)."""
    name_en = getattr(row, "name_en", None)
    if current_locale() == "en" and name_en:
        return str(name_en)
    return str(row.name)
