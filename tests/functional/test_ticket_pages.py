"""The request pages, driven through the test client with real forms and CSRF on."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import func, select

from hotline.db import utcnow
from hotline.extensions import db
from hotline.tickets import services
from hotline.tickets.models import Channel, EventKind, Ticket, TicketEvent, TicketState
from tests.factories import World
from tests.functional.html import field_errors
from tests.helpers import login, post_form


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def reload(ticket: Ticket) -> Ticket:
    db.session.expire_all()
    row = db.session.get(Ticket, ticket.id)
    assert row is not None
    return row


def count_tickets() -> int:
    return db.session.scalar(select(func.count(Ticket.id))) or 0


def act(
    client: FlaskClient, ticket: Ticket, action: str, data: dict[str, object] | None = None, query: str = ""
):  # type: ignore[no-untyped-def]
    page = f"/tickets/{ticket.number}"
    return post_form(client, page, f"{page}/{action}{query}", data or {})


def follow(client: FlaskClient, response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, text(response)[:2000]
    page = client.get(response.location)
    assert page.status_code == 200
    return text(page)


def submission(world: World, **fields: object) -> dict[str, object]:
    data: dict[str, object] = {
        "category": world.category.code,
        "title": "园区门口道路破损",
        "description": "大门口道路坑洼，车辆通行困难。",
        "urgency": "urgent",
        "contact_phone": "13900139000",
    }
    data.update(fields)
    return data


def commit(value):  # type: ignore[no-untyped-def]
    db.session.commit()
    return value


# --------------------------------------------------------------------------- the enterprise


def test_enterprise_files_a_request_and_finds_it_in_its_list_and_detail(client, world):  # type: ignore[no-untyped-def]
    login(client, world.contact.username)
    form = text(client.get("/portal/new"))
    assert world.category.name in form  # Chinese name by default

    response = post_form(client, "/portal/new", "/portal/new", submission(world))
    ticket = db.session.scalars(select(Ticket)).one()
    assert response.location.endswith(f"/tickets/{ticket.number}")
    detail = follow(client, response)
    assert ticket.number in detail and "园区门口道路破损" in detail and "大门口道路坑洼" in detail
    assert "alert-success" in detail
    assert ticket.channel == Channel.WEB and ticket.contact_phone == "13900139000"

    listing = text(client.get("/portal/"))
    assert ticket.number in listing and "园区门口道路破损" in listing
    assert 'data-state="submitted"' in listing


def test_contact_phone_is_prefilled_and_categories_follow_the_language(client, world, app):  # type: ignore[no-untyped-def]
    world.contact.phone = "13711112222"
    db.session.commit()
    login(client, world.contact.username)
    assert 'value="13711112222"' in text(client.get("/portal/new"))
    client.get("/lang/en")
    assert world.category.name_en in text(client.get("/portal/new"))


def test_a_bad_submission_shows_each_error_by_its_field_and_saves_nothing(client, world):  # type: ignore[no-untyped-def]
    login(client, world.contact.username)
    response = post_form(
        client, "/portal/new", "/portal/new", submission(world, title="  ", contact_phone="12ab")
    )
    assert response.status_code == 400
    html = text(response)
    assert field_errors(html, "title") == ["此项为必填项。"]  # pages speak Chinese by default
    assert field_errors(html, "contact_phone")
    assert field_errors(html, "description") == []
    assert 'value="12ab"' in html  # what was typed is kept
    assert count_tickets() == 0


def test_another_enterprise_gets_404_and_never_sees_internal_notes(client, world):  # type: ignore[no-untyped-def]
    ticket = world.in_progress()
    services.add_note(ticket.id, world.liaison, "内部：需协调交通大队", utcnow())
    commit(ticket)

    login(client, world.other_contact.username)
    assert client.get(f"/tickets/{ticket.number}").status_code == 404
    assert ticket.number not in text(client.get("/portal/"))
    response = post_form(
        client, "/portal/", f"/tickets/{ticket.number}/add_information", {"body": "我来插一句"}
    )
    assert response.status_code == 404

    owner = client.application.test_client()
    login(owner, world.contact.username)
    page = text(owner.get(f"/tickets/{ticket.number}"))
    assert "内部：需协调交通大队" not in page
    assert 'class="internal"' not in page

    staff = client.application.test_client()
    login(staff, world.liaison.username)
    page = text(staff.get(f"/tickets/{ticket.number}"))
    assert re.search(r'<li class="internal" data-kind="noted">.*?内部：需协调交通大队', page, re.S)


def test_enterprise_adds_information_and_withdraws(client, world):  # type: ignore[no-untyped-def]
    ticket = commit(world.submit())
    login(client, world.contact.username)
    page = follow(client, act(client, ticket, "add_information", {"body": "补充：破损约5平方米"}))
    assert "补充：破损约5平方米" in page
    follow(client, act(client, ticket, "withdraw", {"reason": "已自行解决"}))
    assert reload(ticket).state == TicketState.WITHDRAWN
    page = text(client.get(f"/tickets/{ticket.number}"))
    assert 'id="action-withdraw"' not in page and 'id="action-info"' not in page


def test_dissatisfied_rating_needs_a_comment_then_reopens(client, world):  # type: ignore[no-untyped-def]
    ticket = commit(world.resolved())
    login(client, world.contact.username)
    page = text(client.get(f"/tickets/{ticket.number}"))
    assert "已协调周边停车场提供月租车位。" in page  # the answer
    assert 'id="action-rate"' in page

    response = act(client, ticket, "rate", {"score": "dissatisfied", "comment": ""})
    assert response.status_code == 400
    assert field_errors(text(response), "comment") == ["此项为必填项。"]
    assert reload(ticket).state == TicketState.RESOLVED

    page = follow(client, act(client, ticket, "rate", {"score": "dissatisfied", "comment": "车位太远"}))
    ticket = reload(ticket)
    assert ticket.state == TicketState.IN_PROGRESS and ticket.reopen_count == 1
    assert "车位太远" in page and 'data-kind="reopened"' in page


def test_satisfied_rating_closes_and_is_shown(client, world):  # type: ignore[no-untyped-def]
    ticket = commit(world.resolved())
    login(client, world.contact.username)
    page = follow(client, act(client, ticket, "rate", {"score": "satisfied", "comment": ""}))
    assert reload(ticket).state == TicketState.CLOSED
    assert re.search(r'class="card mb-3 ticket-rating">.*?<strong>满意</strong>', page, re.S)


# --------------------------------------------------------------------------- the liaison


def test_liaison_works_a_request_through_the_pages(client, world):  # type: ignore[no-untyped-def]
    ticket = world.submit()
    commit(services.assign(ticket.id, world.manager, world.liaison.username, utcnow()))
    login(client, world.liaison.username)

    workbench = text(client.get("/workbench/"))
    assert ticket.number in workbench

    page = follow(client, act(client, ticket, "acknowledge"))
    assert reload(ticket).state == TicketState.IN_PROGRESS and 'data-kind="acknowledged"' in page

    follow(client, act(client, ticket, "reply", {"body": "已联系市政部门"}))
    follow(client, act(client, ticket, "note", {"body": "市政电话 12319"}))
    page = follow(
        client, act(client, ticket, "transfer", {"department": world.department.code, "note": "请协助"})
    )
    assert reload(ticket).department_id == world.department.id
    assert world.department.name in page

    page = follow(client, act(client, ticket, "handback", {"body": "收回自办"}))
    assert reload(ticket).department_id is None

    page = follow(client, act(client, ticket, "resolve", {"answer": "道路已修复"}))
    ticket = reload(ticket)
    assert ticket.state == TicketState.RESOLVED and ticket.answer == "道路已修复"
    kinds = [e.kind for e in ticket.events]
    assert kinds[-6:] == [
        EventKind.ACKNOWLEDGED,
        EventKind.REPLIED,
        EventKind.NOTED,
        EventKind.TRANSFERRED,
        EventKind.HANDED_BACK,
        EventKind.RESOLVED,
    ]


def test_empty_reply_is_refused_by_the_field(client, world):  # type: ignore[no-untyped-def]
    ticket = commit(world.in_progress())
    login(client, world.liaison.username)
    response = act(client, ticket, "reply", {"body": " "})
    assert response.status_code == 400
    assert field_errors(text(response), "body") == ["此项为必填项。"]
    assert db.session.scalar(select(func.count()).where(TicketEvent.kind == EventKind.REPLIED)) == 0


def test_an_illegal_action_is_refused_with_its_reason(client, world):  # type: ignore[no-untyped-def]
    ticket = commit(world.in_progress())
    login(client, world.liaison.username)
    response = act(client, ticket, "acknowledge")
    page = follow(client, response)
    assert "alert-danger" in page and "处于“办理中”状态的诉求不能签收。" in page
    assert reload(ticket).state == TicketState.IN_PROGRESS
    assert [e.kind for e in ticket.events].count(EventKind.ACKNOWLEDGED) == 1


def test_liaison_not_assigned_cannot_act_and_unknown_action_is_404(client, world):  # type: ignore[no-untyped-def]
    ticket = commit(world.in_progress())
    login(client, world.other_liaison.username)
    assert client.get(f"/tickets/{ticket.number}").status_code == 404
    assigned = client.application.test_client()
    login(assigned, world.liaison.username)
    assert act(assigned, ticket, "explode").status_code == 404


def test_liaison_records_a_phone_request_for_an_enterprise_it_covers(client, world):  # type: ignore[no-untyped-def]
    login(client, world.liaison.username)
    form = text(client.get("/workbench/record"))
    assert world.enterprise.uscc in form
    assert world.other_enterprise.uscc not in form  # not in a building the liaison covers

    data = submission(world, enterprise_uscc=world.enterprise.uscc, channel="phone")
    page = follow(client, post_form(client, "/workbench/record", "/workbench/record", data))
    ticket = db.session.scalars(select(Ticket)).one()
    assert ticket.channel == Channel.PHONE and ticket.enterprise_id == world.enterprise.id
    assert ticket.number in page

    data = submission(world, enterprise_uscc=world.other_enterprise.uscc, channel="")
    response = post_form(client, "/workbench/record", "/workbench/record", data)
    assert response.status_code == 400
    html = text(response)
    assert field_errors(html, "enterprise_uscc") and field_errors(html, "channel")
    assert count_tickets() == 1


def test_workbench_tabs_count_by_state_and_filter(client, world):  # type: ignore[no-untyped-def]
    first = world.in_progress()
    second = world.submit()
    services.assign(second.id, world.manager, world.liaison.username, utcnow())
    resolved = world.resolved()
    db.session.commit()
    login(client, world.liaison.username)
    page = text(client.get("/workbench/"))
    assert re.search(r"办理中 <span[^>]*>1</span>", page)
    assert re.search(r"全部 <span[^>]*>3</span>", page)
    # open ones first: the resolved request comes last
    assert page.index(first.number) < page.index(resolved.number)
    assert page.index(second.number) < page.index(resolved.number)
    filtered = text(client.get("/workbench/?state=assigned"))
    assert second.number in filtered and first.number not in filtered.split("<tbody>")[1]


# --------------------------------------------------------------------------- the department


def test_department_replies_and_hands_back(client, world):  # type: ignore[no-untyped-def]
    ticket = world.in_progress()
    commit(services.transfer(ticket.id, world.liaison, world.department.code, utcnow()))
    login(client, world.department_user.username)
    assert ticket.number in text(client.get("/department/"))

    page = follow(client, act(client, ticket, "reply", {"body": "我局已派人勘察"}))
    assert "我局已派人勘察" in page
    response = act(client, ticket, "handback", {"body": "属街道职责"})
    assert response.status_code == 302
    assert reload(ticket).department_id is None
    # the request left the department's sight: back to its queue, and the request now answers 404
    assert response.location.endswith("/")
    assert client.get(f"/tickets/{ticket.number}").status_code == 404


# --------------------------------------------------------------------------- the manager


def test_manager_assigns_from_the_pool(client, world):  # type: ignore[no-untyped-def]
    ticket = commit(world.submit())
    login(client, world.manager.username)
    pool = text(client.get("/manage/pool"))
    assert ticket.number in pool and f"{world.liaison.name} ({world.liaison.username})" in pool

    response = post_form(
        client,
        "/manage/pool",
        f"/tickets/{ticket.number}/assign?next=pool",
        {"liaison": world.liaison.username},
    )
    assert response.location.endswith("/manage/pool")
    ticket = reload(ticket)
    assert ticket.state == TicketState.ASSIGNED and ticket.assignee_id == world.liaison.id
    assert ticket.number not in text(client.get("/manage/pool"))


def test_manager_assign_without_a_liaison_shows_the_error(client, world):  # type: ignore[no-untyped-def]
    ticket = commit(world.submit())
    login(client, world.manager.username)
    response = act(client, ticket, "assign", {"liaison": ""})
    assert response.status_code == 400
    assert field_errors(text(response), "liaison") == ["请选择一名在职的零号员工。"]


def test_manager_reviews_a_return(client, world):  # type: ignore[no-untyped-def]
    ticket = world.in_progress()
    commit(services.return_ticket(ticket.id, world.liaison, "不属于本楼宇", utcnow()))
    login(client, world.manager.username)
    assert ticket.number in text(client.get("/manage/pool"))

    response = act(client, ticket, "review_return", {"accept": "false", "note": ""})
    assert response.status_code == 400
    assert field_errors(text(response), "note")

    follow(client, act(client, ticket, "review_return", {"accept": "false", "note": "属本楼宇，请继续办理"}))
    ticket = reload(ticket)
    assert ticket.state == TicketState.IN_PROGRESS and ticket.assignee_id == world.liaison.id

    services.return_ticket(ticket.id, world.liaison, "确实不属于", utcnow())
    db.session.commit()
    follow(client, act(client, ticket, "review_return", {"accept": "true", "note": ""}))
    ticket = reload(ticket)
    assert ticket.state == TicketState.SUBMITTED and ticket.assignee_id is None


def test_all_requests_search_by_number_or_title(client, world):  # type: ignore[no-untyped-def]
    parking = world.submit(title="停车难")
    water = world.submit(title="停水通知", description="周三上午停水检修。")
    db.session.commit()
    login(client, world.manager.username)
    page = text(client.get("/manage/tickets", query_string={"q": "停车"}))
    assert parking.number in page and water.number not in page
    page = text(client.get("/manage/tickets", query_string={"q": water.number}))
    assert water.number in page and parking.number not in page
    page = text(client.get("/manage/tickets", query_string={"q": "%%"}))  # wildcards are taken literally
    assert parking.number not in page and water.number not in page


def test_pages_are_for_their_roles(client, world):  # type: ignore[no-untyped-def]
    login(client, world.contact.username)
    for url in ("/workbench/", "/workbench/record", "/department/", "/manage/pool", "/manage/tickets"):
        assert client.get(url).status_code == 403, url


def test_lists_are_paginated(client, world):  # type: ignore[no-untyped-def]
    for i in range(23):
        world.submit(title=f"诉求{i:02d}")
    db.session.commit()
    login(client, world.contact.username)
    first = text(client.get("/portal/"))
    second = text(client.get("/portal/?page=2"))
    assert first.count("<tr>") - 1 == 20  # the header row and 20 requests
    assert second.count("<tr>") - 1 == 3
    assert 'class="pagination' in first and "共 23 条" in first
    assert "诉求00" in second  # newest first: the oldest are on page 2

    manager = client.application.test_client()
    login(manager, world.manager.username)
    pool = text(manager.get("/manage/pool?page=2"))
    assert pool.count("<tr>") - 1 == 3 and "诉求00" not in pool  # the pool is oldest first
    assert manager.get("/manage/pool?page=9").status_code == 404
