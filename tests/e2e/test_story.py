"""The whole story in a real Chromium against a live server.

Register, submit, dispatch, acknowledge, resolve, rate.

Screenshots of each page are saved in test-artifacts/.
"""

from __future__ import annotations

import re

import pytest

from hotline.enterprises.uscc import make
from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e
DEMO_PASSWORD = "demo-pass-2026"


def log_in(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:2000]


def act(page, action: str, fields: dict[str, str] | None = None) -> None:  # type: ignore[no-untyped-def]
    """Fill and submit the action form of the request detail page whose action URL ends with ``action``."""
    form = page.locator(f'form[action$="/{action}"]')
    for name, value in (fields or {}).items():
        form.locator(f'[name="{name}"]').fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def state_of(page) -> str:  # type: ignore[no-untyped-def]
    return str(page.locator("h1 .state-badge").first.get_attribute("data-state"))


def test_enterprise_to_rating(live_server: str, new_page) -> None:  # type: ignore[no-untyped-def]
    base = live_server

    # 1. An enterprise registers itself (Chinese is the default language).
    enterprise = new_page("zh-CN")
    enterprise.goto(base + "/register")
    assert enterprise.locator("html").get_attribute("lang") == "zh-CN"
    shot(enterprise, "01-register")
    enterprise.fill(
        "#uscc", "91110105MA0" + "1234"
    )  # 15 characters: refused with a message next to the field
    enterprise.fill("#name", "北京测试浏览器科技有限公司")
    enterprise.select_option("#building", index=1)
    enterprise.fill("#contact_name", "王经理")
    enterprise.fill("#phone", "13911112222")
    enterprise.fill("#username", "browser-ent")
    enterprise.fill("#password", "browser-pass-2026")
    enterprise.fill("#confirm", "browser-pass-2026")
    enterprise.click("main form button[type=submit]")
    assert enterprise.locator(".field-uscc .invalid-feedback").count() == 1
    shot(enterprise, "02-register-bad-uscc")
    enterprise.fill("#uscc", make("91110105MA01B2C3D"))
    enterprise.fill("#password", "browser-pass-2026")
    enterprise.fill("#confirm", "browser-pass-2026")
    enterprise.click("main form button[type=submit]")
    enterprise.wait_for_url(re.compile(r"/portal/"))
    shot(enterprise, "03-portal-empty")

    # 2. It files a request.
    enterprise.goto(base + "/portal/new")
    enterprise.select_option("#category", index=1)
    enterprise.fill("#title", "园区夜间照明不足")
    enterprise.fill("#description", "园区东侧道路夜间照明不足，员工下班存在安全隐患，请协调物业加装路灯。")
    enterprise.fill("#contact_phone", "13911112222")
    shot(enterprise, "04-new-request")
    enterprise.click("main form button[type=submit]")
    enterprise.wait_for_load_state()
    shot(enterprise, "04b-after-submit")
    enterprise.wait_for_url(re.compile(r"/tickets/QH\d{8}-\d{4}$"))
    number = enterprise.url.rsplit("/", 1)[1]
    assert state_of(enterprise) == "submitted"
    shot(enterprise, "05-request-submitted")

    # 3. A manager dispatches it from the pool to a liaison.
    manager = new_page("zh-CN")
    log_in(manager, base, "manager")
    manager.goto(base + "/manage/pool")
    assert manager.locator(f"text={number}").count() >= 1
    shot(manager, "06-dispatch-pool")
    manager.goto(f"{base}/tickets/{number}")
    manager.locator('form[action$="/assign"] select[name="liaison"]').select_option("liaison1")
    manager.locator('form[action$="/assign"] button[type=submit]').click()
    manager.wait_for_load_state()

    # 4. The liaison acknowledges, replies and resolves.
    liaison = new_page("zh-CN")
    log_in(liaison, base, "liaison1")
    liaison.goto(base + "/workbench/")
    assert liaison.locator(f"text={number}").count() >= 1
    shot(liaison, "07-workbench")
    liaison.goto(f"{base}/tickets/{number}")
    assert state_of(liaison) == "assigned"
    act(liaison, "acknowledge")
    assert state_of(liaison) == "in_progress"
    act(liaison, "note", {"body": "已联系园区物业，预计本周内完成。"})
    act(liaison, "resolve", {"answer": "已协调物业在东侧道路加装6盏路灯，今晚起启用。"})
    assert state_of(liaison) == "resolved"
    shot(liaison, "08-liaison-resolved")

    # 5. The enterprise sees the answer (not the internal note) and rates it.
    enterprise.goto(f"{base}/tickets/{number}")
    assert state_of(enterprise) == "resolved"
    body = enterprise.content()
    assert "加装6盏路灯" in body
    assert "预计本周内完成" not in body
    enterprise.locator('form[action$="/rate"] input[value="satisfied"]').check()
    enterprise.locator('form[action$="/rate"] button[type=submit]').click()
    enterprise.wait_for_load_state()
    assert state_of(enterprise) == "closed"
    shot(enterprise, "09-rated-closed")

    # 6. The same page in English.
    enterprise.goto(f"{base}/lang/en?next=/tickets/{number}")
    assert enterprise.locator("html").get_attribute("lang") == "en"
    assert enterprise.locator("text=Log out").count() == 1
    shot(enterprise, "10-request-english")


def test_api_token_and_list(live_server: str, new_page) -> None:  # type: ignore[no-untyped-def]
    """The API answers a browser-side client too (same origin, bearer token)."""
    page = new_page()
    page.goto(live_server + "/login")
    token = page.evaluate(
        """async () => {
            const r = await fetch('/api/v1/tokens', {method: 'POST',
                                  headers: {'Content-Type': 'application/json'},
                                  body: JSON.stringify({username: 'ent1', password: 'demo-pass-2026'})});
            return (await r.json()).token;
        }"""
    )
    assert token
    listing = page.evaluate(
        """async (token) => {
            const r = await fetch('/api/v1/tickets', {headers: {Authorization: 'Bearer ' + token}});
            return await r.json();
        }""",
        token,
    )
    assert listing["total"] > 0
    assert all(item["enterprise"]["name"] for item in listing["items"])
