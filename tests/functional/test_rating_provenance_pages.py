"""Issue 11, points 2-4 through the test client: the dashboard, ``GET /api/v1/stats/summary``, the ticket JSON
and the exports show who rated, how and when, the figures beside 满意率, and the response rate with returns.

The June 2026 cohort of ``test_dashboard`` (A-K, see its docstring), plus three requests:

- L, 15 June: resolved, its rating (satisfied) recorded by the manager from a follow-up call on 18 June.
- M, 16 June: assigned 09:40 (sign by 11:40), returned at 14:00, after the deadline; the return accepted, the
  other liaison signs at once.  Late, whatever the other liaison did.
- N, 17 June: assigned 09:40, returned at 10:00, before the deadline: outside the response rate.

June: 10 received, 4 resolved (A, B, C, L); rated 4 (A, B, E by the enterprise, L by a call), latest ratings
satisfied 3 of 4 (75.0 %), first ratings 2 of 4 (B and E were dissatisfied first: 50.0 %); E reopened and
open again, so rated but not resolved: resolved and rated 3 (A, B, L), C unrated, rating rate 3 of 4 (75.0 %);
G withdrawn; signed in time 7 (A-E, K, L) of 9 judged (F never signed, M returned
late): 77.8 %.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask.testing import FlaskClient

from hotline.extensions import db
from hotline.tickets import services
from hotline.tickets.models import Ticket
from tests.functional.test_api import Api
from tests.functional.test_dashboard import (  # noqa: F401  (cohort, frozen: fixtures)
    JUNE,
    Cohort,
    as_user,
    card,
    card_value,
    cohort,
    frozen,
    listed_numbers,
    local,
    text,
)

ANSWER = "已协调解决。"


@pytest.fixture
def more(cohort: Cohort) -> dict[str, Ticket]:  # noqa: F811  (the imported fixture)
    w = cohort.world

    def assigned(filed_day: int, liaison_name: str) -> Ticket:
        ticket = w.submit(local(6, filed_day, 9, 30))
        services.assign(ticket.id, w.manager, liaison_name, local(6, filed_day, 9, 40))
        return ticket

    l_ = assigned(15, w.liaison.username)
    services.acknowledge(l_.id, w.liaison, local(6, 15, 10))
    services.resolve(l_.id, w.liaison, ANSWER, local(6, 15, 15))
    w.followed_up(l_, "satisfied", local(6, 18, 10))  # two working days after the answer, a call

    m = assigned(16, w.liaison.username)
    services.return_ticket(m.id, w.liaison, "不属于本楼宇。", local(6, 16, 14))
    services.review_return(m.id, w.manager, True, "", local(6, 16, 14, 30))
    services.assign(m.id, w.manager, w.other_liaison.username, local(6, 16, 14, 40))
    services.acknowledge(m.id, w.other_liaison, local(6, 16, 14, 45))

    n = assigned(17, w.liaison.username)
    services.return_ticket(n.id, w.liaison, "不属于本楼宇。", local(6, 17, 10))
    db.session.commit()
    return {"L": l_, "M": m, "N": n}


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_the_dashboard_shows_the_figures_beside_the_satisfaction_rate(
    client: FlaskClient,
    cohort: Cohort,  # noqa: F811
    more: dict[str, Ticket],
) -> None:
    manager = as_user(client, cohort.world.manager)
    html = text(manager.get(f"/manage/dashboard?{JUNE}"))
    assert card_value(html, "total") == "10"
    assert card_value(html, "satisfaction_rate") == "75.0%"
    assert card_value(html, "first_rating_satisfaction_rate") == "50.0%"
    assert card_value(html, "rating_rate") == "75.0%"
    assert card_value(html, "response_rate") == "77.8%"

    satisfaction = plain(card(html, "satisfaction_rate"))
    assert "Rated by the enterprise online: 3" in satisfaction
    assert "Recorded from a follow-up call: 1" in satisfaction
    assert "Withdrawn, not counted: 1" in plain(card(html, "total"))
    rating = plain(card(html, "rating_rate"))
    assert "3 resolved and rated / 4 resolved" in rating  # not the 4 rated: E is rated, reopened, open
    assert "Resolved, not rated: 1" in rating
    assert "Reopened: 1" in plain(card(html, "first_rating_satisfaction_rate"))  # B: reopened, then resolved
    response = plain(card(html, "response_rate"))
    assert "Returned after the signing deadline: 1" in response
    assert "7 in time / 9 judged" in response

    # The lists behind the new counts.
    def listed(figure: str) -> set[str]:
        page = manager.get(f"/manage/dashboard/requests?figure={figure}&{JUNE}")
        assert page.status_code == 200
        return listed_numbers(text(page))

    assert listed("returned_late") == {more["M"].number}
    assert listed("rated_by_followup") == {more["L"].number}
    assert listed("unrated") == {cohort.number("C")}
    assert listed("rated_resolved") == {more["L"].number, cohort.number("A"), cohort.number("B")}
    assert cohort.number("E") in listed("rated")


def test_the_api_summary_and_the_ticket_show_the_provenance(
    client: FlaskClient,
    cohort: Cohort,  # noqa: F811
    more: dict[str, Ticket],
) -> None:
    api = Api(client, cohort.world.manager)
    response = api.get("/stats/summary", query_string={"from": "2026-06-01", "to": "2026-06-30"})
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["satisfaction_rate"] == 0.75
    assert data["first_rating_satisfaction_rate"] == 0.5
    assert data["rating_rate"] == 0.75
    assert (data["rated"], data["rated_by_enterprise"], data["rated_by_followup"]) == (4, 3, 1)
    assert (data["unrated"], data["withdrawn"], data["reopened"]) == (1, 1, 1)
    assert data["rated_resolved"] == 3  # A, B, L; E is rated but reopened and open
    assert data["rated_resolved"] + data["unrated"] == data["resolved"]
    assert data["rated_by_enterprise"] + data["rated_by_followup"] == data["rated"]
    document = client.get("/api/v1/openapi.json").get_json()
    summary_schema = document["components"]["schemas"]["StatsSummary"]
    assert summary_schema["properties"]["rated_resolved"]["type"] == "integer"
    assert "rated_resolved" in summary_schema["required"]
    assert data["returned_late"] == 1
    assert data["response_rate"] == pytest.approx(7 / 9)

    called = api.get(f"/tickets/{more['L'].number}").get_json()
    assert called["rating"]["score"] == "satisfied"
    assert called["rating"]["source"] == "followup_call"
    assert called["rating"]["recorded_by"]["username"] == cohort.world.manager.username
    assert called["rating"]["rated_at"] == "2026-06-18T10:00:00+08:00"
    own = api.get(f"/tickets/{cohort.number('A')}").get_json()
    assert own["rating"]["source"] == "enterprise"
    assert own["rating"]["recorded_by"]["username"] == cohort.world.contact.username
    assert api.get(f"/tickets/{cohort.number('C')}").get_json()["rating"] is None

    # the enterprise sees its own ratings' provenance too
    mine = Api(client, cohort.world.contact).get(f"/tickets/{more['L'].number}").get_json()
    assert mine["rating"]["source"] == "followup_call"


def test_the_exports_say_who_rated_how_and_when(
    client: FlaskClient,
    cohort: Cohort,  # noqa: F811
    more: dict[str, Ticket],
) -> None:
    manager = as_user(client, cohort.world.manager)
    response = manager.get(f"/manage/exports/requests.csv?{JUNE}&figure=rated&lang=en")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))
    by_number = {row["Number"]: row for row in rows}
    assert set(by_number) == {more["L"].number, *(cohort.number(k) for k in "ABE")}
    called = by_number[more["L"].number]
    assert called["Rated by"] == "Follow-up call"
    assert called["Recorded by"] == cohort.world.manager.name
    assert called["Rated at"] == "2026-06-18 10:00"
    assert called["First rating"] == "Satisfied"
    reopened = by_number[cohort.number("B")]
    assert reopened["Rating"] == "Basically satisfied" and reopened["First rating"] == "Dissatisfied"
    assert reopened["Rated by"] == "The enterprise, online"
    assert reopened["Recorded by"] == cohort.world.contact.name

    response = manager.get(f"/manage/exports/figures.csv?{JUNE}&what=summary&lang=en")
    assert response.status_code == 200
    figures = dict(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))
    assert figures["Satisfaction rate"] == "75.0%"
    assert figures["Satisfaction at the first rating"] == "50.0%"
    assert figures["Rating rate"] == "75.0%"
    assert figures["Resolved and rated"] == "3"
    assert figures["Rating recorded from a follow-up call"] == "1"
    assert figures["Withdrawn, not counted"] == "1"
    assert figures["Returned after the signing deadline"] == "1"
    assert figures["Response rate"] == "77.8%"
