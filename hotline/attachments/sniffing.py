"""What an uploaded file is, from its content alone (its name and the browser's Content-Type are ignored).

``filetype`` (magic numbers, already used for the spreadsheet imports) names PDF, JPEG and PNG, and the old
Office formats (an OLE2 compound file whose first sector says Word or Excel).  An Office Open XML document
is a zip: it is opened and its parts looked at (``[Content_Types].xml`` and ``word/``, ``xl/`` or ``ppt/``),
since filetype knows it only by the order of the first entries, which not every program keeps; one carrying
macros (``vbaProject.bin``) is refused.  Plain text has no magic number: a file is text when it decodes as
UTF-8 and holds no control character but tabs and line ends, and it is refused when it reads as markup
(HTML, SVG, XML: anything starting with ``<``, or holding a tag a browser would run), so that it is never
HTML in disguise.  Everything else (executables whatever their name, archives, HTML, SVG) is refused.
Images are opened by Pillow too (:mod:`hotline.attachments.storage`): one that does not decode is refused.
"""

from __future__ import annotations

import io
import re
import zipfile

import filetype
from filetype.types import document

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
TEXT = "text/plain; charset=utf-8"

ALLOWED = (PDF, JPEG, PNG, DOCX, XLSX, PPTX, DOC, XLS, TEXT)
IMAGES = (JPEG, PNG)
# what the file input offers (a hint to the browser; the content decides)
ACCEPT = ".pdf,.jpg,.jpeg,.png,.doc,.docx,.xls,.xlsx,.pptx,.txt,image/jpeg,image/png"

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The streams a Word or Excel file holds, as their names stand (UTF-16) in the compound file's directory:
# an installer (.msi) is an OLE2 file too, and holds none of them.
_WORD_STREAM = "WordDocument".encode("utf-16-le")
_EXCEL_STREAMS = ("Workbook".encode("utf-16-le"), "Book".encode("utf-16-le"))
_OOXML = {"word/": DOCX, "xl/": XLSX, "ppt/": PPTX}
_ZIP_ENTRIES_MAX = 5000
# tags a browser would render or run, anywhere in a "text" file
_MARKUP = re.compile(rb"<\s*(?:!doctype|html|head|body|script|svg|iframe|object|embed|meta|\?xml)\b", re.I)
_TEXT_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class Refused(Exception):
    """The content is not of an allowed type; ``reason`` says what it was found to be (to be translated)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# reasons (translated by the service, which knows the reader's language)
EMPTY = "empty"
MARKUP = "markup"
MACROS = "macros"
UNKNOWN = "unknown"


def sniff(content: bytes) -> str:
    """The content type of ``content`` among :data:`ALLOWED`; :class:`Refused` otherwise."""
    if not content:
        raise Refused(EMPTY)
    head = content[:8192]
    kind = filetype.guess(head)
    mime = kind.mime if kind is not None else None
    if mime in (PDF, JPEG, PNG):
        return str(mime)
    if content.startswith(b"PK\x03\x04"):
        return _office_open_xml(content)
    if content.startswith(_OLE2):
        return _old_office(content)
    if kind is not None:
        raise Refused(UNKNOWN)  # an executable, an archive, a video …: whatever its name
    return _text(content)


def _office_open_xml(content: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Refused(UNKNOWN) from None
    if len(names) > _ZIP_ENTRIES_MAX or "[Content_Types].xml" not in names:
        raise Refused(UNKNOWN)
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise Refused(MACROS)
    for prefix, mime in _OOXML.items():
        if any(name.startswith(prefix) for name in names):
            return mime
    raise Refused(UNKNOWN)


def _old_office(content: bytes) -> str:
    head = content[:8192]
    if document.Doc().match(head) or _WORD_STREAM in content:
        return DOC
    if document.Xls().match(head) or any(stream in content for stream in _EXCEL_STREAMS):
        return XLS
    raise Refused(UNKNOWN)  # another compound file (an installer, a PowerPoint 97 file …)


def _text(content: bytes) -> str:
    body = content.removeprefix(b"\xef\xbb\xbf")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(UNKNOWN) from None
    if _TEXT_CONTROLS.search(body):
        raise Refused(UNKNOWN)
    if body.lstrip().startswith(b"<") or _MARKUP.search(body):
        raise Refused(MARKUP)
    return TEXT
