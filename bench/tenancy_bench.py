"""What tenant isolation costs per query.

Measures a keyset page of 50 users (the shape of every list in Tierwise) read
through the ORM inside ``tenant_scope`` (automatic tenant filter + the
per-transaction row-level-security setting + RLS policy, as the app role),
against the baseline: the same query hand-written in SQL with an explicit
``WHERE tenant_id = ...``, run on a plain connection as the table owner (no RLS).
Each iteration is its own transaction, as a web request is.

    .venv/bin/python bench/tenancy_bench.py [--users 50000] [--iterations 2000]

Needs PostgreSQL at TIERWISE_BENCH_DATABASE_URL (default: postgres@127.0.0.1).
"""
from __future__ import annotations

import argparse
import statistics
import time

import sqlalchemy as sa

from throwaway import bench_database

from tierwise.platform import tenancy  # noqa: E402  (throwaway puts the repo on sys.path)
from tierwise.platform.db import db  # noqa: E402
from tierwise.platform.users import User  # noqa: E402


def _timed(fn, iterations: int) -> list[float]:
    samples = []
    for i in range(iterations):
        start = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - start)
    return samples


def _summary(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    return p50, p99, len(samples) / sum(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000, help="users per tenant (two tenants)")
    parser.add_argument("--iterations", type=int, default=2_000)
    args = parser.parse_args()

    with bench_database() as bench:
        app, owner, app_url = bench.app, bench.owner, bench.app_url
        with owner.begin() as conn:
            for tenant_id, slug in ((1, "bench-a"), (2, "bench-b")):
                conn.execute(sa.text("INSERT INTO tenants (id, slug, name, industry, settings, active, created_at) "
                                     "VALUES (:id, :slug, :slug, 'bank', '{}', true, now())"), {"id": tenant_id, "slug": slug})
                conn.execute(sa.text(
                    "INSERT INTO users (tenant_id, id, email, display_name, role, password_hash, active, book_scope, "
                    "session_nonce, created_at) SELECT :t, gen_random_uuid(), 'user' || g || '@bench.test', '', "
                    "'relationship_manager', 'x', true, 'own', 'n', now() FROM generate_series(1, :n) g"),
                    {"t": tenant_id, "n": args.users})
            conn.execute(sa.text("ANALYZE users"))
        starts = [f"user{i}@bench.test" for i in range(1, args.users, max(1, args.users // 997))]

        def scoped_orm(i: int) -> None:
            with tenancy.tenant_scope(1):
                rows = db.session.scalars(sa.select(User).where(User.email > starts[i % len(starts)])
                                          .order_by(User.email).limit(50)).all()
                assert rows and all(r.tenant_id == 1 for r in rows)
                db.session.commit()

        def hand_written(i: int) -> None:
            with owner.begin() as conn:
                rows = conn.execute(sa.text(
                    "SELECT * FROM users WHERE tenant_id = :t AND email > :after ORDER BY email LIMIT 50"),
                    {"t": 1, "after": starts[i % len(starts)]}).all()
            assert rows

        app_engine = sa.create_engine(app_url)

        def hand_written_rls(i: int) -> None:
            with app_engine.begin() as conn:
                tenancy.set_rls_tenant(conn, 1)
                rows = conn.execute(sa.text("SELECT * FROM users WHERE email > :after ORDER BY email LIMIT 50"),
                                    {"after": starts[i % len(starts)]}).all()
            assert rows and all(r.tenant_id == 1 for r in rows)

        _timed(hand_written_rls, 100)
        rls_only = _summary(_timed(hand_written_rls, args.iterations))
        app_engine.dispose()
        with app.app_context():
            _timed(scoped_orm, 100)  # warm-up
            orm = _summary(_timed(scoped_orm, args.iterations))
        _timed(hand_written, 100)
        raw = _summary(_timed(hand_written, args.iterations))

    print(f"users per tenant: {args.users:,}, iterations: {args.iterations:,}, page: 50 rows")
    print(f"{'':34} {'p50 ms':>8} {'p99 ms':>8} {'pages/s':>9}")
    print(f"{'scoped ORM + RLS (tierwise_app)':34} {orm[0]:8.3f} {orm[1]:8.3f} {orm[2]:9.0f}")
    print(f"{'  of which: raw SQL + RLS only':34} {rls_only[0]:8.3f} {rls_only[1]:8.3f} {rls_only[2]:9.0f}")
    print(f"{'baseline: hand-written SQL (owner)':34} {raw[0]:8.3f} {raw[1]:8.3f} {raw[2]:9.0f}")
    print(f"ratio scoped/baseline: p50 {orm[0] / raw[0]:.2f}x, throughput {orm[2] / raw[2]:.2f}x "
          f"(RLS alone: p50 {rls_only[0] / raw[0]:.2f}x)")


if __name__ == "__main__":
    main()
