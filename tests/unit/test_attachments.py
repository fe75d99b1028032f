"""Attachments (issue 13, point 1): what a file is, by its content; who may attach; nothing half-saved."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from hotline.attachments import queries, services, sniffing
from hotline.attachments.models import Attachment
from hotline.db import utcnow
from hotline.errors import NotFound, ValidationFailed
from hotline.extensions import db
from hotline.tickets import services as tickets
from hotline.tickets.models import EventKind, TicketEvent
from tests import attachment_files as files
from tests.factories import World


@pytest.fixture(autouse=True)
def folder(app: Flask, tmp_path: Path) -> Path:
    app.config["ATTACHMENTS_DIR"] = str(tmp_path)
    return tmp_path


def upload(content: bytes, name: str = "file.bin") -> FileStorage:
    return FileStorage(stream=io.BytesIO(content), filename=name)


# --------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (files.PDF, sniffing.PDF),
        (files.jpeg(), sniffing.JPEG),
        (files.png(), sniffing.PNG),
        (files.office("word"), sniffing.DOCX),
        (files.office("xl"), sniffing.XLSX),
        (files.office("ppt"), sniffing.PPTX),
        (files.ole("WordDocument"), sniffing.DOC),
        (files.ole("Workbook"), sniffing.XLS),
        (files.TEXT, sniffing.TEXT),
        (b"\xef\xbb\xbfwith a BOM\r\n", sniffing.TEXT),
    ],
)
def test_allowed_types_are_told_by_their_content(content: bytes, expected: str) -> None:
    assert sniffing.sniff(content) == expected


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (files.EXE, sniffing.UNKNOWN),
        (files.ELF, sniffing.UNKNOWN),
        (files.ZIP, sniffing.UNKNOWN),
        (files.ole("SummaryInformation"), sniffing.UNKNOWN),  # an installer is a compound file too
        (files.office("word", macros=True), sniffing.MACROS),
        (files.HTML, sniffing.MARKUP),
        (files.SVG, sniffing.MARKUP),
        (files.TEXT_WITH_SCRIPT, sniffing.MARKUP),
        (b"  <p>hi</p>", sniffing.MARKUP),
        ("GBK 文本".encode("gbk"), sniffing.UNKNOWN),
        (b"binary\x00\x01\x02", sniffing.UNKNOWN),
        (b"", sniffing.EMPTY),
    ],
)
def test_refused_types_say_why(content: bytes, reason: str) -> None:
    with pytest.raises(sniffing.Refused) as refused:
        sniffing.sniff(content)
    assert refused.value.reason == reason


def test_a_file_name_is_kept_as_text_without_its_path_or_controls() -> None:
    assert services.display_name("C:\\Users\\me\\合同.pdf") == "合同.pdf"
    assert services.display_name("../../etc/passwd") == "passwd"
    assert services.display_name("a\u202egnp.exe") == "agnp.exe"  # no right-to-left override
    assert services.display_name("<img src=x onerror=alert(1)>.png") == "<img src=x onerror=alert(1)>.png"
    assert services.display_name("") == "file"
    long = services.display_name("长" * 400 + ".pdf")
    assert len(long) == 255 and long.endswith(".pdf")


# --------------------------------------------------------------------------- the service


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Attachment)) or 0


def test_an_enterprise_attaches_a_photo_with_its_thumbnail(world: World, folder: Path) -> None:
    ticket = world.submit()
    attached = services.attach(ticket.id, world.contact, upload(files.jpeg(), "现场.jpg"), None, utcnow())
    db.session.commit()
    assert (attached.original_name, attached.content_type, attached.internal) == (
        "现场.jpg",
        "image/jpeg",
        False,
    )
    assert attached.stored_name != "现场.jpg" and len(attached.stored_name) == 32
    stored = folder / attached.stored_name
    assert stored.read_bytes() == files.jpeg()
    assert attached.thumbnail_name is not None
    from PIL import Image

    with Image.open(folder / attached.thumbnail_name) as thumb:
        assert max(thumb.size) <= 320 and thumb.format == "JPEG"
    assert [a.id for a in queries.visible_attachments(ticket, world.liaison)] == [attached.id]


def test_a_renamed_program_is_refused_and_nothing_is_kept(world: World, folder: Path) -> None:
    ticket = world.submit()
    with force_locale("en"), pytest.raises(services.AttachmentTypeRefused) as refused:
        services.attach(ticket.id, world.contact, upload(files.EXE, "photo.png"), None, utcnow())
    assert refused.value.status == 415
    assert "photo.png: This type of file is not accepted" in refused.value.fields["file"]
    db.session.rollback()
    assert _count() == 0 and list(folder.iterdir()) == []


def test_a_file_over_the_limit_is_refused_with_413(app: Flask, world: World, folder: Path) -> None:
    app.config["ATTACHMENT_MAX_BYTES"] = 1000
    ticket = world.submit()
    services.attach(ticket.id, world.contact, upload(b"x" * 1000, "exact.txt"), None, utcnow())
    with force_locale("en"), pytest.raises(services.AttachmentTooLarge) as refused:
        services.attach(ticket.id, world.contact, upload(b"x" * 1001, "big.txt"), None, utcnow())
    assert refused.value.status == 413 and "big.txt is larger than" in refused.value.fields["file"]


def test_several_files_are_kept_all_or_none_and_a_rollback_deletes_what_was_written(
    world: World, folder: Path
) -> None:
    ticket = world.submit()
    db.session.commit()
    with pytest.raises(ValidationFailed):
        services.attach_many(
            ticket.id,
            world.contact,
            [upload(files.png(), "a.png"), upload(files.PDF, "b.pdf"), upload(files.HTML, "c.html")],
            None,
            utcnow(),
        )
    db.session.rollback()
    assert _count() == 0 and list(folder.iterdir()) == []  # a.png and b.pdf were written, then deleted
    kept = services.attach_many(
        ticket.id, world.contact, [upload(files.png(), "a.png"), upload(files.PDF, "b.pdf")], None, utcnow()
    )
    db.session.commit()
    assert len(kept) == 2 and len(list(folder.iterdir())) == 3  # two files and a thumbnail


def test_only_those_who_may_see_the_request_attach(world: World) -> None:
    ticket = world.submit()
    for outsider in (world.other_contact, world.other_liaison):
        with pytest.raises(NotFound):
            services.attach(ticket.id, outsider, upload(files.PDF, "x.pdf"), None, utcnow())


def test_an_enterprise_attaches_only_while_its_request_is_open(world: World) -> None:
    ticket = world.resolved()
    with force_locale("en"), pytest.raises(ValidationFailed) as refused:
        services.attach(ticket.id, world.contact, upload(files.PDF, "x.pdf"), None, utcnow())
    assert refused.value.fields["file"] == "Files can be added only while the request is open."
    # the liaison still may (an answer's evidence)
    services.attach(ticket.id, world.liaison, upload(files.PDF, "answer.pdf"), None, utcnow())


def test_a_file_of_an_internal_note_stays_internal(world: World) -> None:
    ticket = world.in_progress()
    tickets.add_note(ticket.id, world.liaison, "内部：物业电话 123", utcnow())
    note = db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.NOTED)
    ).one()
    attached = services.attach(ticket.id, world.liaison, upload(files.PDF, "内部.pdf"), note.id, utcnow())
    db.session.commit()
    assert attached.internal and attached.event_id == note.id
    assert queries.visible_attachments(ticket, world.contact) == []
    assert queries.visible_attachments(ticket, world.manager) == [attached]
    with pytest.raises(NotFound):
        queries.get_visible_attachment(world.contact, ticket.number, attached.id)
    # the enterprise cannot attach to the note it cannot see
    with force_locale("en"), pytest.raises(ValidationFailed) as refused:
        services.attach(ticket.id, world.contact, upload(files.PDF, "x.pdf"), note.id, utcnow())
    assert refused.value.fields == {"event": "No such message on this request."}


def test_a_damaged_picture_is_refused(world: World) -> None:
    ticket = world.submit()
    broken = files.jpeg()[:200]  # a JPEG's magic number, and then nothing
    with pytest.raises(services.AttachmentTypeRefused):
        services.attach(ticket.id, world.contact, upload(broken, "broken.jpg"), None, utcnow())


def test_a_hostile_picture_is_refused_and_a_vast_one_is_not_decoded_whole(app) -> None:  # type: ignore[no-untyped-def]
    """A JPEG whose EXIF block is corrupt still gets its thumbnail (or is refused), never an error; a PNG of
    vast blank pixels (a few hundred KB) is refused rather than decoded whole."""
    import io

    from PIL import Image

    from hotline.attachments import storage

    out = io.BytesIO()
    Image.new("RGB", (5000, 4000), (0, 0, 0)).save(out, "PNG")
    with pytest.raises(storage.BadImage):
        storage.thumbnail(out.getvalue())
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turned
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (9, 9, 9)).save(out, "JPEG", exif=exif.tobytes())
    data = bytearray(out.getvalue())
    at = data.find(b"Exif")
    data[at + 20 : at + 40] = b"\xff" * 20  # the EXIF block garbled
    try:
        small = storage.thumbnail(bytes(data))
    except storage.BadImage:
        return
    assert Image.open(io.BytesIO(small)).format == "JPEG"
