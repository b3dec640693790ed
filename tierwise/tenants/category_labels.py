"""The labels of the industry templates' category codes, which the field registry stores without labels.

Pages, tier reasons and exports all name a category through ``category_label``, so
"hospital" reads 医院 wherever a person sees it.  A code a tenant added itself is
shown as it was imported.
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
}


def category_label(value):
    """A category value as people read it: its label where Tierwise has one, else the stored code."""
    return CATEGORY_LABELS.get(value, value) if isinstance(value, str) else value
