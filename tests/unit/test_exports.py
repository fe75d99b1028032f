"""The export files: formula neutralisation, CSV encoding and line ends, Excel cell types and formats."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from hotline.extensions import db
from hotline.stats import exports
from hotline.stats.exports import Hours, Rate, Table
from hotline.stats.queries import Figures, StatsFilter
from hotline.tickets.models import Ticket
from tests.factories import World

DANGEROUS = ['=HYPERLINK("http://evil","x")', "+1+1", "-2", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_each_dangerous_prefix_is_neutralised(text: str) -> None:
    assert exports.neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["办公楼停车位不足", "a=b", "1+1", "QH20260103-0001", "", " =1", "'quoted"])
def test_harmless_text_is_left_alone(text: str) -> None:
    assert exports.neutralise(text) == text


def _table(rows: list[list[exports.Value]]) -> Table:
    return Table(
        title="诉求清单", headers=["标题", "数值", "时间", "比率"], widths=[30, 10, 17, 10], rows=rows
    )


def _reload(data: bytes):  # type: ignore[no-untyped-def]
    return load_workbook(io.BytesIO(data))


def test_excel_writes_dangerous_text_as_strings_and_numbers_as_numbers(app) -> None:  # type: ignore[no-untyped-def]
    rows: list[list[exports.Value]] = [[text, -2, None, None] for text in DANGEROUS]
    rows.append(["=1+1", -3.5, None, Rate(None)])
    sheet = _reload(exports.write_xlsx([_table(rows)]))["诉求清单"]
    for index, text in enumerate([*DANGEROUS, "=1+1"], start=2):
        cell = sheet.cell(row=index, column=1)
        assert cell.data_type == "s"
        assert cell.value == "'" + text  # lxml writes a carriage return as &#13;: it reads back as typed
        number = sheet.cell(row=index, column=2)
        assert number.data_type == "n" and number.value < 0
    assert sheet.cell(row=len(rows) + 1, column=4).value == "—"


def test_excel_keeps_error_codes_and_drops_control_characters_in_text(app) -> None:  # type: ignore[no-untyped-def]
    rows: list[list[exports.Value]] = [["#N/A", 1, None, None], ["停车\x07难", 2, None, None]]
    sheet = _reload(exports.write_xlsx([_table(rows)]))["诉求清单"]
    assert (sheet["A2"].value, sheet["A2"].data_type) == ("#N/A", "s")  # text, not an Excel error value
    assert sheet["A3"].value == "停车难"


def test_excel_header_dates_rates_and_layout(app) -> None:  # type: ignore[no-untyped-def]
    created = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    rows: list[list[exports.Value]] = [
        ["企业“停车”问题，已协调。", 7, created, Rate(0.8512)],
        ["无评价", 0, None, Rate(None)],
        ["时长", Hours(12.25), date(2026, 3, 31), Hours(None)],
    ]
    sheet = _reload(exports.write_xlsx([_table(rows)]))["诉求清单"]
    assert [c.value for c in sheet[1]] == ["标题", "数值", "时间", "比率"]
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == 30
    assert sheet["A2"].value == "企业“停车”问题，已协调。"
    assert sheet["C2"].value == datetime(2026, 3, 2, 9, 30)  # local time, naive: what Excel shows
    assert sheet["C2"].is_date and sheet["C2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["D2"].value == pytest.approx(0.8512) and sheet["D2"].number_format == "0.0%"
    assert sheet["C3"].value is None and sheet["D3"].value == "—"
    assert sheet["B4"].value == 12.25 and sheet["B4"].number_format == "0.0"
    assert sheet["C4"].value == datetime(2026, 3, 31) and sheet["D4"].value == "—"


def test_excel_refuses_more_rows_than_it_holds(app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(exports, "MAX_XLSX_ROWS", 3)
    exports.write_xlsx([_table([["a", 1, None, None]] * 3)])
    with pytest.raises(exports.TooManyRows):
        exports.write_xlsx([_table([["a", 1, None, None]] * 4)])


def test_sheet_titles_are_valid_and_unique() -> None:
    taken: set[str] = set()
    assert exports.sheet_title("按类别/街道: [a]*?", taken) == "按类别_街道_ _a___"
    assert exports.sheet_title("x" * 40, taken) == "x" * 31
    assert exports.sheet_title("X" * 40, taken) == "X" * 27 + " (2)"


def test_csv_has_a_bom_crlf_line_ends_chinese_and_rfc4180_quoting(app) -> None:  # type: ignore[no-untyped-def]
    created = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    rows: list[list[exports.Value]] = [
        ['停车，"难"\n请协调', -2, created, Rate(0.5)],
        ['=HYPERLINK("http://evil","x")', 3, None, Rate(None)],
        ["@SUM(A1)", Hours(2.0), None, None],
    ]
    data = exports.write_csv(_table(rows))
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.endswith("\r\n")
    assert text.count("\r\n") == 4  # header and 3 rows; the newline inside a quoted cell stays as typed
    assert text.splitlines()[0] == "标题,数值,时间,比率"
    assert '"停车，""难""\n请协调",-2,2026-03-02 09:30,50.0%\r\n' in text
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed[1] == ['停车，"难"\n请协调', "-2", "2026-03-02 09:30", "50.0%"]
    assert parsed[2] == ['\'=HYPERLINK("http://evil","x")', "3", "", "—"]
    assert parsed[3] == ["'@SUM(A1)", "2.0", "", ""]


def test_csv_is_streamed_in_chunks(app) -> None:  # type: ignore[no-untyped-def]
    def rows():  # type: ignore[no-untyped-def]
        for i in range(1200):
            yield [f"诉求{i}", i, None, None]

    chunks = list(exports.iter_csv(_table(rows())))  # type: ignore[no-untyped-call]
    assert len(chunks) == 3
    assert b"".join(chunks).decode("utf-8-sig").count("\r\n") == 1201


def test_content_disposition_names_the_file_in_chinese_with_an_ascii_fallback() -> None:
    header = exports.content_disposition(
        "诉求清单_办结量_2026-01-01_2026-03-31.xlsx", "requests_resolved.xlsx"
    )
    assert header.startswith('attachment; filename="requests_resolved.xlsx"; ')
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert encoded.isascii() and " " not in encoded
    assert unquote(encoded) == "诉求清单_办结量_2026-01-01_2026-03-31.xlsx"
    unsafe = exports.content_disposition('a/b"c.csv', 'a/b"c.csv')
    assert 'filename="a_b_c.csv"' in unsafe and unquote(unsafe.split("''")[1]) == "a_b_c.csv"


def test_summary_table_shows_rates_with_zero_denominators_as_a_dash(app) -> None:  # type: ignore[no-untyped-def]
    figures = Figures(total=4, resolved=3, closure_rate=0.75, rated=0, satisfaction_rate=None)
    flt = StatsFilter(start=date(2026, 1, 1), end=date(2026, 4, 1))
    table = exports.summary_table(figures, flt, [("街道", "东湖街道")])
    # outside a request the labels are in the default language, Chinese (DESIGN §7's names)
    assert table.title == "汇总" and table.headers == ["指标", "数值"]
    rows = {row[0]: row[1] for row in table.rows}
    assert rows["统计时段"] == "2026-01-01 – 2026-03-31"
    assert rows["街道"] == "东湖街道"
    assert rows["受理量"] == 4
    assert rows["办结率"] == Rate(0.75)
    assert rows["满意率"] == Rate(None)
    sheet = _reload(exports.write_xlsx([table]))["汇总"]
    values = {r[0].value: r[1] for r in sheet.iter_rows(min_row=2)}
    assert values["办结率"].value == 0.75 and values["办结率"].number_format == "0.0%"
    assert values["满意率"].value == "—"
    assert values["受理量"].value == 4


# --------------------------------------------------------------------------- reading a long list in batches


@pytest.fixture
def filed(app, world: World) -> list[int]:  # type: ignore[no-untyped-def]
    """Seven requests: three filed in the same second (a tie in time), then four more; their ids."""
    same = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    ids = [world.submit(same, title=f"同一秒{i}").id for i in range(3)]
    ids += [world.submit(datetime(2026, 3, 3, 1, i, tzinfo=UTC), title=f"诉求{i}").id for i in range(4)]
    db.session.commit()
    return ids


def _ids(filed_ids: list[int], size: int) -> list[int]:
    statement = select(Ticket.id, Ticket.number).where(Ticket.id.in_(filed_ids))
    return [row.id for row in exports.keyset_batches(statement, Ticket.id, size=size)]


@pytest.fixture
def statements(app) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """The SELECTs on tickets sent while the test runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "FROM tickets" in statement:
            seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize(
    ("size", "queries"),
    [
        (7, 2),  # exactly one full batch: a second query finds nothing more
        (3, 3),  # 3 + 3 + 1, the tie split across the first boundary
        (2, 4),  # 2 + 2 + 2 + 1
        (100, 1),  # one short batch
    ],
)
def test_batches_give_every_row_once_newest_first(filed, statements, size: int, queries: int) -> None:  # type: ignore[no-untyped-def]
    ids = _ids(filed, size)
    assert ids == sorted(filed, reverse=True)
    assert len(statements) == queries  # `size` rows a query, never the whole list at once
    assert all("LIMIT" in s.upper() for s in statements)


def test_batches_of_an_empty_list_cost_one_query(app, statements) -> None:  # type: ignore[no-untyped-def]
    assert _ids([], 3) == []
    assert len(statements) == 1


def test_batches_do_not_depend_on_the_request_session(filed) -> None:  # type: ignore[no-untyped-def]
    """The regression of the PostgreSQL 500: the rows go on coming after the session that started them ended
    (a streamed response outlives the view's transaction)."""
    rows = exports.keyset_batches(select(Ticket.id).where(Ticket.id.in_(filed)), Ticket.id, size=2)
    first = next(rows)
    db.session.rollback()
    db.session.remove()
    assert [first.id, *(row.id for row in rows)] == sorted(filed, reverse=True)


def test_a_request_filed_during_the_download_is_not_given_and_none_twice(app, filed, world) -> None:  # type: ignore[no-untyped-def]
    rows = exports.keyset_batches(select(Ticket.id), Ticket.id, size=2)
    seen = [next(rows).id, next(rows).id]
    later = world.submit(datetime(2026, 3, 4, 1, 0, tzinfo=UTC)).id  # a higher id than any seen
    db.session.commit()
    seen += [row.id for row in rows]
    assert later not in seen
    assert seen == sorted(filed, reverse=True)
