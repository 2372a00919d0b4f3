"""The bubblewrap backend: the real security boundary.

The driver runs as pid 1 of fresh user, pid, network, IPC, UTS and cgroup namespaces, with the
system read-only, no network (only loopback), a private size-limited /tmp, and the workspace on
a size-limited tmpfs. When started as root it first drops to an unprivileged user with setpriv:
the kernel does not apply the process limit to root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from trainrisk.sandbox.base import (
    Limits,
    Sandbox,
    SandboxError,
    SandboxResult,
    runtime_dir,
    sandbox_python,
)
from trainrisk.workspace.builder import Workspace

UNPRIVILEGED_UID = 65534
INSIDE_RUNTIME = "/run/trainrisk/bin"
INSIDE_PROGRAM = "/run/trainrisk/program"
INSIDE_TRACE = "/run/trainrisk/trace"
WORKSPACE = "/workspace"


def _system_binds() -> list[str]:
    """Read-only system directories (symlinks such as /bin -> usr/bin stay symlinks)."""
    args: list[str] = []
    for path in (
        "/usr",
        "/bin",
        "/sbin",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/etc/alternatives",
        "/etc/ld.so.cache",
        "/etc/localtime",
    ):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


@cache
def bwrap_problem() -> str | None:
    """Why bubblewrap cannot be used here, or None when it works."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap (bwrap) is not installed; on Debian/Ubuntu: apt-get install bubblewrap"
    cmd = [
        *_prefix(),
        exe,
        "--unshare-all",
        "--as-pid-1",
        "--die-with-parent",
        *_system_binds(),
        "--size",
        str(1 << 20),
        "--tmpfs",
        "/tmp",
        "/bin/true",
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap failed to start: {exc}"
    if proc.returncode != 0:
        return (
            "bubblewrap cannot create namespaces here ("
            + proc.stderr.decode(errors="replace").strip()
            + "); user namespaces may be "
            "disabled (sysctl kernel.unprivileged_userns_clone / AppArmor restrictions)"
        )
    return None


def _prefix() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise SandboxError("running as root needs setpriv (util-linux) to drop privileges")
    return [setpriv, f"--reuid={UNPRIVILEGED_UID}", f"--regid={UNPRIVILEGED_UID}", "--clear-groups"]


class BwrapSandbox(Sandbox):
    name = "bwrap"

    def __init__(self) -> None:
        problem = bwrap_problem()
        if problem:
            raise SandboxError(problem)
        self.python = sandbox_python()
        if not self.python.startswith(("/usr/", "/bin/")):
            raise SandboxError(
                f"the sandbox runs programs with {self.python}, which is not "
                "under /usr; set TRAINRISK_SANDBOX_PYTHON=/usr/bin/python3"
            )

    def run(
        self, program: str, workspace: Workspace, tests: list[str], limits: Limits
    ) -> SandboxResult:
        runtime = runtime_dir()
        with tempfile.TemporaryDirectory(prefix="trainrisk-prog-") as tmp:
            prog_dir = Path(tmp)
            prog_dir.chmod(0o755)
            (prog_dir / "main.py").write_text(program, encoding="utf-8")
            (prog_dir / "main.py").chmod(0o444)
            workspace_bytes = sum(len(d) for d in workspace.files.values())
            disk = workspace_bytes + limits.disk_mb * 1024 * 1024 + (1 << 20)
            cmd = [
                *_prefix(),
                "bwrap",
                "--unshare-all",
                "--unshare-user",
                "--as-pid-1",
                "--die-with-parent",
                "--new-session",
                "--hostname",
                "sandbox",
                *_system_binds(),
                "--proc",
                "/proc",
                "--dev",
                "/dev",
                "--size",
                str(limits.tmp_mb * 1024 * 1024),
                "--tmpfs",
                "/tmp",
                "--size",
                str(disk),
                "--tmpfs",
                WORKSPACE,
                "--ro-bind",
                str(runtime),
                INSIDE_RUNTIME,
                "--ro-bind",
                str(prog_dir),
                INSIDE_PROGRAM,
                "--size",
                str(limits.trace_kb * 1024 * 4),
                "--tmpfs",
                INSIDE_TRACE,
                "--size",
                str(limits.tmp_mb * 1024 * 1024),
                "--tmpfs",
                "/dev/shm",
                # Nothing but the size-limited tmpfs mounts is writable.
                "--remount-ro",
                "/",
                "--remount-ro",
                "/dev",
                "--disable-userns",
                "--chdir",
                WORKSPACE,
                "--clearenv",
                "--setenv",
                "PATH",
                "/usr/bin:/bin",
                self.python,
                "-I",
                "-S",
                f"{INSIDE_RUNTIME}/driver.py",
            ]
            job = self._job(
                program_path=f"{INSIDE_PROGRAM}/main.py",
                workspace_path=WORKSPACE,
                trace_dir=INSIDE_TRACE,
                python=self.python,
                workspace=workspace,
                tests=tests,
                limits=limits,
                isolated=True,
                disks={"workspace": WORKSPACE, "tmp": "/tmp"},
                audit_dir=f"{INSIDE_RUNTIME}/audit",
            )
            return self._talk(cmd, job, tests, limits)
