"""The headers real extracts give each built-in target, so that their files import without a mapping.

A bank's core system says 客户号 and 交易金额, a power utility's marketing system (营销系统/CIS) 户号 and
应收电费, a distributor's ERP 客户编码 and 开票日期; each means a target the import fills.  The lists below
are those spellings, target by target.  A header is compared by ``header_key``: Unicode-normalised
(full-width brackets and letters as half-width), its trailing bracketed units dropped (金额(元),
用电量（kWh）, Amount [CNY]), whitespace, ``_``, ``-`` and ``.`` removed, and case-folded, so
"Customer No." is ``customer no`` and 客户 编号 is 客户编号.  Dropping a unit is safe because two columns
that become one spelling (金额(含税) and 金额(不含税)) are refused as ambiguous, never one picked.

How a spelling is weighed against a column named like the target, a mapping and a tenant field is
``planning``'s to say.  A kind's lists never share a spelling (a test keeps them apart), so one column
is a spelling of one target at most.

An activity's ``category`` has no spellings on purpose: it is part of an activity's identity
(``loading.merge_activity``), so a column recognised as it would make a file imported before without
it refused ("imported before without a category"), and a spelling cannot be switched off.  It is
filled by a column named ``category`` or by a mapping only.
"""
from __future__ import annotations

import re
import unicodedata

CUSTOMER_ID = ("客户编号", "客户编码", "客户号", "客户代码", "客户ID", "户号", "用户编号", "用户号",
               "customer id", "customer no", "customer number", "customer code", "client id", "client no",
               "client number", "client num", "cust id")

SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        "external_id": (*CUSTOMER_ID, "external id"),
        "name": ("客户名称", "客户名", "客户姓名", "户名", "用户名称", "姓名", "名称", "customer name", "client name"),
        "party_type": ("客户类型", "客户性质", "对公对私", "party type", "customer type"),
        "branch_code": ("所属网点", "网点", "网点编号", "网点号", "网点代码", "机构号", "机构编号", "机构代码",
                        "branch", "branch code", "branch no"),
        "rm_email": ("客户经理邮箱", "客户经理电子邮箱", "客户经理email", "rm email", "relationship manager email"),
        "status": ("客户状态", "状态", "customer status"),
        "churn_label": ("是否流失", "流失标志", "流失标识", "churned", "churn", "churn flag", "exited",
                        "attrition flag"),
        "label_observed_on": ("观察日期", "流失观察日期", "标签日期", "label date", "label observed on"),
    },
    "activity": {
        "customer": CUSTOMER_ID,
        # a bill's period (账期, 电费年月) dates a utility's bill: a month written alone is its first day
        "occurred_at": ("交易日期", "交易时间", "订单日期", "下单日期", "开票日期", "账单日期", "抄表日期", "发生日期",
                        "发生时间", "记账日期", "日期", "账期", "电费年月", "账务年月", "抄表年月", "date", "order date",
                        "invoice date", "transaction date", "bill date", "billing period", "occurred at"),
        "amount": ("金额", "交易金额", "开票金额", "销售金额", "订单金额", "价税合计", "电费金额", "应收电费", "电费",
                   "发生额", "value", "sales amount", "invoice amount", "transaction amount"),
        "quantity": ("数量", "销售数量", "用电量", "电量", "qty"),
        "category": (),
    },
    "interactions": {
        "customer": CUSTOMER_ID,
        "occurred_at": ("受理时间", "受理日期", "发生时间", "发生日期", "登记时间", "来电时间", "投诉时间", "日期",
                        "date", "received at", "occurred at"),
        "channel": ("渠道", "受理渠道", "来源", "来源渠道", "接入渠道", "source"),
        "type": ("类型", "工单类型", "诉求类型", "interaction type", "ticket type"),
        "severity": ("严重程度", "严重等级", "severity level"),
        "resolved_at": ("办结时间", "办结日期", "归档时间", "归档日期", "解决时间", "结案时间", "resolved at",
                        "closed at"),
        # yes/no questions only: a workflow status (处理状态: 已派单, 已归档) or an English "Closed" holding dates
        # is no flag, and read as one it refused the register that used to import
        "resolved": ("是否办结", "办结状态", "是否解决", "是否结案", "是否已解决"),
        "summary": ("内容", "诉求内容", "工单内容", "受理内容", "投诉内容", "描述", "摘要", "content", "description"),
    },
}

_TRAILING_UNIT = re.compile(r"\s*[(\[【][^()\[\]【】]*[)\]】]$")  # (元), [CNY], 【万元】, after NFKC folding
_SEPARATORS = re.compile(r"[\s_.\-]+")


def header_key(header: str) -> str:
    """``header`` as spellings are compared: 用电量（kWh） is 用电量, "Customer No." is ``customerno``."""
    return _SEPARATORS.sub("", _split_units(header)[0]).casefold()


def header_unit(header: str) -> str:
    """The unit ``header_key`` drops, as it compares them: 合同容量（kVA） and "Capacity (kva)" say ``kva``,
    a header without one says ``""``."""
    return _SEPARATORS.sub("", " ".join(_split_units(header)[1])).casefold()


def _split_units(header: str) -> tuple[str, list[str]]:
    """``header`` (NFKC-folded) without its trailing bracketed units, and those units in order, brackets off."""
    key = unicodedata.normalize("NFKC", header).strip()
    units: list[str] = []
    while (bare := _TRAILING_UNIT.sub("", key).strip()) and bare != key:
        units.insert(0, key[len(bare):].strip().strip("()[]【】"))
        key = bare
    return key, units


# No target's: with a quantity, the price that values an order line without an amount (``planning._amount_from``)
UNIT_PRICE = ("单价", "含税单价", "销售单价", "成交单价", "unit price", "price")


def unit_price_columns(columns: list[str]) -> list[str]:
    """The ``columns`` headed as a unit price (UnitPrice, 单价(元)), in the file's order."""
    keys = {header_key(spelling) for spelling in UNIT_PRICE}
    return [column for column in columns if header_key(column) in keys]


def spelled_columns(kind: str, columns: list[str]) -> dict[str, list[str]]:
    """The ``columns`` whose header is a spelling of each of ``kind``'s targets, in the file's order."""
    found: dict[str, list[str]] = {}
    keys = {header_key(spelling): target for target, spellings in SPELLINGS[kind].items() for spelling in spellings}
    for column in columns:
        target = keys.get(header_key(column))
        if target is not None:
            found.setdefault(target, []).append(column)
    return found
