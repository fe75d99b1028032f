"""What a text typed by a person may contain, the same for the pages, the API and the services.

Control characters never belong in a request, a reply or a note, and NUL cannot even be stored (PostgreSQL
refuses it in text columns: it would be a 500).  Nor can half of a surrogate pair (a JSON body may escape
one, ``"\\ud800"``): it is no character, and cannot be encoded for the database.  Line breaks and tabs are
allowed where the text may have several lines.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hotline.errors import ValidationFailed

NOT_ALLOWED_CHARACTERS = _l("This text contains characters that are not allowed.")
_LINE_BREAKS = frozenset("\n\r\t")
_NOT_ALLOWED = frozenset({"Cc", "Cs"})  # control characters, and halves of surrogate pairs
# Every character of those categories lies in these ranges: a text without any (nearly all) is let through
# without looking at each of its characters (forms carry long texts).
_MAY_HOLD_ONE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def has_control_characters(text: str | None, *, multiline: bool = True) -> bool:
    """Whether ``text`` holds a control character or a lone surrogate (line breaks and tabs pass when
    ``multiline``)."""
    if not text or _MAY_HOLD_ONE.search(text) is None:
        return False
    allowed = _LINE_BREAKS if multiline else frozenset()
    return any(c not in allowed and unicodedata.category(c) in _NOT_ALLOWED for c in text)


def refuse_control_characters(text: str | None, field: str, *, multiline: bool = True) -> None:
    """Raise :class:`ValidationFailed` on ``field`` when ``text`` holds a control character."""
    if has_control_characters(text, multiline=multiline):
        message = str(NOT_ALLOWED_CHARACTERS)
        raise ValidationFailed(message, {field: message})


def whole_number(value: object, *, digits: int = 19) -> int | None:
    """``value`` as an int when it is one, or a text of ASCII digits (an optional leading minus, at most
    ``digits`` of them, spaces around); else None.  ``"²".isdigit()`` is true, yet ``int("²")`` fails: a
    typed number is checked here, once, for the whole application."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    body = text[1:] if text.startswith("-") else text
    if not body or len(body) > digits or not body.isascii() or not body.isdigit():
        return None
    return int(text)


def read_text(
    value: Any, field: str, errors: dict[str, str], *, required: bool, limit: int, multiline: bool = False
) -> str:
    """The trimmed text of ``value`` for the field ``field``, or '' with its message in ``errors`` (not a
    text, characters not allowed, required and empty, longer than ``limit``): for services that check every
    field of a body at once."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = _("Not a valid text.")
        return ""
    text = value.strip()
    if has_control_characters(text, multiline=multiline):
        errors[field] = str(NOT_ALLOWED_CHARACTERS)
    elif required and not text:
        errors[field] = _("This field is required.")
    elif len(text) > limit:
        errors[field] = _("At most %(n)d characters.", n=limit)
    else:
        return text
    return ""
