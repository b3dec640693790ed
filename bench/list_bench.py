"""Paging through the VIP and high-risk lists of a large tenant behind gunicorn, against hand-written SQL.

Data: a power-utility tenant of N customers (default 1,000,000) generated in
SQL, tiered directly (about 10% VIP, 8% high-risk) and scored.

- **Tierwise**: ``GET /api/v1/lists/<list>/customers`` with a tenant admin's API
  token, served by gunicorn (the production entry point, ``tierwise_app`` with
  row-level security), 50 rows a page, keyset cursors.
- **Baseline**: a bare Flask endpoint (``bench/list_baseline_app.py``) under the
  same gunicorn settings, running the equivalent hand-written SQL (the same
  joins, keyset condition and 50-row limit) as the owner, without RLS, auth or
  serialisation beyond ``jsonify``.

20 concurrent clients each take pages at depths spread over the whole list
(cursors collected beforehand by walking it), so every depth is measured.
Prints p50/p99 latency and throughput per server and the ratios. Target: p99
under 100 ms at any page depth.

    .venv/bin/python bench/list_bench.py [--customers 1000000] [--requests 2000]
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

from throwaway import bench_database, checkpoint

from tierwise.platform import tenancy  # noqa: E402  (throwaway puts the repo on sys.path)
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db

ROOT = Path(__file__).resolve().parents[1]
RULES = {"dimensions": [
    {"code": "value", "tiers": [{"code": "key", "rule": "sum(amount, 365d) >= 100000"},
                                {"code": "important", "rule": "sum(amount, 365d) >= 20000"},
                                {"code": "standard", "rule": "sum(amount, 365d) >= 1000"},
                                {"code": "basic", "fallback": True}]},
    {"code": "high_risk", "tiers": [{"code": "critical", "rule": 'facility_type == "hospital"'},
                                    {"code": "elevated", "rule": "outage_consequence >= 4"},
                                    {"code": "standard", "fallback": True}]},
    {"code": "opinion_risk", "tiers": [{"code": "watch", "rule": "count(complaints, 90d) >= 1"},
                                       {"code": "none", "fallback": True}]}]}
LISTS = {"vip": ("value", ("key", "important")), "high_risk": ("high_risk", ("critical", "elevated"))}
CLIENTS = 20
PAGE = 50


def generate(owner: sa.Engine, tenant_id: int, n: int, version_id) -> None:
    """Customers, their tiers in three dimensions and their scores, straight into the tables (setup, not timed)."""
    with owner.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text("""
            INSERT INTO customers (tenant_id, id, external_id, name, party_type, status, attributes,
                                   created_at, updated_at)
            SELECT :t, ('0190' || lpad(to_hex(i), 28, '0'))::uuid, lpad(i::text, 9, '0'), 'customer ' || i,
                   'organisation', 'active', '{}'::jsonb, now(), now()
            FROM generate_series(1, :n) AS i"""), {"t": tenant_id, "n": n})
        # Each tier with the reason a retier would store (the values its rule looked at): lists show it.
        for code, tiers, reason in (
                ("value", "CASE WHEN r < 0.02 THEN 'key' WHEN r < 0.10 THEN 'important' "
                          "WHEN r < 0.5 THEN 'standard' ELSE 'basic' END",
                 "jsonb_build_object('sum(amount, 365d)', round(((1 - r) * 200000)::numeric, 2))"),
                ("high_risk", "CASE WHEN r < 0.03 THEN 'critical' WHEN r < 0.08 THEN 'elevated' ELSE 'standard' END",
                 "jsonb_build_object('facility_type', CASE WHEN r < 0.03 THEN 'hospital' ELSE 'office' END, "
                 "'outage_consequence', CASE WHEN r < 0.08 THEN 5 ELSE 1 END)"),
                ("opinion_risk", "CASE WHEN r < 0.02 THEN 'watch' ELSE 'none' END",
                 "jsonb_build_object('count(complaints, 90d)', CASE WHEN r < 0.02 THEN 1 ELSE 0 END)")):
            conn.execute(sa.text(f"""
                INSERT INTO tier_assignments (tenant_id, customer_id, dimension, tier, rule_version_id, basis,
                                              reason, since, decided_at, pending_tier, pending_count)
                SELECT :t, id, :d, {tiers}, :v, 'rule', {reason}, now(), now(), NULL, 0
                FROM (SELECT id, random() AS r FROM customers WHERE tenant_id = :t) AS c ORDER BY id"""),
                {"t": tenant_id, "d": code, "v": version_id})
        conn.execute(sa.text("""
            INSERT INTO customer_scores (tenant_id, customer_id, churn_probability, predicted_value, scored_at)
            SELECT :t, id, random(), round((random() * 100000)::numeric, 2), now()
            FROM customers WHERE tenant_id = :t"""), {"t": tenant_id})
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app_path: str, env: dict, port: int) -> subprocess.Popen:
    """gunicorn with 2 workers x 8 threads (the machine has 2 cores), waiting until it answers."""
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "8", "-b",
                                f"127.0.0.1:{port}", "--log-level", "warning", app_path],
                               cwd=ROOT, env=env)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{app_path} did not start")


def fetch(url: str, headers: dict) -> dict:
    import json

    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
        return json.loads(response.read())


def depths(base: str, headers: dict, list_name: str, samples: int) -> list[str | None]:
    """Cursors spread over the whole list, collected by walking it with big pages."""
    cursors, cursor = [None], None
    while True:
        url = f"{base}/api/v1/lists/{list_name}/customers?limit=500" + (f"&cursor={cursor}" if cursor else "")
        cursor = fetch(url, headers)["next_cursor"]
        if cursor is None:
            break
        cursors.append(cursor)
    step = max(1, len(cursors) // samples)
    return cursors[::step]


def load(url_for, cursors: list, requests: int, headers: dict) -> tuple[list[float], float]:
    """``CLIENTS`` threads, each taking its share of ``requests`` pages, cycling through the depths."""
    latencies: list[float] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        mine = []
        for k in range(requests // CLIENTS):
            cursor = cursors[(number * 7919 + k) % len(cursors)]
            started = time.perf_counter()
            fetch(url_for(cursor), headers)
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started


def summary(label: str, latencies: list[float], seconds: float) -> dict:
    ordered = sorted(latencies)
    result = {"p50": statistics.median(ordered) * 1000, "p99": ordered[int(len(ordered) * 0.99) - 1] * 1000,
              "rps": len(ordered) / seconds}
    print(f"{label:52} p50 {result['p50']:6.1f} ms  p99 {result['p99']:6.1f} ms  {result['rps']:7.1f} req/s",
          flush=True)
    return result


def external_id_of(cursor: str) -> str:
    """The external id a Tierwise list cursor ends at: its signed payload is base64 JSON of the position."""
    import base64
    import json

    payload = cursor.rpartition(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000, help="pages per list and server")
    args = parser.parse_args()
    from tierwise.platform import api_tokens
    from tierwise.platform.provisioning import provision_tenant
    from tierwise.platform.users import User
    from tierwise.tenants.rules.versions import publish

    with bench_database("tierwise_list_bench") as bench:
        with bench.app.app_context():
            tenant, admin = provision_tenant("bench", name="Bench grid", industry="power_utility",
                                             admin_email="admin@bench.test", admin_password="correct-horse-battery",
                                             actor_label="bench")
            tenant_id = tenant.id
            with tenancy.tenant_scope(tenant_id), acting_as(Actor(label="bench")):
                version = publish(RULES, author="bench")
                user = db.session.scalar(sa.select(User).where(User.email == "admin@bench.test"))
                _, token = api_tokens.issue(user, name="bench", tenant_slug="bench")
            version_id = version.id
            db.session.commit()
        started = time.perf_counter()
        generate(bench.owner, tenant_id, args.customers, version_id)
        print(f"generated {args.customers:,} customers with tiers and scores in {time.perf_counter() - started:.0f} s",
              flush=True)
        checkpoint(bench.owner)
        env = {**os.environ, "TIERWISE_ENV": "production", "TIERWISE_SECRET_KEY": "b" * 40,
               "TIERWISE_DATABASE_URL": bench.app_url.render_as_string(False),
               "TIERWISE_MIGRATION_DATABASE_URL": bench.owner.url.render_as_string(False),
               "TIERWISE_INSTANCE_PATH": bench.app.instance_path,
               "BENCH_DATABASE_URL": bench.owner.url.render_as_string(False), "BENCH_TENANT_ID": str(tenant_id),
               "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}"}
        headers = {"Authorization": f"Bearer {token}"}
        results = {}
        tierwise_port, baseline_port = free_port(), free_port()
        servers = [serve("tierwise.platform.wsgi:app", env, tierwise_port),
                   serve("list_baseline_app:app", env, baseline_port)]
        try:
            tierwise_base = f"http://127.0.0.1:{tierwise_port}"
            baseline_base = f"http://127.0.0.1:{baseline_port}"
            for list_name in LISTS:
                cursors = depths(tierwise_base, headers, list_name, samples=200)
                print(f"{list_name}: {len(cursors)} depths sampled", flush=True)

                def ours(cursor, list_name=list_name):
                    return (f"{tierwise_base}/api/v1/lists/{list_name}/customers?limit={PAGE}"
                            + (f"&cursor={cursor}" if cursor else ""))

                def theirs(cursor, list_name=list_name):
                    after = "" if cursor is None else external_id_of(cursor)
                    return f"{baseline_base}/{list_name}?after={after}"

                for label, url_for in (("baseline", theirs), ("tierwise", ours)):
                    latencies, seconds = load(url_for, cursors, args.requests, headers)
                    results[(list_name, label)] = summary(f"{list_name}: {label}", latencies, seconds)
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
    print()
    for list_name in LISTS:
        ours, theirs = results[(list_name, "tierwise")], results[(list_name, "baseline")]
        print(f"{list_name}: p99 {ours['p99']:.1f} ms (target under 100: {'MET' if ours['p99'] < 100 else 'NOT MET'}); "
              f"throughput {ours['rps'] / theirs['rps']:.2f}x the bare endpoint's, p99 {ours['p99'] / theirs['p99']:.2f}x")


if __name__ == "__main__":
    main()
