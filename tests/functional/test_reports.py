"""Frozen reports on the pages and through the API, and the public page's statement (issue 11, point 5)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import time_machine
from flask.testing import FlaskClient

from hotline.db import utcnow
from hotline.extensions import db
from hotline.tickets import services as tickets
from hotline.tickets.models import RatingScore
from hotline.timeutil import local_date
from tests.factories import World
from tests.functional.html import field_errors
from tests.functional.test_admin import english
from tests.functional.test_api import API, Api, error_of
from tests.helpers import login, post_form


def test_a_manager_freezes_a_period_through_the_api_and_reads_it_back(
    client: FlaskClient, world: World
) -> None:
    world.resolved()
    db.session.commit()
    today = local_date(utcnow()).isoformat()
    manager = Api(client, world.manager)

    made = client.post(f"{API}/reports", json={"from": today, "to": today}, headers=manager.headers)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert (body["from"], body["to"], body["version"], body["figures"]["total"]) == (today, today, 1, 1)
    assert body["frozen_by"]["username"] == world.manager.username and body["as_of"].endswith("+08:00")
    assert body["definitions"]["closure_rate"]["name_zh"] == "办结率"
    listed = manager.get("/reports").get_json()
    assert [r["id"] for r in listed["items"]] == [body["id"]]
    assert manager.get(f"/reports/{body['id']}").get_json()["figures"] == body["figures"]

    bad = client.post(
        f"{API}/reports",
        json={"from": "2026-02-30", "to": ["x"]},
        headers={**manager.headers, "Accept-Language": "en"},
    )
    assert set(error_of(bad, 400, "validation_failed")["fields"]) >= {"to"}
    error_of(manager.get("/reports/99999999999999999999"), 404, "not_found")
    liaison = Api(client, world.liaison)
    error_of(liaison.get("/reports"), 403, "forbidden")
    error_of(
        client.post(f"{API}/reports", json={"from": today, "to": today}, headers=liaison.headers),
        403,
        "forbidden",
    )


def test_the_reports_page_freezes_and_the_public_page_states_the_frozen_year(
    client: FlaskClient, world: World
) -> None:
    last_year = local_date(utcnow()).year - 1
    with time_machine.travel(utcnow().replace(year=last_year, month=6, day=10), tick=False):
        ticket = world.resolved()
        tickets.rate(ticket.id, world.contact, RatingScore.SATISFIED.value, "", utcnow())
    db.session.commit()
    login(client, world.manager.username)
    english(client)

    refused = post_form(client, "/manage/reports", "/manage/reports", {"start": "someday", "end": ""})
    assert refused.status_code == 400
    assert field_errors(refused.get_data(as_text=True), "start") == ["Give a day as YYYY-MM-DD."]
    frozen = post_form(
        client,
        "/manage/reports",
        "/manage/reports",
        {"start": f"{last_year}-01-01", "end": f"{last_year}-12-31"},
    )
    assert frozen.status_code == 302
    page = client.get(frozen.headers["Location"]).get_data(as_text=True)
    assert 'id="figure-satisfaction_rate"' in page and "frozen by" in page

    # a later change to that year moves the live figures, not the published ones
    with time_machine.travel(utcnow().replace(year=last_year, month=7, day=1), tick=False):
        world.submit()
    db.session.commit()
    public = client.get(f"/public/summary?year={last_year}").get_data(as_text=True)
    assert "As published: the figures of" in public and f"{last_year}-12-31" in public
    assert "satisfaction rate 100%" in public.replace("100.0%", "100%")
    assert "Of the 1 requests resolved, 1 were rated and 0 were not." in public
    definitions = client.get("/public/definitions")
    assert definitions.status_code == 200
    page = definitions.get_data(as_text=True)
    assert "满意率" in page
    # the rating rate's numerator, and both identities of the companion counts
    assert 'id="rated_resolved"' in page and "已办结已评价 + 未评价 = 办结量" in page
    assert "resolved and rated + unrated = resolved" in page
    assert "rated by the enterprise + rated from a follow-up call = rated" in page


def test_the_public_page_states_the_frozen_years_version_and_the_earlier_ones(
    client: FlaskClient, world: World
) -> None:
    from hotline.reports import services as reports

    year = local_date(utcnow()).year - 1
    start, end = f"{year}-01-01", f"{year}-12-31"
    after_year = datetime(year, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 January in Shanghai
    reports.freeze(start, end, world.manager, datetime(year, 6, 30, 2, 0, tzinfo=UTC))  # a preview in June
    first = reports.freeze(start, end, world.manager, after_year)
    db.session.commit()
    english(client)  # pages take their language from the switch (Accept-Language is the API's)
    public = plain(client.get("/public/summary").get_data(as_text=True))
    assert "As published: the figures of" in public
    # the June preview was never the year's figures: not listed as an earlier version
    assert "Version 2 of these figures." in public and "Earlier versions" not in public

    reports.freeze(start, end, world.manager, after_year + timedelta(days=2))
    reports.freeze(start, end, world.manager, after_year + timedelta(days=9))
    db.session.commit()
    html = client.get("/public/summary").get_data(as_text=True)
    public = plain(html)
    assert "Version 4 of these figures." in public
    assert (
        "Earlier versions were frozen and replaced by this one: "
        f"version 2, 截至 {year + 1}-01-01 00:30; version 3, 截至 {year + 1}-01-03 00:30." in public
    )
    # nothing private: no link to the managers' reports
    assert "/manage/reports" not in html and f"/reports/{first.id}" not in html


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_a_reports_breakdowns_are_read_in_the_readers_language(client: FlaskClient, world: World) -> None:
    world.street.name_en = "Binjiang Street"
    world.resolved()
    db.session.commit()
    today = local_date(utcnow()).isoformat()
    manager = Api(client, world.manager)
    made = client.post(f"{API}/reports", json={"from": today, "to": today}, headers=manager.headers)
    assert made.status_code == 201  # frozen by a manager reading Chinese
    report_id = made.get_json()["id"]

    def row(language: str, dimension: str) -> dict[str, object]:
        body = manager.get(f"/reports/{report_id}", headers={"Accept-Language": language}).get_json()
        (only,) = body["breakdowns"][dimension]
        return dict(only)

    category = row("en", "category")
    assert category["label"] == world.category.name_en
    assert (category["label_zh"], category["label_en"]) == (world.category.name, world.category.name_en)
    assert row("zh", "category")["label"] == world.category.name
    assert row("en", "street")["label"] == "Binjiang Street"
    channel = row("en", "channel")
    assert channel["key"] == "web" and channel["label"] == channel["label_en"] != channel["label_zh"]
    assert row("zh", "channel")["label"] == channel["label_zh"]

    document = client.get(f"{API}/openapi.json").get_json()
    assert set(document["components"]["schemas"]["FrozenBreakdownRow"]["properties"]) == {
        "key",
        "label",
        "label_zh",
        "label_en",
        "figures",
    }

    # the page, in English, names the category and the channel in English too
    login(client, world.manager.username)
    english(client)
    page = client.get(f"/manage/reports/{report_id}").get_data(as_text=True)
    assert f'<tr data-key="{world.category.code}"><td>{world.category.name_en}</td>' in page
    assert f'<tr data-key="web"><td>{channel["label_en"]}</td>' in page
    assert "<td>Binjiang Street</td>" in page


def test_a_report_frozen_with_one_label_per_row_still_shows(client: FlaskClient, world: World) -> None:
    from hotline.reports.models import FrozenReport
    from hotline.stats import queries as stats

    # the shape of issue 11's first reports: one label, in the freezing manager's language
    counts = stats.as_dict(stats.finish(stats.Figures(total=1, resolved=1)))
    counts.pop("rated_resolved")  # not a figure yet then
    old = FrozenReport(
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
        version=1,
        as_of=datetime(2026, 2, 1, 2, 0, tzinfo=UTC),
        created_by_id=world.manager.id,
        figures={"total": 1, "closure_rate": 1.0},
        breakdowns={"street": [{"key": "7", "label": "东湖街道", "figures": counts}]},
        definitions={},
    )
    db.session.add(old)
    db.session.commit()
    login(client, world.manager.username)
    english(client)
    page = client.get(f"/manage/reports/{old.id}")
    assert page.status_code == 200
    assert '<tr data-key="7"><td>东湖街道</td>' in page.get_data(as_text=True)
    body = Api(client, world.manager).get(f"/reports/{old.id}").get_json()
    assert body["breakdowns"]["street"] == [
        {
            "key": "7",
            "label": "东湖街道",
            "label_zh": None,
            "label_en": None,
            "figures": counts,
        }
    ]


def test_a_report_freezes_the_as_of_moment(world: World) -> None:
    from hotline.reports import services as reports

    now = utcnow()
    report = reports.freeze(local_date(now).isoformat(), local_date(now).isoformat(), world.manager, now)
    assert report.as_of == now
    assert reports.latest_year_report(local_date(now) + timedelta(days=400)) is None
