"""Bare Flask baselines the benchmarks compare the hotline with, measured in the same run.

``GET /`` runs ``SELECT count(*) FROM tickets`` (bench/stats.py, bench/web.py: the floor of a page that reads
the table), ``GET /hello`` answers a constant (the floor of gunicorn + Flask), ``POST /insert`` inserts one
row through the ORM and commits (bench/web.py: the floor of filing a request), ``POST /upload`` reads the
multipart field ``file`` and answers its size (bench/imports.py: the floor of sending a spreadsheet). Served
by gunicorn with the same settings as the hotline, on the same database, through the same driver and pool
settings (SQLAlchemy, psycopg 3, connections pinged when idle a while: ``hotline.db.ping_idle_connections``),
so what every page pays is on both sides of the ratio.  ``DATABASE_URL`` names the database."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, request
from sqlalchemy import DateTime, String, Text, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from hotline.db import ping_idle_connections  # the function only: no application is made

engine = create_engine(os.environ["DATABASE_URL"], connect_args={"connect_timeout": 5})
ping_idle_connections(engine)
app = Flask(__name__)


class Base(DeclarativeBase):
    pass


class Row(Base):
    """About the width of a request: a number, a title, a text, a phone, a time."""

    __tablename__ = "bench_rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    contact_phone: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _create_table() -> None:
    """Each gunicorn worker imports this module: two may both find the table missing and both create it;
    the one that loses sees the other's table (PostgreSQL's duplicate table, or a duplicate type row)."""
    try:
        Base.metadata.create_all(engine)
    except (ProgrammingError, IntegrityError):
        if not inspect(engine).has_table(Row.__tablename__):
            raise


_create_table()


@app.get("/")
def count() -> str:
    with engine.connect() as connection:
        tickets = connection.scalar(text("SELECT count(*) FROM tickets"))
    return f"<!doctype html><title>tickets</title><p>{tickets} requests</p>"


@app.get("/hello")
def hello() -> str:
    return "hello"


@app.post("/insert")
def insert() -> tuple[dict[str, int], int]:
    with Session(engine) as session:
        row = Row(
            number="QB",
            title="楼宇停车位不足",
            description="地下车库车位紧张，希望协调增加临时车位。",
            contact_phone="13800138000",
            created_at=datetime.now(UTC),
        )
        session.add(row)
        session.commit()
        return {"id": row.id}, 201


@app.post("/upload")
def upload() -> dict[str, int]:
    sent = request.files.get("file")
    return {"bytes": len(sent.read()) if sent else -1}
