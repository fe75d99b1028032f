"""Search (issue 9, point 4) on the embedded default, SQLite's FTS5 trigram index: what a user types finds
the requests they may see, by any part of number, title, description, phone or enterprise name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from hotline.db import utcnow
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.tickets import queries, search, services
from hotline.tickets.models import Ticket
from tests import factories


def _found(user, words: str) -> list[str]:  # type: ignore[no-untyped-def]
    result = queries.search(queries.visible_tickets(user), words)
    return sorted(t.number for t in db.session.scalars(result.query))


@pytest.fixture
def filed(world):  # type: ignore[no-untyped-def]
    """Three requests of the world's enterprise and one of the other enterprise."""
    parking = world.submit(
        title="办公楼停车位不足",
        description="员工停车困难，希望协调周边停车资源。",
        contact_phone="13912345678",
    )
    tax = world.submit(
        title="税务登记咨询", description="新设分公司，社保缴纳与税务登记流程。", contact_phone="021-5555"
    )
    odd = world.submit(title="满意度100%_测试", description="电梯故障。", contact_phone="13800000000")
    other = world.submit(title="其他企业的停车位问题", description="同上。", contact_phone="13700000000")
    other.enterprise_id = world.other_enterprise.id  # filed by the other enterprise
    other.building_id = world.other_enterprise.building_id
    db.session.commit()
    return {"parking": parking, "tax": tax, "odd": odd, "other": other}


def test_finds_by_any_field_chinese_substrings_included(world, filed) -> None:  # type: ignore[no-untyped-def]
    parking, tax, other = (filed[k].number for k in ("parking", "tax", "other"))
    manager = world.manager
    assert _found(manager, "停车位") == sorted([parking, other])  # title, 3 characters
    assert _found(manager, "停车") == sorted([parking, other])  # 2 characters (the vocabulary path)
    assert _found(manager, "社保") == [tax]  # 2 characters, in the description only
    assert _found(manager, "周边停车资源") == [parking]  # description
    assert _found(manager, "91234") == [parking]  # a part of the phone
    assert _found(manager, tax[-7:]) == [tax]  # a part of the number, case aside
    assert _found(manager, tax.lower()) == [tax]
    assert _found(manager, "资源") == [parking]  # the last two characters of a field
    name = world.other_enterprise.name
    assert _found(manager, name[-4:]) == [other]  # the enterprise's name
    assert _found(manager, "停水") == []


def test_every_word_must_match(world, filed) -> None:  # type: ignore[no-untyped-def]
    assert _found(world.manager, "停车 员工") == [filed["parking"].number]
    assert _found(world.manager, "  停车\t员工 ") == [filed["parking"].number]
    assert _found(world.manager, "停车 税务") == []
    company = world.enterprise.name[-4:]  # a word of the enterprise's name and one of the text
    assert _found(world.manager, f"{company} 税务") == [filed["tax"].number]


def test_wildcards_are_literal(world, filed) -> None:  # type: ignore[no-untyped-def]
    assert _found(world.manager, "0%_") == [filed["odd"].number]
    assert _found(world.manager, "%%") == []
    assert _found(world.manager, "1_0") == []
    assert _found(world.manager, '"停车"') == []  # quotes are characters too, not FTS5 syntax
    assert _found(world.manager, "停车 OR 税务") == []  # nor is OR


def test_only_within_what_the_caller_may_see(world, filed) -> None:  # type: ignore[no-untyped-def]
    parking, other = filed["parking"], filed["other"]
    assert _found(world.contact, "停车位") == [parking.number]
    assert _found(world.other_contact, "停车位") == [other.number]
    assert _found(world.liaison, "停车位") == [parking.number]  # covers the world's building only
    assert _found(world.department_user, "停车位") == []
    services.assign(parking.id, world.manager, world.liaison.username, utcnow())
    services.acknowledge(parking.id, world.liaison, utcnow())
    services.transfer(parking.id, world.liaison, world.department.code, utcnow())
    db.session.commit()
    assert _found(world.department_user, "停车位") == [parking.number]


def test_index_follows_changes(world, filed) -> None:  # type: ignore[no-untyped-def]
    parking = filed["parking"]
    parking.title = "办公楼充电桩不足"
    db.session.commit()
    assert parking.number not in _found(world.manager, "停车位")
    assert _found(world.manager, "充电桩") == [parking.number]
    world.other_enterprise.name = "星河电子商务有限公司"
    db.session.commit()
    assert _found(world.manager, "星河电子") == [filed["other"].number]
    db.session.execute(text("DELETE FROM tickets WHERE id = :id"), {"id": filed["odd"].id})
    assert _found(world.manager, "电梯故障") == []


def test_lists_the_newest_matches_up_to_the_limit(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    start = utcnow() - timedelta(days=1)
    numbers = [world.submit(start + timedelta(minutes=i), title=f"停车问题{i}").number for i in range(5)]
    db.session.commit()
    monkeypatch.setattr(search, "SEARCH_LIMIT", 3)
    result = queries.search(queries.visible_tickets(world.manager), "停车")
    listed = list(db.session.scalars(result.query.order_by(Ticket.created_at.desc())))
    assert [t.number for t in listed] == numbers[::-1][:3] and result.more
    result = queries.search(queries.visible_tickets(world.manager), "停车问题4")
    assert not result.more


def test_too_many_enterprise_names_is_told(world, filed, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(search, "ENTERPRISE_MATCHES_MAX", 1)
    factories.enterprise(name="测试科技有限公司X")
    result = queries.search(queries.visible_tickets(world.manager), "测试科技")
    assert result.more


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ("停", "每个词至少需要 2 个字"),
        ("停车 a", "每个词至少需要 2 个字"),
        ("aa bb cc dd ee ff", "最多 5 个词"),
        ("停" * 51, "最多 50 个字"),
    ],
)
def test_refused_searches_say_why(world, words: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as refused:
        queries.search(queries.visible_tickets(world.manager), words)
    assert message in refused.value.fields["q"]


def test_control_characters_are_spaces(world, filed) -> None:  # type: ignore[no-untyped-def]
    assert search.parse("停车\x00员工\x1b") == ("停车", "员工")
    assert _found(world.manager, "停车\x00员工") == [filed["parking"].number]
    assert search.parse("\x00\x01 ") == ()


def test_the_start_of_a_number_finds_the_numbers_that_begin_with_it(world) -> None:  # type: ignore[no-untyped-def]
    first = world.submit(title="停车位不足")
    second = world.submit(title="停车场收费")
    mention = world.submit(title="续办 QH19990101-0001 的问题")
    db.session.flush()
    prefix = first.number[:10]  # QH + the day: every request of today
    assert _found(world.manager, prefix.lower()) == sorted([first.number, second.number, mention.number])
    assert _found(world.manager, first.number) == [first.number]
    assert _found(world.manager, f"{prefix} 收费") == [second.number]
    # a title holding such a word is found by its other words, not by that one: it searches numbers
    assert _found(world.manager, "QH19990101") == []
    assert _found(world.manager, "续办") == [mention.number]
    # other words of letters and digits (a patent, a standard) are searched everywhere, as any word
    patent = world.submit(title="专利 ZL202310123456 被侵权", description="依据 GB50016 的消防验收")
    db.session.flush()
    assert _found(world.manager, "ZL202310123456") == [patent.number]
    assert _found(world.manager, "gb50016") == [patent.number]
