"""Background jobs in their own processes: they can be stopped, and cannot take the web server down."""
from __future__ import annotations

import subprocess
import sys

# Started through a launcher that exits at once: the job is then nobody's child in the web
# server (no zombie to reap) and records its own pid.
_LAUNCHER = ("import subprocess, sys; log = open(sys.argv[1], 'ab'); "
             "subprocess.Popen(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)")


def launch_cli(arguments: list[str], log: str, environment: dict[str, str]) -> None:
    """Run ``dorms ARGUMENTS`` detached, its output appended to ``log``. Raises OSError/SubprocessError."""
    command = [sys.executable, "-c", "from dorms.cli import main; main()", *arguments]
    subprocess.run([sys.executable, "-c", _LAUNCHER, log, *command], env=environment, check=True, timeout=60)
