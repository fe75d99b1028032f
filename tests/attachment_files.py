"""Small files of every kind the attachment tests upload, made here (no binary fixtures in the repository)."""

from __future__ import annotations

import io
import zipfile

from PIL import Image


def png(size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def jpeg(size: tuple[int, int] = (1200, 900)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 200, 30)).save(out, "JPEG")
    return out.getvalue()


PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


def office(prefix: str, *, macros: bool = False) -> bytes:
    """An Office Open XML package: ``word/``, ``xl/`` or ``ppt/`` parts (with a VBA project if asked)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", "<Relationships/>")
        main = {"word": "document.xml", "xl": "workbook.xml", "ppt": "presentation.xml"}[prefix]
        archive.writestr(f"{prefix}/{main}", "<x/>")
        if macros:
            archive.writestr(f"{prefix}/vbaProject.bin", b"\x00" * 64)
    return out.getvalue()


def ole(stream: str) -> bytes:
    """An OLE2 compound file whose directory names ``stream`` (WordDocument: a Word 97 file)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    return header + b"\x00" * 512 + stream.encode("utf-16-le") + b"\x00" * 1024


# a Windows program (the "MZ" header, then "PE") that a user renamed photo.png
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00"
EXE += b"\x00" * (0x80 - len(EXE)) + b"PE\x00\x00" + b"\x00" * 256
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
ZIP = b"PK\x03\x04" + b"\x00" * 100
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
TEXT = "停车位不足的情况说明\n第二行\tend\n".encode()
TEXT_WITH_SCRIPT = b"Please see below.\n\n<script>alert(1)</script>\n"
