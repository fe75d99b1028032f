"""Imports of the district's spreadsheets (issue 10, point 3): a dry run row by row, then everything in one
transaction or nothing; from the pages, the API and the command line, with workbooks made here."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select

from hotline.enterprises import uscc as uscc_codes
from hotline.enterprises.models import Building, Coverage, CoverageRole, Enterprise
from hotline.extensions import db
from hotline.imports.models import ImportFile
from tests import factories
from tests.factories import World
from tests.functional.html import field_errors, row
from tests.functional.test_admin import english
from tests.functional.test_api import API, Api, error_of
from tests.helpers import csrf_token, login

ENGLISH = {"Accept-Language": "en"}


def workbook(*rows: list[Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def code(n: int) -> str:
    return uscc_codes.make(f"91310000{n:09d}")


def post_file(api: Api, kind: str, content: bytes, name: str = "list.xlsx", query: str = "?dry_run=1") -> Any:
    return api.client.post(
        f"{API}/imports/{kind}{query}",
        data={"file": (io.BytesIO(content), name)},
        headers={**api.headers, **ENGLISH},
        content_type="multipart/form-data",
    )


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_a_dry_run_says_row_by_row_what_would_happen_and_changes_nothing(
    client: FlaskClient, world: World
) -> None:
    api = Api(client, world.manager)
    bad = code(2)[:-1] + ("0" if code(2)[-1] != "0" else "1")
    content = workbook(
        ["统一社会信用代码", "企业名称", "楼宇", "房间号", "联系人", "手机"],
        [code(1), "新星科技有限公司", world.building.name, "1201", "王经理", 13800138001],
        [bad, "坏代码公司", world.building.name, "", "", ""],
        [code(3), "无楼公司", "不存在的大厦", "", "", ""],
        [code(1), "重复公司", world.building.name, "", "", ""],
        [world.enterprise.uscc, world.enterprise.name, world.building.name, "888", "", ""],
        [None, None, None, None, None, None],  # a blank row is skipped
    )
    before = count(Enterprise)

    answer = post_file(api, "enterprises", content)

    assert answer.status_code == 200, answer.get_json()
    report = answer.get_json()
    assert report["applied"] is False and report["counts"] == {
        "create": 1,
        "update": 1,
        "unchanged": 0,
        "refuse": 3,
    }
    by_line = {r["line"]: r for r in report["rows"]}
    assert (
        by_line[2]["action"] == "create" and by_line[2]["changes"]["contact_phone"]["after"] == "13800138001"
    )
    assert set(by_line[3]["errors"]) == {"uscc"} and "check character" in by_line[3]["errors"]["uscc"]
    assert by_line[4]["errors"] == {"building": "No building has this name."}
    assert by_line[5]["errors"] == {"uscc": "This enterprise is already on line 2."}
    assert by_line[6]["action"] == "update" and by_line[6]["changes"] == {
        "room": {"before": world.enterprise.room, "after": "888"}
    }
    assert count(Enterprise) == before
    # applying it is refused while rows are refused, and nothing is written
    refused = error_of(
        client.post(f"{API}/imports/{report['id']}/apply", headers={**api.headers, **ENGLISH}),
        400,
        "validation_failed",
    )
    assert "lines 3, 4, 5" in refused["fields"]["file"]
    assert count(Enterprise) == before


def test_buildings_enterprises_and_coverage_are_imported_in_one_step_each(
    client: FlaskClient, world: World
) -> None:
    api = Api(client, world.manager)
    newcomer = factories.liaison([])
    db.session.commit()
    buildings = workbook(
        ["街道", "楼宇名称", "地址"],
        [world.street.code, "滨江一号楼", "滨江路1号"],
        [world.street.name, "滨江二号楼", "滨江路2号"],
    )
    made = post_file(api, "buildings", buildings, query="?dry_run=0")
    assert made.status_code == 200, made.get_json()
    assert made.get_json()["applied"] is True and made.get_json()["counts"]["create"] == 2

    coverage = workbook(
        ["楼宇", "包联干部", "类型"],
        ["滨江一号楼", newcomer.username, "主包联"],
        ["滨江二号楼", newcomer.username, "副包联"],
        [world.building.name, newcomer.username, "primary"],  # replaces world.liaison there
    )
    dry = post_file(api, "coverage", coverage).get_json()
    assert [r["action"] for r in dry["rows"]] == ["create", "create", "create"]
    assert dry["rows"][2]["changes"]["replaces"]["before"] == world.liaison.name
    applied = client.post(f"{API}/imports/{dry['id']}/apply", headers=api.headers)
    assert applied.status_code == 200, applied.get_json()
    error_of(client.post(f"{API}/imports/{dry['id']}/apply", headers=api.headers), 409, "conflict")
    primary = db.session.scalar(
        select(Coverage).where(
            Coverage.building_id == world.building.id,
            Coverage.active.is_(True),
            Coverage.role == CoverageRole.PRIMARY,
        )
    )
    assert primary is not None and primary.liaison_id == newcomer.id

    enterprises = workbook(
        ["uscc", "name", "building", "room", "contact", "mobile"],
        *[[code(100 + n), f"滨江企业{n}", "滨江一号楼", f"{n}01", "李四", "13900000000"] for n in range(20)],
    )
    done = post_file(api, "enterprises", enterprises, query="?dry_run=0").get_json()
    assert done["counts"]["create"] == 20
    stored = db.session.scalar(select(Enterprise).where(Enterprise.uscc == code(100)))
    assert stored is not None and stored.verified and stored.building.name == "滨江一号楼"
    assert (stored.contact_name, stored.contact_phone) == ("李四", "13900000000")
    # the same file again changes nothing
    again = post_file(api, "enterprises", enterprises).get_json()
    assert again["counts"] == {"create": 0, "update": 0, "unchanged": 20, "refuse": 0}


def test_a_csv_saved_by_a_chinese_excel_is_read(client: FlaskClient, world: World) -> None:
    api = Api(client, world.manager)
    content = f"街道,楼宇,地址\r\n{world.street.code},国贸中心,建国路1号\r\n".encode("gb18030")
    answer = post_file(api, "buildings", content, name="楼宇.csv")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["rows"][0]["action"] == "create"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"%PDF-1.4 not a sheet", "neither an Excel workbook"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "neither an Excel workbook"),
        (b"PK\x03\x04 broken zip", "This workbook cannot be read (BadZipFile)."),
        ("名称,其他\r\n一,二\r\n".encode(), "missing: Street"),
        ("街道,楼宇\r\n".encode(), "no rows under its header"),
        (b"\xff\xfe\xfa garbage \x81", "neither an Excel workbook"),
    ],
)
def test_files_that_cannot_be_read_are_refused_with_a_reason(
    client: FlaskClient, world: World, content: bytes, message: str
) -> None:
    answer = post_file(Api(client, world.manager), "buildings", content)
    error = error_of(answer, 400, "validation_failed")
    assert message in error["fields"]["file"]
    assert count(ImportFile) == 0


def test_hostile_cells_and_calls_are_refused_never_a_500(client: FlaskClient, world: World) -> None:
    api = Api(client, world.manager)
    with_nul = f"街道,楼宇\r\n{world.street.code},恶意\x00楼\r\n".encode()
    nul_row = post_file(api, "buildings", with_nul, name="x\x00.csv").get_json()
    assert nul_row["rows"][0]["errors"] == {"name": "This text contains characters that are not allowed."}
    assert nul_row["filename"] == "x.csv"
    long_cell = post_file(api, "buildings", workbook(["街道", "楼宇"], ["x" * 600, "长\u202e楼"])).get_json()
    assert long_cell["rows"][0]["errors"]["street"] == "At most 500 characters."
    error_of(post_file(api, "people", workbook(["a"], ["b"])), 404, "not_found")
    error_of(client.post(f"{API}/imports/buildings", headers=api.headers), 400, "validation_failed")
    error_of(client.post(f"{API}/imports/99999999999/apply", headers=api.headers), 404, "not_found")
    error_of(
        post_file(Api(client, world.liaison), "buildings", workbook(["街道", "楼宇"], ["a", "b"])),
        403,
        "forbidden",
    )


def test_a_manager_checks_a_file_on_the_page_and_imports_it_with_one_click(
    client: FlaskClient, world: World
) -> None:
    login(client, world.manager.username)
    english(client)
    page = client.get("/manage/imports").get_data(as_text=True)
    content = workbook(["街道", "楼宇名称"], [world.street.code, "页面大厦"], ["NOPE", "无街大厦"])

    checked = client.post(
        "/manage/imports",
        data={
            "kind": "buildings",
            "file": (io.BytesIO(content), "楼宇.xlsx"),
            "csrf_token": csrf_token(page),
        },
        content_type="multipart/form-data",
    )
    assert checked.status_code == 302
    html = client.get(checked.headers["Location"]).get_data(as_text=True)
    assert "No street has this code or name." in row(html, "line-3")
    assert 'data-action="create"' in row(html, "line-2")
    assert "apply-import" not in html  # nothing to click while a row is refused

    content = workbook(["街道", "楼宇名称"], [world.street.code, "页面大厦"])
    checked = client.post(
        "/manage/imports",
        data={
            "kind": "buildings",
            "file": (io.BytesIO(content), "楼宇.xlsx"),
            "csrf_token": csrf_token(page),
        },
        content_type="multipart/form-data",
    )
    show = client.get(checked.headers["Location"]).get_data(as_text=True)
    applied = client.post(f"{checked.headers['Location']}/apply", data={"csrf_token": csrf_token(show)})
    assert applied.status_code == 302
    assert "Imported: 1 created" in client.get(applied.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(Building).where(Building.name == "页面大厦")) is not None

    missing = client.post("/manage/imports", data={"kind": "buildings", "csrf_token": csrf_token(page)})
    assert missing.status_code == 400
    assert field_errors(missing.get_data(as_text=True), "file") == ["The file is empty."]


def test_the_command_line_dry_runs_and_applies(app: Any, world: World, tmp_path: Any) -> None:
    path = tmp_path / "buildings.xlsx"
    path.write_bytes(workbook(["街道", "楼宇"], [world.street.code, "命令行大厦"]))
    db.session.commit()
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["import", "buildings", str(path), "--by", world.manager.username])
    assert dry.exit_code == 0, dry.output
    assert "create\t命令行大厦" in dry.output and "dry run: create 1" in dry.output
    assert db.session.scalar(select(Building).where(Building.name == "命令行大厦")) is None
    applied = runner.invoke(
        args=["import", "buildings", str(path), "--apply", "--by", world.manager.username]
    )
    assert applied.exit_code == 0, applied.output
    db.session.expire_all()
    assert db.session.scalar(select(Building).where(Building.name == "命令行大厦")) is not None
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(workbook(["街道", "楼宇"], ["NOPE", "x"]))
    refused = runner.invoke(args=["import", "buildings", str(bad), "--by", world.manager.username])
    assert refused.exit_code == 1 and "1 rows are refused" in refused.output


def test_a_new_district_imports_its_streets_and_liaisons_and_a_liaison_sets_its_password_by_link(
    client: FlaskClient, world: World
) -> None:
    from hotline.auth import resets
    from hotline.auth.models import Role, User
    from hotline.enterprises.models import Street

    admin = Api(client, world.admin)
    streets = workbook(
        ["街道代码", "街道名称"], ["JX", "金星街道"], ["JX", "重复街道"], ["bad code", "坏代码街道"]
    )
    report = post_file(admin, "streets", streets).get_json()
    assert [r["action"] for r in report["rows"]] == ["create", "refuse", "refuse"]
    assert report["rows"][1]["errors"] == {"code": "This street is already on line 2."}
    fixed = post_file(
        admin, "streets", workbook(["街道代码", "街道名称"], ["JX", "金星街道"]), query="?dry_run=0"
    )
    assert (
        fixed.status_code == 200 and db.session.scalar(select(Street).where(Street.code == "JX")) is not None
    )

    people = workbook(
        ["用户名", "姓名", "手机", "电子邮箱"],
        ["wang.li", "王丽", "13800000001", "wang.li@example.gov.cn"],
        [world.manager.username, "不是联络员", "", ""],
        ["x", "名字太短的账号", "", "not-an-address"],
    )
    report = post_file(admin, "liaisons", people).get_json()
    by_line = {r["line"]: r for r in report["rows"]}
    assert by_line[2]["action"] == "create"
    assert "another role" in by_line[3]["errors"]["username"]
    assert set(by_line[4]["errors"]) == {"username", "email"}
    # only an administrator imports accounts
    error_of(post_file(Api(client, world.manager), "liaisons", people), 403, "forbidden")

    ok = workbook(
        ["用户名", "姓名", "手机", "电子邮箱"], ["wang.li", "王丽", "13800000001", "wang.li@example.gov.cn"]
    )
    assert post_file(admin, "liaisons", ok, query="?dry_run=0").status_code == 200
    liaison = db.session.scalar(select(User).where(User.username == "wang.li"))
    assert liaison is not None and liaison.role == Role.LIAISON and liaison.email == "wang.li@example.gov.cn"
    # no password travels in a spreadsheet: none works until the liaison sets one through a link
    assert client.post(f"{API}/tokens", json={"username": "wang.li", "password": "!"}).status_code == 401
    url, _expires = resets.issue_reset_link("wang.li", world.admin, factories.utcnow())
    token = url.rsplit("/", 1)[1]
    assert (
        client.post(f"{API}/password-reset/{token}", json={"password": "Lantern-Harbour-2026"}).status_code
        == 200
    )
    assert (
        client.post(
            f"{API}/tokens", json={"username": "wang.li", "password": "Lantern-Harbour-2026"}
        ).status_code
        == 201
    )


def test_an_apply_refuses_when_the_data_changed_since_the_dry_run(client: FlaskClient, world: World) -> None:
    api = Api(client, world.manager)
    newcomer = factories.liaison([])
    db.session.commit()
    dry = post_file(
        api,
        "coverage",
        workbook(["楼宇", "包联干部", "类型"], [world.building.name, newcomer.username, "副包联"]),
    )
    kept = dry.get_json()["id"]
    # meanwhile another manager makes the newcomer the building's deputy by hand
    from hotline.district.services import assign_coverage

    assign_coverage(
        world.manager,
        factories.utcnow(),
        building=world.building.id,
        liaison=newcomer.username,
        kind="deputy",
    )
    db.session.commit()

    error = error_of(
        client.post(f"{API}/imports/{kept}/apply", headers={**api.headers, **ENGLISH}), 409, "conflict"
    )
    assert "changed since this dry run" in error["message"]
    assert db.session.get(ImportFile, kept).applied_at is None


def test_a_damaged_or_bloated_workbook_is_refused_or_read_quickly(client: FlaskClient, world: World) -> None:
    import re
    import zipfile

    api = Api(client, world.manager)
    good = workbook(["街道", "楼宇"], [world.street.code, "压缩楼"])
    for damaged in (good[: len(good) // 2], good[:-40]):
        error = error_of(post_file(api, "buildings", damaged), 400, "validation_failed")
        assert error["fields"]["file"].startswith("This workbook cannot be read")
    # a sheet that says it spans every cell Excel has is read by its real rows
    source, out = zipfile.ZipFile(io.BytesIO(good)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.endswith("sheet1.xml"):
                data = re.sub(rb'<dimension ref="[^"]+"/>', b'<dimension ref="A1:XFD1048576"/>', data)
            target.writestr(item, data)
    answer = post_file(api, "buildings", out.getvalue()).get_json()
    assert [r["action"] for r in answer["rows"]] == ["create"]
