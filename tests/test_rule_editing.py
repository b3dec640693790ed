"""The rule editor's form as data: inputs to a definition, edits on it, and errors back to their input."""
from __future__ import annotations

import copy

import pytest

from tierwise.errors import ValidationError
from tierwise.tenants.rules.definition import RuleSetDefinition
from tierwise.tenants.rules.editing import apply_edit, definition_from_form, input_for_error
from tierwise.tenants.rules import templates


def template_for(industry: str) -> dict:
    """A copy of the industry template, free to change."""
    return copy.deepcopy(templates.template_for(industry))


def form_of(definition: dict) -> dict[str, str]:
    """The inputs the editor renders for ``definition``."""
    inputs = {"value_measure": definition["value_measure"]}
    for i, dimension in enumerate(definition["dimensions"]):
        hysteresis = dimension.get("hysteresis", {})
        inputs.update({f"d{i}.code": dimension["code"], f"d{i}.label_en": dimension["label_en"],
                       f"d{i}.label_zh": dimension["label_zh"], f"d{i}.description": dimension.get("description", ""),
                       f"d{i}.description_zh": dimension.get("description_zh", ""),
                       f"d{i}.evaluations": str(hysteresis.get("evaluations", 1)),
                       f"d{i}.margin": str(hysteresis.get("margin", 0))})
        for j, tier in enumerate(dimension["tiers"]):
            inputs.update({f"d{i}.t{j}.{key}": tier[key] for key in ("code", "label_en", "label_zh", "colour")})
            if "rule" in tier:
                inputs[f"d{i}.t{j}.rule"] = tier["rule"]
    return inputs


@pytest.mark.parametrize("industry", ["bank", "power_utility", "pharma_distributor", "other"])
def test_the_form_of_a_template_reads_back_as_the_same_rule_set(industry):
    template = RuleSetDefinition.from_dict(template_for(industry))
    assert RuleSetDefinition.from_dict(definition_from_form(form_of(template.to_dict()))) == template


def test_numbers_that_are_not_numbers_are_passed_on_for_validation_to_name():
    inputs = form_of(template_for("bank"))
    inputs.update({"d1.evaluations": "2", "d1.margin": "", "d2.evaluations": "3_0", "d2.margin": "0.1"})
    dimensions = definition_from_form(inputs)["dimensions"]
    assert dimensions[1]["hysteresis"] == {"evaluations": 2, "margin": 0.0}
    assert dimensions[2]["hysteresis"] == {"evaluations": "3_0", "margin": 0.1}
    with pytest.raises(ValidationError) as error:
        RuleSetDefinition.from_dict(definition_from_form(inputs))
    assert error.value.field == "opinion_risk.hysteresis.evaluations"
    assert input_for_error(definition_from_form(inputs), error.value.field) == "d2.evaluations"


def test_a_new_tier_goes_just_above_the_fallback_and_only_rule_tiers_move_or_go():
    definition = template_for("other")
    added = apply_edit(definition, "add_tier:1")
    assert [t["code"] for t in added["dimensions"][1]["tiers"]] == ["high", "tier_1", "normal"]
    assert definition["dimensions"][1]["tiers"][1]["code"] == "normal"  # the original is left alone
    moved = apply_edit(added, "move_tier_up:1.1")
    assert [t["code"] for t in moved["dimensions"][1]["tiers"]] == ["tier_1", "high", "normal"]
    for edit in ("remove_tier:1.2", "move_tier_up:1.2", "remove_tier:0.9"):
        with pytest.raises(ValidationError):
            apply_edit(added, edit)
    with pytest.raises(ValidationError, match="at least one tier with a rule"):
        apply_edit(definition, "remove_tier:1.0")


def test_only_custom_dimensions_can_be_removed():
    definition = apply_edit(template_for("other"), "add_dimension")
    assert definition["dimensions"][3]["code"] == "dimension_1"
    assert len(apply_edit(definition, "remove_dimension:3")["dimensions"]) == 3
    with pytest.raises(ValidationError, match="built-in"):
        apply_edit(definition, "remove_dimension:0")
    with pytest.raises(ValidationError):
        apply_edit(definition, "drop_table:0")


@pytest.mark.parametrize("field, expected", [
    ("value.b.rule", "d0.t1.rule"),
    ("value.b.colour", "d0.t1.colour"),
    ("value.b.fallback", "d0.t1.rule"),
    ("value.tiers[2].code", "d0.t2.code"),
    ("dimensions[1].code", "d1.code"),
    ("high_risk.hysteresis.margin", "d1.margin"),
    ("high_risk.label_zh", "d1.label_zh"),
    ("opinion_risk", "d2"),
    ("opinion_risk.tiers", "d2"),
    ("value_measure", "value_measure"),
    ("dimensions", None),
    ("nowhere.b.rule", None),
    (None, None),
])
def test_an_error_path_names_the_input_to_mark(field, expected):
    assert input_for_error(template_for("other"), field) == expected


def test_a_tier_code_used_twice_marks_the_second_one():
    definition = template_for("other")
    definition["dimensions"][0]["tiers"][1]["code"] = "a"
    assert input_for_error(definition, "value.a") == "d0.t1.code"
    assert input_for_error({"dimensions": [{"code": "value", "tiers": 5}]}, "value.a.rule") == "d0"
