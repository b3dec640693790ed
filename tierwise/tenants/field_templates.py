"""Industry templates: the fields a new tenant's registry starts with.

Each is what that industry's customer exports typically carry; tenants edit,
extend or ignore them.  Thresholds do not live here (they belong to rules).
"""
from __future__ import annotations

from dataclasses import dataclass

from tierwise.tenants.fields import define_field, field_registry


@dataclass(frozen=True)
class FieldTemplate:
    name: str
    field_type: str
    field_group: str
    label_zh: str
    label_en: str
    description: str = ""  # in English
    categories: tuple[str, ...] | None = None
    description_zh: str = ""


BANK = (
    FieldTemplate("aum_avg_3m", "number", "value", "近三月日均资产（人民币）", "3-month avg daily balance (RMB)",
                  "Average daily balance of deposits and wealth products over the last three months, in RMB.",
                  description_zh="近三个月存款和理财产品的日均余额，单位人民币。"),
    FieldTemplate("fx_avg_3m", "number", "value", "近三月日均外币资产（折人民币）", "3-month avg daily FX balance (RMB eq.)"),
    FieldTemplate("card_spend_12m", "number", "behaviour", "近12月信用卡消费", "Card spend, last 12 months"),
    FieldTemplate("loan_balance", "number", "value", "贷款余额", "Loan balance"),
    FieldTemplate("products_held", "integer", "behaviour", "持有产品数", "Products held"),
    FieldTemplate("tenure_years", "number", "profile", "客户年限（年）", "Tenure (years)"),
    FieldTemplate("occupation", "category", "profile", "职业/财富来源", "Occupation / wealth source", categories=(
        "business_owner", "property_investor", "professional_investor", "executive", "other")),
    FieldTemplate("corporate_client_id", "text", "profile", "关联对公客户", "Linked corporate client",
                  "External id of the corporate client this person is linked to (e.g. payroll, owner).",
                  description_zh="与此客户关联的对公客户的外部编号（如代发工资、企业主）。"),
    FieldTemplate("corporate_client_tier", "category", "value", "关联对公客户层级", "Linked corporate client's tier"),
)
POWER_UTILITY = (
    FieldTemplate("usage_category", "category", "profile", "用电类别", "Usage category",
                  # China's four tariff classes: 大工业, 一般工商业, 居民生活, 农业生产 (irrigation, farming)
                  categories=("industrial", "commercial", "residential", "agricultural")),
    FieldTemplate("voltage_class", "category", "profile", "电压等级", "Voltage class",
                  categories=("220v", "380v", "10kv", "35kv", "110kv", "220kv")),
    FieldTemplate("contracted_capacity_kva", "number", "profile", "合同容量（kVA）", "Contracted capacity (kVA)"),
    FieldTemplate("kwh_12m", "number", "behaviour", "近12月用电量（kWh）", "Consumption, last 12 months (kWh)"),
    FieldTemplate("bill_amount_12m", "number", "value", "近12月电费", "Bills, last 12 months (RMB)"),
    FieldTemplate("facility_type", "category", "risk", "设施类型", "Facility type", categories=(
        "hospital", "government", "military", "mine", "hazardous_chemicals", "transport_hub", "school",
        "large_venue", "data_centre", "other")),
    FieldTemplate("outage_consequence", "integer", "risk", "停电后果严重程度（1-5）", "Outage consequence severity (1-5)",
                  "How serious an outage at this account would be, 1 (minor) to 5 (life-threatening).",
                  description_zh="此户停电后果的严重程度，1（轻微）至5（危及生命）。"),
    FieldTemplate("arrears_amount", "number", "compliance", "欠费金额", "Arrears amount",
                  "A compliance flag, not a high-risk criterion.", description_zh="合规标记，不作为高危判定依据。"),
    FieldTemplate("arrears_days", "integer", "compliance", "欠费天数", "Days in arrears"),
    FieldTemplate("illegal_use", "boolean", "compliance", "违约窃电", "Illegal use detected",
                  "A compliance flag, separate from high-risk.", description_zh="合规标记，与高危分开。"),
)
PHARMA_DISTRIBUTOR = (
    FieldTemplate("account_type", "category", "profile", "客户类型", "Account type", categories=(
        "tertiary_hospital", "other_hospital", "pharmacy_chain", "single_pharmacy", "clinic")),
    FieldTemplate("revenue_12m", "number", "value", "近12月销售额", "Revenue, last 12 months"),
    FieldTemplate("gross_margin_12m", "number", "value", "近12月毛利", "Gross margin, last 12 months"),
    FieldTemplate("orders_12m", "integer", "behaviour", "近12月订单数", "Orders, last 12 months"),
    FieldTemplate("dso_days", "number", "risk", "应收账款周转天数", "Days sales outstanding"),
    FieldTemplate("payment_terms_days", "integer", "risk", "账期天数", "Payment terms (days)",
                  "The credit period agreed with the account: DSO is judged against it.",
                  description_zh="与客户约定的账期，DSO 按它评判。"),
    FieldTemplate("overdue_receivables", "number", "compliance", "逾期应收", "Overdue receivables"),
    FieldTemplate("returns_rate", "number", "behaviour", "退货率", "Returns rate"),
    FieldTemplate("quality_incidents", "integer", "risk", "质量事件数", "Quality incidents"),
    FieldTemplate("sales_rep", "text", "profile", "销售代表", "Sales rep"),
)
TEMPLATES: dict[str, tuple[FieldTemplate, ...]] = {
    "bank": BANK, "power_utility": POWER_UTILITY, "pharma_distributor": PHARMA_DISTRIBUTOR, "other": (),
}


def apply_industry_template(industry: str) -> list[str]:
    """Add the industry's template fields the current tenant does not have yet; returns their names."""
    existing = field_registry()
    added = []
    for template in TEMPLATES.get(industry, ()):
        if template.name in existing:
            continue
        define_field(name=template.name, field_type=template.field_type, field_group=template.field_group,
                     label_zh=template.label_zh, label_en=template.label_en, description=template.description,
                     description_zh=template.description_zh,
                     categories=list(template.categories) if template.categories else None, audit_action=None)
        added.append(template.name)
    return added
