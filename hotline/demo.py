"""Demo data (``flask seed-demo``): a small district with a year of requests.

Everything is drawn from ``random.Random`` streams with fixed seeds, so two runs build the same district
(the same requests, a day older if run a day later).  The reference data (streets, buildings, users …) is
written directly; every request is played through the real lifecycle services in
:mod:`hotline.tickets.services`, step by step with increasing ``now`` values in working hours, so that the
timelines, numbers and figures are exactly what the application itself would produce.  Requests are played
in the order they were filed; a step that would fall after "now" is not played, which is what leaves the
recent requests open.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import chinese_calendar
from flask import current_app
from sqlalchemy import func, select, update

from hotline.auth.models import Role, User
from hotline.auth.services import hash_password
from hotline.db import utcnow
from hotline.enterprises import uscc
from hotline.enterprises.models import Building, Coverage, CoverageRole, Department, Enterprise, Street
from hotline.extensions import db
from hotline.outbox.models import OutboxMessage
from hotline.tickets import services
from hotline.tickets.models import Category, Channel, RatingScore, Ticket, TicketState, Urgency
from hotline.timeutil import LOCAL_TZ, local

PASSWORD = "demo-pass-2026"
SEED = 20260101
TICKET_COUNT = 300
ENTERPRISE_COUNT = 40

# --------------------------------------------------------------------------- the district

# (code, name, [(building, address), …])
STREETS: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "binjiang",
        "滨江街道",
        [
            ("创新大厦", "滨江路88号"),
            ("金融街中心A座", "金融街1号"),
            ("金融街中心B座", "金融街3号"),
            ("滨江国际广场", "滨江路199号"),
            ("星河时代大厦", "江滨大道36号"),
        ],
    ),
    (
        "xincheng",
        "新城街道",
        [
            ("科技园1号楼", "科苑路18号"),
            ("智汇谷产业园3号楼", "智汇路66号"),
            ("数字经济大厦", "新城大道520号"),
            ("中关科技广场", "学院南路12号"),
        ],
    ),
    (
        "donghu",
        "东湖街道",
        [
            ("东湖商务中心", "东湖路100号"),
            ("环球贸易大厦", "人民东路258号"),
            ("海创大厦", "湖滨北路9号"),
            ("绿地中心北塔", "东湖大道1号"),
            ("文创园C栋", "东湖路32号"),
        ],
    ),
]

# (username, name, [primary buildings], [deputy buildings]).  Every building has one primary liaison and
# most a deputy; liaison6 only deputises, so that re-dispatch after a return has somewhere to go.
LIAISONS: list[tuple[str, str, list[str], list[str]]] = [
    ("liaison1", "王晓明", ["创新大厦", "金融街中心A座", "金融街中心B座"], ["滨江国际广场"]),
    ("liaison2", "李静", ["滨江国际广场", "星河时代大厦", "科技园1号楼"], ["金融街中心B座"]),
    ("liaison3", "张伟", ["智汇谷产业园3号楼", "数字经济大厦", "中关科技广场"], ["科技园1号楼"]),
    ("liaison4", "刘洋", ["东湖商务中心", "环球贸易大厦", "海创大厦"], ["绿地中心北塔", "文创园C栋"]),
    ("liaison5", "陈思远", ["绿地中心北塔", "文创园C栋"], ["环球贸易大厦", "海创大厦"]),
    ("liaison6", "赵敏", [], ["创新大厦", "金融街中心A座", "数字经济大厦", "东湖商务中心"]),
]

DEPARTMENTS = [
    (
        "hrss",
        "区人力资源和社会保障局",
        "District Human Resources and Social Security Bureau",
        "dept1",
        "孙丽",
    ),
    ("samr", "区市场监督管理局", "District Administration for Market Regulation", "dept2", "周强"),
]

# (code, name, English name); sort_order is the position in this list.
CATEGORIES = [
    ("policy", "政策咨询", "Policy enquiries"),
    ("approval", "审批服务", "Approvals and permits"),
    ("financing", "融资", "Financing"),
    ("talent", "用工人才", "Employment and talent"),
    ("property", "物业楼宇", "Property and building management"),
    ("utilities", "水电气", "Water, power and gas"),
    ("parking", "交通停车", "Traffic and parking"),
    ("ip", "知识产权", "Intellectual property"),
    ("other", "其他", "Other"),
]

# (name, industry)
ENTERPRISES = [
    ("上海云帆信息科技有限公司", "软件和信息技术服务"),
    ("上海锐思智能装备有限公司", "智能制造"),
    ("上海澜海生物医药科技有限公司", "生物医药"),
    ("上海汇融融资租赁有限公司", "融资租赁"),
    ("上海启明星教育科技有限公司", "教育科技"),
    ("上海青禾餐饮管理有限公司", "餐饮服务"),
    ("上海嘉诚会计师事务所（普通合伙）", "会计审计"),
    ("上海瀚海跨境电子商务有限公司", "跨境电商"),
    ("上海微链数据服务有限公司", "大数据服务"),
    ("上海恒泰建筑设计咨询有限公司", "建筑设计"),
    ("上海星辰文化传媒有限公司", "文化传媒"),
    ("上海安途供应链管理有限公司", "物流供应链"),
    ("上海明德知识产权代理有限公司", "知识产权服务"),
    ("上海绿源环保科技有限公司", "节能环保"),
    ("上海芯动微电子有限公司", "集成电路设计"),
    ("上海博远人力资源有限公司", "人力资源服务"),
    ("上海悦享健康管理有限公司", "健康管理"),
    ("上海极光游戏科技有限公司", "数字娱乐"),
    ("上海华信保险经纪有限公司", "保险经纪"),
    ("上海蓝鲸新能源科技有限公司", "新能源"),
    ("上海创客空间孵化器管理有限公司", "科技企业孵化"),
    ("上海量子跃迁人工智能有限公司", "人工智能"),
    ("上海致远检测技术有限公司", "检验检测"),
    ("上海金桥国际贸易有限公司", "国际贸易"),
    ("上海鼎盛投资管理有限公司", "投资管理"),
    ("上海雅集创意设计有限公司", "工业设计"),
    ("上海乐游国际旅行社有限公司", "旅游服务"),
    ("上海精准医疗器械有限公司", "医疗器械"),
    ("上海视界影像科技有限公司", "影视制作"),
    ("上海智城规划咨询有限公司", "规划咨询"),
    ("上海同舟翻译服务有限公司", "语言服务"),
    ("上海万象商业管理有限公司", "商业运营"),
    ("上海凌云航空科技有限公司", "航空航天"),
    ("上海百川企业管理咨询有限公司", "管理咨询"),
    ("上海稻香农业科技有限公司", "农业科技"),
    ("上海码上网络科技有限公司", "互联网服务"),
    ("上海朗润广告有限公司", "广告营销"),
    ("上海丰禾食品科技有限公司", "食品科技"),
    ("上海壹号算力科技有限公司", "云计算"),
    ("德迈斯（上海）贸易有限公司", "外资贸易"),
]
# Newly registered, not yet verified by their liaison (and so without requests yet).
UNVERIFIED = {9, 19, 29, 39}
# Administrative regions the enterprises are registered in (Shanghai districts).
REGIONS = ["310115", "310115", "310115", "310104", "310101", "310112"]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋蔡余杜"
GIVEN_NAMES = [
    "伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "婷",
    "俊", "慧", "建华", "晓东", "海燕", "子涵", "雨欣", "浩然", "思琪", "宇航", "佳怡", "志强",
    "文博", "梦瑶", "一鸣",
]  # fmt: skip

# --------------------------------------------------------------------------- what people write

# category code → [(title, description, answer), …]
TEMPLATES: dict[str, list[tuple[str, str, str]]] = {
    "policy": [
        (
            "高新技术企业认定申报条件咨询",
            "我司计划今年申报高新技术企业，想了解研发费用占比、知识产权数量等具体申报条件，以及区级配套奖励政策。",
            "已将高新技术企业认定的申报条件、材料清单和时间节点发送至企业邮箱，并说明区级配套奖励为认定后一次性"
            "奖励。申报窗口预计下月开放，届时将提前通知企业。",
        ),
        (
            "重点楼宇入驻企业房租补贴申请",
            "我司为去年新引进的企业，听说区里对重点楼宇入驻企业有房租补贴，想了解申请条件、补贴标准和所需材料。",
            "已向企业说明楼宇经济扶持政策中的房租补贴条款：符合条件的企业可按实际租金的一定比例申请补贴。材料清单"
            "和申报表已发送，可于每季度末前提交。",
        ),
        (
            "研发费用加计扣除政策咨询",
            "公司财务对研发费用加计扣除的归集口径不太清楚，特别是委托外部研发的费用能否加计，希望有专业人员解答。",
            "已协调区税务部门专管员与企业财务电话沟通，就委托研发费用的加计比例和备查资料作了解答，并提供了政策"
            "解读文件。",
        ),
        (
            "稳岗返还政策咨询",
            "我司员工约30人，想咨询今年的稳岗返还是否需要主动申请、返还比例是多少、什么时候到账。",
            "经与区人社局核实，符合条件的小微企业稳岗返还实行“免申即享”，按上年度实际缴纳失业保险费的60%返还，"
            "预计本月底前直接拨付至企业账户。",
        ),
    ],
    "approval": [
        (
            "食品经营许可证办理进度查询",
            "我司在楼内开设的员工餐厅两周前已提交食品经营许可申请，系统一直显示审核中，想了解卡在哪个环节。",
            "已与区市场监管局窗口核实，申请因缺少餐饮服务场所平面布局图暂停审核。已指导企业补充材料，补正后3个"
            "工作日内完成审批。",
        ),
        (
            "跨区迁入注册地址变更登记",
            "公司从外区迁入本楼宇，办理注册地址变更时被告知需要原登记机关出具迁移材料，想了解能否线上办理。",
            "已协调市场监管部门确认，跨区迁移可通过“一网通办”全程网办，无需往返原登记机关，并陪同企业在线完成"
            "了提交。",
        ),
        (
            "办公室装修消防验收备案咨询",
            "我司租用的办公室准备重新装修，面积约800平方米，想了解是否需要办理消防设计审查和验收备案。",
            "已告知企业该规模装修工程需办理消防验收备案，并将办事指南和告知承诺制材料模板发给企业，同时联系物业"
            "配合提供原建筑消防资料。",
        ),
        (
            "第二类医疗器械经营备案材料咨询",
            "我司新增第二类医疗器械经营业务，想确认备案所需材料，以及经营场所和仓储的具体要求。",
            "已联系区市场监管局相关科室为企业一对一解答。第二类医疗器械经营备案可当场办结，材料清单已发企业，企业"
            "已预约下周现场办理。",
        ),
    ],
    "financing": [
        (
            "科技贷款贴息申请",
            "我司今年获得银行科技贷款500万元，想了解区里的贷款贴息政策及申请时间。",
            "已向企业介绍区科技金融贴息政策，贴息比例为贷款市场报价利率的50%。申报材料清单已发送，下一批申报于"
            "下月15日截止。",
        ),
        (
            "希望对接银行获得流动资金贷款",
            "受回款周期影响，公司近期流动资金紧张，希望区里帮助对接银行，了解有无无抵押的信用贷款产品。",
            "已组织两家合作银行的客户经理上门对接，介绍了“科创贷”等信用贷款产品。企业已提交贷款申请，银行正在"
            "开展尽职调查。",
        ),
        (
            "政府性融资担保费率咨询",
            "我司通过区融资担保公司办理了担保贷款，想了解担保费率能否按政策减免。",
            "经与区融资担保公司确认，小微企业担保费率已降至0.5%，超出部分由区财政补贴，企业的担保费已按新费率"
            "重新核算。",
        ),
        (
            "知识产权质押融资渠道咨询",
            "我司拥有十余项发明专利，听说可以用专利质押贷款，希望了解办理流程和合作银行。",
            "已为企业提供知识产权质押融资合作银行名单和评估机构联系方式，并介绍了评估费补贴政策。企业已与一家"
            "银行达成初步意向。",
        ),
    ],
    "talent": [
        (
            "应届毕业生落户申请咨询",
            "公司今年招聘了5名应届硕士毕业生，想了解落户评分标准以及单位需要提供哪些材料。",
            "已协调区人社局为企业人事讲解应届生落户评分办法和单位申报流程，材料模板已发送，并提醒注意申报截止时间。",
        ),
        (
            "人才公寓申请",
            "我司引进的技术骨干在本区没有住房，希望申请区人才公寓，想了解申请条件和排队情况。",
            "已向企业介绍人才公寓申请条件，并将企业推荐名单报送区人才办。目前已为2名骨干安排看房，预计下月可入住。",
        ),
        (
            "急需招聘设备维护技术工人",
            "我司生产线扩产，急需招聘20名电工和设备维护技术工人，自主招聘效果不好，希望得到帮助。",
            "已将企业岗位需求纳入区人社局专场招聘会，并推送至职业院校就业平台。目前已收到简历40余份，企业已安排"
            "面试。",
        ),
        (
            "职工职业技能培训补贴申领",
            "我司组织员工参加了职业技能等级认定培训，想了解培训补贴如何申领。",
            "已告知企业可通过区职业能力建设平台申领补贴，补贴标准按取得证书等级核定，并指导企业完成了线上申报。",
        ),
    ],
    "property": [
        (
            "办公楼中央空调制冷效果差",
            "近一周办公室所在楼层中央空调制冷效果明显不足，下午室温超过28度，多次向物业反映仍未解决。",
            "已联系楼宇物业工程部现场检查，发现该楼层空调末端风机盘管故障，物业已更换部件。经回访，室温已恢复正常。",
        ),
        (
            "早高峰电梯等候时间过长",
            "早高峰电梯等候时间经常超过10分钟，员工上班打卡受影响，希望物业优化电梯运行方案。",
            "已协调物业在早高峰启用分区运行并安排专人疏导，同时将一部货梯临时用于客运。企业反映高峰等候时间已明显"
            "缩短。",
        ),
        (
            "楼内公共区域吊顶渗水",
            "我司所在楼层走廊吊顶出现渗水，影响通行安全，物业称需要业主方维修，迟迟未处理。",
            "已召集物业和产权方现场协调，明确由产权方负责维修。渗水点已于本周修复，吊顶已更换。",
        ),
        (
            "办公室续租租金涨幅过大",
            "租约即将到期，业主方提出的租金涨幅较大，希望区里帮助沟通协调。",
            "已约谈楼宇业主方，说明区里稳租金、留企业的政策导向。经协调双方达成续租协议，租金涨幅控制在合理范围内。",
        ),
    ],
    "utilities": [
        (
            "办公楼计划外停电",
            "今天上午楼宇突然停电，服务器机房受到影响，希望尽快恢复供电并查明原因。",
            "已联系供电公司抢修，故障原因为配电房开关老化，当日已恢复供电。供电公司已安排对配电设备全面检修。",
        ),
        (
            "申请电力增容",
            "我司新上实验设备，现有用电容量不足，需要增容约200千伏安，想了解办理流程和时限。",
            "已协调供电公司客户经理上门服务，增容申请已受理，现场勘查已完成，预计15个工作日内完成施工接电。",
        ),
        (
            "高层楼层自来水水压不足",
            "我司所在高层楼层自来水水压偏低，茶水间和卫生间用水不便。",
            "已联系供水公司和物业排查，原因为二次供水加压泵故障，现已维修完毕，水压恢复正常。",
        ),
        (
            "员工餐厅燃气开通",
            "我司员工餐厅装修完毕需要开通燃气，燃气公司告知需要补充消防相关材料，不清楚具体要求。",
            "已协调燃气公司明确所需材料，并指导企业补充提交，燃气已完成点火通气。",
        ),
    ],
    "parking": [
        (
            "办公楼停车位不足",
            "员工停车困难，楼宇地库车位长期满位，希望协调周边停车资源。",
            "已协调周边商业综合体向企业开放月租车位50个，并在楼宇周边增设临时停车泊位，企业员工已陆续办理。",
        ),
        (
            "希望在楼宇附近增设公交站点",
            "员工通勤主要依靠公交，楼宇附近500米内没有公交站，希望增设站点或开通班车。",
            "已将需求报送区交通部门，经研究将在楼宇东侧增设公交停靠站，并开通早晚高峰地铁接驳线路。",
        ),
        (
            "共享单车乱停放影响出入",
            "楼宇出入口附近共享单车堆积严重，影响车辆和行人出入，存在安全隐患。",
            "已联系共享单车运营企业清理车辆，并协调城管部门在楼宇出入口设置禁停区和电子围栏，情况已明显改善。",
        ),
        (
            "送货货车进出装卸受限",
            "我司每周需要货车送货，但楼宇周边道路限制货车通行，装卸十分困难。",
            "已协调交警部门为企业办理特定时段货车通行证，并在楼宇侧门划设临时装卸车位。",
        ),
    ],
    "ip": [
        (
            "品牌商标被他人抢注",
            "我司使用多年的品牌被他人抢先注册了商标，想了解如何提出异议或者请求宣告无效。",
            "已协调区市场监管局知识产权科为企业讲解商标异议和无效宣告程序，并推荐知识产权维权援助机构提供专业帮助。",
        ),
        (
            "专利申请优先审查推荐",
            "我司一项核心技术的专利申请希望加快审查，想了解能否获得优先审查推荐。",
            "已告知企业优先审查的条件和推荐流程，企业已提交申请材料，区知识产权部门已出具推荐意见。",
        ),
        (
            "产品外观设计被仿冒",
            "市场上出现仿冒我司产品外观设计的产品，严重影响销售，希望得到维权帮助。",
            "已将线索移交区市场监管执法部门立案调查，同时为企业对接知识产权维权援助中心，协助固定证据。",
        ),
        (
            "专利资助申请",
            "我司今年新获授权发明专利8件，想了解区里的专利资助政策和申请方式。",
            "已向企业说明区知识产权资助办法，发明专利按件给予资助。申报材料清单已发送，企业已完成网上申报。",
        ),
    ],
    "other": [
        (
            "设立子公司开办流程咨询",
            "我司计划在区内设立一家子公司，想了解企业开办全流程需要多长时间。",
            "已向企业介绍“企业开办一件事”服务，营业执照、公章刻制、发票申领等可一日办结，并为企业预约了帮办服务。",
        ),
        (
            "楼宇周边工地夜间施工噪音",
            "楼宇旁工地夜间施工噪音很大，影响加班员工休息和办公。",
            "已联系区城管执法部门核查，施工单位已停止违规夜间施工，并承诺严格遵守作业时间。",
        ),
        (
            "希望组织同楼宇企业交流活动",
            "我司希望与楼内其他企业开展业务交流、寻找合作机会，希望区里组织对接活动。",
            "已将企业需求纳入本季度楼宇企业交流会，邀请楼内及周边30余家企业参加，活动通知已发出。",
        ),
        (
            "外籍员工工作许可办理",
            "我司新聘一名外籍技术专家，想了解外国人工作许可的办理流程和时间。",
            "已为企业讲解外国人工作许可办理流程，协助企业完成网上预审，并告知可申请绿色通道加快办理。",
        ),
    ],
}

# Categories whose requests a liaison often hands to a department, and which one.
TRANSFER_TO = {"talent": "hrss", "approval": "samr", "ip": "samr", "policy": None}  # None: either

CATEGORY_WEIGHTS = {
    "policy": 18, "approval": 12, "financing": 8, "talent": 12, "property": 14,
    "utilities": 8, "parking": 12, "ip": 6, "other": 10,
}  # fmt: skip
CHANNEL_WEIGHTS = {
    Channel.WEB: 45, Channel.PHONE: 18, Channel.TEA_MEETING: 9, Channel.ROUNDTABLE: 6,
    Channel.VISIT: 12, Channel.API: 10,
}  # fmt: skip

PROGRESS_REPLIES = [
    "您好，诉求已收到，我们正在与相关部门对接，预计3个工作日内给您答复。",
    "已与企业负责人电话沟通，进一步了解了具体情况，正在协调办理。",
    "已安排现场查看，相关情况已记录，正在推动解决。",
    "相关材料已收到，正在核实，有进展会第一时间告知。",
    "已将情况反馈给责任单位，对方表示会尽快处理。",
]
NOTES = [
    "该企业为楼宇重点企业，请优先跟进。",
    "已电话联系企业联系人，对方上午不便接听，下午再联系。",
    "同类问题本楼宇已出现多次，建议纳入楼宇例会统一协调。",
    "需要物业配合提供资料，已发函。",
    "企业诉求涉及政策口径，已请示分管领导。",
]
DEPARTMENT_REPLIES = {
    "hrss": [
        "区人社局已收到转办，正在核实企业参保和申报情况。",
        "经区人社局核实，企业符合政策条件，相关材料已受理。",
    ],
    "samr": [
        "区市场监管局已收到转办，已安排专人对接企业。",
        "经区市场监管局核查，相关事项已按程序受理办理。",
    ],
}
HANDBACK_NOTES = [
    "部门已处理完毕，请联系人向企业答复并办结。",
    "政策口径已明确，交回联系人答复企业。",
    "已与企业沟通办理事项，后续由联系人跟进答复。",
]
RETURN_REASONS = [
    "该企业实际办公地点已迁至其他楼宇，不在本人包联范围内。",
    "本人下周起参加集中培训两周，无法及时跟进，请改派。",
    "诉求涉及区外事项，建议由区营商办统筹派单。",
]
REFUSAL_NOTES = [
    "企业仍在该楼宇办公，请继续跟进办理。",
    "诉求在本区职责范围内，请联系相关部门协同办理。",
]
ACCEPT_NOTES = ["同意退单，改派其他联系人。", "情况属实，重新派单。", ""]
WITHDRAW_REASONS = ["问题已自行解决，撤回诉求。", "内部已协调处理，不再需要。", "重复提交，撤回此条。", ""]
SATISFIED_COMMENTS = ["响应很快，感谢！", "问题解决得很及时，点赞。", "联系人很负责，谢谢。", "", ""]
BASIC_COMMENTS = ["问题基本解决，希望后续持续跟进。", "办理时间稍长，但结果满意。", ""]
DISSATISFIED_COMMENTS = [
    "答复与实际情况不符，问题仍未解决。",
    "只给了政策文件，没有解决实际困难。",
    "办理进度太慢，问题至今没有落实。",
    "问题仍然存在，希望再次协调。",
]
SECOND_ANSWERS = [
    "针对企业反映的问题再次协调：已约请相关部门负责人与企业面对面沟通，明确了办理时限和责任人，问题已落实解决。",
    "已督促责任单位限期整改，经现场复核，问题已解决，并将持续跟踪。",
    "已再次上门走访企业，逐项解答企业疑问，并协助企业完成了相关申报。",
]
LOCATED_CATEGORIES = {"property", "utilities", "parking"}

# --------------------------------------------------------------------------- working time

MORNING = (time(9, 0), time(12, 0))
AFTERNOON = (time(13, 30), time(17, 30))


def _at(day: datetime, moment: time, minutes: float = 0) -> datetime:
    return datetime.combine(day.date(), moment, tzinfo=LOCAL_TZ) + timedelta(minutes=minutes)


@functools.cache
def _working_day(day: date) -> bool:
    """Statutory holidays and make-up working days from ``chinese-calendar``; weekdays for a year it lacks.

    The demo must build in any year, so it does not stop at a year the package does not know yet, as the
    clocks of real requests rightly do.
    """
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def _add_working(moment: datetime, hours: float) -> datetime:
    """``hours`` of working time after ``moment`` (working days, 09:00 to 12:00 and 13:30 to 17:30 local)."""
    t = local(moment)
    remaining = timedelta(hours=hours)
    while True:
        if _working_day(t.date()):
            for opens, closes in (MORNING, AFTERNOON):
                opening, closing = _at(t, opens), _at(t, closes)
                t = max(t, opening)
                if t < closing:
                    if t + remaining <= closing:
                        return t + remaining
                    remaining -= closing - t
                    t = closing
        t = _at(t + timedelta(days=1), time(0, 0))


def _subtract_working(moment: datetime, hours: float) -> datetime:
    """The moment ``hours`` of working time before ``moment``: the inverse of :func:`_add_working`."""
    t = local(moment)
    remaining = timedelta(hours=hours)
    while True:
        if _working_day(t.date()):
            for opens, closes in (AFTERNOON, MORNING):
                opening, closing = _at(t, opens), _at(t, closes)
                t = min(t, closing)
                if t > opening:
                    if t - remaining >= opening:
                        return t - remaining
                    remaining -= t - opening
                    t = opening
        t = _at(t - timedelta(days=1), time(23, 59, 59))


def _backward(moment: datetime, rng: random.Random) -> datetime:
    """The moment itself if it falls in working hours, else shortly before the last closing time."""
    t = local(moment)
    while True:
        if _working_day(t.date()):
            clock = t.timetz().replace(tzinfo=None)
            if MORNING[0] <= clock < MORNING[1] or AFTERNOON[0] <= clock < AFTERNOON[1]:
                return t
            if clock < MORNING[0]:
                t = _at(t - timedelta(days=1), AFTERNOON[1], -rng.uniform(5, 60))
            elif clock < AFTERNOON[0]:
                t = _at(t, MORNING[1], -rng.uniform(5, 40))
            else:
                t = _at(t, AFTERNOON[1], -rng.uniform(5, 60))
        else:
            t = _at(t - timedelta(days=1), AFTERNOON[1], -rng.uniform(5, 60))


class _Later(Exception):
    """The next step of a request would happen after "now": the request stays where it is."""


class _Clock:
    """One request's own clock: each step happens a little after the previous one, never after ``anchor``."""

    def __init__(self, start: datetime, anchor: datetime, rng: random.Random, pace: float) -> None:
        self.now = start
        self.anchor = anchor
        self.rng = rng
        self.pace = pace

    def after(self, low_hours: float, high_hours: float, working: bool = True) -> datetime:
        """The next step, ``low_hours`` to ``high_hours`` working (or, if not ``working``, calendar) hours on.

        Raises :class:`_Later` when that is after "now".
        """
        hours = (
            self.rng.triangular(low_hours, high_hours, low_hours + (high_hours - low_hours) / 4) * self.pace
        )
        moment = _add_working(self.now, hours) if working else self.now + timedelta(hours=hours)
        if moment >= self.anchor:
            raise _Later
        self.now = moment
        return moment


# --------------------------------------------------------------------------- the plan


@dataclass
class _Plan:
    """What happens to one request: who files it, when, and how far its story goes."""

    rng: random.Random
    created_at: datetime
    enterprise: Enterprise
    contact: User
    category: str
    template: int
    channel: Channel
    urgency: Urgency
    fate: str
    pace: float = 1.0


# fate → weight, for requests older than the few placed by hand just before "now"
FATES = {
    "closed": 70,
    "reopened": 8,
    "unrated": 9,
    "return_accepted": 5,
    "return_refused": 2,
    "withdrawn": 3,
    "in_progress": 3,
}
# Recent requests that make every state of the lifecycle visible, whatever day it is:
# (fate, how many, filed this many working hours before "now" (low, high), pace).  The low bound is more
# than the longest their story can take at that pace, so each gets to its state before "now".
RECENT = [
    ("submitted", 3, 0.1, 6.0, 1.0),
    ("assigned", 3, 1.0, 12.0, 0.2),
    ("returned", 2, 4.0, 20.0, 0.2),
    ("in_progress", 3, 10.0, 40.0, 0.1),
    ("resolved", 3, 17.0, 30.0, 0.1),
    ("withdrawn", 1, 7.0, 35.0, 0.2),
]


class _Seeder:
    def __init__(self, anchor: datetime) -> None:
        self.anchor = anchor
        self.rng = random.Random(SEED)
        self.password_hash = hash_password(PASSWORD)
        self.users: dict[str, User] = {}
        self.buildings: dict[str, Building] = {}
        self.primary: dict[int, User] = {}
        self.deputies: dict[int, list[User]] = {}
        self.street_liaisons: dict[int, list[User]] = {}
        self.enterprises: list[tuple[Enterprise, User]] = []
        self.started_at = anchor - timedelta(days=400)

    # ------------------------------------------------------------------ reference data

    def _user(
        self,
        username: str,
        name: str,
        role: Role,
        *,
        email: str = "",
        enterprise_id: int | None = None,
        department_id: int | None = None,
    ) -> User:
        # Every demo account shares one password hash: argon2 is slow on purpose, and 50 hashes would show.
        user = User(
            username=username,
            password_hash=self.password_hash,
            name=name,
            role=role,
            email=email or f"{username}@example.gov.cn",
            phone=self._mobile(),
            enterprise_id=enterprise_id,
            department_id=department_id,
            created_at=self.started_at,
        )
        db.session.add(user)
        self.users[username] = user
        return user

    def _mobile(self) -> str:
        return f"1{self.rng.choice('3589')}{self.rng.randrange(10**9):09d}"

    def _person(self) -> str:
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_NAMES)

    def district(self) -> None:
        for order, (code, name, name_en) in enumerate(CATEGORIES, start=1):
            db.session.add(Category(code=code, name=name, name_en=name_en, sort_order=order))
        self._user("admin", "系统管理员", Role.ADMIN)
        self._user("manager", "郑海燕", Role.MANAGER)
        for code, name, name_en, username, person in DEPARTMENTS:
            department = Department(code=code, name=name, name_en=name_en)
            db.session.add(department)
            db.session.flush()
            self._user(username, person, Role.DEPARTMENT, department_id=department.id)
        for code, name, buildings in STREETS:
            street = Street(code=code, name=name)
            db.session.add(street)
            for building_name, address in buildings:
                building = Building(street=street, name=building_name, address=f"{name}{address}")
                db.session.add(building)
                self.buildings[building_name] = building
        db.session.flush()
        for username, name, primaries, deputies in LIAISONS:
            liaison = self._user(username, name, Role.LIAISON)
            db.session.flush()
            for role, names in ((CoverageRole.PRIMARY, primaries), (CoverageRole.DEPUTY, deputies)):
                for building_name in names:
                    building = self.buildings[building_name]
                    db.session.add(
                        Coverage(
                            liaison_id=liaison.id,
                            building_id=building.id,
                            role=role,
                            created_at=self.started_at,
                        )
                    )
                    if role == CoverageRole.PRIMARY:
                        self.primary[building.id] = liaison
                    else:
                        self.deputies.setdefault(building.id, []).append(liaison)
                    street_list = self.street_liaisons.setdefault(building.street_id, [])
                    if liaison not in street_list:
                        street_list.append(liaison)
        db.session.flush()

    def companies(self) -> None:
        building_list = list(self.buildings.values())
        codes: set[str] = set()
        for index, (name, industry) in enumerate(ENTERPRISES):
            while True:
                org = "MA" + "".join(self.rng.choice(uscc.ALPHABET) for _ in range(7))
                code = uscc.make("91" + self.rng.choice(REGIONS) + org)
                if code not in codes:
                    codes.add(code)
                    break
            # Round-robin first so that every building has enterprises, then a random spread.
            building = building_list[index] if index < len(building_list) else self.rng.choice(building_list)
            liaison = self.primary[building.id]
            if index in UNVERIFIED:
                created_at = self.anchor - timedelta(days=self.rng.uniform(2, 10))
                verified_at, verified_by = None, None
            else:
                created_at = self.started_at + timedelta(days=self.rng.uniform(0, 20))
                verified_at, verified_by = created_at + timedelta(days=self.rng.uniform(1, 10)), liaison.id
            enterprise = Enterprise(
                uscc=code,
                name=name,
                building=building,
                room=f"{self.rng.randint(2, 28)}{self.rng.choice(['01', '02', '05', '08', '10', '12'])}室",
                industry=industry,
                description=f"{industry}企业，入驻{building.name}。",
                created_at=created_at,
                verified_at=verified_at,
                verified_by_id=verified_by,
            )
            db.session.add(enterprise)
            db.session.flush()
            contact = self._user(
                f"ent{index + 1}",
                self._person(),
                Role.ENTERPRISE,
                enterprise_id=enterprise.id,
                email=f"ent{index + 1}@example.com",
            )
            contact.created_at = created_at
            if verified_at is not None:
                self.enterprises.append((enterprise, contact))
        db.session.flush()

    # ------------------------------------------------------------------ the requests

    def plans(self) -> list[_Plan]:
        """The 300 requests to play, oldest first.

        Each request draws from its own random stream, so that its story (who, what, how it ends) stays the
        same from one day to the next even though how much of it has happened by "now" does not.
        """
        weights = [self.rng.uniform(0.3, 3.0) for _ in self.enterprises]  # some enterprises call far more
        plans: list[_Plan] = []

        def plan(rng: random.Random, created_at: datetime, fate: str, pace: float = 1.0) -> _Plan:
            enterprise, contact = rng.choices(self.enterprises, weights)[0]
            category = rng.choices(list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values()))[0]
            channel = rng.choices(list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values()))[0]
            urgent = rng.random() < (0.25 if category == "utilities" else 0.06)
            if channel in (Channel.TEA_MEETING, Channel.ROUNDTABLE):
                # Meetings are held in the morning; the liaison records the requests raised there during or
                # after the meeting.
                meeting = _at(local(created_at), time(10, 0), rng.uniform(0, 90))
                created_at = min(created_at, meeting)
            return _Plan(
                rng=rng,
                created_at=created_at,
                enterprise=enterprise,
                contact=contact,
                category=category,
                template=rng.randrange(len(TEMPLATES[category])),
                channel=channel,
                urgency=Urgency.URGENT if urgent else Urgency.NORMAL,
                fate=fate,
                pace=pace,
            )

        streams = (random.Random(f"{SEED}:{i}") for i in itertools.count())
        for fate, count, low, high, pace in RECENT:
            for _ in range(count):
                rng = next(streams)
                created_at = _subtract_working(self.anchor, rng.uniform(low, high))
                plans.append(plan(rng, created_at, fate, pace))
        for i in range(TICKET_COUNT - len(plans)):
            rng = next(streams)
            # The oldest request is almost a year old; the volume grows towards today.
            age = 362.0 if i == 0 else 362.0 * rng.random() ** 1.25
            created_at = _backward(self.anchor - timedelta(days=age, hours=rng.uniform(0, 8)), rng)
            fate = rng.choices(list(FATES), list(FATES.values()))[0]
            if fate == "in_progress" and age > 90:
                fate = "closed"  # a request stuck for months would have been escalated long ago
            plans.append(plan(rng, created_at, fate))
        plans.sort(key=lambda p: p.created_at)
        return plans

    def play(self, plan: _Plan) -> Ticket:
        rng = plan.rng
        manager = self.users["manager"]
        building_id = plan.enterprise.building_id
        primary = self.primary[building_id]
        title, description, answer = TEMPLATES[plan.category][plan.template]
        if plan.category in LOCATED_CATEGORIES:
            description = f"我司位于{plan.enterprise.building.name}{plan.enterprise.room}。{description}"
        fields = {
            "category": plan.category,
            "title": title,
            "description": description,
            "urgency": plan.urgency.value,
            "contact_phone": plan.contact.phone,
            "now": plan.created_at,
        }
        if plan.channel in (Channel.WEB, Channel.API):
            ticket = services.submit_ticket(plan.contact, channel=plan.channel.value, **fields)  # type: ignore[arg-type]
        else:
            recorder = rng.choice([primary, *self.deputies.get(building_id, [])])
            ticket = services.submit_ticket(
                recorder,
                enterprise_uscc=plan.enterprise.uscc,
                channel=plan.channel.value,
                **fields,  # type: ignore[arg-type]
            )
        clock = _Clock(plan.created_at, self.anchor, rng, plan.pace)
        urgent = plan.urgency == Urgency.URGENT
        with contextlib.suppress(_Later):  # the rest of this request's story lies in the future
            self._work(ticket, plan, clock, manager, primary, answer, urgent)
        return ticket

    def _work(
        self,
        ticket: Ticket,
        plan: _Plan,
        clock: _Clock,
        manager: User,
        primary: User,
        answer: str,
        urgent: bool,
    ) -> None:
        # Delays are in working hours (a working day has seven).
        rng = plan.rng
        fate = plan.fate
        if fate == "submitted":
            return
        assignee = primary
        deputies = self.deputies.get(ticket.building_id, [])
        if deputies and rng.random() < 0.1:
            assignee = rng.choice(deputies)  # the primary liaison is busy: the manager gives it to a deputy
        services.assign(ticket.id, manager, assignee.username, clock.after(0.05, 0.5 if urgent else 2))
        if fate == "assigned":
            return
        if fate == "withdrawn" and rng.random() < 0.4:
            services.withdraw(ticket.id, plan.contact, rng.choice(WITHDRAW_REASONS), clock.after(0.5, 14))
            return
        if fate in ("returned", "return_accepted", "return_refused"):
            if rng.random() < 0.5:
                services.acknowledge(ticket.id, assignee, clock.after(0.05, 2))
            services.return_ticket(ticket.id, assignee, rng.choice(RETURN_REASONS), clock.after(0.5, 10))
            if fate == "returned":
                return
            if fate == "return_accepted":
                services.review_return(
                    ticket.id, manager, True, rng.choice(ACCEPT_NOTES), clock.after(0.5, 6)
                )
                assignee = self._another_liaison(ticket, assignee)
                services.assign(ticket.id, manager, assignee.username, clock.after(0.05, 2))
            else:
                services.review_return(
                    ticket.id, manager, False, rng.choice(REFUSAL_NOTES), clock.after(0.5, 6)
                )
        if ticket.state == TicketState.ASSIGNED:
            services.acknowledge(ticket.id, assignee, clock.after(0.05, 0.4 if urgent else 2.5))
        if fate == "withdrawn":
            services.withdraw(ticket.id, plan.contact, rng.choice(WITHDRAW_REASONS), clock.after(2, 30))
            return
        if rng.random() < 0.7:
            services.reply(ticket.id, assignee, rng.choice(PROGRESS_REPLIES), clock.after(0.3, 10))
        if rng.random() < 0.3:
            services.add_note(ticket.id, assignee, rng.choice(NOTES), clock.after(0.3, 10))
        resolver = assignee
        department = self._department_for(plan.category, rng)
        if department is not None:
            note = rng.choice(["", "请协助办理。", "请贵局协助核实并答复企业。"])
            services.transfer(ticket.id, assignee, department, clock.after(1, 10), note)
            staff = self.users["dept1" if department == "hrss" else "dept2"]
            services.reply(ticket.id, staff, DEPARTMENT_REPLIES[department][0], clock.after(1, 20))
            if rng.random() < 0.6:
                services.handback(ticket.id, staff, rng.choice(HANDBACK_NOTES), clock.after(3, 40))
            else:
                resolver = staff  # the department answers the enterprise itself
        if fate == "in_progress":
            return
        services.resolve(ticket.id, resolver, answer, clock.after(*((1, 10) if urgent else (4, 70))))
        if fate in ("resolved", "unrated"):
            self._lapse(ticket, clock, rng)  # awaits its rating while the window is open, else closed unrated
            return
        if fate == "reopened":
            if not self._rate(ticket, plan, clock, RatingScore.DISSATISFIED):
                return
            services.reply(ticket.id, assignee, "收到您的反馈，我们将再次协调处理。", clock.after(0.3, 6))
            services.resolve(ticket.id, assignee, rng.choice(SECOND_ANSWERS), clock.after(7, 40))
        score = RatingScore.SATISFIED if rng.random() < 0.76 else RatingScore.BASICALLY_SATISFIED
        self._rate(ticket, plan, clock, score)

    def _rate(self, ticket: Ticket, plan: _Plan, clock: _Clock, score: RatingScore) -> bool:
        """Rate the resolved request if that happens inside its rating window; else let the window lapse."""
        rng = plan.rng
        # The enterprise rates most requests itself; the manager records the rest from phone follow-ups,
        # but a complaint comes from the enterprise.
        by_phone = score != RatingScore.DISSATISFIED and rng.random() < 0.15
        rater = self.users["manager"] if by_phone else plan.contact
        comments = {
            RatingScore.SATISFIED: SATISFIED_COMMENTS,
            RatingScore.BASICALLY_SATISFIED: BASIC_COMMENTS,
            RatingScore.DISSATISFIED: DISSATISFIED_COMMENTS,
        }
        due = ticket.rating_due_at
        assert due is not None
        try:
            moment = clock.after(1, 30)
        except _Later:
            moment = None
        if moment is None or moment >= due:
            # Not rated in time (so far): a long holiday, or the rating lies in the future.
            self._lapse(ticket, clock, rng)
            return False
        services.rate(ticket.id, rater, score.value, rng.choice(comments[score]), moment)
        return True

    def _lapse(self, ticket: Ticket, clock: _Clock, rng: random.Random) -> None:
        """Nobody rated the request: the rating-window sweep closes it a little after the window ends."""
        due = ticket.rating_due_at
        assert due is not None
        if due >= self.anchor:
            raise _Later  # the window is still open: the request waits for its rating
        services.close_unrated(min(due + timedelta(minutes=rng.uniform(1, 60)), self.anchor))

    def _department_for(self, category: str, rng: random.Random) -> str | None:
        if category not in TRANSFER_TO or rng.random() >= 0.45:
            return None
        return TRANSFER_TO[category] or rng.choice(["hrss", "samr"])

    def _another_liaison(self, ticket: Ticket, returned_by: User) -> User:
        """Who gets a returned request: a deputy of the building, its primary, else one of the street."""
        for candidate in [*self.deputies.get(ticket.building_id, []), self.primary[ticket.building_id]]:
            if candidate.id != returned_by.id:
                return candidate
        street_id = self.buildings_by_id[ticket.building_id].street_id
        for candidate in self.street_liaisons[street_id]:
            if candidate.id != returned_by.id:
                return candidate
        return next(u for u in self.users.values() if u.role == Role.LIAISON and u.id != returned_by.id)

    @property
    def buildings_by_id(self) -> dict[int, Building]:
        return {b.id: b for b in self.buildings.values()}


def seed_demo(if_empty: bool = False) -> str:
    """Fill an empty database with the demo district and commit; return a one-line summary.

    Refused (:class:`RuntimeError`) in production, and when the database already has users; with
    ``if_empty`` a database that has users is left alone instead.
    """
    if current_app.config["HOTLINE_ENV"] == "production":
        raise RuntimeError("demo data is refused in production")
    users = db.session.scalar(select(func.count(User.id))) or 0
    if users:
        if if_empty:
            return f"demo data not created: the database already has {users} users"
        raise RuntimeError("the database already has users; demo data goes into an empty database only")

    from hotline.sla.services import sync_calendar_from_package

    sync_calendar_from_package(utcnow())  # the clocks of the demo requests need working days
    seeder = _Seeder(utcnow())
    seeder.district()
    seeder.companies()
    ticket_ids = [seeder.play(plan).id for plan in seeder.plans()]
    # Demo requests are dispatched by hand above: the routing messages they left are already handled.
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.ticket_id.in_(ticket_ids), OutboxMessage.published_at.is_(None))
        .values(published_at=OutboxMessage.created_at)
    )
    db.session.commit()
    return (
        f"demo data created: {len(STREETS)} streets, {len(seeder.buildings)} buildings, "
        f"{len(ENTERPRISES)} enterprises, {len(seeder.users)} users, {len(ticket_ids)} requests "
        f"(password {PASSWORD})"
    )
