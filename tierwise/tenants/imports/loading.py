"""Staging and merging: rows go into a temporary table (COPY on PostgreSQL), then
set-based SQL checks them against the tenant's data and merges them.

Merging is two statements per kind: UPDATE the rows that exist and differ, then
INSERT the rows that do not exist.  Unchanged rows are not touched, so importing
the same file twice changes nothing, and the counts reported are exact.  All of
it runs on the session's connection, inside the caller's transaction and tenant
scope (row-level security applies to every statement).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from tierwise.errors import ValidationError, kept_message
from tierwise.platform.clock import local_time
from tierwise.platform.db import UTCDateTime, utcnow
from tierwise.platform.tenant import tenant_timezone
from tierwise.platform.users import Role
from tierwise.tenants.imports.errors import RowError
from tierwise.tenants.imports.specs import Target

STAGE = "import_stage"
RESOLVED = "import_resolved"


@dataclass
class MergeCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


class Dialect:
    """The few SQL spellings PostgreSQL and SQLite disagree on."""

    def __init__(self, connection: sa.Connection) -> None:
        self.name = connection.dialect.name
        self.postgres = self.name == "postgresql"

    def differs(self, left: str, right: str) -> str:
        return f"{left} IS DISTINCT FROM {right}" if self.postgres else f"{left} IS NOT {right}"

    def json_patch(self, pairs: list[tuple[str, str, str]]) -> str:
        """A JSON object of the non-null (key, expression, kind) pairs."""
        if not pairs:
            return "'{}'"
        if self.postgres:
            body = ", ".join(f"'{key}', {expr}" for key, expr, _kind in pairs)
            return f"jsonb_strip_nulls(jsonb_build_object({body}))"
        body = ", ".join(
            f"'{key}', " + (f"CASE WHEN {expr} IS NULL THEN NULL WHEN {expr} THEN json('true') ELSE json('false') END"
                            if kind == "boolean" else expr)
            for key, expr, kind in pairs)
        return f"json_patch('{{}}', json_object({body}))"  # a merge patch drops the null members

    def json_merge(self, current: str, patch: str) -> str:
        return f"({current} || {patch})" if self.postgres else f"json_patch({current}, {patch})"


def create_stage(connection: sa.Connection, targets: list[Target], extra: list[sa.Column] = ()) -> sa.Table:
    """A temporary table with ``row_no`` and one typed column per target."""
    connection.execute(sa.text(f"DROP TABLE IF EXISTS {STAGE}"))
    columns = [sa.Column("row_no", sa.Integer, nullable=False)]
    columns += [sa.Column(t.name, t.sql_type) for t in targets] + list(extra)
    table = sa.Table(STAGE, sa.MetaData(), *columns, prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
    table.create(connection)
    return table


def prepare_for_joins(connection: sa.Connection, table: str, keys: list[str]) -> None:
    """Give the planner what it needs to join a freshly filled temporary table.

    PostgreSQL never auto-analyzes temporary tables, so without ANALYZE it guesses
    their size; SQLite, without an index, may loop over the whole table per row.
    """
    if connection.dialect.name == "sqlite":
        connection.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {table}_keys ON {table} ({', '.join(keys)})"))
    connection.execute(sa.text(f"ANALYZE {table}"))


def drop_stage(connection: sa.Connection) -> None:
    for name in (STAGE, RESOLVED):
        connection.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))


def copy_into(connection: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """Append ``frame`` (columns named like the table's) to the stage: COPY on PostgreSQL."""
    if frame.empty:
        return
    names = [c.name for c in table.columns if c.name in frame.columns]
    if connection.dialect.name == "postgresql":
        buffer = io.StringIO()
        # NULL is spelled \N so that an empty string stays an empty string (a blank category is '').
        _timestamps_as_text(frame[names]).to_csv(buffer, index=False, header=False, na_rep="\\N")
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor:
            with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
                copy.write(buffer.getvalue())
        return
    records = frame[names].astype(object).where(frame[names].notna(), None).to_dict("records")
    connection.execute(table.insert(), records)


def _timestamps_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """UTC timestamps as ISO text, vectorised (pandas formats tz-aware values one by one)."""
    columns = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    if not columns:
        return frame
    frame = frame.copy()
    for column in columns:
        values = frame[column]
        text = np.datetime_as_string(values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]"),
                                     unit="us")
        frame[column] = pd.Series(np.char.add(text.astype(str), "+00"), index=frame.index).where(values.notna(), None)
    return frame


def _errors(connection: sa.Connection, sql: str, params: dict, column: str, reason: str) -> list[RowError]:
    rows = connection.execute(sa.text(sql), params).all()
    kept = kept_message(reason)
    return [RowError(int(row_no), column, str(value), str(reason), kept) for row_no, value in rows]


def duplicate_keys(connection: sa.Connection, key: str, column: str) -> list[RowError]:
    return _errors(connection, f"""
        SELECT s.row_no, s.{key} FROM {STAGE} s
        JOIN (SELECT {key} FROM {STAGE} GROUP BY {key} HAVING count(*) > 1) d ON d.{key} = s.{key}
        ORDER BY s.row_no""", {}, column, _l("this id appears more than once in the file"))


def unknown_references(connection: sa.Connection, tenant_id: int, *, stage_column: str, table: str,
                       table_column: str, column: str, reason: str, lower: bool = False, any_case: bool = False,
                       only: str = "") -> list[RowError]:
    """Rows whose ``stage_column`` names no row of ``table`` (``only``: no row meeting that SQL condition on ``t``).

    ``lower``: the table keeps the value lowercased (an email), so the file's is lowered to match it;
    ``any_case``: the table keeps it as typed and both are lowered (a branch code, matched ignoring case).
    """
    value = f"lower(s.{stage_column})" if lower or any_case else f"s.{stage_column}"
    stored = f"lower(t.{table_column})" if any_case else f"t.{table_column}"
    condition = f" AND {only}" if only else ""
    return _errors(connection, f"""
        SELECT s.row_no, s.{stage_column} FROM {STAGE} s
        WHERE s.{stage_column} IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM {table} t WHERE t.tenant_id = :tenant_id AND {stored} = {value}{condition})
        ORDER BY s.row_no""", {"tenant_id": tenant_id}, column, reason)


# What a customer file's cells name, and how ``unknown_references`` finds them: a branch by its code (any
# case), a relationship manager by email (the same rule as assigning by hand: no book for a user who cannot work it)
REFERENCES = {
    "branch_code": {"table": "branches", "table_column": "code", "any_case": True,
                    "reason": _l("no branch with this code")},
    "rm_email": {"table": "users", "table_column": "email", "lower": True,
                 "reason": _l("no active relationship manager with this email"),
                 "only": f"t.active AND t.role = '{Role.RELATIONSHIP_MANAGER.value}'"},
}


def names_nothing(connection: sa.Connection, tenant_id: int, value: str, *, table: str, table_column: str,
                  reason: str, lower: bool = False, any_case: bool = False, only: str = "") -> bool:
    """Whether ``value`` (one set for every row) names no row of ``table``, as ``unknown_references`` judges a cell."""
    compared = "lower(:value)" if lower or any_case else ":value"
    stored = f"lower(t.{table_column})" if any_case else f"t.{table_column}"
    condition = f" AND {only}" if only else ""
    return bool(connection.execute(sa.text(f"""
        SELECT NOT EXISTS (SELECT 1 FROM {table} t WHERE t.tenant_id = :tenant_id AND {stored} = {compared}{condition})
        """), {"tenant_id": tenant_id, "value": value}).scalar())


def _bare_id(expression: str) -> str:
    """An id as SQL compares ids a spreadsheet rewrote: without a trailing ``.0`` and leading zeros."""
    return (f"ltrim(CASE WHEN {expression} LIKE '%.0' THEN substr({expression}, 1, length({expression}) - 2) "
            f"ELSE {expression} END, '0')")


def unknown_customers(connection: sa.Connection, tenant_id: int, *, column: str) -> list[RowError]:
    """Rows naming no customer, saying so where the file writes the customers' ids another way (16675 for
    16675.0, 12345678 for 0012345678): the customers are there, and importing them again changes nothing."""
    unknown = unknown_references(connection, tenant_id, stage_column="customer", table="customers",
                                 table_column="external_id", column=column,
                                 reason=_l("no customer with this id (import customers first)"))
    written = id_written_otherwise(connection, tenant_id, sorted({e.value for e in unknown[:100]}))
    if written is None:
        return unknown
    reason = _l("no customer with this id, but this file seems to write the customers' ids otherwise "
                "('%(value)s' for customer '%(stored)s': a spreadsheet dropped leading zeros or added '.0'): "
                "write them as the customers were imported", value=written[0], stored=written[1])
    return [replace(e, reason=str(reason), kept=kept_message(reason)) for e in unknown]


def id_written_otherwise(connection: sa.Connection, tenant_id: int, ids: list[str]) -> tuple[str, str] | None:
    """One of ``ids`` (customer ids a file names that no customer has) and the customer id it rewrites, if any.

    Spreadsheets rewrite ids: Excel drops the leading zeros of 0012345678, and pandas writes a column
    of numbers with blanks (UCI Online Retail's CustomerID) as 16675.0, while a workbook's number cell
    reads 16675.  Customers imported from one and activity from the other then never meet, and "import
    customers first" sends the admin to import what is there.  Read only on that refusal: a scan of the
    tenant's customers, since no index holds the bare ids.
    """
    bare = {(i[:-2] if i.endswith(".0") else i).lstrip("0"): i for i in ids}
    bare.pop("", None)
    if not bare:
        return None
    statement = sa.text(f"""SELECT external_id, {_bare_id('external_id')} FROM customers
        WHERE tenant_id = :tenant_id AND {_bare_id('external_id')} IN :bare
        ORDER BY external_id LIMIT 1""").bindparams(sa.bindparam("bare", expanding=True))
    found = connection.execute(statement, {"tenant_id": tenant_id, "bare": sorted(bare)}).first()
    return None if found is None else (bare[found[1]], found[0])


def drop_rows(connection: sa.Connection, row_numbers: set[int]) -> None:
    if row_numbers:
        connection.execute(sa.text(f"DELETE FROM {STAGE} WHERE row_no IN ({', '.join(map(str, sorted(row_numbers)))})"))


def count_stage(connection: sa.Connection) -> int:
    return connection.execute(sa.text(f"SELECT count(*) FROM {STAGE}")).scalar_one()


def _now_params(tenant_id: int) -> tuple[dict, list]:
    return {"tenant_id": tenant_id, "now": utcnow()}, [sa.bindparam("now", type_=UTCDateTime())]


def merge_customers(connection: sa.Connection, tenant_id: int, targets: list[Target],
                    default_party: str = "individual") -> MergeCounts:
    """Upsert customers by external id; a new one without a party type is ``default_party`` (the industry's),
    and one without a name is named by its id.  A column left out, or a blank cell, changes nothing stored."""
    sql = Dialect(connection)
    present = {t.name for t in targets}
    patch = sql.json_patch([(t.name, f"s.{t.name}", t.kind) for t in targets if t.attribute])
    new_values = {}
    for column, expr in (("name", "s.name"), ("party_type", "s.party_type"), ("status", "s.status"),
                         ("churn_label", "s.churn_label"), ("label_observed_on", "s.label_observed_on"),
                         ("branch_id", "b.id"), ("rm_user_id", "u.id")):
        source = {"branch_id": "branch_code", "rm_user_id": "rm_email"}.get(column, column)
        if source in present:
            new_values[column] = f"COALESCE({expr}, c.{column})"
    attributes = sql.json_merge("c.attributes", patch)
    assignments = [f"{column} = {expr}" for column, expr in new_values.items()]
    changed = [sql.differs(f"c.{column}", expr) for column, expr in new_values.items()]
    if any(t.attribute for t in targets):
        assignments.append(f"attributes = {attributes}")
        changed.append(sql.differs("c.attributes", attributes))
    stage_branch = "s.branch_code" if "branch_code" in present else "NULL"
    stage_rm = "s.rm_email" if "rm_email" in present else "NULL"
    # a branch code in any case finds its branch (through the unique index on lower(code)): "sh01" is SH01
    joins = f"""LEFT JOIN branches b ON b.tenant_id = :tenant_id AND lower(b.code) = lower({stage_branch})
                LEFT JOIN users u ON u.tenant_id = :tenant_id AND u.email = lower({stage_rm})"""
    params, binds = _now_params(tenant_id)
    updated = connection.execute(sa.text(f"""
        UPDATE customers AS c SET {', '.join(assignments)}, updated_at = :now
        FROM {STAGE} s {joins}
        WHERE c.tenant_id = :tenant_id AND c.external_id = s.external_id AND ({' OR '.join(changed)})
    """).bindparams(*binds), params).rowcount if assignments else 0  # ids alone: only new customers to add
    inserted = connection.execute(sa.text(f"""
        INSERT INTO customers (tenant_id, id, external_id, name, party_type, branch_id, rm_user_id, status,
                               attributes, churn_label, label_observed_on, created_at, updated_at)
        SELECT :tenant_id, s.new_id, s.external_id, {'COALESCE(s.name, s.external_id)' if 'name' in present
                                                       else 's.external_id'},
               {'COALESCE(s.party_type, ' if 'party_type' in present else '('}:default_party),
               b.id, u.id, {'COALESCE(s.status, ' if 'status' in present else '('}'active'),
               {patch}, {'s.churn_label' if 'churn_label' in present else 'NULL'},
               {'s.label_observed_on' if 'label_observed_on' in present else 'NULL'}, :now, :now
        FROM {STAGE} s {joins}
        WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.tenant_id = :tenant_id AND c.external_id = s.external_id)
    """).bindparams(*binds), params | {"default_party": default_party}).rowcount
    total = count_stage(connection)
    return MergeCounts(inserted=inserted, updated=updated, unchanged=total - inserted - updated)


def _resolve_history(connection: sa.Connection, tenant_id: int, key: list[str], values: list[str]) -> None:
    """Stage rows with the customer's id and each row's ordinal among identical keys."""
    connection.execute(sa.text(f"DROP TABLE IF EXISTS {RESOLVED}"))
    partition = ", ".join(f"s.{k}" for k in key)
    on_commit = " ON COMMIT DROP" if connection.dialect.name == "postgresql" else ""
    connection.execute(sa.text(f"""
        CREATE TEMPORARY TABLE {RESOLVED}{on_commit} AS
        SELECT c.id AS customer_id, {', '.join(f's.{k} AS {k}' for k in key)},
               row_number() OVER (PARTITION BY c.id, {partition} ORDER BY s.row_no) - 1 AS ordinal,
               {', '.join(values)}
        FROM {STAGE} s JOIN customers c ON c.tenant_id = :tenant_id AND c.external_id = s.customer
    """), {"tenant_id": tenant_id})
    prepare_for_joins(connection, RESOLVED, ["customer_id", *key, "ordinal"])


def _merge_history(connection: sa.Connection, tenant_id: int, table: str, key: list[str],
                   columns: dict[str, str], values: list[str], check=None) -> MergeCounts:
    """Upsert a history table keyed by (tenant, customer, *key, ordinal); ``columns`` maps table <- resolved.

    ``check(connection, tenant_id)``: run on the resolved rows before anything is written; it may refuse them.
    """
    sql = Dialect(connection)
    _resolve_history(connection, tenant_id, key, values)
    if check is not None:
        check(connection, tenant_id)
    table_column = {source: column for column, source in columns.items()}
    target_key = [table_column[k] for k in key]
    pk_match = " AND ".join(
        ["t.customer_id = r.customer_id", "t.ordinal = r.ordinal"] + [f"t.{tk} = r.{k}" for tk, k in zip(target_key, key)])
    assignments = ", ".join(f"{column} = r.{source}" for column, source in columns.items() if source not in key)
    changed = " OR ".join(sql.differs(f"t.{column}", f"r.{source}") for column, source in columns.items()
                          if source not in key)
    updated = connection.execute(sa.text(f"""
        UPDATE {table} AS t SET {assignments} FROM {RESOLVED} r
        WHERE t.tenant_id = :tenant_id AND {pk_match} AND ({changed})
    """), {"tenant_id": tenant_id}).rowcount
    target_columns = ["tenant_id", "customer_id", "ordinal", *columns.keys()]
    source_columns = [":tenant_id", "r.customer_id", "r.ordinal", *(f"r.{s}" for s in columns.values())]
    inserted = connection.execute(sa.text(f"""
        INSERT INTO {table} ({', '.join(target_columns)})
        SELECT {', '.join(source_columns)} FROM {RESOLVED} r
        WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.tenant_id = :tenant_id AND {pk_match})
    """), {"tenant_id": tenant_id}).rowcount
    total = connection.execute(sa.text(f"SELECT count(*) FROM {RESOLVED}")).scalar_one()
    # The table's latest moment moves on with the file's (``DataExtent``); "WHERE true" lets SQLite
    # tell the upsert's ON CONFLICT from a join's ON.
    connection.execute(sa.text(f"""
        INSERT INTO data_extents (tenant_id, source, latest_at)
        SELECT :tenant_id, '{table}', max(r.occurred_at) FROM {RESOLVED} r WHERE true
        HAVING max(r.occurred_at) IS NOT NULL
        ON CONFLICT (tenant_id, source) DO UPDATE SET latest_at = CASE
            WHEN excluded.latest_at > data_extents.latest_at THEN excluded.latest_at
            ELSE data_extents.latest_at END"""), {"tenant_id": tenant_id})
    return MergeCounts(inserted=inserted, updated=updated, unchanged=total - inserted - updated)


def merge_activity(connection: sa.Connection, tenant_id: int) -> MergeCounts:
    return _merge_history(
        connection, tenant_id, "activity", key=["occurred_at", "category"],
        columns={"occurred_at": "occurred_at", "category": "category", "amount": "amount", "quantity": "quantity"},
        values=["s.amount AS amount", "s.quantity AS quantity"], check=_refuse_recategorised)


def _refuse_recategorised(connection: sa.Connection, tenant_id: int) -> None:
    """Refuse rows that are activity already imported, but with a category where it had none (or none where it had one).

    The category is part of an activity's key: a file imported again with its category column
    mapped this time added every row a second time (QA: 253,695 invoice lines, every amount
    doubled, with no way back short of erasing customers).  Such a row is the same customer, moment
    and amount as a stored one that differs only in having a category; one is enough to say so.
    """
    example = connection.execute(sa.text(f"""
        SELECT c.external_id, r.occurred_at, r.amount, r.category FROM {RESOLVED} r
        JOIN customers c ON c.tenant_id = :tenant_id AND c.id = r.customer_id
        WHERE EXISTS (SELECT 1 FROM activity t WHERE t.tenant_id = :tenant_id AND t.customer_id = r.customer_id
                      AND t.occurred_at = r.occurred_at AND t.amount = r.amount
                      AND (t.category = '') <> (r.category = ''))
          AND NOT EXISTS (SELECT 1 FROM activity t WHERE t.tenant_id = :tenant_id AND t.customer_id = r.customer_id
                          AND t.occurred_at = r.occurred_at AND t.category = r.category AND t.ordinal = r.ordinal)
        LIMIT 1""").columns(sa.column("external_id"), sa.column("occurred_at", UTCDateTime()), sa.column("amount"),
                            sa.column("category")), {"tenant_id": tenant_id}).first()
    if example is None:
        return
    customer, amount, category = example.external_id, f"{float(example.amount):,.2f}", example.category
    moment = local_time(example.occurred_at, tenant_timezone())  # a stored UTC moment, said on the tenant's clock
    if category:
        raise ValidationError(_l("this activity was imported before without a category (customer %(customer)s, "
                                 "%(amount)s at %(moment)s, for one): imported again with one, each such row would "
                                 "count twice. Import the file without its category column, as before",
                                 customer=customer, amount=amount, moment=moment), field="category")
    raise ValidationError(_l("this activity was imported before with a category (customer %(customer)s, %(amount)s "
                             "at %(moment)s, for one): imported again without one, each such row would count twice. "
                             "Map the file's category column, as before", customer=customer, amount=amount,
                             moment=moment), field="category")


def merge_interactions(connection: sa.Connection, tenant_id: int) -> MergeCounts:
    return _merge_history(
        connection, tenant_id, "interactions", key=["occurred_at", "channel", "type"],
        columns={"occurred_at": "occurred_at", "channel": "channel", "interaction_type": "type",
                 "severity": "severity", "resolved_at": "resolved_at", "summary": "summary"},
        values=["COALESCE(s.severity, 1) AS severity",
                # resolved, but not said when: from the moment it was made (``specs.INTERACTION_TARGETS``)
                "COALESCE(s.resolved_at, CASE WHEN s.resolved THEN s.occurred_at END) AS resolved_at",
                "COALESCE(s.summary, '') AS summary"])
