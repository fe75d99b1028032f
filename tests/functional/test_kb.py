"""The policy knowledge base through the test client: writing and publishing, validity, Chinese search (pages
and API), suggestions beside the request form, deflections on the dashboard, sanitised Markdown, and the
article made in one click from a resolved request's answer."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient

from hotline.db import utcnow
from hotline.extensions import db
from hotline.kb import services
from hotline.kb.models import KbArticle, KbDeflection
from hotline.timeutil import local_date
from tests.factories import World
from tests.functional.html import field_errors
from tests.helpers import login, post_form

EN = {"Accept-Language": "en"}


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def article(world: World, *, published: bool = True, **fields: object) -> KbArticle:
    values: dict[str, object] = {
        "title": "研发费用加计扣除政策问答",
        "body": "企业开展研发活动中实际发生的研发费用，按照实际发生额的**100%**在税前加计扣除。",
        "category": world.category.code,
        "tags": "税收，研发",
        "policy_title": "关于进一步完善研发费用税前加计扣除政策的公告",
        "policy_number": "财政部 税务总局公告2023年第7号",
        "policy_url": "https://www.chinatax.gov.cn/",
    }
    values.update(fields)
    row = services.create_article(world.liaison, services.ArticleInput(**values), utcnow())  # type: ignore[arg-type]
    if published:
        services.set_published(world.liaison, row.id, True, utcnow())
    db.session.commit()
    return row


def new_article_form(client: FlaskClient, **fields: object):  # type: ignore[no-untyped-def]
    data: dict[str, object] = {
        "language": "zh",
        "title": "高新技术企业认定条件",
        "body": "近三年研发费用占比符合要求。",
        "category": "",
        "tags": "",
        "policy_title": "",
        "policy_number": "",
        "policy_url": "",
        "valid_until": "",
    }
    data.update(fields)
    return post_form(client, "/kb/manage/new", "/kb/manage/new", data)


# --------------------------------------------------------------------------- writing and publishing


def test_a_liaison_writes_a_draft_publishes_it_and_the_public_then_finds_it(
    client: FlaskClient, world: World
) -> None:
    db.session.commit()
    login(client, world.liaison.username)
    response = new_article_form(client)
    assert response.status_code == 302
    row = db.session.scalars(db.select(KbArticle)).one()
    assert not row.published and row.owner_id == world.liaison.id

    client.post("/logout", data={})
    anonymous = client.application.test_client()
    assert anonymous.get(f"/kb/{row.id}").status_code == 404  # a draft is not public
    assert "高新技术企业认定条件" not in text(anonymous.get("/kb/"))

    page = client.get(f"/kb/{row.id}")
    assert page.status_code == 200
    response = post_form(client, f"/kb/{row.id}", f"/kb/manage/{row.id}/publish", {"published": "1"})
    assert response.status_code == 302
    assert "高新技术企业认定条件" in text(anonymous.get("/kb/"))
    assert anonymous.get(f"/kb/{row.id}").status_code == 200

    post_form(client, f"/kb/{row.id}", f"/kb/manage/{row.id}/publish", {"published": "0"})
    assert anonymous.get(f"/kb/{row.id}").status_code == 404


def test_the_form_says_what_is_wrong_next_to_the_field_and_saves_nothing(
    client: FlaskClient, world: World
) -> None:
    db.session.commit()
    login(client, world.liaison.username)
    client.get("/lang/en")
    response = new_article_form(client, title="", policy_url="javascript:alert(1)")
    assert response.status_code == 400
    html = text(response)
    assert field_errors(html, "title")
    assert "http" in " ".join(field_errors(html, "policy_url"))
    assert db.session.scalar(db.select(db.func.count()).select_from(KbArticle)) == 0


def test_an_enterprise_cannot_open_the_staff_pages_nor_change_an_article(
    client: FlaskClient, world: World
) -> None:
    row = article(world)
    login(client, world.contact.username)
    assert client.get("/kb/manage/new").status_code == 403
    assert client.get(f"/kb/manage/{row.id}/edit").status_code == 403


def test_another_liaison_may_not_edit_an_article_it_does_not_own(client: FlaskClient, world: World) -> None:
    row = article(world)
    login(client, world.other_liaison.username)
    page = client.get(f"/kb/{row.id}")
    assert page.status_code == 200 and f"/kb/manage/{row.id}/edit" not in text(page)
    response = post_form(client, f"/kb/{row.id}", f"/kb/manage/{row.id}/publish", {"published": "0"})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(KbArticle, row.id).published  # type: ignore[union-attr]


# --------------------------------------------------------------------------- validity


def test_an_article_past_its_date_is_hidden_from_the_public_and_enterprises_and_listed_for_its_owner(
    client: FlaskClient, world: World
) -> None:
    today = local_date(utcnow())
    stale = article(world, title="过期的稳岗补贴问答", valid_until=today - timedelta(days=1))
    fresh = article(world, title="有效的稳岗补贴问答", valid_until=today)

    public = client.application.test_client()
    listing = text(public.get("/kb/?q=稳岗补贴"))
    assert "有效的稳岗补贴问答" in listing and "过期的稳岗补贴问答" not in listing
    assert public.get(f"/kb/{stale.id}").status_code == 404
    assert public.get(f"/kb/{fresh.id}").status_code == 200
    assert public.get(f"/api/v1/kb/{stale.id}").status_code == 404
    assert [a["title"] for a in public.get("/api/v1/kb?q=稳岗补贴").get_json()["items"]] == [
        "有效的稳岗补贴问答"
    ]

    enterprise = client.application.test_client()
    login(enterprise, world.contact.username)
    assert enterprise.get(f"/kb/{stale.id}").status_code == 404
    assert enterprise.get("/kb/suggest?q=稳岗补贴").get_json()[0]["title"] == "有效的稳岗补贴问答"
    assert len(enterprise.get("/kb/suggest?q=稳岗补贴").get_json()) == 1

    login(client, world.liaison.username)
    client.get("/lang/en")
    manage = text(client.get("/kb/manage/"))
    review = re.search(r"kb-to-review.*?</ul>", manage, re.S)
    assert review and "过期的稳岗补贴问答" in review.group(0) and "有效的稳岗补贴问答" not in review.group(0)
    page = text(client.get(f"/kb/{stale.id}"))
    assert "Past its validity date" in page

    other = client.application.test_client()
    login(other, world.other_liaison.username)
    assert "kb-to-review" not in text(other.get("/kb/manage/"))  # listed for its owner


# --------------------------------------------------------------------------- search in Chinese


def test_search_finds_chinese_substrings_of_title_body_and_tags(client: FlaskClient, world: World) -> None:
    article(world)
    article(world, title="停车位申请指南", body="向物业提交月租车位申请。", tags="停车")
    article(world, title="英文文章", body="Parking permits", language="en")

    def titles(url: str) -> list[str]:
        return re.findall(r'class="fw-semibold">([^<]*)<', text(client.get(url)))

    assert titles("/kb/?q=加计扣除") == ["研发费用加计扣除政策问答"]  # in the title
    assert titles("/kb/?q=税前") == ["研发费用加计扣除政策问答"]  # in the body
    assert titles("/kb/?q=停") == ["停车位申请指南"]  # one character
    assert titles("/kb/?q=税收") == ["研发费用加计扣除政策问答"]  # a tag
    assert titles("/kb/?q=研发 月租") == []  # every term must match
    assert titles("/kb/?q=100%") == ["研发费用加计扣除政策问答"]  # % is a character, not a wildcard
    assert titles("/kb/?q=%25%25%25") == []
    assert client.get("/kb/?q=a%00b").status_code == 400  # refused by the app, not a 500
    assert titles("/kb/?q=，。") == []  # punctuation only: no term, nothing found
    assert titles("/kb/") == ["停车位申请指南", "研发费用加计扣除政策问答"]  # Chinese pages: Chinese articles

    api = client.get("/api/v1/kb?q=月租").get_json()
    assert api["total"] == 1 and api["items"][0]["title"] == "停车位申请指南"
    assert api["items"][0]["tags"] == ["停车"]
    assert client.get("/api/v1/kb?q=Parking&language=en").get_json()["total"] == 1
    assert client.get("/api/v1/kb?language=fr").status_code == 400
    assert client.get("/api/v1/kb?page=0").status_code == 400
    assert client.get("/api/v1/kb?q=" + "长" * 101).status_code == 400
    assert "/kb" in str(client.get("/api/v1/openapi.json").get_json()["paths"].keys())


# --------------------------------------------------------------------------- sanitising


def test_markdown_is_rendered_and_script_is_not(client: FlaskClient, world: World) -> None:
    row = article(
        world,
        body="**重点**\n\n<script>alert(1)</script>\n\n"
        "[链接](javascript:alert(2)) <img src=x onerror=alert(3)>",
    )
    html = text(client.get(f"/kb/{row.id}"))
    body = re.search(r'class="card-body kb-body">(.*?)</div>', html, re.S)
    assert body
    assert "<strong>重点</strong>" in body.group(1)
    assert "<script" not in body.group(1) and "<img" not in body.group(1)
    assert 'href="javascript' not in body.group(1)
    api = client.get(f"/api/v1/kb/{row.id}").get_json()
    assert "<script" not in api["body_html"] and "<strong>重点</strong>" in api["body_html"]


# --------------------------------------------------------------------------- deflections


def test_this_answered_my_question_records_a_deflection_counted_on_the_dashboard(
    client: FlaskClient, world: World
) -> None:
    row = article(world)
    login(client, world.contact.username)
    form = text(client.get("/portal/new"))
    assert 'id="kb-suggestions"' in form and "js/kb.js" in form
    found = client.get("/kb/suggest?q=我想问研发费用加计扣除怎么申请").get_json()
    assert [a["title"] for a in found] == ["研发费用加计扣除政策问答"]

    response = post_form(client, f"/kb/{row.id}", found[0]["deflect_url"], {})
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/")
    deflection = db.session.scalars(db.select(KbDeflection)).one()
    assert (deflection.article_id, deflection.user_id) == (row.id, world.contact.id)
    # pressed again the same day: still one request avoided, not two
    again = post_form(client, f"/kb/{row.id}", found[0]["deflect_url"], {})
    assert again.status_code == 302
    assert db.session.scalar(db.select(db.func.count()).select_from(KbDeflection)) == 1

    manager = client.application.test_client()
    login(manager, world.manager.username)
    manager.get("/lang/en")
    dashboard = text(manager.get("/manage/dashboard"))
    line = re.search(r'id="kb-deflections">(.*?)</p>', dashboard, re.S)
    assert line and "answered enterprises 1 times" in line.group(1)


def test_only_an_enterprise_records_a_deflection(client: FlaskClient, world: World) -> None:
    row = article(world)
    login(client, world.liaison.username)
    response = post_form(client, f"/kb/{row.id}", f"/kb/{row.id}/answered", {})
    assert response.status_code == 403
    assert db.session.scalar(db.select(db.func.count()).select_from(KbDeflection)) == 0


def test_a_deflection_needs_the_csrf_token(client: FlaskClient, world: World) -> None:
    row = article(world)
    login(client, world.contact.username)
    assert client.post(f"/kb/{row.id}/answered", data={}).status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(KbDeflection)) == 0


# --------------------------------------------------------------------------- one click from a resolved answer


def test_a_resolved_requests_answer_becomes_an_article_in_one_click(
    client: FlaskClient, world: World
) -> None:
    ticket = world.resolved()
    db.session.commit()
    login(client, world.liaison.username)
    detail = text(client.get(f"/tickets/{ticket.number}"))
    link = re.search(r'href="([^"]*)"[^>]*>[^<]*</a>', detail[detail.find("kb-from-answer") - 200 :])
    href = re.search(r'class="btn btn-sm btn-outline-primary kb-from-answer" href="([^"]*)"', detail)
    assert href, link
    url = href.group(1).replace("&amp;", "&")
    form = text(client.get(url))
    assert 'value="办公楼停车位不足"' in form
    assert "已协调周边停车场提供月租车位。" in form
    assert f'<option selected value="{world.category.code}"' in form or re.search(
        rf'<option[^>]*value="{world.category.code}"[^>]*selected', form
    )
    response = new_article_form(
        client,
        source_ticket=ticket.number,
        title="办公楼停车位不足怎么办",
        body="已协调周边停车场提供月租车位。",
        category=world.category.code,
    )
    assert response.status_code == 302
    row = db.session.scalars(db.select(KbArticle)).one()
    assert row.source_ticket_id == ticket.id and row.category_id == world.category.id


def test_no_article_from_an_unresolved_request_or_anothers(client: FlaskClient, world: World) -> None:
    open_ticket = world.in_progress()
    db.session.commit()
    login(client, world.liaison.username)
    assert "kb-from-answer" not in text(client.get(f"/tickets/{open_ticket.number}"))
    assert client.get(f"/kb/manage/new?from={open_ticket.number}").status_code == 404
    other = client.application.test_client()
    login(other, world.other_liaison.username)
    assert other.get(f"/kb/manage/new?from={open_ticket.number}").status_code == 404


@pytest.mark.parametrize("path", ["/kb/99999999999999999999", "/kb/0", "/api/v1/kb/123456789"])
def test_unknown_articles_answer_404(client: FlaskClient, world: World, path: str) -> None:
    assert client.get(path).status_code == 404


def test_validity_date_is_a_date(world: World) -> None:
    row = article(world, valid_until=date(2030, 1, 1))
    assert not row.expired_on(date(2030, 1, 1)) and row.expired_on(date(2030, 1, 2))


def test_suggestions_leave_out_unrelated_sentences_drafts_and_the_other_language(
    client: FlaskClient, world: World
) -> None:
    article(world)
    article(world, title="研发费用归集口径说明", published=False)
    article(world, title="R&D super deduction", body="研发费用", language="en")
    assert client.get("/kb/suggest?q=办公楼停车位不足").get_json() == []
    found = client.get("/kb/suggest?q=研发费用怎么算").get_json()
    assert [a["title"] for a in found] == ["研发费用加计扣除政策问答"]
    assert client.get("/kb/suggest?q=").get_json() == []
    assert client.get("/kb/suggest?q=%00研发费用").status_code == 400  # the app refuses a NUL, no 500


def test_the_owner_edits_an_article_and_the_change_is_public(client: FlaskClient, world: World) -> None:
    row = article(world)
    login(client, world.liaison.username)
    page = text(client.get(f"/kb/manage/{row.id}/edit"))
    assert 'value="研发费用加计扣除政策问答"' in page
    response = post_form(
        client,
        f"/kb/manage/{row.id}/edit",
        f"/kb/manage/{row.id}/edit",
        {
            "language": "zh",
            "title": "研发费用加计扣除（2026年版）",
            "body": "按实际发生额的100%加计扣除。",
            "category": world.category.code,
            "tags": "税收",
            "policy_title": "",
            "policy_number": "",
            "policy_url": "",
            "valid_until": "2030-12-31",
        },
    )
    assert response.status_code == 302
    public = client.application.test_client()
    assert "研发费用加计扣除（2026年版）" in text(public.get(f"/kb/{row.id}"))
    assert "2030-12-31" in text(public.get(f"/kb/{row.id}"))
