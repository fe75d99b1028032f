"""常用回复 (issue 13, point 5) through the test client: the templates' pages, who sees which, the picker on a
request's page filled for that request, the fallback without script, and the API."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient

from hotline.db import utcnow
from hotline.extensions import db
from hotline.replies import services
from hotline.replies.models import ReplyTemplate
from hotline.replies.placeholders import fill
from hotline.tickets.models import Ticket
from tests import factories
from tests.factories import World
from tests.functional.html import field_errors
from tests.functional.test_api import Api
from tests.helpers import login as log_in
from tests.helpers import post_form

EN = {"Accept-Language": "en"}


def login(client: FlaskClient, username: str) -> None:
    """Logged in, reading English (the texts asserted are the English ones)."""
    log_in(client, username)
    client.get("/lang/en")


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def template(owner, title: str, body: str, **kwargs: object) -> ReplyTemplate:  # type: ignore[no-untyped-def]
    row = services.create_template(owner, utcnow(), title=title, body=body, **kwargs)
    db.session.commit()
    return row


def options(page: str, name: str) -> list[tuple[str, str]]:
    """The (title, inserted text) of each template offered for the form ``name`` of a request's page."""
    match = re.search(rf'<select[^>]*id="template-{name}"[^>]*>(.*?)</select>', page, re.S)
    assert match, f"no template picker for {name!r}"
    found = re.findall(r'<option value="\d+" data-text="([^"]*)">([^<]*)</option>', match.group(1))
    return [(html.unescape(title).strip(), html.unescape(body)) for body, title in found]


@pytest.fixture
def ticket(world: World) -> Ticket:
    row = world.in_progress()
    db.session.commit()
    return row


# --------------------------------------------------------------------------- placeholders


def test_placeholders_are_filled_once_and_unknown_ones_stay() -> None:
    values = {"enterprise": "{number} 公司", "number": "QH20261204-0001", "title": "停车"}
    assert fill("尊敬的{企业名称}：您的诉求{诉求编号}（{title}）已受理。{未知}", values) == (
        "尊敬的{number} 公司：您的诉求QH20261204-0001（停车）已受理。{未知}"
    )
    assert fill("{enterprise} / {number} / {{number}}", values) == (
        "{number} 公司 / QH20261204-0001 / {QH20261204-0001}"
    )


# --------------------------------------------------------------------------- who sees which


def test_personal_templates_are_their_owners_and_shared_ones_everyones(
    client: FlaskClient, world: World
) -> None:
    mine = template(world.liaison, "我的停车答复", "您好，{企业名称}")
    shared = template(world.manager, "统一政策答复", "请参阅政策文件", shared=True)

    login(client, world.liaison.username)
    page = text(client.get("/replies", headers=EN))
    assert "我的停车答复" in page and "统一政策答复" in page
    assert f'href="/replies/{mine.id}/edit"' in page
    assert f'href="/replies/{shared.id}/edit"' not in page  # shared: a manager's to edit
    assert client.get(f"/replies/{shared.id}/edit").status_code == 403

    other = client.application.test_client()
    login(other, world.other_liaison.username)
    page = text(other.get("/replies"))
    assert "我的停车答复" not in page and "统一政策答复" in page
    assert other.get(f"/replies/{mine.id}/edit").status_code == 404
    response = post_form(other, "/replies", f"/replies/{mine.id}/archive", {})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(ReplyTemplate, mine.id).archived_at is None

    dept = client.application.test_client()
    login(dept, world.department_user.username)
    page = text(dept.get("/replies"))
    assert "统一政策答复" in page and "我的停车答复" not in page


def test_an_enterprise_has_no_templates(client: FlaskClient, world: World, ticket: Ticket) -> None:
    shared = template(world.manager, "统一政策答复", "请参阅政策文件", shared=True)
    login(client, world.contact.username)
    assert client.get("/replies").status_code == 403
    assert client.get(f"/replies/{shared.id}/edit").status_code == 403
    page = text(client.get(f"/tickets/{ticket.number}?template={shared.id}&into=reply"))
    assert "统一政策答复" not in page and "请参阅政策文件" not in page
    assert "replies.js" not in page
    api = Api(client, world.contact)
    assert api.get("/reply-templates").status_code == 403
    assert api.get(f"/reply-templates?ticket={ticket.number}").status_code == 403


# --------------------------------------------------------------------------- the pages


def test_a_liaison_writes_edits_and_archives_its_template(client: FlaskClient, world: World) -> None:
    login(client, world.liaison.username)
    form = text(client.get("/replies/new", headers=EN))
    assert "{enterprise}" in form and "{企业名称}" in form  # the placeholders are explained
    assert 'name="shared"' not in form  # a liaison's templates are its own

    refused = post_form(client, "/replies/new", "/replies/new", {"title": "", "body": "长" * 5001})
    assert refused.status_code == 400
    assert field_errors(text(refused), "title") and field_errors(text(refused), "body")
    assert db.session.query(ReplyTemplate).count() == 0

    done = post_form(
        client,
        "/replies/new",
        "/replies/new",
        {"title": "停车答复", "body": "您好，{企业名称}", "category": world.category.code, "shared": "y"},
    )
    assert done.status_code == 302
    row = db.session.query(ReplyTemplate).one()
    assert (row.title, row.shared, row.category_id) == ("停车答复", False, world.category.id)

    edited = post_form(
        client, f"/replies/{row.id}/edit", f"/replies/{row.id}/edit", {"title": "停车答复二", "body": "新"}
    )
    assert edited.status_code == 302
    assert "停车答复二" in text(client.get("/replies"))

    archived = post_form(client, "/replies", f"/replies/{row.id}/archive", {})
    assert archived.status_code == 302
    assert "停车答复二" not in text(client.get("/replies"))
    assert client.get(f"/replies/{row.id}/edit").status_code == 404


def test_a_manager_shares_a_template(client: FlaskClient, world: World) -> None:
    login(client, world.manager.username)
    done = post_form(
        client, "/replies/new", "/replies/new", {"title": "统一答复", "body": "正文", "shared": "y"}
    )
    assert done.status_code == 302
    assert db.session.query(ReplyTemplate).one().shared is True


def test_the_navigation_leads_staff_to_their_templates(client: FlaskClient, world: World) -> None:
    login(client, world.liaison.username)
    assert 'href="/replies"' in text(client.get("/replies"))


# --------------------------------------------------------------------------- the request's page


def test_the_request_page_offers_the_templates_filled_for_reply_and_answer(
    client: FlaskClient, world: World, ticket: Ticket
) -> None:
    world.enterprise.name = '<b id="x">恶意</b>{诉求编号}'
    other_category = factories.category()
    template(world.liaison, "其他类别", "其他", category=other_category.code)
    template(world.manager, "通用答复", "已收到{诉求编号}", shared=True)
    template(
        world.liaison, "本类答复", "尊敬的{企业名称}：诉求{number}已办结。", category=world.category.code
    )
    template(world.other_liaison, "别人的", "别人的答复")

    login(client, world.liaison.username)
    page = text(client.get(f"/tickets/{ticket.number}", headers=EN))
    expected = [
        (
            f"本类答复 · {world.category.name_en}",
            f'尊敬的<b id="x">恶意</b>{{诉求编号}}：诉求{ticket.number}已办结。',
        ),
        ("通用答复 · shared", f"已收到{ticket.number}"),
        (f"其他类别 · {other_category.name_en}", "其他"),
    ]
    assert options(page, "reply") == expected  # the request's category first, then any category's
    assert options(page, "resolve") == expected
    assert '<b id="x">' not in page  # the enterprise's name is text, on the facts and in the templates
    assert 'data-target="reply-body"' in page and 'data-target="resolve-answer"' in page
    assert "/static/js/replies.js" in page


def test_without_script_the_picker_fills_the_chosen_form(
    client: FlaskClient, world: World, ticket: Ticket
) -> None:
    chosen = template(world.liaison, "办结答复", "{企业名称}您好，诉求{诉求编号}已办结。")
    login(client, world.liaison.username)
    page = text(client.get(f"/tickets/{ticket.number}?template={chosen.id}&into=resolve"))
    answer = re.search(r'<textarea[^>]*id="resolve-answer"[^>]*>(.*?)</textarea>', page, re.S)
    reply = re.search(r'<textarea[^>]*id="reply-body"[^>]*>(.*?)</textarea>', page, re.S)
    assert answer and reply
    assert (
        html.unescape(answer.group(1)).strip() == f"{world.enterprise.name}您好，诉求{ticket.number}已办结。"
    )
    assert reply.group(1).strip() == ""
    # another's template, a huge or a malformed id: the page as usual
    theirs = template(world.other_liaison, "别人的", "别人的答复")
    assert client.get(f"/tickets/{ticket.number}?template=%00&into=reply").status_code == 400  # as every page
    for value in (str(theirs.id), "9" * 40, "abc", "-1"):
        response = client.get(f"/tickets/{ticket.number}?template={value}&into=reply")
        assert response.status_code == 200
        assert "别人的答复" not in text(response)


def test_no_picker_where_there_is_nothing_to_write(client: FlaskClient, world: World) -> None:
    template(world.liaison, "停车答复", "您好")
    resolved = world.resolved()
    db.session.commit()
    login(client, world.liaison.username)
    page = text(client.get(f"/tickets/{resolved.number}"))
    assert "reply-template-select" not in page


# --------------------------------------------------------------------------- the API


def test_the_api_lists_the_templates_filled_for_a_request(
    client: FlaskClient, world: World, ticket: Ticket
) -> None:
    mine = template(world.liaison, "本类答复", "{enterprise}，{诉求编号}", category=world.category.code)
    template(world.manager, "通用", "通用答复", shared=True)
    template(world.other_liaison, "别人的", "别人的答复")
    api = Api(client, world.liaison)
    items = api.get(f"/reply-templates?ticket={ticket.number}").get_json()["items"]
    assert [i["title"] for i in items] == ["本类答复", "通用"]
    assert items[0]["text"] == f"{world.enterprise.name}，{ticket.number}"
    assert items[0]["body"] == "{enterprise}，{诉求编号}"
    assert (items[0]["category"], items[0]["shared"], items[0]["may_edit"]) == (
        world.category.code,
        False,
        True,
    )
    assert items[1]["may_edit"] is False

    other = Api(client, world.other_liaison)
    assert other.get(f"/reply-templates?ticket={ticket.number}").status_code == 404  # not its request
    assert other.get("/reply-templates?ticket=%00").status_code == 404
    assert [i["title"] for i in other.get("/reply-templates").get_json()["items"]] == ["通用", "别人的"]
    assert (
        other.client.put(
            f"/api/v1/reply-templates/{mine.id}", json={"title": "x", "body": "y"}, headers=other.headers
        ).status_code
        == 404
    )
    assert other.client.delete(f"/api/v1/reply-templates/{mine.id}", headers=other.headers).status_code == 404

    openapi = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/reply-templates" in openapi["paths"]


def test_the_api_creates_changes_and_archives(client: FlaskClient, world: World) -> None:
    api = Api(client, world.liaison)
    refused = api.post("/reply-templates", {"title": "", "body": 3, "category": "nope"})
    assert refused.status_code == 400
    assert set(refused.get_json()["error"]["fields"]) >= {"body"}
    refused = api.post("/reply-templates", {"title": "", "body": "正文", "category": "nope"})
    assert set(refused.get_json()["error"]["fields"]) == {"title", "category"}
    assert api.post("/reply-templates", {"title": "t", "body": "b", "shared": True}).status_code == 403
    assert db.session.query(ReplyTemplate).count() == 0

    created = api.post("/reply-templates", {"title": "停车", "body": "您好"})
    assert created.status_code == 201
    key = created.get_json()["id"]
    changed = client.put(
        f"/api/v1/reply-templates/{key}", json={"title": "停车二", "body": "您好"}, headers=api.headers
    )
    assert changed.status_code == 200 and changed.get_json()["title"] == "停车二"
    assert (
        client.put(
            f"/api/v1/reply-templates/{2**70}", json={"title": "a", "body": "b"}, headers=api.headers
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/reply-templates/{key}", headers=api.headers).status_code == 204
    assert api.get("/reply-templates").get_json()["items"] == []

    shared = Api(client, world.manager).post(
        "/reply-templates", {"title": "统一", "body": "b", "shared": True}
    )
    assert shared.status_code == 201
    assert (
        client.delete(f"/api/v1/reply-templates/{shared.get_json()['id']}", headers=api.headers).status_code
        == 403
    )


def test_a_liaison_answers_from_the_knowledge_base_in_two_clicks(
    client: FlaskClient, world: World, ticket: Ticket
) -> None:
    """The published articles of the request's category are offered with the templates: choosing one puts
    its answer, the policy it rests on and its address in the form (here through the picker's no-script
    path); an article of another category, or not published, is not offered."""
    from tests.functional.test_kb import article

    offered = article(world)
    article(world, title="草稿文章", published=False)
    article(world, title="别的类别", category=factories.category().code)
    login(client, world.liaison.username)
    page = text(client.get(f"/tickets/{ticket.number}"))
    group = re.search(r'<optgroup label="From the policy knowledge base">(.*?)</optgroup>', page, re.S)
    assert group and f'value="kb-{offered.id}"' in group.group(1)
    assert "草稿文章" not in group.group(1) and "别的类别" not in group.group(1)
    filled = text(client.get(f"/tickets/{ticket.number}?template=kb-{offered.id}&into=reply"))
    body = re.search(r'<textarea[^>]*id="reply-body"[^>]*>(.*?)</textarea>', filled, re.S)
    assert body is not None
    answer = html.unescape(body.group(1))
    assert "研发费用" in answer and "财政部 税务总局公告2023年第7号" in answer
    assert f"/kb/{offered.id}" in answer
