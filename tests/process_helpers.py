"""The installed ``tierwise`` command as a separate process, configured as a deployment would be."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def tierwise_process(database_urls, tmp_path, redis_url, *args: str, **popen) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIERWISE_")}
    env.update({"TIERWISE_ENV": "test", "TIERWISE_DATABASE_URL": database_urls["app"],
                "TIERWISE_MIGRATION_DATABASE_URL": database_urls["owner"], "TIERWISE_REDIS_URL": redis_url,
                "TIERWISE_SECRET_KEY": "subprocess-secret-key-that-is-long-enough-0123456789",
                "TIERWISE_INSTANCE_PATH": str(tmp_path)})
    script = Path(sys.executable).parent / "tierwise"
    return subprocess.Popen([str(script), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)
