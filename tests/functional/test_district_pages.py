"""The managers' pages of the district's setup (issue 10, points 1 and 2), submitted as forms with CSRF on."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from hotline.enterprises.models import Building, Coverage, CoverageRole, Department, Street
from hotline.extensions import db
from hotline.tickets.models import Category
from tests import factories
from tests.factories import World
from tests.functional.html import field_errors, row
from tests.functional.test_admin import english
from tests.helpers import login, post_form


def _street(code: str) -> Street:
    street = db.session.scalar(select(Street).where(Street.code == code))
    assert street is not None
    return street


def test_a_manager_adds_a_street_a_building_and_its_primary_liaison(
    client: FlaskClient, world: World
) -> None:
    login(client, world.manager.username)
    english(client)

    added = post_form(client, "/manage/streets", "/manage/streets", {"code": "JX", "name": "金星街道"})
    assert added.status_code == 302 and added.headers["Location"].endswith("/manage/streets/JX")
    page = "/manage/streets/JX"
    made = post_form(
        client,
        page,
        f"{page}/buildings",
        {"new-street": "JX", "new-name": "金星大厦", "new-address": "金星路1号"},
    )
    assert made.status_code == 302
    building = db.session.scalar(select(Building).where(Building.name == "金星大厦"))
    assert building is not None and building.street.code == "JX"
    html = client.get(page).get_data(as_text=True)
    assert 'data-covered="no"' in row(html, f"building-{building.id}")
    assert "Covered by nobody" in row(html, f"building-{building.id}")

    covered = post_form(
        client,
        page,
        f"{page}/coverage",
        {
            "cover-building": str(building.id),
            "cover-liaison": world.other_liaison.username,
            "cover-kind": "primary",
        },
    )
    assert covered.status_code == 302
    html = client.get(page).get_data(as_text=True)
    line = row(html, f"building-{building.id}")
    assert 'data-covered="yes"' in line and f'data-liaison="{world.other_liaison.username}"' in line
    # the streets list counts it, and no building of the street is left uncovered
    streets = client.get("/manage/streets").get_data(as_text=True)
    assert 'data-uncovered="0"' in row(streets, "street-JX")


def test_refusals_are_shown_next_to_their_fields_and_nothing_is_saved(
    client: FlaskClient, world: World
) -> None:
    login(client, world.manager.username)
    english(client)
    before = db.session.scalar(select(func.count()).select_from(Street))

    refused = post_form(
        client, "/manage/streets", "/manage/streets", {"code": "带 空格", "name": world.street.name}
    )
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert field_errors(html, "name") == ["Another street has this name."]
    assert field_errors(html, "code")[0].startswith("A code is 1 to 32 Latin letters")
    assert db.session.scalar(select(func.count()).select_from(Street)) == before

    page = f"/manage/streets/{world.street.code}"
    refused = post_form(client, page, f"{page}/coverage", {"cover-building": "", "cover-liaison": "nobody"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert field_errors(html, "cover-building") == ["No such building."]
    assert field_errors(html, "cover-liaison") == ["No liaison has this username."]


def test_a_second_primary_is_refused_with_who_covers_it_then_replaced(
    client: FlaskClient, world: World
) -> None:
    login(client, world.manager.username)
    english(client)
    page = f"/manage/streets/{world.street.code}"
    data = {
        "cover-building": str(world.building.id),
        "cover-liaison": world.other_liaison.username,
        "cover-kind": "primary",
    }

    refused = post_form(client, page, f"{page}/coverage", data)
    assert refused.status_code == 302  # back to the street's page, the reason above it
    html = client.get(page).get_data(as_text=True)
    assert f"already has a primary liaison, {world.liaison.name}" in html

    replaced = post_form(client, page, f"{page}/coverage", {**data, "cover-replace": "y"})
    assert replaced.status_code == 302
    line = row(client.get(page).get_data(as_text=True), f"building-{world.building.id}")
    assert f'data-kind="primary" data-liaison="{world.other_liaison.username}"' in line
    history = client.get(f"/manage/buildings/{world.building.id}").get_data(as_text=True)
    assert history.count('data-active="no"') == 1 and world.liaison.name in history


def test_ending_a_coverage_leaves_the_building_to_its_deputy_and_in_the_history(
    client: FlaskClient, world: World
) -> None:
    deputy = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    primary = db.session.scalar(
        select(Coverage).where(
            Coverage.building_id == world.building.id, Coverage.role == CoverageRole.PRIMARY
        )
    )
    assert primary is not None
    db.session.commit()
    login(client, world.manager.username)
    english(client)
    page = f"/manage/streets/{world.street.code}"

    ended = post_form(client, page, f"/manage/coverage/{primary.id}/end", {})
    assert ended.status_code == 302
    line = row(client.get(page).get_data(as_text=True), f"building-{world.building.id}")
    assert 'data-covered="deputy-only"' in line and "Covered by a deputy only" in line
    assert f'data-liaison="{deputy.username}"' in line
    db.session.expire_all()
    assert primary.active is False and primary.ended_by_id == world.manager.id


def test_a_building_is_edited_and_retired_on_its_page(client: FlaskClient, world: World) -> None:
    login(client, world.manager.username)
    english(client)
    url = f"/manage/buildings/{world.building.id}"
    refused = post_form(client, url, url, {"street": "", "name": "", "address": ""})
    assert refused.status_code == 400
    assert field_errors(refused.get_data(as_text=True), "name") == ["This field is required."]

    saved = post_form(
        client, url, url, {"street": world.street.code, "name": "改名大厦", "address": "新地址"}
    )
    assert saved.status_code == 302
    db.session.expire_all()
    assert (world.building.name, world.building.address, world.building.active) == (
        "改名大厦",
        "新地址",
        False,
    )


def test_departments_and_categories_are_added_and_edited(client: FlaskClient, world: World) -> None:
    login(client, world.manager.username)
    english(client)
    assert (
        post_form(
            client, "/manage/departments", "/manage/departments", {"code": "env", "name": "生态环境局"}
        ).status_code
        == 302
    )
    department = db.session.scalar(select(Department).where(Department.code == "env"))
    assert department is not None
    saved = post_form(
        client, "/manage/departments/env", "/manage/departments/env", {"name": "区生态环境局", "active": "y"}
    )
    assert saved.status_code == 302
    db.session.expire_all()
    assert department.name == "区生态环境局" and department.active

    made = post_form(
        client, "/manage/categories/new", "/manage/categories/new", {"code": "fin", "name": "融资服务"}
    )
    assert made.status_code == 302
    category = db.session.scalar(select(Category).where(Category.code == "fin"))
    assert category is not None and made.headers["Location"].endswith(f"/manage/categories/{category.id}")
    edit = f"/manage/categories/{category.id}"
    refused = post_form(client, edit, f"{edit}/names", {"name": world.category.name, "sort_order": "x"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert field_errors(html, "name") == ["Another category has this name."]
    assert field_errors(html, "sort_order") == ["A whole number is needed."]
    retired = post_form(client, edit, f"{edit}/names", {"name": "融资对接", "sort_order": "5"})
    assert retired.status_code == 302
    db.session.expire_all()
    assert (category.name, category.sort_order, category.active) == ("融资对接", 5, False)


def test_only_managers_reach_the_setup_pages(client: FlaskClient, world: World) -> None:
    login(client, world.liaison.username)
    for url in ("/manage/streets", f"/manage/streets/{world.street.code}", "/manage/departments"):
        assert client.get(url).status_code == 403
    manager = client.application.test_client()
    login(manager, world.manager.username)
    assert manager.get("/manage/streets/NOPE").status_code == 404
    assert manager.get("/manage/streets/%00").status_code in (400, 404)
    assert manager.get("/manage/buildings/99999999999999999999").status_code == 404


def test_a_coverage_is_moved_to_another_building_on_the_street_page(
    client: FlaskClient, world: World
) -> None:
    other = factories.building(world.street)
    deputy = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    coverage = db.session.scalar(select(Coverage).where(Coverage.liaison_id == deputy.id))
    assert coverage is not None
    db.session.commit()
    login(client, world.manager.username)
    english(client)
    page = f"/manage/streets/{world.street.code}"
    assert f"/manage/coverage/{coverage.id}/move" in client.get(page).get_data(as_text=True)

    moved = post_form(client, page, f"/manage/coverage/{coverage.id}/move", {"building": str(other.id)})
    assert moved.status_code == 302
    line = row(client.get(page).get_data(as_text=True), f"building-{other.id}")
    assert f'data-kind="deputy" data-liaison="{deputy.username}"' in line
    db.session.expire_all()
    assert coverage.active is False
    # to a building that does not exist: refused, the coverage stays where it was
    refused = post_form(client, page, f"/manage/coverage/{coverage.id}/move", {"building": "²"})
    assert refused.status_code == 302
    assert "This coverage has already ended." in client.get(page).get_data(as_text=True)
