"""Handover and leave names on a real PostgreSQL (issue 10): a username that no account can have (a NUL byte,
which PostgreSQL refuses in a query) is a 404, never a 500; a manager's handover moves the work there too."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.auth.models import User
from tests import factories
from tests.integration.conftest import Hotline

pytestmark = pytest.mark.integration


def _token(hotline: Hotline, user_id: int) -> dict[str, str]:
    with hotline.app.app_context():
        from hotline.extensions import db

        username = db.session.scalar(select(User.username).where(User.id == user_id))
        db.session.remove()
    answer = hotline.app.test_client().post(
        "/api/v1/tokens", json={"username": username, "password": factories.PASSWORD}
    )
    assert answer.status_code == 201, answer.get_json()
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


@pytest.mark.parametrize("username", ["a%00b", "%00", "x%01y"])
def test_a_username_with_a_nul_byte_is_not_found(hotline: Hotline, username: str) -> None:
    client, headers = hotline.app.test_client(), _token(hotline, hotline.district.manager_id)
    body = {"to": "someone", "reason": "调岗"}
    handover = client.post(f"/api/v1/users/{username}/handover", json=body, headers=headers)
    assert handover.status_code == 404, handover.get_data()
    leave = client.put(
        f"/api/v1/users/{username}/leave",
        json={"leave_from": "2099-01-01", "leave_until": "2099-01-02"},
        headers=headers,
    )
    assert leave.status_code == 404, leave.get_data()
    nul_target = client.post(
        f"/api/v1/users/{username}/handover", json={"to": "a\x00b", "reason": "x"}, headers=headers
    )
    assert nul_target.status_code in (400, 404), nul_target.get_data()
