"""Translatable labels for the platform's codes, and the template globals that show them."""
from __future__ import annotations

import json
from datetime import datetime
import uuid

import sqlalchemy as sa
from flask import Flask, g
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from tierwise.jobs.schedules import ACTION_LABELS as SCHEDULE_ACTION_LABELS
from tierwise.jobs.schedules import STARTER_PREFIX
from tierwise.platform.clock import local_time
from tierwise.platform.db import db
from tierwise.platform.i18n import captioned, clauses, listed, localised
from tierwise.platform.numbers import readable_feature, readable_number, readable_percent
from tierwise.platform.policy import Permission, allows
from tierwise.platform.tenant import Industry
from tierwise.platform.users import BookScope, Role
from tierwise.models.horizons import whole_months
from tierwise.tenants.category_labels import category_label
from tierwise.tenants.fields import field_labels
from tierwise.tenants.imports.runner import API_BATCH
from tierwise.tenants.imports.specs import DATE_ORDER_LABELS
from tierwise.tenants.imports.specs import KIND_LABELS as IMPORT_KIND_LABELS
from tierwise.tenants.rules.reasons import reason_lines, rule_text

ROLE_LABELS = {
    Role.TENANT_ADMIN: _l("Tenant admin"),
    Role.ANALYST: _l("Analyst"),
    Role.RELATIONSHIP_MANAGER: _l("Relationship manager"),
}
INDUSTRY_LABELS = {
    Industry.BANK: _l("Bank"),
    Industry.POWER_UTILITY: _l("Power utility"),
    Industry.PHARMA_DISTRIBUTOR: _l("Pharmaceutical distributor"),
    Industry.OTHER: _l("Other"),
}
SCOPE_LABELS = {BookScope.OWN: _l("Own book"), BookScope.BRANCH: _l("Whole branch")}
PERMISSION_LABELS = {
    Permission.MANAGE_USERS: _l("Manage users and their roles"),
    Permission.MANAGE_BRANCHES: _l("Manage branches"),
    Permission.VIEW_AUDIT_LOG: _l("Read the audit log"),
    Permission.MANAGE_ALL_TOKENS: _l("Revoke anyone's API tokens"),
    Permission.USE_API: _l("Use the REST API with your own tokens"),
    Permission.VIEW_ALL_CUSTOMERS: _l("See every customer of the organisation"),
    Permission.IMPORT_DATA: _l("Import customer data"),
    Permission.MANAGE_FIELDS: _l("Add and edit customer fields"),
    Permission.MANAGE_RULES: _l("Configure and publish tiering rules"),
    Permission.MANAGE_MODELS: _l("Train and promote models"),
    Permission.EXPORT_LISTS: _l("Export customer lists"),
    Permission.ERASE_CUSTOMERS: _l("Erase a customer and all its data"),
    Permission.ASSIGN_CUSTOMERS: _l("Assign customers to relationship managers and move books"),
}
# What each audited action is called on the audit log (``audit.record``'s first argument); the code stays
# beside it, as the filter takes it.
AUDIT_ACTION_LABELS = {
    "tenant.created": _l("Organisation created"),
    "tenant.deactivated": _l("Organisation switched off"), "tenant.activated": _l("Organisation switched on"),
    "login.success": _l("Signed in"), "login.failure": _l("Sign-in refused"),
    "login.throttled": _l("Sign-in blocked after repeated failures"),
    "user.created": _l("User added"), "user.updated": _l("User changed"),
    "user.password_changed": _l("Password changed"),
    "token.created": _l("API token created"), "token.revoked": _l("API token revoked"),
    "branch.created": _l("Branch added"), "branch.renamed": _l("Branch renamed"),
    "branch.deleted": _l("Branch deleted"),
    "field.defined": _l("Field added"), "field.updated": _l("Field changed"),
    "mapping.saved": _l("Column mapping saved"), "import.completed": _l("Import finished"),
    "customer.erased": _l("Customer erased"),
    "customers.assigned": _l("Customers assigned to a relationship manager"),
    "customers.book_reassigned": _l("Book moved to another relationship manager"),
    "rules.draft_saved": _l("Rule draft saved"), "rules.draft_discarded": _l("Rule draft discarded"),
    "rules.published": _l("Rule set published"), "rules.retiered": _l("Customers retiered"),
    "model.run": _l("Model run finished"), "model.trained": _l("Model trained"),
    "model.override": _l("Model made champion by an admin"), "model.rollback": _l("Model rolled back"),
    "schedule.created": _l("Schedule added"), "schedule.updated": _l("Schedule changed"),
    "schedule.deleted": _l("Schedule deleted"),
    "lists.saved": _l("List saved"), "lists.deleted": _l("List deleted"),
    "lists.settings_changed": _l("List settings changed"),
    "export.created": _l("List exported"),
}
AUDIT_TARGET_LABELS = {
    "tenant": _l("Organisation"), "user": _l("User"), "api_token": _l("API token"), "branch": _l("Branch"),
    "field": _l("Field"), "column_mapping": _l("Column mapping"), "import": _l("Import"),
    "customer": _l("Customer"), "rule_set_version": _l("Rule set version"), "retier_run": _l("Retier run"),
    "model_run": _l("Model run"), "model_version": _l("Model version"), "schedule": _l("Schedule"),
    "saved_list": _l("Saved list"), "export": _l("Export"),
}
# The keys of audit details, as the audit log names them (nested keys inside a value stay as recorded).
AUDIT_DETAIL_LABELS = {
    "name": _l("Name"), "user": _l("User"), "email": _l("Email"), "role": _l("Role"), "reason": _l("Reason"),
    "changes": _l("Changes"), "before": _l("Before"), "after": _l("After"), "action": _l("Work"),
    "cron": _l("Schedule"), "timezone": _l("Time zone"), "enabled": _l("Enabled"), "version": _l("Version"),
    "number": _l("Version"), "model": _l("Model"), "champion": _l("Champion"), "metrics": _l("Metrics"),
    "previous": _l("Previous"), "customers": _l("Customers"), "code": _l("Code"), "type": _l("Type"),
    "group": _l("Group"), "kind": _l("Kind"), "source": _l("File"), "rows_read": _l("Rows read"),
    "inserted": _l("New"), "updated": _l("Updated"), "unchanged": _l("Unchanged"), "rejected": _l("Rejected"),
    "added_fields": _l("Added fields"), "ignored_columns": _l("Ignored columns"),
    "recognised_columns": _l("Columns recognised by their header"), "date_order": _l("Dates with the year last"),
    "rejects_path": _l("Rejected rows file"), "seconds": _l("Seconds"), "list": _l("List"), "base": _l("List"),
    "filters": _l("Filters"), "sort": _l("Sort"), "rows": _l("Rows"), "format": _l("Format"), "by": _l("By"),
    "saved_list": _l("Saved list"), "shared": _l("Shared"), "status": _l("Status"), "mapping": _l("Column mapping"),
    "external_id": _l("Customer id"), "removed": _l("Removed"), "tokens": _l("API tokens"), "job": _l("Job"),
    # inside a retier's changes
    "up": _l("Moved up"), "down": _l("Moved down"), "new": _l("New"), "held": _l("Held by hysteresis"),
    # a book moved, a customer assigned, a version restored, an export's file, a tenant provisioned
    "from_user_id": _l("From"), "to_user_id": _l("To"), "rm_user_id": _l("Relationship manager"),
    "branch_id": _l("Branch"), "customer_ids": _l("Customers"), "changed": _l("Changed"),
    "restored_from": _l("Restores version"), "diff": _l("Changes"), "sha256": _l("SHA-256"),
    "search": _l("Search"), "industry": _l("Industry"), "slug": _l("Code"), "template_fields": _l("Template fields"),
    "examples": _l("Examples"), "total_actual": _l("Total actual"), "base_rate": _l("Churn rate"),
    "previous_name": _l("Previous name"),  # a branch renamed
    "display_name": _l("Name"), "book_scope": _l("Customers visible"), "active": _l("Active"),  # a user changed
    "via": _l("Through"),  # where an export was asked for
    "dated_ahead": _l("Dated after today"), "latest_ahead": _l("The latest dated after today"),  # an import
}
# Where an export was asked for (``exports.VIA``), as the export log and the audit log say it
VIA_LABELS = {"web": _l("List page"), "api": _l("API"), "cli": _l("Command line")}
# What an erasure removed, by table (``customer_directory.erase_customer``)
ERASED_LABELS = {"activity": _l("Activity"), "interactions": _l("Interactions"), "customer_scores": _l("Scores"),
                 "tier_assignments": _l("Tiers"), "tier_history": _l("Tier history"),
                 "tier_changes": _l("Tier changes"), "rm_assignments": _l("Relationship manager history"),
                 "preview_values": _l("Preview values")}
JOB_LABELS = {"retier": _l("Retier"), "train": _l("Training"), "score": _l("Scoring"), "import": _l("Import")}
SORT_LABELS = {"external_id": _l("Customer id"), "name": _l("Name"), "churn": _l("Churn probability"),
               "value": _l("Predicted value")}


def _detail_value(key: str, value: str) -> str:
    """A detail's code as people read it, where the key says what kind of code it is (an import's kind, a model,
    a list, a sort, a role); anything else as recorded."""
    from tierwise.models.registry import MODEL_LABELS
    from tierwise.tenants.lists.catalog import BUILT_IN, builtin

    if key in ("list", "base") and value in BUILT_IN:
        return builtin(value).label(str(get_locale()))
    if key.endswith("user_id") or key == "branch_id":  # as ``name_ids`` read them for the page
        return g.get(NAMED_IDS, {}).get(value, value)
    if key == "by":  # who, as the run tables and the actor column say it ("Command line", not "cli")
        return str(started_by_text(value))
    if key == "format":  # as the export log says it: CSV, XLSX
        return value.upper()
    if key == "latest_ahead":  # a moment, on the reader's clock
        return local_time(datetime.fromisoformat(value))
    names = {"kind": IMPORT_KIND_LABELS, "model": MODEL_LABELS, "sort": SORT_LABELS, "role": ROLE_LABELS,
             "date_order": DATE_ORDER_LABELS, "job": JOB_LABELS, "status": RUN_STATUS_LABELS, "industry": INDUSTRY_LABELS,
             "action": SCHEDULE_ACTION_LABELS, "book_scope": SCOPE_LABELS, "via": VIA_LABELS}.get(key, {})
    return str(names.get(value, value))


def _said_filters(filters: dict) -> str:
    """A list's filters as the export log says them: "Churn probability from: 60%; Relationship manager: Li Na"."""
    from tierwise.platform.web.lists import filter_lines

    return captioned(filter_lines(filters, g.get(NAMED_IDS, {}), _rules_in_force()))


def _said_metrics(metrics: dict, model: str | None) -> str:
    """A model's metrics as the model pages name and format them (a share as a percentage)."""
    from tierwise.platform.web.model_report import METRICS, formatted

    known = {metric: (label, kind) for metric, label, _higher, kind in METRICS.get(model or "", ())}
    known.setdefault("base_rate", (AUDIT_DETAIL_LABELS["base_rate"], "share"))  # a churn rate, as the page says it
    said = []
    for name, value in sorted(metrics.items()):
        if value in (None, "", {}, []) or isinstance(value, (dict, list)):
            continue
        label, kind = known.get(name, (AUDIT_DETAIL_LABELS.get(name, name), None))
        text = formatted(value, kind) if kind and isinstance(value, (int, float)) else \
            readable_number(value) if isinstance(value, (int, float)) else str(value)
        said.append((label, text))
    return captioned(said)


NAMED_IDS = "named_ids"  # g: the names ``name_ids`` read for the page's records


def _is_change(value) -> bool:
    """A value's change as ``users.update_user`` records it: ``{"from": ..., "to": ...}``, under the value's key."""
    return isinstance(value, dict) and set(value) == {"from", "to"}


def ids_in(details, found: set[str] | None = None) -> set[str]:
    """Every user or branch id a record's details hold, however deep (a list export's filters, a user's
    branch before and after a change)."""
    found = set() if found is None else found
    if isinstance(details, dict):
        for key, value in details.items():
            for item in (value["from"], value["to"]) if _is_change(value) else (value,):
                if isinstance(item, str) and (key.endswith("user_id") or key == "branch_id"):
                    found.add(item)
                else:
                    ids_in(item, found)
    elif isinstance(details, list):
        for item in details:
            ids_in(item, found)
    return found


def name_ids(ids) -> dict[str, str]:
    """Users (their name, else email) and branches (their name) by id, in two queries, for the page to say
    (``g.named_ids``); a deleted branch by the name its deletion recorded ("North (deleted)", a third query
    only when one is missing); another tenant's id is not found, and stays as it is."""
    from tierwise.platform.audit import AuditEvent
    from tierwise.platform.branches import Branch
    from tierwise.platform.users import User

    uuids = []
    for value in ids:
        try:
            uuids.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    users = db.session.execute(sa.select(User.id, User.display_name, User.email).where(User.id.in_(uuids))).all()
    branches = db.session.execute(sa.select(Branch.id, Branch.name).where(Branch.id.in_(uuids))).all()
    named = {**{str(i): name or email for i, name, email in users}, **{str(i): name for i, name in branches}}
    missing = [str(i) for i in uuids if str(i) not in named]
    if missing:  # row-level security keeps another tenant's deletions out, as it keeps its branches
        deleted = db.session.execute(sa.select(AuditEvent.target_id, AuditEvent.details).where(
            AuditEvent.action == "branch.deleted", AuditEvent.target_id.in_(missing))).all()
        named |= {target: _("%(name)s (deleted)", name=details.get("name") or details.get("code") or target)
                  for target, details in deleted}
    g.setdefault(NAMED_IDS, {}).update(named)
    return named


def _said_diff(changes: list) -> str:
    """A rule set's diff in the version page's words and values: "Wealth tier › Wealth centre: rule changed (a → b)"."""
    from tierwise.platform.web.rules_versions import change_namer, describe_change, diff_value

    if "audit_namer" not in g:
        rules = _rules_in_force()
        g.audit_namer = change_namer(rules.to_dict() if rules else None)
    said = []
    for change in changes:
        if not isinstance(change, dict) or "change" not in change:
            return ""
        line = describe_change(change, g.audit_namer)
        sides = [diff_value(change[side]) if change.get(side) is not None else "—" for side in ("before", "after")]
        said.append(line if sides == ["—", "—"] else f"{line} ({sides[0]} → {sides[1]})")
    return clauses(said)


STATUS_LABELS = {"active": _l("Active"), "dormant": _l("Dormant"), "closed": _l("Closed")}


RUN_STATUS_LABELS = {"queued": _l("Queued"), "running": _l("Running"), "succeeded": _l("Succeeded"),
                     "failed": _l("Failed")}


def started_by_label(value):
    """Who started a run, as the run tables show it: ``started_by_text``, a schedule's id in a tooltip."""
    if isinstance(value, str) and value.startswith(STARTER_PREFIX):
        return Markup('<span title="{}">{}</span>').format(value, started_by_text(value))
    return started_by_text(value)


def started_by_text(value):
    """Who started a run, in words: a schedule's run as "Schedule", the demo's, the command line's and an
    import's in the reader's language; people by their email."""
    if isinstance(value, str) and value.startswith(STARTER_PREFIX):
        return _("Schedule")
    if value == "demo":
        return _("Demo data")
    if value == "cli":
        return _("Command line")
    if isinstance(value, str) and value.startswith("operator:"):  # provisioning by a platform operator
        return _("Tierwise operator %(email)s", email=value[len("operator:"):])
    if value == "cli import":  # cli_imports: the retier of an import's new customers
        return _("Import from the command line")
    if isinstance(value, str) and value.startswith("import "):  # runs.run_import_job: "import <file>"
        return _("Import of %(file)s", file=value[len("import "):])
    return value


def change_reason_label(value):
    """Why an RM assignment changed, as the history shows it: an import's reason in the reader's language
    (``runner``: "import of <file>"), a person's typed reason as typed."""
    if isinstance(value, str) and value.startswith("import of "):
        source = value[len("import of "):]
        return _("Import of a batch through the API") if source == API_BATCH else _("Import of %(file)s", file=source)
    return value


def readable_json(value) -> str:
    """JSON for people: Chinese stays Chinese (``tojson`` escapes it to \\uXXXX)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


MOVES = ("up", "down", "new", "held")  # a retier's moves, in the order the rules pages say them


def _in_reading_order(entry) -> tuple:
    """Moves in their own order (up, down, new, held), anything else by name."""
    key = entry[0]
    return (MOVES.index(key), "") if key in MOVES else (len(MOVES), str(key))


# Details that map an import's targets to a file's columns.  A target is a code the reader types in the
# mapping box (name=客户名称), so it is said as written, never as the caption a top-level key of that name
# gets: otherwise "名称：户名" stood beside "branch_code：所属网点" in one line.
COLUMN_MAPS = frozenset({"recognised_columns", "mapping"})


def plain_details(value) -> list[tuple[str, str]]:
    """An audit record's details as ``(key, text)`` lines a person reads: nested values as
    ``key: value; ...``, empty ones left out (a list's ``{"tiers": {}}`` says nothing)."""

    def text(item, key: str = "") -> str:
        if key == "diff" and isinstance(item, list) and (said := _said_diff(item)):
            return said
        if key == "filters" and isinstance(item, dict):
            return _said_filters(item)
        if key == "metrics" and isinstance(item, dict):
            return _said_metrics(item, model)
        if key == "saved_list" and isinstance(item, dict) and item.get("name"):
            return str(item["name"])  # its name, not its id
        if key in COLUMN_MAPS and isinstance(item, dict):  # target codes, as the import page and the CLI write them
            return captioned((target, str(column)) for target, column in sorted(item.items()) if column)
        if _is_change(item):  # "Role: Analyst → Tenant admin", each side said as its key's values are
            return " → ".join("—" if side in (None, "") else text(side, key) for side in (item["from"], item["to"]))
        if isinstance(item, dict):
            # a retier's changes are by dimension (a user's by what changed), an erasure's counts by the data
            by_dimension = key == "changes" and not any(_is_change(v) for v in item.values())
            named = _dimension_names() if by_dimension else ERASED_LABELS if key == "removed" else {}
            return captioned((named.get(k) or AUDIT_DETAIL_LABELS.get(k, k), text(v, k))
                             for k, v in sorted(item.items(), key=_in_reading_order) if v not in (None, "", {}, []))
        if isinstance(item, (list, tuple)):
            return listed(text(v, key) for v in item)
        if isinstance(item, bool):
            return _("yes") if item else _("no")
        if isinstance(item, (int, float)):
            return readable_number(item)  # 20,002 rows; an RMSE of 291,086, not 291086.2710507331
        return _detail_value(key, str(item))

    model = value.get("model") if isinstance(value, dict) else None  # whose metrics a record's are
    if not isinstance(value, dict):
        return [("", text(value))] if value not in (None, "", {}, []) else []
    return [(str(AUDIT_DETAIL_LABELS.get(key, key)), said) for key, item in sorted(value.items())
            if item not in (None, "", {}, []) and (said := text(item, key))]


def _rules_in_force():
    """The tenant's rule set in force, read once per request for all a page says with it (dimension and
    tier names, list filters, diffs); None outside a tenant or before the first publish."""
    if "rules_in_force" not in g:
        from tierwise.tenants.rules.versions import definition_in_force

        g.rules_in_force = definition_in_force() if g.get("tenant") is not None else None
    return g.rules_in_force


def _dimension_names() -> dict[str, str]:
    """The rule set in force's dimensions by code, in the reader's language, read once per request."""
    if "dimension_names" not in g:
        definition = _rules_in_force()
        locale = str(get_locale())
        g.dimension_names = {d.code: localised(d.label_en, d.label_zh, locale)
                             for d in (definition.dimensions if definition else ())}
    return g.dimension_names


def _field_labels() -> dict:
    """The tenant's field labels, read once per request however many reasons and rules a page says."""
    if "field_labels" not in g:
        g.field_labels = field_labels()
    return g.field_labels


def rule_words(rule: str) -> str:
    """A tier's rule in words for the customer page, its fields named by their labels (``reasons.rule_text``)."""
    return rule_text(rule, _field_labels())


def tier_reason_lines(values: dict | None) -> list:
    """A tier's reason for a page, each value named by its field's label (``tierwise.tenants.rules.reasons``)."""
    return reason_lines(values, _field_labels())


def init_app(app: Flask) -> None:
    from tierwise.platform.web.rules_versions import diff_value

    app.jinja_env.globals["diff_value"] = diff_value
    app.jinja_env.filters["readable_json"] = readable_json
    app.jinja_env.filters["plain_details"] = plain_details
    app.jinja_env.filters["number"] = readable_number  # 1,200,000 and 2.5: every page's numbers read alike
    app.jinja_env.filters["percent"] = readable_percent
    app.jinja_env.globals["readable_feature"] = readable_feature  # a model feature's value (a change as a %)
    app.jinja_env.globals["whole_months"] = whole_months  # a horizon of 90 days is three calendar months
    app.jinja_env.globals.update(
        allows=lambda user, permission: allows(user, Permission(permission)),
        role_label=lambda role: ROLE_LABELS.get(role, role),
        industry_label=lambda industry: INDUSTRY_LABELS.get(industry, industry),
        permission_label=lambda permission: PERMISSION_LABELS.get(permission, permission),
        audit_action_label=lambda code: AUDIT_ACTION_LABELS.get(code, code),
        audit_target_label=lambda code: AUDIT_TARGET_LABELS.get(code, code),
        party_label=category_label,  # individual, organisation: as a model reason names them
        status_label=lambda code: STATUS_LABELS.get(code, code),
        channel_label=category_label,  # channels, interaction types, activity categories: one dictionary
        interaction_label=category_label,
        run_status_label=lambda code: RUN_STATUS_LABELS.get(code, code),
        import_kind_label=lambda code: IMPORT_KIND_LABELS.get(code, code),
        date_order_label=lambda code: DATE_ORDER_LABELS.get(code, code),
        started_by_label=started_by_label,
        change_reason_label=change_reason_label,
        category_label=category_label,
        reason_lines=tier_reason_lines,
        rule_words=rule_words,
    )
