"""Tasks the job tests enqueue (real functions, run by real RQ workers)."""
from tierwise.jobs.runner import task
from tierwise.platform.branches import create_branch


@task
def open_branch(code: str, name: str) -> str:
    return str(create_branch(code=code, name=name).id)


@task
def open_branch_then_fail(code: str) -> None:
    create_branch(code=code, name="never kept")
    raise RuntimeError(f"task failed after opening {code}")
