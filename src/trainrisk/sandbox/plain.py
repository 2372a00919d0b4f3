"""The fallback backend for machines without bubblewrap. It is NOT a security boundary.

The driver runs as an ordinary subprocess in a temporary copy of the workspace, with the same
limits on time, CPU, memory, output and (polled) disk. It does not stop the program from
reading or writing files elsewhere, using the network, or signalling other processes of the
same user. Use it only for programs you would run on your own machine anyway.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from trainrisk.sandbox.base import (
    DRIVER_BOOT,
    Limits,
    Sandbox,
    SandboxResult,
    runtime_dir,
    sandbox_python,
)
from trainrisk.workspace.builder import Workspace

WARNING = (
    "WARNING: trainrisk is using the PLAIN fallback sandbox. It limits time, CPU, memory, "
    "processes, output and disk, but it does NOT isolate the program: the model's code can "
    "read and change files outside its workspace, reach the network and signal your other "
    "processes. Install bubblewrap (apt-get install bubblewrap) for a real sandbox."
)
_warned = False


class PlainSandbox(Sandbox):
    name = "plain"

    def __init__(self, quiet: bool = False) -> None:
        global _warned
        self.python = sandbox_python()
        if not _warned and not quiet:
            print(WARNING, file=sys.stderr)
            _warned = True

    def run(
        self, program: str, workspace: Workspace, tests: list[str], limits: Limits
    ) -> SandboxResult:
        runtime = runtime_dir()
        with tempfile.TemporaryDirectory(prefix="trainrisk-plain-") as tmp:
            root = Path(tmp)
            for name in ("workspace", "tmp", "trace", "program"):
                (root / name).mkdir()
            job = self._job(
                program=program,
                program_path=str(root / "program" / "main.py"),
                workspace_path=str(root / "workspace"),
                trace_dir=str(root / "trace"),
                python=self.python,
                workspace=workspace,
                tests=tests,
                limits=limits,
                isolated=False,
                disks={"workspace": str(root / "workspace"), "tmp": str(root / "tmp")},
                audit_dir=str(runtime / "audit"),
            )
            cmd = [self.python, "-I", "-S", "-c", DRIVER_BOOT.format(dir=str(runtime))]
            result = self.talk(self.start(cmd, cwd=str(root)), job, tests, limits)
            _make_removable(root)
            return result


def _make_removable(root: Path) -> None:
    """The program may have locked directories (chmod 000); unlock them so cleanup works."""
    for dirpath, dirnames, _ in os.walk(root):
        for d in dirnames:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(dirpath, d), 0o700)
