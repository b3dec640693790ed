"""The labels of the codes Tierwise knows: the industry templates' categories (which the field registry
stores without labels), interaction channels and types, and common activity categories.

Pages, tier reasons, model reasons and exports all name a code through ``category_label``, so
"hospital" reads 医院 and "regulator_hotline" 监管热线 wherever a person sees it.  A code a tenant
added itself is shown as it was imported.
"""
from __future__ import annotations

import functools

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

CATEGORY_LABELS = {
    # every tenant: a customer's party type (a model feature, so a reason can name it)
    "individual": _l("Individual"), "organisation": _l("Organisation"),
    # bank: occupation
    "business_owner": _l("Business owner"), "property_investor": _l("Property investor"),
    "professional_investor": _l("Professional investor"), "executive": _l("Executive"), "other": _l("Other"),
    # power utility: usage category, voltage class (units read the same in both languages), facility type
    "industrial": _l("Industrial"), "commercial": _l("Commercial"), "residential": _l("Residential"),
    "agricultural": _l("Agricultural"),
    "220v": "220 V", "380v": "380 V", "10kv": "10 kV", "35kv": "35 kV", "110kv": "110 kV", "220kv": "220 kV",
    "hospital": _l("Hospital"), "government": _l("Government body"), "military": _l("Military facility"),
    "mine": _l("Mine"), "hazardous_chemicals": _l("Hazardous chemicals"), "transport_hub": _l("Transport hub"),
    "school": _l("School"), "large_venue": _l("Large venue"), "data_centre": _l("Data centre"),
    # pharmaceutical distributor: account type
    "tertiary_hospital": _l("Tertiary hospital"), "other_hospital": _l("Other hospital"),
    "pharmacy_chain": _l("Pharmacy chain"), "single_pharmacy": _l("Single pharmacy"), "clinic": _l("Clinic"),
    # interaction channels and types
    "phone": _l("Phone"), "counter": _l("Counter"), "web": _l("Website"), "app": _l("App"), "sms": _l("SMS"),
    "email": _l("Email"), "social_media": _l("Social media"), "news_media": _l("News media"),
    "regulator_hotline": _l("Regulator hotline"),
    "complaint": _l("Complaint"), "request": _l("Request"), "opinion": _l("Opinion"), "praise": _l("Praise"),
    # activity categories the industries commonly import
    "deposit": _l("Deposit"), "withdrawal": _l("Withdrawal"), "card_spend": _l("Card spend"),
    "loan_repayment": _l("Loan repayment"), "bill": _l("Bill"), "payment": _l("Payment"), "order": _l("Order"),
    "return": _l("Return"),
}


def category_label(value):
    """A category value as people read it: its label where Tierwise has one, else the stored code."""
    return CATEGORY_LABELS.get(value, value) if isinstance(value, str) else value


# How the industries' own files spell some codes, beyond their labels: a State Grid extract says 大工业用电
# for industrial use and 95598热线 for its customer-service line.
SPELLINGS = {
    "大工业用电": "industrial", "大工业": "industrial", "工业用电": "industrial",
    "一般工商业用电": "commercial", "一般工商业": "commercial", "商业用电": "commercial",
    "居民生活用电": "residential", "居民生活": "residential", "居民用电": "residential", "城乡居民生活用电": "residential",
    "农业生产用电": "agricultural", "农业生产": "agricultural", "农业用电": "agricultural", "农业排灌": "agricultural",
    "95598热线": "phone", "客服热线": "phone", "网上国网": "app", "网上国网app": "app", "掌上电力": "app",
    "12398热线": "regulator_hotline", "12345热线": "regulator_hotline", "12345市民热线": "regulator_hotline",
}


@functools.lru_cache(maxsize=256)
def label_spellings(codes: frozenset[str]) -> dict[str, str]:
    """Each of ``codes`` by its label in English and in Chinese, and as the industries spell it, lowercased.

    An import matches a category on its code; a file exported for people says 医院 or "Regulator
    hotline", the words every page shows for ``hospital`` and ``regulator_hotline``, and was refused
    ("is not one of: hospital, ...").  Read once per set of codes (the labels do not change).
    """
    spellings = {}
    for locale in ("en", "zh_Hans_CN"):
        with force_locale(locale):
            for code in sorted(codes):
                label = CATEGORY_LABELS.get(code)
                if label is not None:
                    spellings.setdefault(str(label).lower(), code)
    spellings.update({spelling: code for spelling, code in SPELLINGS.items() if code in codes})
    return spellings
