"""Import throughput and peak memory against raw COPY of the same file.

Generates a synthetic bank tenant (``write_csv``: customers.csv, and activity.csv
with 2 rows per active customer and month) and imports it the way production
does: ``import_file`` inside the app context, the tenant scope and an actor,
connected as the non-owner role ``tierwise_app`` (row-level security applies),
committing after each file.  Baseline, in the same run: ``COPY ... FROM STDIN
(FORMAT csv, HEADER)`` of the same file into a bare all-text table with no
indexes or constraints, as the owner, streaming the file in 1 MiB blocks.
Peak memory is the process's peak RSS (``ru_maxrss``, and a thread sampling
VmRSS per phase); the data is generated in a child process so it does not count.
Targets: import >= 0.5x raw COPY rows/s, peak RSS < 1 GiB.

    .venv/bin/python bench/import_bench.py [--customers 1000000] [--months 5] [--data DIR]

With ``--data DIR`` the CSV files are kept there and reused when present (same
--customers/--months are then up to you); otherwise they go to a temporary folder
that is removed.  A full-size run (1M customers, ~9.6M activity rows) takes
several minutes.  Needs PostgreSQL at TIERWISE_BENCH_DATABASE_URL (default:
postgres@127.0.0.1).
"""
from __future__ import annotations

import argparse
import collections
import csv
import multiprocessing
import re
import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from throwaway import bench_database, checkpoint

from tierwise.platform import tenancy  # noqa: E402  (throwaway puts the repo on sys.path)
from tierwise.platform.audit import Actor, acting_as  # noqa: E402
from tierwise.platform.db import db  # noqa: E402
MIB = 1024 * 1024
MEMORY_LIMIT = 1024 * MIB
TARGET_RATIO = 0.5


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class RssSampler(threading.Thread):
    """Peak resident memory between calls to ``take``, sampled every 20 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.02):
            self.peak = max(self.peak, _rss())

    def take(self) -> int:
        peak, self.peak = max(self.peak, _rss()), _rss()
        return peak


class StatementTimer:
    """Wall time per SQL statement sent through SQLAlchemy (the COPY into the stage bypasses it)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.times: collections.Counter[str] = collections.Counter()
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        label = re.sub(r"\s+", " ", statement).strip()[:60]
        self.times[label] += time.perf_counter() - conn.info.pop("bench_started")

    def take(self) -> collections.Counter[str]:
        times, self.times = self.times, collections.Counter()
        return times


def ensure_data(folder: Path, customers: int, months: int) -> dict[str, int]:
    if not all((folder / f"{kind}.csv").is_file() for kind in ("customers", "activity")):
        from tierwise.tenants.synthetic import write_csv

        print(f"generating {customers:,} bank customers x {months} months into {folder} ...", flush=True)
        started = time.perf_counter()
        child = multiprocessing.get_context("fork").Process(
            target=write_csv, args=("bank", customers, folder), kwargs={"months": months})
        child.start()
        child.join()
        if child.exitcode:
            raise SystemExit(f"generating the data failed (exit {child.exitcode})")
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    counts = {}
    for kind in ("customers", "activity"):
        with open(folder / f"{kind}.csv", "rb") as handle:
            counts[kind] = sum(block.count(b"\n") for block in iter(lambda: handle.read(MIB), b"")) - 1
    return counts


def raw_copy(owner: sa.Engine, path: Path, table: str) -> float:
    """Seconds to COPY ``path`` into a fresh all-text table with no indexes or constraints, committed."""
    with open(path, encoding="utf-8") as handle:
        columns = next(csv.reader(handle))
    started = time.perf_counter()
    with owner.connect() as conn:
        driver = conn.connection.driver_connection
        with driver.cursor() as cursor, open(path, "rb") as handle:
            cursor.execute(f"CREATE TABLE {table} ({', '.join(f'c{i} text' for i in range(len(columns)))})")
            with cursor.copy(f"COPY {table} FROM STDIN (FORMAT csv, HEADER)") as copy:
                while block := handle.read(MIB):
                    copy.write(block)
        conn.commit()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=5, help="bank: ~2 activity rows per customer and month")
    parser.add_argument("--data", type=Path, default=None, help="keep/reuse the CSV files in this folder")
    args = parser.parse_args()

    from tierwise.tenants.field_templates import apply_industry_template
    from tierwise.tenants.imports.runner import import_file

    folder = args.data or Path(tempfile.mkdtemp(prefix="tierwise_import_bench_"))
    sampler = RssSampler()
    results: dict[str, dict] = {}
    try:
        counts = ensure_data(folder, args.customers, args.months)
        sizes = {kind: (folder / f"{kind}.csv").stat().st_size for kind in counts}
        with bench_database() as bench:
            app, owner = bench.app, bench.owner
            with owner.begin() as conn:
                conn.execute(sa.text("INSERT INTO tenants (id, slug, name, industry, settings, active, created_at) "
                                     "VALUES (1, 'bench', 'bench', 'bank', '{}', true, now())"))
            sampler.start()
            for kind in ("customers", "activity"):
                checkpoint(owner)
                sampler.take()
                results[kind] = {"copy_s": raw_copy(owner, folder / f"{kind}.csv", f"bare_{kind}"),
                                 "copy_rss": sampler.take()}
            with app.app_context(), tenancy.tenant_scope(1), acting_as(Actor(label="bench")):
                apply_industry_template("bank")  # what provisioning gives a bank tenant
                db.session.commit()
                timer = StatementTimer(db.engine)
                for kind, mapping in (("customers", {}), ("activity", {})):
                    checkpoint(owner)
                    timer.take()
                    sampler.take()
                    started = time.perf_counter()
                    result = import_file(folder / f"{kind}.csv", kind=kind, mapping=mapping)
                    db.session.commit()
                    results[kind].update(import_s=time.perf_counter() - started, import_rss=sampler.take(),
                                         result=result, statements=timer.take())
    finally:
        sampler.stopped.set()
        if args.data is None:
            shutil.rmtree(folder, ignore_errors=True)
    report(counts, sizes, results)


def report(counts: dict[str, int], sizes: dict[str, int], results: dict[str, dict]) -> None:
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(f"\nfiles: customers.csv {counts['customers']:,} rows ({sizes['customers'] / MIB:,.0f} MiB), "
          f"activity.csv {counts['activity']:,} rows ({sizes['activity'] / MIB:,.0f} MiB)")
    print(f"{'':44} {'seconds':>8} {'rows/s':>9} {'MiB/s':>6} {'peak RSS MiB':>12}")
    ratios = []
    for kind, r in results.items():
        rows, size = counts[kind], sizes[kind]
        res = r["result"]
        assert res.rows_read == rows and res.rejected == 0, res.summary()
        for label, seconds, rss in ((f"import {kind} (import_file, tierwise_app)", r["import_s"], r["import_rss"]),
                                    (f"baseline: raw COPY {kind}.csv (owner)", r["copy_s"], r["copy_rss"])):
            print(f"{label:44} {seconds:8.1f} {rows / seconds:9,.0f} {size / MIB / seconds:6.1f} {rss / MIB:12,.0f}")
        ratio = r["copy_s"] / r["import_s"]
        ratios.append(ratio)
        print(f"  ratio import/raw COPY throughput: {ratio:.2f}x "
              f"({res.inserted:,} inserted, {res.updated:,} updated, {res.unchanged:,} unchanged)")
        sql_total = sum(r["statements"].values())
        print(f"  SQL statements {sql_total:.1f} s; read + parse + COPY to stage (the rest) "
              f"{r['import_s'] - sql_total:.1f} s; slowest statements:")
        for statement, seconds in r["statements"].most_common(5):
            print(f"    {seconds:7.1f} s  {statement}")
    print(f"peak RSS of the whole process (ru_maxrss): {max_rss / MIB:,.0f} MiB")
    print(f"target import >= {TARGET_RATIO}x raw COPY: "
          + ", ".join(f"{kind} {'MET' if ratio >= TARGET_RATIO else 'NOT MET'} ({ratio:.2f}x)"
                      for kind, ratio in zip(results, ratios)))
    print(f"target peak memory < {MEMORY_LIMIT // MIB:,} MiB: "
          f"{'MET' if max_rss < MEMORY_LIMIT else 'NOT MET'} ({max_rss / MIB:,.0f} MiB)")


if __name__ == "__main__":
    main()
