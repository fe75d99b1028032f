"""Local time of the district (Asia/Shanghai) and formatting helpers."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_TZ)


def local_date(moment: datetime) -> date:
    return local(moment).date()


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with the +08:00 offset, as the API shows times."""
    return None if moment is None else local(moment).isoformat(timespec="seconds")
