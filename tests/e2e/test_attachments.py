"""Attachments in a real Chromium (issue 13): an enterprise attaches a photo from the filing form, as a
phone's camera would hand it over; the liaison of its building opens the request and sees its thumbnail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline import create_app
from hotline.auth.models import User
from hotline.enterprises.models import Coverage, CoverageRole
from hotline.extensions import db
from tests import attachment_files
from tests.e2e.conftest import shot
from tests.e2e.test_story import log_in

pytestmark = pytest.mark.e2e


def _liaison_of(live_instance: Path, username: str) -> str:
    """The primary liaison of ``username``'s building, in the live server's database."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{live_instance / 'hotline.sqlite3'}",
            "INSTANCE_DIR": str(live_instance),
            "OUTBOX_NUDGE": False,
        }
    )
    with app.app_context():
        contact = db.session.scalars(select(User).where(User.username == username)).one()
        liaison = db.session.scalars(
            select(User.username)
            .join(Coverage, Coverage.liaison_id == User.id)
            .where(
                Coverage.building_id == contact.enterprise.building_id,  # type: ignore[union-attr]
                Coverage.role == CoverageRole.PRIMARY,
                Coverage.active.is_(True),
            )
        ).one()
        db.session.remove()
    return liaison


def test_a_photo_attached_at_filing_is_seen_by_the_liaison(
    new_page, live_server: str, live_instance: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    base = live_server
    photo = tmp_path / "停车场照片.jpg"
    photo.write_bytes(attachment_files.jpeg())

    enterprise = new_page("en-US")
    log_in(enterprise, base, "ent5")
    enterprise.goto(base + "/portal/new")
    enterprise.select_option("#category", index=1)
    enterprise.fill("#title", "停车场入口道闸故障")
    enterprise.fill("#description", "停车场入口道闸无法抬杆，附现场照片。")
    enterprise.fill("#contact_phone", "13911112222")
    enterprise.set_input_files("input[name=file]", str(photo))
    enterprise.click("main form button[type=submit]:not([name])")
    enterprise.wait_for_url(re.compile(r"/tickets/QH\d{8}-\d{4}$"))
    number = enterprise.url.rsplit("/", 1)[1]
    listed = enterprise.locator(".attachment-name")
    assert listed.inner_text() == "停车场照片.jpg"

    liaison = new_page("en-US")
    log_in(liaison, base, _liaison_of(live_instance, "ent5"))
    liaison.goto(f"{base}/tickets/{number}")
    thumbnail = liaison.locator("img.attachment-thumbnail")
    thumbnail.wait_for()
    # the picture itself came through (a broken image has no natural size)
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth > 0 && img.naturalWidth <= 320")
    shot(liaison, "attachment-thumbnail")
    # the file downloads with its own type, for those who may see the request
    download = liaison.request.get(f"{base}{liaison.locator('a.attachment-name').get_attribute('href')}")
    assert download.ok and download.headers["content-type"].startswith("image/jpeg")
    assert download.headers["x-content-type-options"] == "nosniff"
