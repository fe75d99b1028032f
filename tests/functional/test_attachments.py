"""Attachments on the request's page and through the API (issue 13, point 1), with CSRF and real tokens."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from hotline.attachments.models import Attachment
from hotline.db import utcnow
from hotline.extensions import db
from hotline.tickets import services as tickets
from hotline.tickets.models import EventKind, Ticket, TicketEvent
from tests import attachment_files as files
from tests.factories import PASSWORD, World
from tests.functional.html import field_errors
from tests.helpers import csrf_token
from tests.helpers import login as log_in

API = "/api/v1"
EN = {"Accept-Language": "en"}


def login(client: FlaskClient, username: str) -> None:
    """Logged in, reading English (the messages asserted are the English ones)."""
    log_in(client, username)
    client.get("/lang/en")


# no double quote: the test client puts the name in a quoted header as it is (a browser escapes them)
MARKUP_NAME = "<img src=x onerror=alert(1)>.png"


@pytest.fixture(autouse=True)
def folder(app: Flask, tmp_path: Path) -> Path:
    app.config["ATTACHMENTS_DIR"] = str(tmp_path)
    return tmp_path


def _fetch(client: FlaskClient, url: str, **kwargs: Any) -> Any:
    """GET a file and close the answer (it streams from an open file), its body read."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Attachment)) or 0


def _upload_page(client: FlaskClient, ticket: Ticket, *parts: tuple[bytes, str], **extra: Any) -> Any:
    page = client.get(f"/tickets/{ticket.number}", headers=EN)
    assert page.status_code == 200
    data: dict[str, Any] = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "file": [(io.BytesIO(content), name) for content, name in parts],
        **extra,
    }
    return client.post(
        f"/tickets/{ticket.number}/attachments", data=data, content_type="multipart/form-data", headers=EN
    )


def _token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post(f"{API}/tokens", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.get_json()['token']}", **EN}


def _api_upload(
    client: FlaskClient, headers: dict[str, str], number: str, content: bytes, name: str, **form: str
) -> Any:
    return client.post(
        f"{API}/tickets/{number}/attachments",
        data={"file": (io.BytesIO(content), name), **form},
        content_type="multipart/form-data",
        headers=headers,
    )


# --------------------------------------------------------------------------- the page


def test_an_enterprise_uploads_a_photo_and_a_pdf_and_the_liaison_sees_the_thumbnail(
    client: FlaskClient, world: World
) -> None:
    ticket = world.submit()
    db.session.commit()
    login(client, world.contact.username)
    page = client.get(f"/tickets/{ticket.number}", headers=EN).get_data(as_text=True)
    form = re.search(r"<form[^>]*attachment-form.*?</form>", page, re.S)
    assert form and 'enctype="multipart/form-data"' in form.group(0)
    assert re.search(r'<input[^>]*capture="environment"[^>]*name="photo"', form.group(0))
    assert re.search(r'<input[^>]*accept="\.pdf,[^"]*"[^>]*multiple[^>]*name="file"', form.group(0))
    response = _upload_page(client, ticket, (files.jpeg(), "现场照片.jpg"), (files.PDF, "营业执照.pdf"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert _count() == 2
    client = client.application.test_client()
    login(client, world.liaison.username)
    page = client.get(f"/tickets/{ticket.number}", headers=EN).get_data(as_text=True)
    photo, pdf = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()
    assert f"/tickets/{ticket.number}/attachments/{photo.id}/thumbnail" in page
    assert "营业执照.pdf" in page and "现场照片.jpg" in page
    thumb = _fetch(client, f"/tickets/{ticket.number}/attachments/{photo.id}/thumbnail")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert thumb.headers["X-Content-Type-Options"] == "nosniff"
    image = _fetch(client, f"/tickets/{ticket.number}/attachments/{photo.id}")
    assert image.get_data() == files.jpeg() and image.headers["Content-Disposition"].startswith("inline")
    download = _fetch(client, f"/tickets/{ticket.number}/attachments/{pdf.id}")
    assert download.status_code == 200 and download.get_data() == files.PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("content", "name", "says"),
    [
        (files.EXE, "photo.png", "photo.png: This type of file is not accepted"),
        (files.HTML, "page.html", "page.html: Web pages, SVG and other markup files are not accepted"),
        (files.SVG, "logo.svg", "logo.svg: Web pages, SVG and other markup files are not accepted"),
    ],
)
def test_a_refused_file_says_why_at_the_field_and_nothing_is_kept(
    client: FlaskClient, world: World, folder: Path, content: bytes, name: str, says: str
) -> None:
    ticket = world.submit()
    db.session.commit()
    login(client, world.contact.username)
    response = _upload_page(client, ticket, (files.PDF, "fine.pdf"), (content, name))
    assert response.status_code == 400
    errors = field_errors(response.get_data(as_text=True), "file")
    assert any(e.startswith(says) for e in errors), errors
    assert _count() == 0 and list(folder.iterdir()) == []


def test_a_file_over_the_limit_is_refused_at_the_field(app: Flask, client: FlaskClient, world: World) -> None:
    app.config["ATTACHMENT_MAX_BYTES"] = 2048
    ticket = world.submit()
    db.session.commit()
    login(client, world.contact.username)
    response = _upload_page(client, ticket, (b"a" * 3000, "notes.txt"))
    assert response.status_code == 400
    [message] = field_errors(response.get_data(as_text=True), "file")
    assert message.startswith("notes.txt is larger than")
    assert _count() == 0


def test_an_upload_without_the_csrf_token_is_refused(client: FlaskClient, world: World) -> None:
    ticket = world.submit()
    db.session.commit()
    login(client, world.contact.username)
    response = client.post(
        f"/tickets/{ticket.number}/attachments",
        data={"file": (io.BytesIO(files.PDF), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and _count() == 0


def test_a_file_name_with_markup_is_shown_as_text(client: FlaskClient, world: World) -> None:
    ticket = world.submit()
    db.session.commit()
    login(client, world.contact.username)
    assert _upload_page(client, ticket, (files.png(), MARKUP_NAME)).status_code == 302
    page = client.get(f"/tickets/{ticket.number}", headers=EN).get_data(as_text=True)
    assert MARKUP_NAME not in page and "<img src=x" not in page
    assert 'class="attachment-name" href="' in page
    assert ">&lt;img src=x onerror=alert(1)&gt;.png</a>" in page
    assert 'alt="&lt;img src=x onerror=alert(1)&gt;.png"' in page
    # a refused one is said at the field as text too
    refused = _upload_page(client, ticket, (files.EXE, "<b onclick=alert(1)>x.png")).get_data(as_text=True)
    assert "<b onclick" not in refused
    assert field_errors(refused, "file")[0].startswith("&lt;b onclick=alert(1)&gt;x.png: This type of file")


def test_another_enterprise_and_a_liaison_of_another_street_get_404(
    client: FlaskClient, world: World
) -> None:
    ticket = world.submit()
    attached = _attach(world, ticket, files.PDF, "证明.pdf")
    for outsider in (world.other_contact, world.other_liaison):
        login(client, outsider.username)
        for path in ("", "/thumbnail"):
            assert (
                _fetch(client, f"/tickets/{ticket.number}/attachments/{attached.id}{path}").status_code == 404
            )
        page = client.get(f"/tickets/{ticket.number}")
        assert page.status_code == 404
        client = client.application.test_client()
    login(client, world.contact.username)
    assert _fetch(client, f"/tickets/{ticket.number}/attachments/{attached.id + 1000}").status_code == 404
    assert _fetch(client, f"/tickets/{ticket.number}/attachments/{2**63}").status_code == 404


def _attach(
    world: World, ticket: Ticket, content: bytes, name: str, event_id: int | None = None
) -> Attachment:
    from werkzeug.datastructures import FileStorage

    from hotline.attachments import services

    attached = services.attach(
        ticket.id,
        world.liaison if event_id else world.contact,
        FileStorage(io.BytesIO(content), name),
        event_id,
        utcnow(),
    )
    db.session.commit()
    return attached


def _internal_file(world: World) -> tuple[Ticket, Attachment]:
    ticket = world.in_progress()
    tickets.add_note(ticket.id, world.liaison, "内部备注", utcnow())
    note = db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.NOTED)
    ).one()
    return ticket, _attach(world, ticket, files.PDF, "内部材料.pdf", note.id)


def test_an_internal_notes_file_is_hidden_from_the_enterprise(client: FlaskClient, world: World) -> None:
    ticket, internal = _internal_file(world)
    login(client, world.contact.username)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "内部材料.pdf" not in page
    assert _fetch(client, f"/tickets/{ticket.number}/attachments/{internal.id}").status_code == 404
    client = client.application.test_client()
    login(client, world.liaison.username)
    page = client.get(f"/tickets/{ticket.number}", headers=EN).get_data(as_text=True)
    assert "内部材料.pdf" in page
    assert _fetch(client, f"/tickets/{ticket.number}/attachments/{internal.id}").status_code == 200


def test_a_liaison_attaches_to_its_internal_note_from_the_page(client: FlaskClient, world: World) -> None:
    ticket = world.in_progress()
    tickets.add_note(ticket.id, world.liaison, "内部备注", utcnow())
    db.session.commit()
    note = db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.NOTED)
    ).one()
    login(client, world.liaison.username)
    response = _upload_page(client, ticket, (files.TEXT, "记录.txt"), event=str(note.id))
    assert response.status_code == 302
    assert db.session.scalars(select(Attachment)).one().internal


# --------------------------------------------------------------------------- the API


def test_the_api_uploads_lists_and_downloads(client: FlaskClient, world: World) -> None:
    ticket = world.submit()
    db.session.commit()
    headers = _token(client, world.contact.username)
    response = _api_upload(client, headers, ticket.number, files.png(), "photo.png")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) >= {"id", "name", "size", "content_type"}
    assert (body["name"], body["size"], body["content_type"]) == ("photo.png", len(files.png()), "image/png")
    detail = client.get(f"{API}/tickets/{ticket.number}", headers=headers).get_json()
    assert [a["id"] for a in detail["attachments"]] == [body["id"]]
    listed = client.get(f"{API}/tickets", headers=headers).get_json()
    assert listed["items"][0]["attachments"][0]["name"] == "photo.png"
    download = _fetch(client, response.headers["Location"], headers=headers)
    assert download.status_code == 200 and download.get_data() == files.png()
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_the_api_answers_415_for_a_refused_type_and_413_over_the_limit(
    app: Flask, client: FlaskClient, world: World
) -> None:
    ticket = world.submit()
    db.session.commit()
    headers = _token(client, world.contact.username)
    for content, name in ((files.EXE, "photo.png"), (files.HTML, "a.html"), (files.SVG, "a.svg")):
        refused = _api_upload(client, headers, ticket.number, content, name)
        assert refused.status_code == 415, refused.get_json()
        assert refused.get_json()["error"]["code"] == "unsupported_media_type"
        assert name in refused.get_json()["error"]["fields"]["file"]
    app.config["ATTACHMENT_MAX_BYTES"] = 1024
    big = _api_upload(client, headers, ticket.number, b"a" * 2000, "big.txt")
    assert big.status_code == 413 and big.get_json()["error"]["code"] == "too_large"
    way_too_big = _api_upload(client, headers, ticket.number, b"a" * 400_000, "huge.txt")
    assert way_too_big.status_code == 413  # past the body's limit: refused before it is read
    missing = client.post(f"{API}/tickets/{ticket.number}/attachments", data={}, headers=headers)
    assert missing.status_code == 400 and "file" in missing.get_json()["error"]["fields"]
    bad_event = _api_upload(client, headers, ticket.number, files.PDF, "a.pdf", event="x\x00")
    assert bad_event.status_code == 400 and "event" in bad_event.get_json()["error"]["fields"]
    assert _count() == 0


def test_the_api_hides_another_enterprises_files_and_internal_ones(client: FlaskClient, world: World) -> None:
    ticket, internal = _internal_file(world)
    public = _attach(world, ticket, files.PDF, "公开.pdf")
    other = _token(client, world.other_contact.username)
    assert (
        _fetch(client, f"{API}/tickets/{ticket.number}/attachments/{public.id}", headers=other).status_code
        == 404
    )
    assert _api_upload(client, other, ticket.number, files.PDF, "x.pdf").status_code == 404
    liaison = _token(client, world.other_liaison.username)
    assert (
        _fetch(client, f"{API}/tickets/{ticket.number}/attachments/{public.id}", headers=liaison).status_code
        == 404
    )
    contact = _token(client, world.contact.username)
    detail = client.get(f"{API}/tickets/{ticket.number}", headers=contact).get_json()
    assert [a["name"] for a in detail["attachments"]] == ["公开.pdf"]
    assert (
        _fetch(
            client, f"{API}/tickets/{ticket.number}/attachments/{internal.id}", headers=contact
        ).status_code
        == 404
    )
    staff = _token(client, world.liaison.username)
    names = {
        a["name"]
        for a in client.get(f"{API}/tickets/{ticket.number}", headers=staff).get_json()["attachments"]
    }
    assert names == {"公开.pdf", "内部材料.pdf"}


def test_the_upload_is_in_the_openapi_document(client: FlaskClient) -> None:
    document = client.get(f"{API}/openapi.json").get_json()
    post = document["paths"]["/api/v1/tickets/{number}/attachments"]["post"]
    assert {"201", "413", "415"} <= set(post["responses"])
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert "attachments" in document["components"]["schemas"]["Ticket"]["properties"]


# --------------------------------------------------------------------------- the filing form


def _file_request(client: FlaskClient, world: World, *parts: tuple[bytes, str]) -> Any:
    page = client.get("/portal/new", headers=EN).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    data: dict[str, Any] = {
        "csrf_token": csrf_token(page),
        "submission_token": re.search(r'name="submission_token"[^>]*value="([^"]*)"', page).group(1),  # type: ignore[union-attr]
        "category": world.category.code,
        "title": "园区门口道路破损",
        "description": "大门口道路坑洼，车辆通行困难。",
        "urgency": "normal",
        "contact_phone": "13900139000",
        "file": [(io.BytesIO(content), name) for content, name in parts],
    }
    return client.post("/portal/new", data=data, content_type="multipart/form-data", headers=EN)


def test_an_enterprise_files_a_request_with_a_photo(client: FlaskClient, world: World) -> None:
    login(client, world.contact.username)
    response = _file_request(client, world, (files.jpeg(), "路面.jpg"))
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    ticket = db.session.scalars(select(Ticket)).one()
    attached = db.session.scalars(select(Attachment)).one()
    assert (attached.ticket_id, attached.original_name, attached.thumbnail_name is not None) == (
        ticket.id,
        "路面.jpg",
        True,
    )
    liaison = client.application.test_client()
    login(liaison, world.liaison.username)
    page = liaison.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert f"/tickets/{ticket.number}/attachments/{attached.id}/thumbnail" in page


def test_a_refused_file_refuses_the_filing_at_its_field(
    client: FlaskClient, world: World, folder: Path
) -> None:
    login(client, world.contact.username)
    response = _file_request(client, world, (files.png(), "fine.png"), (files.SVG, "logo.svg"))
    assert response.status_code == 400
    errors = field_errors(response.get_data(as_text=True), "file")
    assert errors and errors[0].startswith("logo.svg: Web pages, SVG")
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert _count() == 0 and list(folder.iterdir()) == []


def test_a_file_missing_from_the_folder_answers_404(client: FlaskClient, world: World, folder: Path) -> None:
    ticket = world.submit()
    attached = _attach(world, ticket, files.PDF, "证明.pdf")
    (folder / attached.stored_name).unlink()
    login(client, world.contact.username)
    assert _fetch(client, f"/tickets/{ticket.number}/attachments/{attached.id}").status_code == 404
