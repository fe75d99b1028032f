"""How a rate is shown, in one place (issue 11, point 3): the dashboard, the public page, the workbench's and
the portal's own figures, the charts and the exports all go through :func:`shown_percent`.

One decimal, rounded half up — except near the ends: a rate that is not exactly 1 is never shown as 100.0 %
and one that is not exactly 0 never as 0.0 %.  Such a rate is pulled toward the middle to the nearest
value that is not a lie: anything in [99.95 %, 100 %) shows as 99.9 %, anything in (0 %, 0.05 %) as 0.1 %.
(Two decimals would only move the problem to 99.995 %.)  A rate whose denominator is 0 is None, shown "—".
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MISSING = "—"
_TENTH = Decimal("0.1")
_TOP = Decimal("99.9")
_BOTTOM = Decimal("0.1")


def shown_percent(value: float | None) -> float | None:
    """The percentage to show for a rate in [0, 1] (one decimal, never 100.0 or 0.0 unless exact); None for
    None."""
    if value is None:
        return None
    # Decimal from the float's shortest repr: 0.9995 is 99.95, not 99.94999…, before rounding half up.
    rounded = (Decimal(repr(float(value))) * 100).quantize(_TENTH, ROUND_HALF_UP)
    if not 0 < value < 1:  # exactly 0 or 1 (a rate never leaves [0, 1])
        return float(rounded)
    return float(min(max(rounded, _BOTTOM), _TOP))


def shown_fraction(value: float | None) -> float | None:
    """The value of a spreadsheet cell formatted ``0.0%``: the exact rate, so a reader can compute with it,
    except near the ends, where the cell's own rounding would print 100.0 % or 0.0 %: there the value
    shown (0.999 for 99.95 %, 0.001 for 0.04 %)."""
    if value is None or not 0 < value < 1:
        return value
    naive = (Decimal(repr(float(value))) * 100).quantize(_TENTH, ROUND_HALF_UP)
    if naive in (Decimal(100), Decimal(0)):
        return float(min(max(naive, _BOTTOM), _TOP) / 100)
    return value


def format_rate(value: float | None) -> str:
    """A rate as text: "99.9%", "100.0%" only when exactly 1, "—" when its denominator is 0."""
    percent = shown_percent(value)
    return MISSING if percent is None else f"{percent:.1f}%"
