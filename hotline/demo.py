"""Demo data (``flask seed-demo``)."""

from __future__ import annotations


def seed_demo(if_empty: bool = False) -> str:
    raise NotImplementedError
