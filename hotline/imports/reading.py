"""Reading the district's spreadsheets: an Excel workbook (.xlsx, its first sheet) or a CSV file, its first
row the column names, in Chinese or English.

What a file is comes from its content, not its name: `filetype` (a small library of magic numbers) says
whether it is an Excel workbook; anything else must decode as text — UTF-8 (with or without Excel's
byte-order mark) or GB18030, which is what Excel on a Chinese Windows saves a CSV in.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import filetype
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hotline.errors import ValidationFailed
from hotline.imports.models import ImportKind
from hotline.text import has_control_characters

MAX_ROWS = 20_000
# how many lines are read at most, blank ones included (a sheet may hold a million blank formatted rows)
MAX_LINES = MAX_ROWS * 2
MAX_COLUMNS = 30
CELL_MAX = 500

# The columns of each kind: its key, then the names a header may give it (compared without case or spaces).
COLUMNS: Mapping[ImportKind, Mapping[str, tuple[str, ...]]] = {
    ImportKind.STREETS: {
        "code": ("code", "街道代码", "代码", "编码"),
        "name": ("name", "street", "街道名称", "街道", "名称"),
        "name_en": ("name_en", "english name", "英文名称", "英文名"),
    },
    ImportKind.LIAISONS: {
        "username": ("username", "用户名", "账号", "登录名"),
        "name": ("name", "姓名", "名字"),
        "phone": ("phone", "mobile", "手机", "手机号", "联系电话"),
        "email": ("email", "e-mail", "电子邮箱", "邮箱"),
    },
    ImportKind.BUILDINGS: {
        "street": ("street", "街道", "街道代码", "所属街道"),
        "name": ("building", "name", "楼宇", "楼宇名称", "楼宇名"),
        "address": ("address", "地址", "楼宇地址"),
        "name_en": ("name_en", "english name", "英文名称", "英文名"),
    },
    ImportKind.ENTERPRISES: {
        "uscc": ("uscc", "统一社会信用代码", "信用代码", "社会信用代码"),
        "name": ("name", "enterprise", "企业名称", "企业", "名称"),
        "building": ("building", "楼宇", "楼宇名称", "所在楼宇"),
        "room": ("room", "房间号", "房号", "房间"),
        "industry": ("industry", "行业", "所属行业"),
        "contact_name": ("contact_name", "contact", "联系人", "联系人姓名"),
        "contact_phone": ("mobile", "phone", "contact_phone", "手机", "手机号", "联系电话", "联系人手机"),
    },
    ImportKind.COVERAGE: {
        "building": ("building", "楼宇", "楼宇名称"),
        "liaison": ("liaison", "username", "包联干部", "干部账号", "零号员工", "用户名"),
        "kind": ("kind", "role", "类型", "包联类型", "角色"),
    },
}
REQUIRED_COLUMNS: Mapping[ImportKind, tuple[str, ...]] = {
    ImportKind.STREETS: ("code", "name"),
    ImportKind.LIAISONS: ("username", "name"),
    ImportKind.BUILDINGS: ("street", "name"),
    ImportKind.ENTERPRISES: ("uscc", "name", "building"),
    ImportKind.COVERAGE: ("building", "liaison", "kind"),
}
COLUMN_LABELS = {
    "code": _l("Code"),
    "username": _l("Username"),
    "phone": _l("Mobile phone"),
    "email": _l("Email"),
    "street": _l("Street"),
    "name": _l("Name"),
    "address": _l("Address"),
    "name_en": _l("English name"),
    "uscc": _l("Unified social credit code"),
    "building": _l("Building"),
    "room": _l("Room"),
    "industry": _l("Industry"),
    "contact_name": _l("Contact"),
    "contact_phone": _l("Mobile phone"),
    "liaison": _l("Liaison"),
    "kind": _l("Kind"),
}
# The header row of each kind's template (the first name of each column, in Chinese).
TEMPLATE_HEADERS: Mapping[ImportKind, tuple[str, ...]] = {
    kind: tuple(next(name for name in names if not name.isascii()) for names in columns.values())
    for kind, columns in COLUMNS.items()
}


@dataclass(frozen=True)
class Row:
    """One data row: its line in the file (the header is line 1) and its values by column key."""

    line: int
    values: dict[str, str]


def _key(header: str) -> str:
    return "".join(header.split()).lower()


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed(message, {"file": message})


def _cell(value: Any) -> str:
    """A cell as text: numbers as Excel shows them (a mobile read as 13800138000.0 is 13800138000)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _xlsx_rows(content: bytes) -> Iterator[list[Any]]:
    """The rows of the workbook's first sheet, at most :data:`MAX_COLUMNS` cells each.

    The sheet's own idea of its size (``<dimension>``) is not trusted: a file with stray formatting may
    declare ``A1:XFD1048576``, and read-only openpyxl pads every row to it.  Whatever a damaged file raises
    while it is opened or read (zip, zlib, XML errors …) is a refusal of the file, not a 500.
    """
    from openpyxl import load_workbook

    book = None
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        if not book.worksheets:
            raise _refused(_("The workbook has no sheet."))
        sheet = book.worksheets[0]
        sheet.reset_dimensions()
        for values in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            yield list(values)
    except ValidationFailed:
        raise
    except Exception as error:  # a damaged workbook raises from zipfile, zlib, lxml, openpyxl …
        raise _refused(_("This workbook cannot be read (%(why)s).", why=type(error).__name__)) from error
    finally:
        if book is not None:
            book.close()


def _text_of(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _refused(_("The file is neither an Excel workbook (.xlsx) nor a CSV file in UTF-8 or GB18030."))


def _csv_rows(content: bytes) -> Iterator[list[Any]]:
    text = _text_of(content)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        yield from csv.reader(io.StringIO(text), dialect)
    except csv.Error as error:
        raise _refused(_("The CSV file cannot be read: %(why)s", why=str(error))) from error


def read_rows(kind: ImportKind, content: bytes) -> list[Row]:
    """The rows of a spreadsheet of ``kind``, their values keyed by :data:`COLUMNS`; blank rows skipped.

    Raises :class:`ValidationFailed` on the field ``file``: not a workbook or CSV, no header row, a column
    a kind needs missing, no data row, more than :data:`MAX_ROWS` rows.
    """
    if not content:
        raise _refused(_("The file is empty."))
    sniffed = filetype.guess(content[:8192])
    if (sniffed is not None and sniffed.extension == "xlsx") or content[:4] == b"PK\x03\x04":
        # a zip: filetype knows a workbook by the order of its first entries, which not every program keeps,
        # so any zip is tried as a workbook (openpyxl says whether it is one)
        raw: Iterator[list[Any]] = _xlsx_rows(content)
    elif sniffed is not None:
        raise _refused(_("The file is neither an Excel workbook (.xlsx) nor a CSV file in UTF-8 or GB18030."))
    else:
        raw = _csv_rows(content)
    columns = COLUMNS[kind]
    by_name = {_key(name): key for key, names in columns.items() for name in names}
    header: list[str | None] | None = None
    rows: list[Row] = []
    for line, values in enumerate(raw, start=1):
        if line > MAX_LINES:
            raise _refused(_("At most %(n)d rows in one file; split it.", n=MAX_ROWS))
        cells = [_cell(v) for v in values]
        if not any(cells):
            continue
        if header is None:
            header = [by_name.get(_key(c)) for c in cells]
            missing = [k for k in REQUIRED_COLUMNS[kind] if k not in header]
            if missing:
                names = "、".join(str(COLUMN_LABELS[k]) for k in missing)
                raise _refused(_("The first row must name the columns; missing: %(names)s.", names=names))
            continue
        if len(rows) >= MAX_ROWS:
            raise _refused(_("At most %(n)d rows in one file; split it.", n=MAX_ROWS))
        row: dict[str, str] = {}
        for key, cell in zip(header, cells, strict=False):
            if key is not None and key not in row:
                row[key] = cell
        rows.append(Row(line, row))
    if header is None or not rows:
        raise _refused(_("The file has no rows under its header."))
    return rows


def bad_cell(value: str) -> str | None:
    """Why a cell's text cannot be taken, or None."""
    if has_control_characters(value, multiline=False):
        return _("This text contains characters that are not allowed.")
    if len(value) > CELL_MAX:
        return _("At most %(n)d characters.", n=CELL_MAX)
    return None
