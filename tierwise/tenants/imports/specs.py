"""What each kind of import expects: its target columns, their types and where they come from."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from tierwise.tenants.customers import CustomerStatus, PartyType
from tierwise.tenants.fields import FieldDefinition, FieldType
from tierwise.tenants.imports.parsing import DAY_FIRST, MONTH_FIRST
from tierwise.tenants.interactions import Channel, InteractionType

# What each kind is called where people read it (the upload form, a run's page, a refusal naming the kind)
KIND_LABELS = {"customers": _l("Customers"), "activity": _l("Activity"), "interactions": _l("Interactions")}
KINDS = tuple(KIND_LABELS)
# How an import read dates written with the year last (``ImportResult.date_order``): the run page, audit and CLI
DATE_ORDER_LABELS = {MONTH_FIRST: _l("read month first (month/day/year), as the file's own dates show"),
                     DAY_FIRST: _l("read day first (day/month/year), as the file's own dates show")}


@dataclass(frozen=True)
class Target:
    """One column the import fills, parsed from one source column."""

    name: str
    kind: str  # text, number, integer, boolean, date, datetime, category
    required: bool = False
    max_length: int | None = None
    choices: frozenset[str] | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    attribute: bool = False  # a tenant field stored in customers.attributes
    scale: int | None = None  # decimals kept for numbers stored as NUMERIC

    @property
    def sql_type(self) -> sa.types.TypeEngine:
        if self.kind == "number" and self.scale is not None:
            return sa.Numeric(18, self.scale)
        return {
            "text": sa.Text(), "id": sa.Text(), "category": sa.Text(), "number": sa.Float(), "integer": sa.BigInteger(),
            "boolean": sa.Boolean(), "date": sa.Date(), "datetime": sa.DateTime(timezone=True),
        }[self.kind]


PARTY_ALIASES = {"个人": "individual", "对私": "individual", "个体": "individual", "person": "individual",
                 "企业": "organisation", "对公": "organisation", "机构": "organisation", "单位": "organisation",
                 "公司": "organisation", "organization": "organisation", "company": "organisation"}
STATUS_ALIASES = {"正常": "active", "有效": "active", "休眠": "dormant", "睡眠": "dormant", "销户": "closed",
                  "注销": "closed", "已销户": "closed"}
# How churn files word their outcome besides yes/no: Kaggle's BankChurners says Attrition_Flag "Attrited
# Customer" / "Existing Customer", a Chinese extract 流失 / 未流失.  Only the churn label reads them: "Existing
# Customer" is no "no" anywhere else.
CHURN_ALIASES = {"attrited customer": "yes", "attrited": "yes", "churned": "yes", "流失": "yes", "已流失": "yes",
                 "existing customer": "no", "stayed": "no", "未流失": "no"}
CHANNEL_ALIASES = {"电话": "phone", "95598": "phone", "柜台": "counter", "营业厅": "counter", "网站": "web",
                   "网上": "web", "网络": "web", "手机银行": "app", "短信": "sms", "邮件": "email", "社交媒体": "social_media",
                   "微博": "social_media", "微信": "social_media", "新闻媒体": "news_media", "媒体": "news_media",
                   "监管热线": "regulator_hotline", "12345": "regulator_hotline", "12398": "regulator_hotline",
                   "12378": "regulator_hotline", "其他": "other"}
TYPE_ALIASES = {"投诉": "complaint", "诉求": "request", "请求": "request", "咨询": "request", "意见": "opinion",
                "建议": "opinion", "表扬": "praise"}


def _codes(enum) -> frozenset[str]:
    return frozenset(member.value for member in enum)


CUSTOMER_TARGETS = (
    Target("external_id", "id", required=True, max_length=64),
    # Optional: a file of ids alone (a churn snapshot, a status delta) is a customer file too.  A new customer
    # without a name is named by its id until a file names it; a blank name never erases one.
    Target("name", "text", max_length=200),
    Target("party_type", "category", choices=_codes(PartyType), aliases=PARTY_ALIASES),
    Target("branch_code", "text", max_length=40),
    Target("rm_email", "text", max_length=254),
    Target("status", "category", choices=_codes(CustomerStatus), aliases=STATUS_ALIASES),
    Target("churn_label", "boolean", aliases=CHURN_ALIASES),
    Target("label_observed_on", "date"),
)
ACTIVITY_TARGETS = (
    Target("customer", "id", required=True, max_length=64),
    Target("occurred_at", "datetime", required=True),
    Target("amount", "number", required=True, scale=2),
    Target("quantity", "number", scale=4),
    Target("category", "text", max_length=64),
)
INTERACTION_TARGETS = (
    Target("customer", "id", required=True, max_length=64),
    Target("occurred_at", "datetime", required=True),
    Target("channel", "category", required=True, choices=_codes(Channel), aliases=CHANNEL_ALIASES),
    Target("type", "category", required=True, choices=_codes(InteractionType), aliases=TYPE_ALIASES),
    Target("severity", "integer"),
    Target("resolved_at", "datetime"),
    # Whether it was resolved, where a register says so without saying when (是否办结): resolved counts from
    # the moment it was made, unresolved stays open.  A time, where given, says more and wins.
    Target("resolved", "boolean"),
    Target("summary", "text", max_length=2000),
)
BUILT_IN_TARGETS = {"customers": CUSTOMER_TARGETS, "activity": ACTIVITY_TARGETS, "interactions": INTERACTION_TARGETS}

_FIELD_KINDS = {FieldType.NUMBER: "number", FieldType.INTEGER: "integer", FieldType.BOOLEAN: "boolean",
                FieldType.CATEGORY: "category", FieldType.DATE: "date", FieldType.TEXT: "text"}


def attribute_target(definition: FieldDefinition) -> Target:
    kind = _FIELD_KINDS[FieldType(definition.field_type)]
    choices = frozenset(c.lower() for c in definition.categories) if definition.categories else None
    return Target(definition.name, kind, max_length=1000 if kind in ("text", "category") else None,
                  choices=choices, attribute=True)
