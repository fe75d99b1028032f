"""A district sets itself up through the API, as production runs it (gunicorn, PostgreSQL, a real Celery
worker): a street and a building added, a new liaison made its primary, an enterprise imported from a
workbook — and that enterprise's first request is routed to the new liaison by the worker."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from hotline.enterprises import uscc as uscc_codes
from tests import factories
from tests.integration.conftest import Hotline, Processes, wait_until

pytestmark = pytest.mark.integration


def _call(
    url: str,
    token: str | None,
    body: Any = None,
    *,
    method: str = "POST",
    raw: bytes | None = None,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Content-Type": content_type, "Accept-Language": "en"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"null")


def _multipart(name: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _token(base: str, username: str) -> str:
    status, body = _call(
        f"{base}/api/v1/tokens", None, {"username": username, "password": factories.PASSWORD}
    )
    assert status == 201, body
    return str(body["token"])


def test_a_building_added_and_covered_through_the_api_gets_its_first_request_routed_by_a_worker(
    hotline: Hotline, processes: Processes
) -> None:
    from hotline.auth.models import Role, User
    from hotline.extensions import db
    from hotline.tickets.models import Ticket

    processes.worker("worker", concurrency=1)
    web = processes.web("web", workers=2)
    api = f"{web.url}/api/v1"
    with hotline.app.app_context():
        newcomer = factories.user(Role.LIAISON)
        manager = db.session.get(User, hotline.district.manager_id)
        assert manager is not None
        names = (newcomer.username, manager.username)
        db.session.commit()
        db.session.remove()
    token = _token(web.url, names[1])

    status, street = _call(f"{api}/streets", token, {"code": "NEW1", "name": "新设街道"})
    assert status == 201, street
    status, building = _call(
        f"{api}/buildings", token, {"street": "NEW1", "name": "新落成大厦", "address": "新路1号"}
    )
    assert status == 201, building
    status, coverage = _call(
        f"{api}/coverage", token, {"building": building["id"], "liaison": names[0], "kind": "primary"}
    )
    assert status == 201, coverage

    code = uscc_codes.make("91310000777777777")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["统一社会信用代码", "企业名称", "楼宇", "房间号"])
    sheet.append([code, "新落成科技有限公司", "新落成大厦", "101"])
    content = io.BytesIO()
    book.save(content)
    raw, content_type = _multipart("file", "企业.xlsx", content.getvalue())
    status, report = _call(f"{api}/imports/enterprises?dry_run=0", token, raw=raw, content_type=content_type)
    assert status == 200, report
    assert report["applied"] and report["counts"]["create"] == 1

    with hotline.app.app_context():
        from hotline.enterprises.models import Enterprise

        enterprise = db.session.scalars(select(Enterprise).where(Enterprise.uscc == code)).one()
        contact = factories.enterprise_user(enterprise)
        contact_name = contact.username
        db.session.commit()
        db.session.remove()
    contact_token = _token(web.url, contact_name)
    filing = {
        "category": hotline.district.category_codes[0],
        "title": "新楼宇的第一件诉求",
        "description": "办公网络尚未接通，影响入驻。",
        "urgency": "normal",
        "contact_phone": "13800138000",
    }
    status, ticket = _call(f"{api}/tickets", contact_token, filing)
    assert status == 201, ticket

    def assignee() -> int | None:
        return hotline.scalar(select(Ticket.assignee_id).where(Ticket.number == ticket["number"]))

    newcomer_id = hotline.scalar(select(User.id).where(User.username == names[0]))
    wait_until(
        lambda: assignee() == newcomer_id,
        60,
        message=lambda: f"routed to {assignee()}, not the new liaison\n{processes.log_tails()}",
    )
    status, seen = _call(f"{api}/tickets/{ticket['number']}", _token(web.url, names[0]), method="GET")
    assert status == 200 and seen["assignee"]["username"] == names[0]
