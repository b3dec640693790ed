"""Shared steps for model tests: a tenant with synthetic history, imported the way a tenant imports it."""
from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from tierwise.platform.db import db
from tierwise.tenants.imports.runner import import_file
from tierwise.tenants.synthetic import write_csv

from tests.rule_helpers import in_tenant

END = date(2025, 6, 30)


def seed_history(app, world, *, industry: str = "bank", customers: int = 600, months: int = 24,
                 seed: int = 11, end: date = END) -> dict[str, int]:
    """Generate ``months`` of history ending at ``end`` and import it into ``world``'s tenant."""
    with in_tenant(app, world), tempfile.TemporaryDirectory() as folder:
        counts = write_csv(industry, customers, Path(folder), months=months, seed=seed, end=end)
        import_file(Path(folder) / "customers.csv", kind="customers")  # a bank's outcome column is churn_label
        import_file(Path(folder) / "activity.csv", kind="activity")
        import_file(Path(folder) / "interactions.csv", kind="interactions")
        db.session.commit()
    return counts
