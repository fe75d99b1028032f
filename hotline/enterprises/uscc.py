"""统一社会信用代码 (unified social credit code), GB 32100-2015.

Eighteen characters from a 31-letter alphabet (digits and upper-case letters without I, O, S, V, Z):
registration authority, organisation kind, six-digit administrative region, nine-character organisation
code, and a check character computed over the first seventeen.
"""

from __future__ import annotations

from flask_babel import gettext as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
VALUES = {c: i for i, c in enumerate(ALPHABET)}


class InvalidUSCC(ValueError):
    """The code is not a valid 统一社会信用代码; ``str(error)`` says why, for the user."""


def check_character(first17: str) -> str:
    """The check character for the first seventeen characters of a code."""
    total = sum(VALUES[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(raw: str) -> str:
    """Upper-case and strip spaces, the way people type and paste codes."""
    return "".join(raw.split()).upper()


def validate(raw: str) -> str:
    """Return the normalised code, or raise :class:`InvalidUSCC` with a message saying what is wrong."""
    code = normalise(raw)
    if len(code) != 18:
        raise InvalidUSCC(
            _("A unified social credit code has 18 characters; this one has %(n)d.", n=len(code))
        )
    bad = sorted({c for c in code if c not in VALUES})
    if bad:
        raise InvalidUSCC(
            _(
                "The code contains characters that are never used (%(chars)s); "
                "the letters I, O, S, V and Z do not occur in these codes.",
                chars=" ".join(bad),
            )
        )
    if not code[2:8].isdigit():
        raise InvalidUSCC(_("Characters 3 to 8 must be the six-digit administrative region code."))
    if check_character(code[:17]) != code[17]:
        raise InvalidUSCC(
            _("The check character is wrong: please look for a mistyped character in the code.")
        )
    return code


def is_valid(raw: str) -> bool:
    try:
        validate(raw)
    except InvalidUSCC:
        return False
    return True


def make(first17: str) -> str:
    """Complete seventeen characters with their check character (for demo data and tests)."""
    return first17 + check_character(first17)
