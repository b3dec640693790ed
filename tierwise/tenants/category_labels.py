"""The labels of the codes Tierwise knows: the industry templates' categories (which the field registry
stores without labels), interaction channels and types, and common activity categories.

Pages, tier reasons, model reasons and exports all name a code through ``category_label``, so
"hospital" reads 医院 and "regulator_hotline" 监管热线 wherever a person sees it.  A code a tenant
added itself is shown as it was imported.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

CATEGORY_LABELS = {
    # bank: occupation
    "business_owner": _l("Business owner"), "property_investor": _l("Property investor"),
    "professional_investor": _l("Professional investor"), "executive": _l("Executive"), "other": _l("Other"),
    # power utility: usage category, voltage class (units read the same in both languages), facility type
    "industrial": _l("Industrial"), "commercial": _l("Commercial"), "residential": _l("Residential"),
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
