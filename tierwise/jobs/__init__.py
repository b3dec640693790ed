"""Background work: tasks run per tenant, on RQ workers or in-process.

Tasks are plain functions referenced by dotted name, taking ids and plain
values.  ``queue.enqueue`` decides where they run; ``runner.run_tenant_task`` is
what executes them, inside the tenant's scope, in both cases.
"""
