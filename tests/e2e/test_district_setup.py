"""A district sets itself up in a real Chromium, against a live server with a real worker: an admin makes a
liaison, a manager adds a street and a building and makes the liaison its primary, imports 20 enterprises of
that building from an .xlsx; one of them registers (a claim, as its code is already listed), the liaison
confirms it, and the request it files is routed by the worker to the new liaison."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from openpyxl import Workbook

from hotline.enterprises.uscc import make
from tests.e2e.conftest import shot
from tests.e2e.test_story import log_in

pytestmark = pytest.mark.e2e
NEW_PASSWORD = "district-setup-2026"
BUILDING = "浏览器测试大厦"


def _workbook(path: Path, codes: list[str]) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["统一社会信用代码", "企业名称", "楼宇", "房间号", "联系人", "手机"])
    for n, code in enumerate(codes):
        sheet.append(
            [
                code,
                f"浏览器导入企业{n + 1:02d}有限公司",
                BUILDING,
                f"{n + 1:02d}01",
                "赵经理",
                f"1390000{n:04d}",
            ]
        )
    book.save(path)


def test_a_district_sets_up_a_building_imports_its_enterprises_and_routes_their_first_request(
    live_system: str,
    new_page,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    base = live_system

    # 1. An admin makes the new liaison's account.
    admin = new_page("zh-CN")
    log_in(admin, base, "admin")
    admin.goto(base + "/admin/users/new")
    admin.fill("#username", "newliaison")
    admin.fill("#name", "新楼宇联络员")
    admin.select_option("#role", "liaison")
    admin.fill("#password", NEW_PASSWORD)
    admin.fill("#confirm", NEW_PASSWORD)
    admin.click("main form button[type=submit]")
    admin.wait_for_url(re.compile(r"/admin/users"))

    # 2. A manager adds a street, a building in it, and makes the liaison its primary.
    manager = new_page("zh-CN")
    log_in(manager, base, "manager")
    manager.goto(base + "/manage/streets")
    manager.fill("#code", "E2E")
    manager.fill("#name", "浏览器街道")
    manager.click('form[method=post][action$="/manage/streets"] button[type=submit]')
    manager.wait_for_url(re.compile(r"/manage/streets/E2E$"))
    manager.select_option("#new-street", "E2E")
    manager.fill("#new-name", BUILDING)
    manager.fill("#new-address", "浏览器路1号")
    manager.click('form[action$="/buildings"] button[type=submit]')
    manager.wait_for_load_state()
    row = manager.locator("table.coverage-table tr", has_text=BUILDING)
    assert row.get_attribute("data-covered") == "no"
    manager.select_option("#cover-building", label=BUILDING)
    manager.select_option("#cover-liaison", "newliaison")
    manager.click('form[action$="/coverage"] button[type=submit]')
    manager.wait_for_load_state()
    row = manager.locator("table.coverage-table tr", has_text=BUILDING)
    assert row.get_attribute("data-covered") == "yes"
    assert row.locator('[data-kind="primary"]').get_attribute("data-liaison") == "newliaison"
    shot(manager, "20-street-coverage")

    # 3. It imports the building's 20 enterprises from the district's workbook: a dry run, then one click.
    codes = [make(f"91310115E2E{n:06d}") for n in range(20)]
    path = tmp_path / "企业名单.xlsx"
    _workbook(path, codes)
    manager.goto(base + "/manage/imports")
    manager.select_option("#kind", "enterprises")
    manager.set_input_files("#file", str(path))
    manager.click('form[action$="/manage/imports"] button[type=submit]')
    manager.wait_for_url(re.compile(r"/manage/imports/\d+$"))
    assert manager.locator('.import-counts [data-action="create"]').get_attribute("data-count") == "20"
    shot(manager, "21-import-dry-run")
    manager.click("button.apply-import")
    manager.wait_for_load_state()
    assert manager.locator(".import-applied").count() == 1

    # 4. One of them registers: its code is on the list, so the registration is a claim.
    enterprise = new_page("zh-CN")
    enterprise.goto(base + "/register")
    enterprise.fill("#uscc", codes[7])
    enterprise.fill("#name", "浏览器导入企业08有限公司")
    enterprise.select_option("#building", label=f"浏览器街道 · {BUILDING}")
    enterprise.fill("#contact_name", "赵经理")
    enterprise.fill("#phone", "13900000007")
    enterprise.fill("#username", "e2e-claimant")
    enterprise.fill("#password", NEW_PASSWORD)
    enterprise.fill("#confirm", NEW_PASSWORD)
    enterprise.click("main form button[type=submit]")
    enterprise.wait_for_url(re.compile(r"/portal/"))

    # 5. The building's new liaison confirms the claim.
    liaison = new_page("zh-CN")
    log_in(liaison, base, "newliaison", NEW_PASSWORD)
    liaison.goto(base + "/enterprises/claims/")
    liaison.locator("a", has_text="浏览器导入企业08").first.click()
    liaison.wait_for_load_state()
    assert "13900000007" in liaison.locator(".listed-contact").inner_text()
    liaison.check('input[name="decision"][value="confirm"]')
    liaison.click("form.claim-decision button[type=submit]")
    liaison.wait_for_load_state()

    # 6. The enterprise files its first request; the worker routes it to the new liaison.
    enterprise.goto(base + "/portal/new")
    enterprise.select_option("#category", index=1)
    enterprise.fill("#title", "新楼宇网络未接通")
    enterprise.fill("#description", "入驻新楼宇后办公网络尚未接通，影响正常办公，请协调运营商尽快开通。")
    enterprise.fill("#contact_phone", "13900000007")
    enterprise.click("main form button[type=submit]")
    enterprise.wait_for_url(re.compile(r"/tickets/QH\d{8}-\d{4}$"))
    number = enterprise.url.rsplit("/", 1)[1]

    deadline = time.monotonic() + 60
    while liaison.goto(base + "/workbench/") and liaison.locator(f"text={number}").count() == 0:
        assert time.monotonic() < deadline, f"{number} never reached the new liaison's workbench"
        liaison.wait_for_timeout(500)
    shot(liaison, "22-new-liaison-workbench")
    # the liaison sees its building's requests as soon as they are filed: wait for the worker's assignment
    while liaison.goto(f"{base}/tickets/{number}") and (
        liaison.locator("h1 .state-badge").first.get_attribute("data-state") != "assigned"
    ):
        assert time.monotonic() < deadline, f"{number} was never assigned by the worker"
        liaison.wait_for_timeout(500)
