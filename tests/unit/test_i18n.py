"""The Chinese catalog: complete for what the source says today, placeholders intact, and used by the pages.

Chinese is the default language, so an English msgid without a Chinese msgstr shows English to every user.
The messages are extracted afresh from the source (the same mapping as ``make extract-messages``), so a new
``_()`` that nobody translated fails here rather than in front of an enterprise.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from hotline.tickets.labels import state_label
from hotline.tickets.models import TicketState

ROOT = Path(__file__).resolve().parents[2]
PO_FILE = ROOT / "hotline" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
MO_FILE = PO_FILE.with_suffix(".mo")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None}  # `pybabel extract -k _l`
IGNORED_DIRS = (".*", "node_modules")  # `--ignore-dirs` of `make extract-messages`: keeps templates/_macros
# msgstrs that may stay without a Chinese character (a code, a format); none today
NOT_WORDS: set[str] = set()

# %(name)s, %(n)d, %(rate).1f … and the literal %%
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _keep_dir(dirname: str) -> bool:
    base = os.path.basename(dirname)
    return not any(fnmatch.fnmatch(base, pattern) for pattern in IGNORED_DIRS)


def _ids(message: Message) -> tuple[str, ...]:
    ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
    return tuple(str(i) for i in ids)


def _strings(message: Message) -> tuple[str, ...]:
    strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
    return tuple(s or "" for s in strings)


@pytest.fixture(scope="module")
def source_msgids() -> dict[str, str]:
    """Every singular msgid in the source, with one place it occurs."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, directory_filter=_keep_dir
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    with open(PO_FILE, "rb") as po:
        return read_po(po, locale="zh")


def test_the_extraction_sees_the_templates_and_the_macros(source_msgids):
    where = {place.split(":")[0] for place in source_msgids.values()}
    assert any(path.startswith("hotline/") for path in where)
    assert any(path.startswith("templates/") for path in where)
    # babel's default directory filter skips directories starting with "_": the macros must not be lost
    assert "Submit" in source_msgids and "Previous" in source_msgids


def test_every_message_of_the_source_has_a_chinese_translation(source_msgids, catalog):
    problems = []
    for msgid, place in sorted(source_msgids.items(), key=lambda item: item[1]):
        message = catalog.get(msgid)
        if message is None:
            problems.append(f"{place}: not in the catalog: {msgid!r}")
        elif message.fuzzy:
            problems.append(f"{place}: fuzzy: {msgid!r}")
        elif not all(s.strip() for s in _strings(message)):
            problems.append(f"{place}: no Chinese: {msgid!r}")
    assert not problems, "run `make extract-messages` and translate:\n" + "\n".join(problems)


def test_the_catalog_is_chinese(catalog):
    assert str(catalog.locale) == "zh"
    assert catalog.num_plurals == 1  # Chinese has one form: msgstr[0]
    left_in_english = [
        m.id
        for m in catalog
        if m.id and m.id not in NOT_WORDS and not any(re.search(r"[\u4e00-\u9fff]", s) for s in _strings(m))
    ]
    assert left_in_english == []


def test_every_translation_keeps_the_placeholders_of_its_msgid(catalog):
    problems = []
    for message in catalog:
        if not message.id:
            continue
        wanted = set().union(*(PLACEHOLDER.findall(i) for i in _ids(message)))
        for string in _strings(message):
            if set(PLACEHOLDER.findall(string)) != wanted:
                problems.append(f"{_ids(message)[0]!r} -> {string!r}")
            # a stray % would break the %-formatting that gettext(..., name=value) applies
            elif message.python_format and "%" in PLACEHOLDER.sub("", string).replace("%%", ""):
                problems.append(f"stray %: {string!r}")
    assert not problems, "\n".join(problems)


def test_the_compiled_catalog_matches_the_po_file(catalog):
    assert MO_FILE.exists(), "run `make translations`"
    with open(MO_FILE, "rb") as mo:
        compiled = read_mo(mo)

    def text(string: object) -> object:  # a plural's forms: a tuple from the .po file, a list from the .mo
        return tuple(string) if isinstance(string, (list, tuple)) else string

    stale = [
        m.id
        for m in catalog
        if m.id and (compiled.get(m.id) is None or text(compiled[m.id].string) != text(m.string))
    ]
    assert stale == [], "messages.mo is older than messages.po: run `make translations`"


def test_pages_are_chinese_by_default_and_english_on_request(client):
    chinese = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in chinese
    assert "登录" in chinese and "企呼我应" in chinese
    assert "Log in" not in chinese and "Password" not in chinese

    assert client.get("/lang/en").status_code == 302
    english = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "Log in" in english and "QiHu WoYing" in english
    assert "登录" not in english


def test_messages_outside_a_request_are_chinese(app):
    """Workers and the CLI speak the default language."""
    assert state_label(TicketState.RESOLVED) == "已办结（待评价）"
