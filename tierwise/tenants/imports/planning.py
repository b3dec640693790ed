"""Matching a file's columns to what an import fills, before any row is read.

A built-in target is filled, first to last, by: the column a mapping gives it
(``--map``, a saved mapping); the column named like the target
(case-insensitive); or the one column whose header is one of the target's
spellings (``headers``: 客户编号, 交易日期, 金额(元)...).  Two columns that are
both spellings of one target are refused, naming both, for the user to map the
one meant: neither is picked.  A spelling never takes a column mapped to
something else, named like another target, or, in a customer file, naming a
tenant field by its name or label: the tenant named that field, the spelling
lists are only our guess, so a field labelled 客户类型 keeps its column and
``party_type`` is left to a mapping.  In a customer file every other column
must be a field in the tenant's registry, named by the field's name or by its
label in either language (用电类别 is ``usage_category``); unknown columns are
refused with close matches suggested, unless the admin asked to add them (their
type is inferred from the data).  A column whose header cannot name a field
(行业) is added under the name a mapping gives it (``--map industry=行业``), its
header kept as the field's Chinese label.  Activity and interaction files may
carry extra columns: they are reported as ignored.  The columns recognised by
their spelling, and those naming a field by its label, are reported too
(``ColumnPlan.recognised``), so the user sees what was read as what.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import pandas as pd
from flask_babel import lazy_gettext as _  # kept by the errors: a refused file is said again to each reader

from tierwise.errors import Phrases, ValidationError
from tierwise.tenants.fields import NAME_PATTERN, FieldDefinition, FieldType, validate_field_name
from tierwise.tenants.imports import headers, parsing
from tierwise.tenants.imports.specs import BUILT_IN_TARGETS, KIND_LABELS, KINDS, Target, attribute_target

CATEGORY_LIMIT = 50


@dataclass
class ColumnPlan:
    kind: str
    targets: list[tuple[Target, str]]  # (target, source column)
    new_fields: dict[str, FieldType] = field(default_factory=dict)
    new_field_sources: dict[str, str] = field(default_factory=dict)  # new field name -> the column it came from
    ignored: list[str] = field(default_factory=list)
    # target -> the column a spelling (or, for a tenant field, its label) filled it from
    recognised: dict[str, str] = field(default_factory=dict)
    # activity without an amount column: (quantity column, unit price column), whose product is the amount
    amount_from: tuple[str, str] | None = None


def plan_columns(kind: str, columns: list[str], mapping: dict[str, str], registry: dict[str, FieldDefinition],
                 *, add_fields: bool = False, sample: pd.DataFrame | None = None, batch: bool = False) -> ColumnPlan:
    """Which column fills which target.  ``batch``: the columns are the keys of a JSON batch's records, and
    the errors say so (a file has columns, records have keys)."""
    if kind not in KINDS:
        raise ValidationError(_("unknown import kind '%(kind)s' (choose one of: %(choices)s)", kind=kind,
                                choices=Phrases(KINDS)), field="kind")
    by_lower = {c.lower(): c for c in columns}
    built_in = BUILT_IN_TARGETS[kind]
    known = {t.name for t in built_in}
    adding = add_fields and kind == "customers"
    for target, source in mapping.items():
        if target not in known and not (kind == "customers" and target in registry) and not adding:
            raise ValidationError(_("'%(target)s' is not something the %(kind)s import fills", target=target,
                                    kind=KIND_LABELS[kind]), field=target)
        if not source:  # TARGET= leaves an optional target unfilled, whatever column would have filled it
            if target not in known or any(t.required for t in built_in if t.name == target):
                raise ValidationError(_("'%(target)s' cannot be left out: map a column to it", target=target),
                                      field=target)
            continue
        if source not in columns:
            if batch:
                raise ValidationError(_("the records have no key '%(column)s' (keys: %(columns)s)", column=source,
                                        columns=Phrases(columns)), field=target)
            raise ValidationError(_("the file has no column '%(column)s' (columns: %(columns)s)", column=source,
                                    columns=Phrases(columns)), field=target)
    plan = ColumnPlan(kind=kind, targets=[])
    used: set[str] = set()
    by_label = _fields_by_label(registry) if kind == "customers" else {}  # only a customer file fills fields
    spelled = headers.spelled_columns(kind, _spellable(kind, columns, mapping, known, registry, by_label))
    # TARGET= leaves a target unfilled: the columns that would have filled it (named like it, or a spelling)
    # are ignored, in a customer file too, where every other column must be a field
    left_out = [column for target, source in mapping.items() if source == "" and target in known
                for column in ([by_lower[target]] if target in by_lower else []) + spelled.get(target, [])]
    missing = []
    for target in built_in:
        if mapping.get(target.name) == "":
            continue
        source = mapping.get(target.name) or by_lower.get(target.name)
        if source is None and target.name in spelled:
            source = plan.recognised[target.name] = _spelled_source(target.name, spelled[target.name], batch)
        if source is None:
            if target.required:
                missing.append(target.name)
            continue
        plan.targets.append((target, source))
        used.add(source)
    if "amount" in missing and kind == "activity":
        plan.amount_from = _amount_from(plan, columns, used, mapping)
        if plan.amount_from is not None:
            missing.remove("amount")
            used.add(plan.amount_from[1])
            plan.recognised["amount"] = " × ".join(plan.amount_from)
    if missing:
        _refuse_mapped_away(missing, mapping, kind)
        _refuse_missing(missing, columns, batch)
    rest = [c for c in columns if c not in used and c not in mapping.values() and c not in left_out]
    plan.ignored = left_out
    if kind != "customers":
        plan.ignored = left_out + rest
        return plan
    for target_name, source in mapping.items():
        if target_name in registry and source not in used:
            plan.targets.append((attribute_target(registry[target_name]), source))
            used.add(source)
        elif adding and target_name not in known and source not in used:  # a new field, named by the mapping
            close = difflib.get_close_matches(target_name, [*registry, *known], n=1, cutoff=0.8)
            if close:  # usage_categroy=UC would add a field beside usage_category, not fill it
                raise ValidationError(_("'%(target)s' is no field yet, and --add-fields would add it: did you mean "
                                        "'%(match)s'? (A field of a name that close is added on the Fields page.)",
                                        target=target_name, match=close[0]), field=target_name)
            name = _new_field_name(target_name, source)
            plan.new_fields[name] = infer_field_type(sample[source] if sample is not None else pd.Series([], dtype=str))
            plan.new_field_sources[name] = source
            used.add(source)
    unknown = []
    for column in [c for c in rest if c not in used]:
        definition = registry.get(column.lower()) or _labelled(by_label, column)
        taken = next((source for t, source in plan.targets if definition is not None and t.name == definition.name),
                     None)
        if taken is not None:  # by its name and its label, or a mapping and a label: which one is meant?
            raise ValidationError(_("the columns '%(first)s' and '%(second)s' both fill the field '%(field)s': "
                                    "leave one out, or map the one meant", first=taken, second=column,
                                    field=definition.name), field=column)
        if definition is not None:
            plan.targets.append((attribute_target(definition), column))
            if column.lower() != definition.name:  # by its label: said with the spellings recognised
                plan.recognised[definition.name] = column
        else:
            unknown.append(column)
    if unknown and not add_fields:
        hints = Phrases()
        for column in unknown:
            close = difflib.get_close_matches(column.lower(), list(registry) + list(known), n=1)
            hints.append(_("'%(column)s' (did you mean '%(match)s'?)", column=column, match=close[0]) if close
                         else _("'%(column)s'", column=column))
        raise ValidationError(_("unknown column(s) %(columns)s: add them to the field registry first, or let the "
                                "import create them (\"Add unknown customer columns to the field registry\" on the "
                                "page, add_fields in the API, --add-fields in the CLI)", columns=hints),
                              field=unknown[0])
    for column in unknown:
        name = _new_field_name(column.lower(), column)
        plan.new_fields[name] = infer_field_type(sample[column] if sample is not None else pd.Series([], dtype=str))
        plan.new_field_sources[name] = column
    return plan


def _amount_from(plan: ColumnPlan, columns: list[str], used: set[str], mapping: dict[str, str]
                 ) -> tuple[str, str] | None:
    """The quantity and unit price columns whose product is each row's amount, where activity has no amount.

    Order lines (UCI's Online Retail: Quantity and UnitPrice; a distributor's 数量 and 单价) often carry no
    line amount: an admin had to compute one in Excel first.  Only with a quantity column and exactly one
    unit price column; the run says which two it multiplied (``recognised``).
    """
    quantity = next((source for target, source in plan.targets if target.name == "quantity"), None)
    free = [c for c in columns if c not in used and c not in mapping.values()]
    prices = headers.unit_price_columns(free)
    return (quantity, prices[0]) if quantity is not None and len(prices) == 1 else None


def _refuse_mapped_away(missing: list[str], mapping: dict[str, str], kind: str) -> None:
    """Refuse a required target whose column a mapping took for another target, naming both.

    A file without names (UCI Online Retail, a telco's churn table) is imported with ``--map
    name=CustomerID``, and CustomerID then no longer fills the customer id by its header: "the file
    has no column for 'external_id'" sent the admin looking for a column that is right there.
    """
    mapped = {source: target for target, source in mapping.items() if source}
    for target in missing:
        for column in headers.spelled_columns(kind, list(mapped)).get(target, []):
            raise ValidationError(_("'%(column)s' would fill '%(target)s', but it is mapped to '%(other)s': map "
                                    "it to '%(target)s' too (%(target)s=%(column)s)", column=column, target=target,
                                    other=mapped[column]), field=target)


def _refuse_missing(missing: list[str], columns: list[str], batch: bool) -> None:
    """Every required target the file leaves without a column, in one refusal: a file fixed for the first
    was refused again for the next."""
    target = missing[0]
    if len(missing) > 1:
        named = _quoted(missing)
        if batch:
            raise ValidationError(_("the records have no keys for %(targets)s: give each record them, or map keys "
                                    "to them (keys: %(columns)s)", targets=named, columns=Phrases(columns)),
                                  field=target)
        raise ValidationError(_("the file has no columns for %(targets)s: name columns so or map columns to them "
                                "(columns: %(columns)s)", targets=named, columns=Phrases(columns)), field=target)
    if batch:
        raise ValidationError(_("the records have no key '%(target)s': give each record one, or map a key "
                                "to it (keys: %(columns)s)", target=target, columns=Phrases(columns)), field=target)
    raise ValidationError(_("the file has no column for '%(target)s': name a column '%(target)s' "
                            "or map one to it (columns: %(columns)s)", target=target, columns=Phrases(columns)),
                          field=target)


def _spellable(kind: str, columns: list[str], mapping: dict[str, str], known: set[str],
               registry: dict[str, FieldDefinition], by_label: dict[str, FieldDefinition]) -> list[str]:
    """The columns a spelling may fill: not mapped, not named like a target, and in a customer file not
    naming a tenant field by its name or label (the tenant chose that name; a spelling is a guess)."""
    return [column for column in columns if column not in mapping.values() and column.lower() not in known
            and not (kind == "customers" and column.lower() in registry)
            and headers.header_key(column) not in by_label]


def _spelled_source(target: str, found: list[str], batch: bool) -> str:
    """The one column spelled as ``target``; two are refused, since guessing would read the wrong one
    silently (交易日期 or 记账日期?)."""
    if len(found) == 1:
        return found[0]
    named = _quoted(found)
    if batch:
        raise ValidationError(_("the keys %(keys)s could each be '%(target)s': map the one meant to it, e.g. "
                                "\"mapping\": {\"%(target)s\": \"%(key)s\"}", keys=named, target=target,
                                key=found[0]), field=target)
    raise ValidationError(_("the columns %(columns)s could each be '%(target)s': map the one meant to it, e.g. "
                            "%(target)s=%(column)s (--map in the CLI, the mapping box on the import page)",
                            columns=named, target=target, column=found[0]), field=target)


def _quoted(names: list[str]) -> Phrases:
    """Column, key or target names as a refusal lists them, each in quotes."""
    return Phrases(_("'%(column)s'", column=name) for name in names)


def _labelled(by_label: dict[str, FieldDefinition], column: str) -> FieldDefinition | None:
    """The field ``column`` names by its label, with the label's unit or none: a header in another unit
    (合同容量(MVA) for 合同容量（kVA）, 贷款余额(万元) for 贷款余额) is not that field, whose values it would
    fill a thousand or ten thousand times too small."""
    definition = by_label.get(headers.header_key(column))
    unit = headers.header_unit(column)
    if definition is None or not unit:
        return definition
    return definition if unit in {headers.header_unit(label or "") for label in
                                  (definition.label_zh, definition.label_en)} else None


def _fields_by_label(registry: dict[str, FieldDefinition]) -> dict[str, FieldDefinition]:
    """The fields by their labels in either language, as headers are compared (``headers.header_key``: a
    unit in brackets dropped, so a file's 合同容量 or 合同容量(kVA) fills the field labelled 合同容量（kVA））;
    a label two fields share names neither."""
    found: dict[str, FieldDefinition | None] = {}
    for definition in registry.values():
        for label in {headers.header_key(label or "") for label in (definition.label_zh, definition.label_en)} - {""}:
            found[label] = definition if label not in found else None
    return {label: definition for label, definition in found.items() if definition is not None}


MAX_FIELD_NAME = 63  # as ``fields.NAME_PATTERN`` allows


def _new_field_name(name: str, column: str) -> str:
    """``name`` as a new field's name, or why it cannot be one, naming the file's column (which is at fault,
    not a form's "name" input) and how to give it a name."""
    try:
        return validate_field_name(name)
    except ValidationError as refused:
        # The refusal again as a lazy message (its ``kept`` form), so a run a worker refused in English is
        # said to a Chinese reader in Chinese, inside and out.
        kept = refused.kept or {}
        message, params = kept.get("msgid"), kept.get("params", {})  # names, not literals, inside the gettext call
        why = _(message, **params) if message else refused.message
        if name == column.lower() and len(name) > MAX_FIELD_NAME and NAME_PATTERN.match(name[:MAX_FIELD_NAME]):
            # BankChurners' two Naive_Bayes_Classifier_... headers run to 130: say so, and how to name them
            raise ValidationError(_("the column '%(column)s' is %(length)s characters long, and a field's name is at "
                                    "most %(most)s: give the column a shorter field name by mapping it, e.g. "
                                    "short_name=%(column)s (--map in the CLI), or leave it out of the file",
                                    column=column, length=len(name), most=MAX_FIELD_NAME), field=column) from None
        if name == column.lower() and not column.isascii():  # a header in Chinese: say how to name it
            raise ValidationError(_("%(why)s; give the column a field name by mapping it, e.g. industry=%(column)s "
                                    "(--map in the CLI)", why=why, column=column),
                                  field=column) from None
        raise ValidationError(why, field=column) from None


def infer_field_type(values: pd.Series) -> FieldType:
    """The narrowest type every non-empty value fits; ids with leading zeros stay text."""
    present = values[values != ""]
    if present.empty:
        return FieldType.TEXT
    if present.str.match(r"^0\d").any():
        return FieldType.TEXT
    if not parsing.parse_number(present)[1].any():
        return FieldType.INTEGER if not parsing.parse_integer(present)[1].any() else FieldType.NUMBER
    if not parsing.parse_boolean(present)[1].any():
        return FieldType.BOOLEAN
    if not parsing.parse_date(present)[1].any():
        return FieldType.DATE
    return FieldType.CATEGORY if present.nunique() <= CATEGORY_LIMIT else FieldType.TEXT
