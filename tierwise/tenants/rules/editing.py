"""The rule editor's form: a rule set as flat inputs, the structural edits on it, and where an error belongs.

The editor names its inputs by position, not by code (``value_measure``,
``d0.label_zh``, ``d0.evaluations``, ``d0.t2.rule``), because the codes are
themselves being edited.  ``definition_from_form`` turns them back into the
definition dict that ``RuleSetDefinition.from_dict`` validates, so every error
names the usual path (``value.vip.rule``), and ``input_for_error`` turns that
path back into the input to mark.  Adding, removing and moving tiers and
dimensions are edits of the dict, so they work the same with or without
JavaScript, and nothing is saved until the admin saves the draft.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Mapping

from flask_babel import gettext as _

from tierwise.errors import ValidationError
from tierwise.tenants.rules.definition import BUILT_IN_DIMENSIONS, PALETTE

INPUT = re.compile(r"^d(\d{1,2})\.(?:t(\d{1,2})\.)?([a-z_]+)$")
DIMENSION_INPUTS = ("code", "label_en", "label_zh", "description", "description_zh", "evaluations", "margin")
TIER_INPUTS = ("code", "label_en", "label_zh", "colour", "rule")
EDIT = re.compile(r"^(add_tier|remove_tier|move_tier_up|add_dimension|remove_dimension)"
                  r"(?::(\d{1,2})(?:\.(\d{1,2}))?)?$")
WHOLE_NUMBER = re.compile(r"^-?\d+$")
DECIMAL = re.compile(r"^-?(\d+\.?\d*|\.\d+)$")  # the same patterns as static/rules_editor.js
POSITIONAL = re.compile(r"^(?:dimensions\[(\d+)\]|(?P<code>[a-z][a-z0-9_]*)\.tiers\[(\d+)\])(?:\.(\w+))?$")


def definition_from_form(form: Mapping[str, str]) -> dict:
    """The definition the inputs describe; values are passed on as typed, for validation to judge."""
    dimensions: dict[int, dict] = {}
    tiers: dict[int, dict[int, dict]] = {}
    for name, value in form.items():
        match = INPUT.match(name)
        if not match:
            continue
        index, tier, key = int(match[1]), match[2], match[3]
        if tier is None and key in DIMENSION_INPUTS:
            dimensions.setdefault(index, {})[key] = value
        elif tier is not None and key in TIER_INPUTS:
            tiers.setdefault(index, {}).setdefault(int(tier), {})[key] = value
    return {"value_measure": form.get("value_measure", ""),
            "dimensions": [_dimension(dimensions[i], [row for _position, row in sorted(tiers.get(i, {}).items())])
                           for i in sorted(dimensions)]}


def _dimension(inputs: dict, rows: list[dict]) -> dict:
    dimension = {"code": inputs.get("code", "").strip(), "label_en": inputs.get("label_en", ""),
                 "label_zh": inputs.get("label_zh", ""), "description": inputs.get("description", ""),
                 "description_zh": inputs.get("description_zh", "")}
    evaluations = _number(inputs.get("evaluations", ""), WHOLE_NUMBER, int, default=1)
    margin = _number(inputs.get("margin", ""), DECIMAL, float, default=0.0)
    if evaluations != 1 or margin != 0:
        dimension["hysteresis"] = {"evaluations": evaluations, "margin": margin}
    dimension["tiers"] = [_tier(row, last=i == len(rows) - 1) for i, row in enumerate(rows)]
    return dimension


def _tier(inputs: dict, *, last: bool) -> dict:
    tier = {"code": inputs.get("code", "").strip(), "label_en": inputs.get("label_en", ""),
            "label_zh": inputs.get("label_zh", "")}
    if inputs.get("colour"):
        tier["colour"] = inputs["colour"].strip()
    if last:
        tier["fallback"] = True
    else:
        tier["rule"] = inputs.get("rule", "")
    return tier


def _number(text: str, pattern: re.Pattern, kind: type, *, default):
    """The number typed, the default for nothing, or the text itself (validation names the input)."""
    text = (text or "").strip()
    if not text:
        return default
    return kind(text) if pattern.match(text) else text


# -- structural edits ---------------------------------------------------------

def apply_edit(definition: dict, edit: str) -> dict:
    """A copy of ``definition`` with ``edit`` applied, e.g. ``add_tier:0`` or ``remove_tier:0.2``."""
    match = EDIT.match(edit or "")
    if not match:
        raise ValidationError(_("unknown edit '%(edit)s'", edit=edit), field="action")
    action, index, tier = match[1], match[2], match[3]
    changed = copy.deepcopy(definition)
    dimensions = changed.setdefault("dimensions", [])
    if action == "add_dimension":
        dimensions.append(_new_dimension({d.get("code") for d in dimensions}))
        return changed
    if index is None or int(index) >= len(dimensions):
        raise ValidationError(_("no such dimension"), field="action")
    dimension = dimensions[int(index)]
    if action == "remove_dimension":
        if dimension.get("code") in BUILT_IN_DIMENSIONS:
            raise ValidationError(_("the built-in dimensions (value, high-risk, opinion risk) cannot be removed"),
                                  field=f"dimensions[{index}].code")
        del dimensions[int(index)]
    elif action == "add_tier":
        tiers = dimension["tiers"]
        code = _unused("tier", {t.get("code") for t in tiers})
        tiers.insert(len(tiers) - 1, {"code": code, "label_en": "", "label_zh": "",
                                      "colour": PALETTE[len(tiers) % len(PALETTE)], "rule": ""})
    elif tier is None:
        raise ValidationError(_("no such tier"), field="action")
    else:
        _edit_tier(dimension, action, int(tier))
    return changed


def _edit_tier(dimension: dict, action: str, position: int) -> None:
    tiers = dimension["tiers"]
    where = f"{dimension.get('code')}.tiers[{position}].code"
    if not 0 <= position < len(tiers) - 1:  # the fallback stays last
        raise ValidationError(_("the last tier is the fallback: it cannot be moved or removed"), field=where)
    if action == "remove_tier":
        if len(tiers) <= 2:
            raise ValidationError(_("a dimension needs at least one tier with a rule and a fallback tier"),
                                  field=where)
        del tiers[position]
    elif position > 0:  # move_tier_up: a rank higher, so it is tried earlier
        tiers[position - 1], tiers[position] = tiers[position], tiers[position - 1]


def _new_dimension(taken: set) -> dict:
    return {"code": _unused("dimension", taken), "label_en": "", "label_zh": "", "description": "", "description_zh": "",
            "tiers": [{"code": "flagged", "label_en": "", "label_zh": "", "colour": PALETTE[0], "rule": ""},
                      {"code": "other", "label_en": "", "label_zh": "", "colour": PALETTE[-1], "fallback": True}]}


def _unused(stem: str, taken: set) -> str:
    return next(f"{stem}_{n}" for n in range(1, 1000) if f"{stem}_{n}" not in taken)


# -- where an error belongs ---------------------------------------------------

def input_for_error(definition: dict, field: str | None) -> str | None:
    """The input (``d0.t1.rule``) or dimension (``d0``) a validation error's path points at; None: the form."""
    if not field or not isinstance(definition, dict):
        return None
    if field == "value_measure":
        return "value_measure"
    dimensions = [d for d in definition.get("dimensions") or [] if isinstance(d, dict)]
    positional = POSITIONAL.match(field)
    if positional:
        return _positional_input(dimensions, positional)
    code, _dot, rest = field.partition(".")
    index = next((i for i, d in enumerate(dimensions) if d.get("code") == code), None)
    if index is None:
        return None
    if rest in ("", "tiers"):
        return f"d{index}"  # a duplicated code, a cycle between dimensions, a rule using its own tier
    if rest.startswith("hysteresis"):
        return f"d{index}.margin" if rest.endswith("margin") else f"d{index}.evaluations"
    if rest in DIMENSION_INPUTS:
        return f"d{index}.{rest}"
    tier_code, _dot, key = rest.partition(".")
    tiers = dimensions[index].get("tiers")
    positions = [j for j, t in enumerate(tiers if isinstance(tiers, list) else [])
                 if isinstance(t, dict) and t.get("code") == tier_code]
    if not positions:
        return f"d{index}"
    if not key:  # a tier code used twice: the second one is the mistake
        return f"d{index}.t{positions[min(1, len(positions) - 1)]}.code"
    key = "rule" if key == "fallback" else key
    return f"d{index}.t{positions[0]}.{key if key in TIER_INPUTS else 'code'}"


def _positional_input(dimensions: list[dict], match: re.Match) -> str | None:
    """``dimensions[2].code`` or ``value.tiers[1].code``: paths used before a code is known to be valid."""
    key = match[4] or "code"
    if match[1] is not None:
        index = int(match[1])
        return f"d{index}.{key if key in DIMENSION_INPUTS else 'code'}" if index < len(dimensions) else None
    index = next((i for i, d in enumerate(dimensions) if d.get("code") == match["code"]), None)
    if index is None:
        return None
    return f"d{index}.t{int(match[3])}.{key if key in TIER_INPUTS else 'code'}"
