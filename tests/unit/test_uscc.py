"""统一社会信用代码 (GB 32100-2015): what is accepted, what is refused and what the user is told."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from hotline.auth.models import User
from hotline.db import utcnow
from hotline.enterprises import services as enterprises
from hotline.enterprises import uscc
from hotline.enterprises.models import Enterprise
from hotline.errors import ValidationFailed
from hotline.extensions import db
from tests import factories

# Published codes of well-known companies (national enterprise credit publicity system).  Their check
# characters were verified by hand, independently of the module under test:
#   914403001922038216 (华为技术有限公司):
#     9·1 + 1·3 + 4·9 + 4·27 + 0·19 + 3·26 + 0·16 + 0·17 + 1·20 + 9·29 + 2·25 + 2·13 + 0·8 + 3·24 + 8·10
#     + 2·30 + 1·28 = 831;  831 mod 31 = 25;  31 − 25 = 6  → "6"
#   9144030071526726XG (深圳市腾讯计算机系统有限公司), X = 29 in the code alphabet:
#     9 + 3 + 36 + 108 + 0 + 78 + 0 + 0 + 140 + 29 + 125 + 26 + 48 + 168 + 20 + 180 + 812 = 1782;
#     1782 mod 31 = 15;  31 − 15 = 16 → "G" (the 17th character of the alphabet)
PUBLISHED = ["914403001922038216", "9144030071526726XG", "91110108558521630L", "91350100M000100Y43"]


@pytest.fixture(autouse=True)
def english(app) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


def test_alphabet_and_weights_follow_the_standard() -> None:
    assert len(uscc.ALPHABET) == 31
    assert not set("IOSVZ") & set(uscc.ALPHABET)
    # GB 32100-2015: the weight of position i is 3^i mod 31.
    assert tuple(3**i % 31 for i in range(17)) == uscc.WEIGHTS


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code: str) -> None:
    assert uscc.validate(code) == code
    assert uscc.is_valid(code)


@pytest.mark.parametrize(
    "first17", ["91110105000000001", "12100000400000624", "93310115MA1K3ABCD", "51320100500000000"]
)
def test_make_completes_a_valid_code(first17: str) -> None:
    code = uscc.make(first17)
    assert len(code) == 18
    assert code[:17] == first17
    assert uscc.validate(code) == code


def test_lower_case_and_spaces_are_normalised() -> None:
    assert uscc.validate(" 9144 0300 7152 6726xg ") == "9144030071526726XG"
    assert uscc.validate("91350100m000100y43\t") == "91350100M000100Y43"


@pytest.mark.parametrize("raw", ["", "91440300715267", "9144030071526726XG0", "9144030071526726X"])
def test_wrong_length_says_how_many_characters(raw: str) -> None:
    with pytest.raises(uscc.InvalidUSCC) as info:
        uscc.validate(raw)
    message = str(info.value)
    assert "18 characters" in message
    assert f"has {len(raw)}." in message


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_forbidden_letters_are_named(letter: str) -> None:
    valid = PUBLISHED[1]
    code = valid[:8] + letter + valid[9:]
    with pytest.raises(uscc.InvalidUSCC) as info:
        uscc.validate(code)
    message = str(info.value)
    assert f"({letter})" in message
    assert "I, O, S, V and Z" in message


def test_punctuation_is_refused_as_an_unused_character() -> None:
    with pytest.raises(uscc.InvalidUSCC) as info:
        uscc.validate("914403001922038-16")
    assert "(-)" in str(info.value)


@pytest.mark.parametrize("region", ["A10105", "11010B", "MA1K3A"])
def test_region_must_be_six_digits(region: str) -> None:
    code = uscc.make("91" + region + "000000001")
    with pytest.raises(uscc.InvalidUSCC) as info:
        uscc.validate(code)
    assert "six-digit administrative region" in str(info.value)


def test_wrong_check_character_is_explained() -> None:
    with pytest.raises(uscc.InvalidUSCC) as info:
        uscc.validate("914403001922038217")
    assert "check character is wrong" in str(info.value)


@pytest.mark.parametrize("code", [PUBLISHED[1], factories.make_uscc(123456789)])
def test_every_single_character_substitution_is_detected(code: str) -> None:
    """The check character catches any one mistyped character, at every position, whatever the typo."""
    tried = 0
    for position in range(18):
        for replacement in uscc.ALPHABET:
            if replacement == code[position]:
                continue
            typo = code[:position] + replacement + code[position + 1 :]
            assert not uscc.is_valid(typo), f"{typo} (position {position + 1}) was accepted"
            tried += 1
    assert tried == 18 * 30


def test_register_enterprise_refuses_a_wrong_code_and_saves_nothing(world) -> None:  # type: ignore[no-untyped-def]
    enterprises_before = db.session.scalar(select(func.count()).select_from(Enterprise))
    users_before = db.session.scalar(select(func.count()).select_from(User))
    with pytest.raises(ValidationFailed) as info:
        enterprises.register_enterprise(
            uscc="914403001922038217",
            name="新注册科技有限公司",
            building_id=world.building.id,
            room="1201",
            contact_name="王经理",
            username="new-contact",
            password="long-enough-password",
            email="wang@example.com",
            phone="13900139000",
            now=utcnow(),
        )
    assert set(info.value.fields) == {"uscc"}
    assert "check character is wrong" in info.value.fields["uscc"]
    assert db.session.scalar(select(func.count()).select_from(Enterprise)) == enterprises_before
    assert db.session.scalar(select(func.count()).select_from(User)) == users_before


def test_register_enterprise_normalises_the_code(world) -> None:  # type: ignore[no-untyped-def]
    contact = enterprises.register_enterprise(
        uscc="9144 0300 7152 6726xg",
        name="新注册科技有限公司",
        building_id=world.building.id,
        room="1201",
        contact_name="王经理",
        username="new-contact",
        password="long-enough-password",
        email="wang@example.com",
        phone="13900139000",
        now=utcnow(),
    )
    assert contact.enterprise is not None
    assert contact.enterprise.uscc == "9144030071526726XG"
    assert not contact.enterprise.verified
