"""The knowledge base in a real Chromium: a liaison writes and publishes an article; an enterprise typing a
request sees it beside the form (the debounced script), says it answered its question and is back on its
portal with no request filed."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import shot
from tests.e2e.test_story import log_in

pytestmark = pytest.mark.e2e


def test_an_article_answers_a_request_being_typed(new_page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    base = live_server
    liaison = new_page("zh-CN")
    log_in(liaison, base, "liaison1")
    liaison.goto(base + "/kb/manage/new")
    liaison.fill("#title", "小微企业社保补贴申领指南")
    liaison.fill("#body", "符合条件的小微企业可申领**社保补贴**，每人每月按缴费基数的一定比例补贴。")
    liaison.fill("#tags", "社保, 补贴")
    liaison.click("main form button[type=submit]")
    liaison.wait_for_load_state()
    liaison.click("main form[action$='/publish'] button")
    liaison.wait_for_load_state()
    assert liaison.locator(".kb-state .text-bg-success").count() == 1

    enterprise = new_page("zh-CN")
    log_in(enterprise, base, "ent1")
    enterprise.goto(base + "/portal/new")
    enterprise.fill("#title", "我们公司想申领社保补贴")
    suggestion = enterprise.locator(".kb-suggestion a", has_text="小微企业社保补贴申领指南")
    suggestion.wait_for(timeout=5000)
    shot(enterprise, "kb-suggestion")
    enterprise.locator(".kb-suggestion", has_text="小微企业社保补贴申领指南").locator("button").click()
    enterprise.wait_for_load_state()
    assert enterprise.url.rstrip("/").endswith("/portal")
