"""A bare Flask app whose one page runs ``SELECT count(*) FROM tickets``: the baseline bench/stats.py compares
the figures' pages with.

It is served by gunicorn with the same settings as the hotline in the benchmark, and reads the same database
through the same driver and pool settings (SQLAlchemy, psycopg 3, ``pool_pre_ping``), so what every page
pays (the connection, gunicorn, Flask, one query round trip, the count itself) is on both sides of the ratio.
``DATABASE_URL`` names the database.
"""

from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import create_engine, text

engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
app = Flask(__name__)


@app.get("/")
def count() -> str:
    with engine.connect() as connection:
        tickets = connection.scalar(text("SELECT count(*) FROM tickets"))
    return f"<!doctype html><title>tickets</title><p>{tickets} requests</p>"
