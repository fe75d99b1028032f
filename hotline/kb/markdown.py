"""Article bodies: Markdown (CommonMark, by markdown-it-py) to HTML, then sanitised by nh3 (ammonia).

Two walls: the parser is told to treat raw HTML as text (``html: False``) and refuses ``javascript:`` links;
whatever it emits is still passed through nh3's allow-list of tags, attributes and URL schemes, so a
``<script>``, an ``onerror=`` or a ``javascript:`` link never reaches a page whatever a parser bug lets by.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_TAGS = {
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "th": {"style"}, "td": {"style"}}


def render(text: str) -> Markup:
    """The safe HTML of the Markdown ``text``."""
    html = _PARSER.render(text)
    return Markup(
        nh3.clean(
            html,
            tags=_TAGS,
            attributes=_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
            filter_style_properties={"text-align"},
        )
    )
