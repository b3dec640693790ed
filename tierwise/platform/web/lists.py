"""The RM's lists: built-in and saved lists, filtered, sorted, paged, exported; the admins' export log.

Every page reads ``tierwise.tenants.lists.query`` with the signed-in user's
visibility, so an RM's list, export or saved list never holds another RM's
customer.
"""
from __future__ import annotations

import uuid

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from tierwise.errors import ConflictError, ValidationError
from tierwise.platform.branches import list_branches
from tierwise.platform.db import db
from tierwise.platform.i18n import listed, localised
from tierwise.platform.numbers import readable_number, readable_percent
from tierwise.platform.pagination import parse_limit
from tierwise.platform.policy import Permission, allows, visible_customers
from tierwise.platform.web.access import requires, signed_in
from tierwise.platform.web.forms import EmptyForm
from tierwise.platform.web.labels import VIA_LABELS, name_ids
from tierwise.platform.web.rules_editor import pointer
from tierwise.tenants import exports
from tierwise.tenants.fields import field_registry
from tierwise.tenants.lists import catalog, saved
from tierwise.tenants.lists.explain import explain
from tierwise.tenants.lists.filters import (PROBABILITIES, RANGES, ListFilters, probability_from_percent,
                                             tiers_asked)
from tierwise.tenants.lists.query import ListPage, list_count, list_page
from tierwise.tenants.ownership import active_rms
from tierwise.tenants.rules.syntax import RuleError

bp = Blueprint("lists", __name__, url_prefix="/lists")


@bp.route("/")
@signed_in
def index():
    definition = catalog.rule_set()
    settings = catalog.settings(definition)
    return render_template("lists/index.html", builtins=catalog.built_in_lists(), locale=str(get_locale()),
                           list_label=list_label,
                           saved_lists=saved.available_lists(current_user), settings=settings,
                           vip_tiers=vip_tier_labels(catalog.dimension(definition, "value"), settings.vip_tiers),
                           delete_form=EmptyForm())


def list_label(name: str) -> str:
    """A built-in list by its label in the reader's language (a name no longer built in, as stored)."""
    return catalog.builtin(name).label(str(get_locale())) if name in catalog.BUILT_IN else name


def vip_tier_labels(value, codes) -> str:
    """The VIP tiers by their labels in the reader's language, as the tier pages name them."""
    return listed(_tier_labels(value).get(code, code) for code in codes)


def _tier_labels(dimension) -> dict[str, str]:
    """A dimension's tiers by code, each by its label in the reader's language (none for no dimension)."""
    locale = str(get_locale())
    return {t.code: localised(t.label_en, t.label_zh, locale) for t in dimension.tiers} if dimension else {}


# What a list page's links set themselves: carried from the address too, ``?format=csv`` made the page's own
# export link ``url_for(..., format=fmt, format="csv")``, a 500.
LINK_PARAMETERS = {"cursor", "format", "name", "list_id", "total"}


def _arguments() -> dict:
    """The filter and sort arguments of this request, to carry into links (next page, export, save)."""
    return {key: value for key, value in request.args.items(multi=False)
            if key not in LINK_PARAMETERS and value not in (None, "")}


@bp.route("/<name>")
@signed_in
def show(name: str):
    builtin = catalog.builtin(name)
    sort = request.args.get("sort", "external_id")
    try:
        filters = ListFilters.from_args(request.args, percent=True)
        page = list_page(name, visible_customers(current_user), filters=filters, sort=sort,
                         cursor=request.args.get("cursor"), limit=parse_limit(request.args.get("limit")))
    except ValidationError as error:  # a typo in a filter: the page stays, with the filters as typed
        return _refused(builtin, name, sort, error)
    total = _total(name, filters)
    return _render_list(builtin, name, page, sort, total=total, filtered=filters.narrows)


def _total(name: str, filters: ListFilters) -> int | None:
    """The list's count, on its first page; a later page says the count its "More" link carried.

    Counted on every page, a 1M-customer tenant's "all" list was counted again at each step of
    the walk (review).  The carried figure is only said, never used: a wrong one misleads only
    whoever typed it.
    """
    if not request.args.get("cursor"):
        return list_count(name, visible_customers(current_user), filters=filters)
    carried = request.args.get("total", "")
    return int(carried) if carried.isdigit() else None


def _refused(builtin, name: str, sort: str, error: ValidationError, *, kept: saved.SavedList | None = None):
    """The list's page (or saved list's, ``kept``) with no rows and the refusal beside the filter it names, as
    typed: a 400."""
    db.session.rollback()
    definition = catalog.rule_set()
    page = ListPage([], None, list(definition.dimensions) if definition else [])
    return _render_list(builtin, name, page, sort, error=filter_error(error), kept=kept), 400


def _render_list(builtin, name: str, page: ListPage, sort: str, *, error: dict | None = None,
                 kept: saved.SavedList | None = None, total: int | None = None, filtered: bool = False) -> str:
    """A list page; ``kept``: the saved list shown, under its own name, its filters in the form;
    ``total``: how many customers the whole list holds for this reader (none when refused)."""
    sees_all = allows(current_user, Permission.VIEW_ALL_CUSTOMERS)
    managers = active_rms() if sees_all else []  # inactive RMs hold no customers (users.update_user)
    registry = field_registry()
    if kept is None:
        typed, arguments = typed_filters(), _arguments()
    else:
        arguments = ListFilters.from_dict(kept.filters).to_args(percent=True)
        typed = {key: value for key, value in arguments.items() if not key.startswith("tier.")}
        typed["tiers"] = {d: list(codes) for d, codes in kept.filters.get("tiers", {}).items()}
        arguments |= {"sort": sort}  # its own order may not be the customer id's: always said
    return render_template("lists/show.html", builtin=builtin, name=name, page=page, typed=typed, sort=sort,
                           arguments=arguments, locale=str(get_locale()), error=error, kept=kept, total=total,
                           filtered=filtered,
                           filter_caption=filter_caption, filter_input=filter_input,
                           whys=explain(name, page.rows, registry, str(get_locale())),
                           condition_example=example_condition(registry),
                           branches=list_branches() if sees_all else [], managers=managers,
                           can_export=allows(current_user, Permission.EXPORT_LISTS), save_form=EmptyForm())


def typed_filters() -> dict:
    """The filters exactly as the request typed them (a bad one included), to fill the form in again.

    ``tiers`` maps each dimension to the codes asked for, whether or not the dimension has them.
    """
    typed = {key: value for key, value in request.args.items() if not key.startswith("tier.")}
    typed["tiers"] = tiers_asked(request.args)
    return typed


def filter_error(error: ValidationError) -> dict:
    """What the form shows beside the filter the error names; a condition gets a caret under the problem."""
    shown = {"field": error.field, "message": error.message}
    if isinstance(error, RuleError) and error.expression:
        shown["pointer"] = pointer(error)
    return shown


def example_condition(registry: dict) -> str:
    """A condition for the filter's placeholder, on this tenant's own fields (every tenant has the scores)."""
    category = next((f for f in registry.values() if f.field_type == "category" and f.categories), None)
    if category is not None:
        return f'{category.name} == "{category.categories[0]}" and churn_probability > 0.3'
    number = next((f for f in registry.values() if f.field_type in ("number", "integer")), None)
    if number is not None:
        return f"{number.name} > 0 and churn_probability > 0.3"
    return "churn_probability > 0.3 and predicted_value > 10000"


@bp.route("/<name>/export")
@requires(Permission.EXPORT_LISTS)
def export(name: str):
    """The list as a file; a filter the page would refuse is refused on the page, beside its input (an
    export link is the page's own address with a format: the same typo gave a bare error page)."""
    builtin = catalog.builtin(name)
    try:
        return _export(name, ListFilters.from_args(request.args, percent=True))
    except ValidationError as error:
        if error.field == "format":  # not a filter: the page has nothing to show beside
            raise
        return _refused(builtin, name, request.args.get("sort", "external_id"), error)


@bp.route("/saved/<uuid:list_id>/export")
@requires(Permission.EXPORT_LISTS)
def export_saved(list_id: uuid.UUID):
    """A saved list's export, recorded under its name as well as the built-in list it narrows."""
    kept = saved.get_saved_list(list_id, current_user)
    return _export(kept.base, ListFilters.from_dict(kept.filters), kept=kept)


def _export(name: str, filters: ListFilters, *, kept: saved.SavedList | None = None) -> Response:
    default = kept.sort if kept else "external_id"  # a saved list is exported in its saved order
    export = exports.export_list(name, visible_customers(current_user), via="web", filters=filters,
                                 sort=request.args.get("sort") or default, fmt=request.args.get("format", "csv"),
                                 by=current_user.email, locale=str(get_locale()),
                                 saved_list={"id": str(kept.id), "name": kept.name} if kept else None)
    db.session.commit()
    return Response(export.content, content_type=export.mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{export.filename}"',
                             "X-Content-SHA256": export.sha256})


@bp.route("/<name>/save", methods=["POST"])
@signed_in
def save(name: str):
    form = EmptyForm()
    if not form.validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return redirect(url_for(".show", name=name))
    arguments = {k: v for k, v in request.form.items()
                 if k not in ("csrf_token", "list_name", "shared") and k not in LINK_PARAMETERS}
    try:
        kept = saved.save_list(current_user, name=request.form.get("list_name", ""), base=name,
                               filters=ListFilters.from_args(request.form, percent=True),
                               shared=request.form.get("shared") == "on",
                               sort=request.form.get("sort") or "external_id")  # it opens in the order it was saved
    except (ValidationError, ConflictError) as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for(".show", name=name, **arguments))
    db.session.commit()
    flash(_("Saved the list “%(name)s”.", name=kept.name), "success")
    return redirect(url_for(".saved_list", list_id=kept.id))


@bp.route("/saved/<uuid:list_id>")
@signed_in
def saved_list(list_id: uuid.UUID):
    """A saved list under its own name: its built-in list narrowed by its filters, in its saved order (or the
    request's)."""
    kept = saved.get_saved_list(list_id, current_user)
    sort = request.args.get("sort") or kept.sort
    builtin = catalog.builtin(kept.base)
    try:
        filters = ListFilters.from_dict(kept.filters)
        page = list_page(kept.base, visible_customers(current_user), filters=filters,
                         sort=sort, cursor=request.args.get("cursor"), limit=parse_limit(request.args.get("limit")))
    except ValidationError as error:  # a tier or field the rules no longer have: the page says which
        return _refused(builtin, kept.base, sort, error, kept=kept)
    return _render_list(builtin, kept.base, page, sort, kept=kept, total=_total(kept.base, filters),
                        filtered=filters.narrows)


@bp.route("/saved/<uuid:list_id>/delete", methods=["POST"])
@signed_in
def delete_saved(list_id: uuid.UUID):
    if EmptyForm().validate_on_submit():
        kept = saved.get_saved_list(list_id, current_user)
        saved.delete_saved_list(kept, current_user, is_admin=allows(current_user, Permission.MANAGE_RULES))
        db.session.commit()
        flash(_("Deleted the list “%(name)s”.", name=kept.name), "success")
    return redirect(url_for(".index"))


@bp.route("/settings", methods=["GET", "POST"])
@requires(Permission.MANAGE_RULES)
def settings():
    """The VIP tiers and the at-risk threshold, typed in percent as the lists show churn.

    A refused value comes back as typed, with the field's label beside the message.
    """
    form = EmptyForm()
    value = catalog.dimension(catalog.rule_set(), "value")
    current = catalog.settings()
    typed = {"vip_tiers": list(current.vip_tiers),
             "at_risk_probability": format(current.at_risk_probability * 100, ".10g")}
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        typed = {"vip_tiers": request.form.getlist("vip_tiers"),
                 "at_risk_probability": request.form.get("at_risk_probability", "")}
        try:
            catalog.update_settings(vip_tiers=typed["vip_tiers"],
                                    at_risk_probability=at_risk_threshold(typed["at_risk_probability"]))
        except ValidationError as error:
            db.session.rollback()
            flash(_("%(field)s: %(message)s", field=SETTINGS_FIELDS.get(error.field, error.field),
                    message=error.message), "error")
            status = 400
        else:
            db.session.commit()
            flash(_("List settings saved."), "success")
            return redirect(url_for(".index"))
    return render_template("lists/settings.html", form=form, value=value, typed=typed,
                           locale=str(get_locale())), status


SETTINGS_FIELDS = {"vip_tiers": _l("Which value tiers are VIP"),
                   "at_risk_probability": _l("At risk from a churn probability of")}


def at_risk_threshold(typed: str) -> float:
    """The at-risk threshold typed in percent, as a probability strictly between 0 and 1."""
    probability = probability_from_percent(typed, "at_risk_probability")
    if not 0 < probability < 1:
        raise ValidationError(_("must be a percentage above 0 and below 100"), field="at_risk_probability")
    return probability


FILTER_CAPTIONS = {"churn_min": _l("Churn probability from"), "churn_max": _l("Churn probability to"),
                   "value_min": _l("Predicted value from"), "value_max": _l("Predicted value to"),
                   "branch_id": _l("Branch"), "rm_user_id": _l("Relationship manager"), "search": _l("Id or name"),
                   "condition": _l("Condition"), "sort": _l("Sort by")}
# Parameters of the address with no input on the form (a page link's cursor, a typed limit): named, not linked.
NOT_INPUTS = {"cursor": _l("Page link"), "limit": _l("Rows per page")}


def filter_input(name: str) -> bool:
    """Whether the filter form has an input for ``name``, for an error to link to."""
    return name in FILTER_CAPTIONS or name.startswith("tier.")


def filter_caption(name: str, dimensions=()) -> str:
    """A list filter (``churn_min``, ``tier.value``) as its input is labelled on the list page."""
    tiers = {f"tier.{d.code}": localised(d.label_en, d.label_zh, str(get_locale())) for d in dimensions}
    return str(FILTER_CAPTIONS.get(name) or NOT_INPUTS.get(name) or tiers.get(name) or name)


def filter_lines(filters: dict, names: dict[str, str], definition) -> list[tuple[str, str]]:
    """A stored list's filters (``ListFilters.to_dict``) as (caption, text) lines a person reads.

    ``names``: branch and user ids to their names (``_names_of``), so an RM filter reads
    "Relationship manager: Li Na", not an id; ``definition``: the rule set in force, read once per page.
    """
    dimensions = list(definition.dimensions) if definition else []
    lines = []
    for code, tiers in sorted((filters.get("tiers") or {}).items()):
        labels = _tier_labels(catalog.dimension(definition, code))
        lines.append((filter_caption(f"tier.{code}", dimensions), listed(labels.get(t, t) for t in tiers)))
    for key in (*RANGES, "branch_id", "rm_user_id", "search", "condition"):
        value = filters.get(key)
        if value in (None, ""):
            continue
        text = (readable_percent(value) if key in PROBABILITIES
                else readable_number(value) if key in RANGES else names.get(str(value), str(value)))
        lines.append((filter_caption(key), text))
    return lines


def _names_of(events: list) -> dict[str, str]:
    """The branches and users the events' filters name, by id (``labels.name_ids``: two queries)."""
    return name_ids({str(e.details.get("filters", {}).get(key)) for e in events for key in ("branch_id", "rm_user_id")
                     if e.details.get("filters", {}).get(key)})


def via_label(via: str | None) -> str:
    """Where an export was asked for, in the reader's language (— before it was recorded)."""
    return str(VIA_LABELS[via]) if via in VIA_LABELS else "—"


@bp.route("/exports")
@requires(Permission.VIEW_AUDIT_LOG)
def export_log():
    events = exports.export_log()
    names, definition = _names_of(events), catalog.rule_set()
    return render_template("lists/exports.html", events=events, list_label=list_label, via_label=via_label,
                           filters_of=lambda event: filter_lines(event.details.get("filters") or {}, names, definition))
