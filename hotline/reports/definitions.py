"""What each published figure counts and leaves out, in plain Chinese and English: frozen into every report
(the definitions in force when it was frozen) and shown on the public definitions page."""

from __future__ import annotations

# figure → (中文 name, Chinese text, English name, English text)
DEFINITIONS: dict[str, tuple[str, str, str, str]] = {
    "total": (
        "受理量",
        "统计期内提交的诉求件数（按提交日期归入统计期），不含企业撤回和并入其他诉求的件数。",
        "Requests received",
        "Requests filed in the period (counted by the day they were filed), withdrawn and merged ones "
        "excluded.",
    ),
    "resolved": (
        "办结量",
        "上述诉求中目前已办结（待评价或已关闭）的件数。",
        "Requests resolved",
        "Of those, the requests now resolved (awaiting their rating) or closed.",
    ),
    "closure_rate": (
        "办结率",
        "办结量 ÷ 受理量。",
        "Closure rate",
        "Resolved ÷ received.",
    ),
    "satisfaction_rate": (
        "满意率",
        "（满意 + 基本满意）÷ 已评价件数，按每件诉求的最新一次评价计；未评价的诉求不计入分子也不计入分母。",
        "Satisfaction rate",
        "(Satisfied + basically satisfied) ÷ rated requests, by each request's latest rating; unrated "
        "requests are in neither side.",
    ),
    "first_rating_satisfaction_rate": (
        "首次评价满意率",
        "按每件诉求的第一次评价计算的满意率（第一次评价可以是企业在线评价，也可以是回访记录）：重办后的再评价不会改变它。",
        "First-rating satisfaction rate",
        "The satisfaction rate by each request's first rating (given online or recorded from a follow-up "
        "call): a rating after a reopening does not change it.",
    ),
    "rating_rate": (
        "评价率",
        "已办结已评价件数 ÷ 办结量；其余为未评价。",
        "Rating rate",
        "Resolved and rated ÷ resolved; the rest are unrated.",
    ),
    "rated": (
        "已评价",
        "有评价的诉求件数（按最新一次评价，不论诉求现在处于什么状态），"
        "企业在线评价 + 回访补录评价 = 已评价。"
        "因不满意而重办、尚未再次办结的诉求保留其不满意评价，计入已评价，但不计入办结量。其中：",
        "Rated",
        "Requests with a rating (their latest), whatever their state now: rated by the enterprise + rated "
        "from a follow-up call = rated. A request reopened after a dissatisfied rating and not yet resolved "
        "again keeps that rating, so it is rated but not resolved. Of which:",
    ),
    "rated_by_enterprise": (
        "企业在线评价",
        "最新一次评价由企业本身在线给出的件数。",
        "Rated by the enterprise",
        "Requests whose latest rating the enterprise gave online.",
    ),
    "rated_by_followup": (
        "回访补录评价",
        "最新一次评价由工作人员根据回访电话记录的件数。",
        "Rated from a follow-up call",
        "Requests whose latest rating staff recorded from a follow-up call.",
    ),
    "rated_resolved": (
        "已办结已评价",
        "办结量中有评价的件数（评价率的分子）：已办结已评价 + 未评价 = 办结量。"
        "它不同于已评价：已评价还包括重办中、尚未再次办结的诉求。",
        "Resolved and rated",
        "Resolved requests with a rating (the rating rate's numerator): resolved and rated + unrated = "
        "resolved. It differs from rated, which also counts reopened requests not yet resolved again.",
    ),
    "unrated": (
        "未评价",
        "已办结但没有任何评价的件数：不计入满意率；已办结已评价 + 未评价 = 办结量。",
        "Unrated",
        "Resolved requests without any rating: outside the satisfaction rate; resolved and rated + unrated = "
        "resolved.",
    ),
    "withdrawn": (
        "企业撤回",
        "统计期内提交后由企业撤回的件数：不计入受理量。",
        "Withdrawn",
        "Requests filed in the period and withdrawn by the enterprise: outside the count of requests "
        "received.",
    ),
    "reopened": (
        "重办",
        "办结后因企业不满意重新办理过的件数。",
        "Reopened",
        "Resolved requests reopened at least once because the enterprise was dissatisfied.",
    ),
    "response_rate": (
        "及时签收率",
        "在签收时限内签收的件数 ÷（已签收 + 超过签收时限后退单或改派 + 超过签收时限仍未签收的件数）；"
        "在时限内退单或改派的那一次签收不计入；没有时限的诉求另行列出。",
        "Response rate",
        "Acknowledged by the deadline ÷ (acknowledged + returned or reassigned after the deadline + still "
        "unacknowledged past it); a clock stopped by a return or reassignment before its deadline is left "
        "out; requests without a deadline are counted apart.",
    ),
    "on_time_rate": (
        "按期办结率",
        "在办结时限内办结的件数 ÷ 有办结时限的办结量（没有时限的另行列出）。",
        "On-time rate",
        "Resolved by the deadline ÷ resolved requests that had a deadline (those without are counted apart).",
    ),
    "reopen_rate": (
        "重办率",
        "办结后因企业不满意等原因重新办理过的件数 ÷ 办结量。",
        "Reopen rate",
        "Requests reopened at least once ÷ resolved.",
    ),
    "avg_handling_hours": (
        "平均办理时长",
        "从提交到办结的平均工作小时数（只计工作日的工作时间）。",
        "Average handling time",
        "Mean working hours from filing to resolution (working time only).",
    ),
    "overdue_open": (
        "超期未办结",
        "截至统计时，仍未办结且已超过办结时限的件数。",
        "Overdue open",
        "At the time of counting, open requests past their resolution deadline.",
    ),
    "coverage": (
        "楼宇覆盖率",
        "主包联零号员工在岗（账号有效且不在休假）的楼宇 ÷ 在用楼宇。",
        "Building coverage",
        "Buildings whose primary liaison is at work (an active account, not on leave) ÷ buildings in use.",
    ),
}


def as_json() -> dict[str, dict[str, str]]:
    """The definitions as a report stores them."""
    return {
        name: {"name_zh": zh_name, "zh": zh, "name_en": en_name, "en": en}
        for name, (zh_name, zh, en_name, en) in DEFINITIONS.items()
    }
