"""The list bench's baseline: a bare Flask endpoint running hand-written SQL for one page of a list.

The same joins, filter, keyset condition and 50-row limit as Tierwise's list
query (customers, the listed dimension's tier and its stored reason, the tiers
of the other dimensions, the scores), as the owner without row-level security, with no
authentication and a plain ``jsonify``.  One connection per thread.
"""
from __future__ import annotations

import os
import threading

import psycopg
from flask import Flask, jsonify, request

app = Flask(__name__)
_local = threading.local()
TENANT = int(os.environ.get("BENCH_TENANT_ID", "0"))
LISTS = {"vip": ("value", ["key", "important"]), "high_risk": ("high_risk", ["critical", "elevated"])}
SQL = """
SELECT c.id, c.external_id, c.name, v.tier, h.tier, o.tier, s.churn_probability, s.predicted_value, l.reason
FROM customers c
JOIN tier_assignments l ON l.tenant_id = c.tenant_id AND l.customer_id = c.id AND l.dimension = %(dimension)s
                       AND l.tier = ANY(%(tiers)s)
LEFT JOIN tier_assignments v ON v.tenant_id = c.tenant_id AND v.customer_id = c.id AND v.dimension = 'value'
LEFT JOIN tier_assignments h ON h.tenant_id = c.tenant_id AND h.customer_id = c.id AND h.dimension = 'high_risk'
LEFT JOIN tier_assignments o ON o.tenant_id = c.tenant_id AND o.customer_id = c.id AND o.dimension = 'opinion_risk'
LEFT JOIN customer_scores s ON s.tenant_id = c.tenant_id AND s.customer_id = c.id
WHERE c.tenant_id = %(tenant)s AND c.external_id > %(after)s
ORDER BY c.external_id LIMIT 51
"""


def _connection() -> psycopg.Connection:
    if getattr(_local, "connection", None) is None:
        url = os.environ["BENCH_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        _local.connection = psycopg.connect(url, autocommit=True)
    return _local.connection


@app.get("/healthz")
def healthz():
    return "ok"


@app.get("/<name>")
def page(name: str):
    dimension, tiers = LISTS[name]
    rows = _connection().execute(SQL, {"dimension": dimension, "tiers": tiers, "tenant": TENANT,
                                       "after": request.args.get("after", "")}).fetchall()
    items = [{"customer_id": str(r[0]), "external_id": r[1], "name": r[2], "tiers": {"value": r[3], "high_risk": r[4],
              "opinion_risk": r[5]}, "churn_probability": r[6], "predicted_value": float(r[7]) if r[7] else None,
              "reason": r[8]}
             for r in rows[:50]]
    return jsonify({"items": items, "next_cursor": rows[49][1] if len(rows) > 50 else None})
