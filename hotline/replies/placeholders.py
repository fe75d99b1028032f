"""The placeholders a reply template may hold, and how they are filled: plain text substitution.

A placeholder is a name in single braces, in English or in Chinese: ``{enterprise}`` / ``{企业名称}`` (the
request's enterprise), ``{number}`` / ``{诉求编号}`` (its number), ``{title}`` / ``{诉求标题}`` (its title).
Anything else in braces is left as it is.  The text is filled in one pass over the template, never over the
values put in: an enterprise called "{number}" stays "{number}".  No template engine reads the template
(it is a person's text) and the result is text, escaped wherever it is shown.
"""

from __future__ import annotations

import re

from hotline.tickets.models import Ticket

PLACEHOLDERS = {
    "enterprise": "enterprise",
    "企业名称": "enterprise",
    "number": "number",
    "诉求编号": "number",
    "title": "title",
    "诉求标题": "title",
}
_PLACEHOLDER = re.compile(r"\{([^{}\s]{1,20})\}")


def values_of(ticket: Ticket) -> dict[str, str]:
    """The value of each placeholder for ``ticket``."""
    return {"enterprise": ticket.enterprise.name, "number": ticket.number, "title": ticket.title}


def fill(body: str, values: dict[str, str]) -> str:
    """``body`` with its placeholders replaced by ``values`` (unknown ones left as they are)."""

    def replace(match: re.Match[str]) -> str:
        key = PLACEHOLDERS.get(match.group(1))
        return values[key] if key is not None and key in values else match.group(0)

    return _PLACEHOLDER.sub(replace, body)
