"""One query behind every list, page, API answer and export: a built-in list, narrowed by filters.

Every query takes ``visible`` (from ``tierwise.platform.policy.visible_customers``):
an RM's list, page, export or API answer can only ever hold that RM's book (or
branch).  Pages are keyset-paginated on (sort value, external id), so page 500
costs what page 1 does; the export reads the same query without the limit.
"""
from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l  # a refusal naming its field says so in any language (ValidationError)

from tierwise.errors import ValidationError
from tierwise.models.scores import CustomerScore
from tierwise.platform import tenancy
from tierwise.platform.branches import Branch
from tierwise.platform.db import UTCDateTime, db, set_for_transaction, utcnow
from tierwise.platform.i18n import listed
from tierwise.platform.pagination import cursor_for, position_of
from tierwise.platform.users import User
from tierwise.tenants.customers import Customer, CustomerStatus
from tierwise.tenants.lists import catalog
from tierwise.tenants.lists.conditions import condition_sql
from tierwise.tenants.lists.filters import ListFilters
from tierwise.tenants.rules.assignments import TierAssignment, TierChange
from tierwise.tenants.rules.definition import RuleSetDefinition

# name -> (column key, descending); ties are broken by external id, ascending
SORTS = {"external_id": ("external_id", False), "name": ("name", False),
         "churn": ("churn_probability", True), "value": ("predicted_value", True)}
CHANGE_WINDOW = timedelta(days=7)
SHAPES_KEPT = 256  # list statements kept per process (``_statement``), least recently used dropped first
_KEPT: OrderedDict = OrderedDict()
_KEPT_LOCK = threading.Lock()  # gunicorn's threads share the process's statements


@dataclass(frozen=True)
class ListRow:
    customer_id: uuid.UUID
    external_id: str
    name: str
    branch: str | None
    rm: str | None
    tiers: dict[str, str | None]
    churn_probability: float | None
    predicted_value: float | None
    change: dict | None  # for the lists of changes: from, to, when
    # Why the customer is on the list (``catalog.explained_by``): the stored reason of the tier that
    # explains the list, and for the at-risk lists the churn score's strongest reason and its model.
    reason: dict | None = None
    churn_reason: list | None = None  # [feature, contribution, value]
    churn_version_id: uuid.UUID | None = None
    # What programs match on: names change (a branch renamed, an RM's display name), codes and emails do not
    branch_code: str | None = None
    rm_email: str | None = None


@dataclass(frozen=True)
class ListPage:
    rows: list[ListRow]
    next_cursor: str | None
    dimensions: list  # DimensionSpec, in the rule set's order


def build(name: str, visible: sa.ColumnElement[bool], filters: ListFilters, definition: RuleSetDefinition | None,
          settings: catalog.ListSettings, *, counting: bool = False) -> tuple[sa.Select, dict[str, sa.ColumnElement]]:
    """The list's SELECT (one row per customer) and its sortable columns.

    ``counting``: only what decides who is on the list (``list_count``), without the lookups that
    only add columns (branch, RM, the other tiers): SQLite joins them all to count, 285 ms of a
    50,000-customer "all" list against 3 ms for its page.
    """
    catalog.builtin(name)
    filters.check(definition)
    tenant_id = tenancy.current_tenant_id()
    c, s = Customer.__table__, CustomerScore.__table__
    b, u = Branch.__table__, User.__table__
    # Joined in the order they are planned in (``_plan_as_written``): first what narrows the list
    # (the tiers it keeps, the moves it lists), then the lookups that only add columns.
    joined, other_tiers = c, []
    rm_label = sa.case((u.c.display_name != "", u.c.display_name), else_=u.c.email)
    columns = [c.c.id.label("customer_id"), c.c.external_id, c.c.name, b.c.name.label("branch"),
               rm_label.label("rm"), b.c.code.label("branch_code"), u.c.email.label("rm_email"),
               s.c.churn_probability, s.c.predicted_value]
    conditions = [c.c.tenant_id == tenant_id, visible]
    if name not in catalog.KEEP_CLOSED:  # a QA tenant's VIP list held 186 closed accounts of 580
        conditions.append(c.c.status != CustomerStatus.CLOSED.value)
    dimensions = list(definition.dimensions) if definition else []
    explained, churn_explained = catalog.explained_by(name)
    for dimension in dimensions:
        stored = TierAssignment.__table__.alias(f"tier_{dimension.code}")
        wanted = _tiers_wanted(name, dimension, settings, filters)
        on = sa.and_(stored.c.tenant_id == c.c.tenant_id, stored.c.customer_id == c.c.id,
                     stored.c.dimension == dimension.code)
        if wanted is not None:
            joined = joined.join(stored, on)
            conditions.append(stored.c.tier.in_(wanted))
        else:
            other_tiers.append((stored, on))
        columns.append(stored.c.tier.label(f"tier__{dimension.code}"))
        if dimension.code == explained:  # the row this list already joins: the reason costs no lookup
            columns.append(stored.c.reason.label("reason"))
    if churn_explained:
        columns += [s.c.churn_reasons[0].label("churn_reason"), s.c.churn_version_id]
    drawn_from = catalog.DRAWN_FROM.get(name)
    if drawn_from and catalog.dimension(definition, drawn_from) is None:
        conditions.append(sa.false())  # the rule set has no such dimension: the list is empty by definition
    if name in catalog.CHURN_LISTS:
        conditions.append(s.c.churn_probability >= settings.at_risk_probability)
    change = _recent_change(name, definition, tenant_id)
    if change is not None:
        joined = joined.join(change, change.c.customer_id == c.c.id)
        columns += [change.c.from_tier, change.c.to_tier, change.c.occurred_at.label("changed_at")]
    lookups = [(s, sa.and_(s.c.tenant_id == c.c.tenant_id, s.c.customer_id == c.c.id)),
               (b, sa.and_(b.c.tenant_id == c.c.tenant_id, b.c.id == c.c.branch_id)),
               (u, sa.and_(u.c.tenant_id == c.c.tenant_id, u.c.id == c.c.rm_user_id)), *other_tiers]
    if counting:  # the scores may narrow the list (churn lists, score filters); the rest never do
        lookups, columns = lookups[:1], [c.c.id]
    for table, on in lookups:
        joined = joined.outerjoin(table, on)
    conditions += _filter_conditions(filters, c, s)
    if filters.condition:
        conditions.append(condition_sql(filters.condition, c, s, definition))
    select = sa.select(*columns).select_from(joined).where(*conditions)
    sortable = {"external_id": c.c.external_id, "name": c.c.name, "churn_probability": s.c.churn_probability,
                "predicted_value": s.c.predicted_value}
    return select, sortable


def _tiers_wanted(name: str, dimension, settings, filters: ListFilters) -> list[str] | None:
    """The tiers of ``dimension`` this list keeps (None: any, or none assigned yet)."""
    wanted = None
    if dimension.code == "value" and name in ("vip", "vip_at_risk"):
        wanted = list(settings.vip_tiers)
    elif dimension.code == name or (dimension.code == "high_risk" and name == "newly_high_risk"):
        wanted = [t.code for t in dimension.tiers if t.code != dimension.fallback.code]
    if dimension.code in filters.tiers:
        chosen = list(filters.tiers[dimension.code])
        wanted = chosen if wanted is None else [t for t in wanted if t in chosen]
    return wanted


def _recent_change(name: str, definition, tenant_id: int) -> sa.Subquery | None:
    """For the lists of changes: each customer's latest move in the list's dimension over ``CHANGE_WINDOW``.

    A week of moves, not the latest retier's: a retier runs whenever new customers are
    imported, or an admin starts one, and each emptied the morning's list (a one-row
    import left an RM's 192 newly high-risk customers at none).  Each row says when it
    moved.  A customer who moved more than once counts by the latest move: one who went
    up and then back down is not newly high-risk.  The window's start is bound when the
    statement runs (``changes_since``), so every page of a list shares one statement.
    """
    if name not in catalog.CHANGE_LISTS:
        return None
    t = TierChange.__table__
    code = catalog.CHANGE_LISTS[name]
    moves = sa.select(t.c.customer_id, t.c.from_tier, t.c.to_tier, t.c.occurred_at, t.c.direction,
                      sa.func.row_number().over(partition_by=t.c.customer_id, order_by=t.c.occurred_at.desc())
                      .label("latest")).where(
        t.c.tenant_id == tenant_id, t.c.dimension == code,
        t.c.occurred_at >= sa.bindparam("changes_since", type_=UTCDateTime())).subquery("moves")
    condition = [moves.c.latest == 1]
    if name == "value_down":
        condition.append(moves.c.direction == "down")
    else:
        dimension = catalog.dimension(definition, code)
        fallback = dimension.fallback.code if dimension else ""
        # Into a high-risk tier, or up to a more severe one (watch -> high): every escalation the
        # dashboard counts as up or new, not only those from the fallback.
        condition += [moves.c.direction.in_(("up", "new")), moves.c.to_tier != fallback]
    return (sa.select(moves.c.customer_id, moves.c.from_tier, moves.c.to_tier, moves.c.occurred_at)
            .where(*condition).subquery("moved"))


def _bound(name: str) -> dict:
    """What a list's statement binds besides the page: the start of the window of changes (``_recent_change``)."""
    return {"changes_since": utcnow() - CHANGE_WINDOW} if name in catalog.CHANGE_LISTS else {}


def _filter_conditions(filters: ListFilters, c, s) -> list:
    conditions = []
    for key, column, op in (("churn_min", s.c.churn_probability, "ge"), ("churn_max", s.c.churn_probability, "le"),
                            ("value_min", s.c.predicted_value, "ge"), ("value_max", s.c.predicted_value, "le")):
        value = getattr(filters, key)
        if value is not None:
            conditions.append(column >= value if op == "ge" else column <= value)
    if filters.branch_id:
        conditions.append(c.c.branch_id == filters.branch_id)
    if filters.rm_user_id:
        conditions.append(c.c.rm_user_id == filters.rm_user_id)
    if filters.search:
        escaped = filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(sa.or_(c.c.external_id.like(f"{escaped}%", escape="\\"),
                                 c.c.name.like(f"%{escaped}%", escape="\\")))
    return conditions


def ordered(select: sa.Select, sortable: dict, sort: str) -> tuple[sa.Select, str, bool]:
    key, descending = sort_key(sort)
    column = sortable[key]
    order = [column.desc().nulls_last() if descending else column.asc()]
    if key != "external_id":
        order.append(sortable["external_id"].asc())
    return select.order_by(*order), key, descending


def list_page(name: str, visible: sa.ColumnElement[bool], *, filters: ListFilters | None = None,
              sort: str = "external_id", cursor: str | None = None, limit: int = 50) -> ListPage:
    """One page of a list, after ``cursor`` (from the previous page)."""
    _plan_as_written()  # first, so the rule set's query carries them with any settings it sends anyway
    definition = catalog.rule_set()
    key, _descending = sort_key(sort)
    kind = f"list:{name}:{sort}"  # a cursor walks the list and sort that gave it out, nothing else
    position = position_of(cursor, kind=kind) if cursor else None
    variant = "first" if position is None else ("after_null" if position[0] is None and len(position) == 2
                                                else "after")
    select = _statement(name, visible, filters or ListFilters(), sort, definition, variant)
    params = {"page_size": limit + 1} | _bound(name)
    if position is not None:
        params |= {"after_id": position[-1], "after_value": position[0]}
    rows = db.session.execute(select, params).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows and more else None
    next_cursor = cursor_for([getattr(last, key), last.external_id] if key != "external_id"
                             else [last.external_id], kind=kind) if last is not None else None
    dimensions = list(definition.dimensions) if definition else []
    return ListPage(_rows(rows, dimensions), next_cursor, dimensions)


def sort_key(sort: str) -> tuple[str, bool]:
    """The column a list sort orders by and whether descending; a sort lists do not have is refused naming it."""
    if sort not in SORTS:
        raise ValidationError(_l("unknown sort '%(sort)s' (choose one of: %(choices)s)", sort=sort,
                                choices=listed(SORTS)), field="sort")
    return SORTS[sort]


def _statement(name: str, visible: sa.ColumnElement[bool], filters: ListFilters, sort: str,
               definition: RuleSetDefinition | None, variant: str) -> sa.Select:
    """The list's ordered statement for one page shape, built once per shape and kept.

    ``variant``: ``first`` (no cursor), ``after`` / ``after_null`` (after a cursor whose sort
    value is set / null), ``all`` (an export, no limit).  Cursor values and the page size are
    bound at execution (``after_value``, ``after_id``, ``page_size``), so every page of a
    list runs the same statement object: building it and deriving its cache key took about
    1.7 ms of a 10 ms page, more than the list query's own database time at 100k customers.

    The shape is everything the statement's text and literals depend on: the tenant, the
    rule set in force (the parsed definition is shared per version), the tenant's list
    settings, the filters, the sort and who may see what (the ``visible`` expression's
    structure and values).  A change to any of them is another shape.
    """
    settings = catalog.settings(definition)
    shape = _shape(name, visible, filters, sort, definition, settings, variant)
    if shape is not None:
        with _KEPT_LOCK:
            kept = _KEPT.get(shape)
            if kept is not None and kept[0] is definition:
                _KEPT.move_to_end(shape)
                return kept[1]
    select, sortable = build(name, visible, filters, definition, settings)
    select, key, descending = ordered(select, sortable, sort)
    if variant in ("after", "after_null"):
        select = select.where(_after(sortable, key, descending, value_is_null=variant == "after_null"))
    if variant != "all":
        select = select.limit(sa.bindparam("page_size", type_=sa.Integer()))
    select = select.execution_options(tenant_filtered=True)
    if shape is not None:
        with _KEPT_LOCK:
            _KEPT[shape] = (definition, select)  # the definition kept alive: its id stays in the key
            while len(_KEPT) > SHAPES_KEPT:
                _KEPT.popitem(last=False)
    return select


def _shape(name, visible, filters: ListFilters, sort, definition, settings, variant) -> tuple | None:
    """The key of a list statement's shape (see ``_statement``); None if ``visible`` has no cache key."""
    visible_key = visible._generate_cache_key()
    if visible_key is None:
        return None
    filters_key = (tuple(sorted(filters.tiers.items())), filters.churn_min, filters.churn_max, filters.value_min,
                   filters.value_max, filters.branch_id, filters.rm_user_id, filters.search, filters.condition)
    return (tenancy.current_tenant_id(), id(definition), settings, name, filters_key, sort, variant,
            visible_key.key, tuple(param.effective_value for param in visible_key.bindparams))


def _plan_as_written() -> None:
    """Have PostgreSQL join a list's tables in the order ``build`` writes them, for this transaction.

    A page joins seven tables or more.  Searching every join order took 7–10 ms of
    planning for a query that runs in 1.5 ms (a 1M-customer tenant), most of a page's
    database time, though the written order is the plan it picks: the tiers and moves
    that narrow the list first, then one index probe per row for each lookup.  Join
    methods are still chosen freely (a rare tier is hashed and sorted, a common one
    walked in key order).

    Asked for, not set: they go out with the settings the next statement brings up to date
    (``set_for_transaction``), not in a round trip of their own.
    """
    set_for_transaction({"join_collapse_limit": "1", "max_parallel_workers_per_gather": "0"})


def _rows(rows, dimensions) -> list[ListRow]:
    """The page's rows as ``ListRow``s.  Which optional columns the statement has (a change, a reason,
    the churn reason) is asked once per page: asking each row for a column it lacks raises and
    catches an exception inside SQLAlchemy, twice a row on the VIP list."""
    if not rows:
        return []
    present = set(rows[0]._mapping.keys())
    tier_columns = [(d.code, f"tier__{d.code}") for d in dimensions]
    change, reason = "changed_at" in present, "reason" in present
    churn = "churn_reason" in present  # with its model version's id
    listed = []
    for row in rows:
        data = row._mapping
        listed.append(ListRow(
            row.customer_id, row.external_id, row.name, row.branch, row.rm,
            {code: data[column] for code, column in tier_columns}, row.churn_probability, row.predicted_value,
            {"from": data["from_tier"], "to": data["to_tier"], "at": data["changed_at"]} if change else None,
            reason=data["reason"] if reason else None,
            churn_reason=data["churn_reason"] if churn else None,
            churn_version_id=data["churn_version_id"] if churn else None,
            branch_code=row.branch_code, rm_email=row.rm_email))
    return listed


def _after(sortable: dict, key: str, descending: bool, *, value_is_null: bool) -> sa.ColumnElement[bool]:
    """Rows after the cursor's position in (key, external id) order, nulls of a descending key last.

    The position is bound at execution: ``after_value`` (the sort value) and ``after_id``.
    """
    external_id = sortable["external_id"]
    last_id = sa.bindparam("after_id", type_=external_id.type)
    if key == "external_id":
        return external_id > last_id
    column = sortable[key]
    if value_is_null:
        return sa.and_(column.is_(None), external_id > last_id)
    value = sa.bindparam("after_value", type_=column.type)
    beyond = column < value if descending else column > value
    later = sa.or_(beyond, sa.and_(column == value, external_id > last_id))
    return sa.or_(later, column.is_(None)) if descending else later


def list_count(name: str, visible: sa.ColumnElement[bool], *, filters: ListFilters | None = None) -> int:
    """How many customers a list holds for this viewer, with these filters: the figure above its pages.

    The conditions of its pages and exports (``build``), counted without the columns they add.
    """
    _plan_as_written()
    definition = catalog.rule_set()
    select, _sortable = build(name, visible, filters or ListFilters(), definition, catalog.settings(definition),
                              counting=True)
    counted = sa.select(sa.func.count()).select_from(select.subquery())
    return db.session.scalar(counted.execution_options(tenant_filtered=True), _bound(name))


def list_rows(name: str, visible: sa.ColumnElement[bool], *, filters: ListFilters | None = None,
              sort: str = "external_id") -> tuple[list, list]:
    """Every row of a list (for exports): (rows as mappings, dimensions)."""
    _plan_as_written()
    definition = catalog.rule_set()
    sort_key(sort)
    select = _statement(name, visible, filters or ListFilters(), sort, definition, "all")
    rows = db.session.execute(select, _bound(name)).mappings().all()
    return rows, list(definition.dimensions) if definition else []

