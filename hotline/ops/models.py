"""What the processes say about themselves: heartbeats, and how many tasks ran (issue 8, points 2 and 3)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db


class Component(enum.StrEnum):
    """Who wrote a heartbeat."""

    WORKER = "worker"  # a worker's main process, every few seconds, from a thread (it is alive)
    TASKS = "tasks"  # a worker ran the heartbeat task beat sent (beat → broker → worker works)
    BEAT = "beat"  # the beat scheduler's loop (it ticks)
    SWEEP = "sweep"  # the clock sweep finished (hotline.sla.tasks.sweep_clocks succeeded)


class Heartbeat(db.Model):  # type: ignore[name-defined]
    """The last time one process (``name``: the worker's node name, the beat's host) showed it was alive.

    One row per component and name, overwritten (upsert) by each heartbeat; the health checks and the
    metrics read the newest row of each component.  Rows of names not seen for a week are pruned.
    """

    __tablename__ = "heartbeats"

    component: Mapped[Component] = mapped_column(
        Enum(Component, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        primary_key=True,
    )
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    pid: Mapped[int | None] = mapped_column(Integer)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TaskCount(db.Model):  # type: ignore[name-defined]
    """Runs, failures and retries of one task, added up over every worker process since the table was made.

    Worker processes count in memory and add their counts here every few seconds (one upsert per task name),
    so that ``/metrics`` on the web can show the counts of workers on any machine.
    """

    __tablename__ = "task_counts"

    task_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    runs: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(BigInteger, default=0)
    retries: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
