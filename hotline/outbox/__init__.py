"""The outbox (DESIGN §8): work for the workers written in the request's own transaction, then relayed."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Publish outbox messages right after each commit (the nudge); beat relays whatever it missed."""
    from hotline.outbox import publisher

    publisher.init_app(app)
