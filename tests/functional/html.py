"""Small readers of rendered pages for the functional tests."""

from __future__ import annotations

import re


def field_block(html: str, name: str) -> str:
    """The markup of one form field as rendered by ``render_field``: label, input, help and errors."""
    start = html.find(f'<div class="mb-3 field-{name}">')
    assert start >= 0, f"no field {name!r} on the page"
    following = re.search(r'<div class="mb-3 field-|</form>', html[start + 10 :])
    end = start + 10 + following.start() if following else len(html)
    return html[start:end]


def field_errors(html: str, name: str) -> list[str]:
    """The error messages shown next to field ``name``."""
    return [
        m.strip() for m in re.findall(r'class="invalid-feedback[^"]*"[^>]*>([^<]*)<', field_block(html, name))
    ]


def row(html: str, row_id: str) -> str:
    """One table row by its id attribute."""
    match = re.search(rf'<tr id="{re.escape(row_id)}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no row {row_id!r} on the page"
    return match.group(0)
