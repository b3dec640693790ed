"""What changed between two rule set definitions, in words an auditor can read.

The diff is a list of changes, each naming the dimension and tier it touches,
e.g. ``{"change": "rule", "dimension": "value", "tier": "vip", "before": ...,
"after": ...}``.  It is stored with every publish in the audit log and shown in
the version history.
"""
from __future__ import annotations


def definition_diff(before: dict | None, after: dict) -> list[dict]:
    if before is None:
        return [{"change": "created", "dimensions": [d["code"] for d in after["dimensions"]]}]
    changes: list[dict] = []
    if before.get("value_measure") != after.get("value_measure"):
        changes.append({"change": "value_measure", "before": before.get("value_measure"),
                        "after": after.get("value_measure")})
    old = {d["code"]: d for d in before["dimensions"]}
    new = {d["code"]: d for d in after["dimensions"]}
    changes += [{"change": "dimension_removed", "dimension": code} for code in old if code not in new]
    changes += [{"change": "dimension_added", "dimension": code} for code in new if code not in old]
    for code in new:
        if code in old:
            changes += _dimension_diff(code, old[code], new[code])
    return changes


def _dimension_diff(code: str, before: dict, after: dict) -> list[dict]:
    changes = []
    for key in ("label_en", "label_zh", "description", "description_zh", "hysteresis"):
        if before.get(key) != after.get(key):
            changes.append({"change": key, "dimension": code, "before": before.get(key), "after": after.get(key)})
    old_tiers = {t["code"]: t for t in before["tiers"]}
    new_tiers = {t["code"]: t for t in after["tiers"]}
    if [t for t in old_tiers if t in new_tiers] != [t for t in new_tiers if t in old_tiers]:
        changes.append({"change": "order", "dimension": code, "before": list(old_tiers), "after": list(new_tiers)})
    changes += [{"change": "tier_removed", "dimension": code, "tier": t} for t in old_tiers if t not in new_tiers]
    for tier, data in new_tiers.items():
        if tier not in old_tiers:
            changes.append({"change": "tier_added", "dimension": code, "tier": tier, "after": data.get("rule")})
            continue
        for key in ("rule", "fallback", "label_en", "label_zh", "colour"):
            if old_tiers[tier].get(key) != data.get(key):
                changes.append({"change": key, "dimension": code, "tier": tier,
                                "before": old_tiers[tier].get(key), "after": data.get(key)})
    return changes
