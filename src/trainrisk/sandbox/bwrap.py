"""The bubblewrap backend: the real security boundary.

The driver runs as pid 1 of fresh user, pid, network, IPC, UTS and cgroup namespaces, with the
system read-only, no network (only loopback), a private size-limited /tmp, and the workspace on
a size-limited tmpfs. When started as root it first drops to an unprivileged user with setpriv:
the kernel does not apply the process limit to root.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import threading
from functools import cache
from typing import Any

from trainrisk.sandbox.base import (
    DRIVER_BOOT,
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
# Warm sandboxes size their workspace tmpfs for pristine workspaces up to this (plus the quota).
WARM_WORKSPACE_BYTES = 32 * 1024 * 1024
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
        exe,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
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
        proc = subprocess.run(cmd, capture_output=True, timeout=20, **drop_privileges())
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


def drop_privileges() -> dict[str, Any]:
    """Popen arguments that start bubblewrap as an unprivileged user when we are root: the
    kernel does not apply the process limit (RLIMIT_NPROC) to root."""
    if os.geteuid() != 0:
        return {}
    return {"user": UNPRIVILEGED_UID, "group": UNPRIVILEGED_UID, "extra_groups": []}


class BwrapSandbox(Sandbox):
    """Each rollout gets a brand-new sandbox. Starting one (namespaces, mounts, the driver's
    interpreter) costs about as much as a short program, so the next sandbox is started while
    the current rollout runs: it waits, empty, for its job on stdin. Warm sandboxes are never
    reused; `prestart=False` starts every sandbox on demand."""

    name = "bwrap"

    def __init__(self, prestart: bool = True) -> None:
        problem = bwrap_problem()
        if problem:
            raise SandboxError(problem)
        self.python = sandbox_python()
        if not self.python.startswith(("/usr/", "/bin/")):
            raise SandboxError(
                f"the sandbox runs programs with {self.python}, which is not "
                "under /usr; set TRAINRISK_SANDBOX_PYTHON=/usr/bin/python3"
            )
        self.prestart = prestart
        self._warm: dict[tuple[int, ...], list[subprocess.Popen[bytes]]] = {}
        self._lock = threading.Lock()
        atexit.register(self.close)

    def _command(self, limits: Limits, workspace_bytes: int, warm: bool) -> list[str]:
        mib = 1024 * 1024
        # --die-with-parent ties the sandbox to the *thread* that started it. A warm sandbox is
        # used by another thread later, so it goes without; if we die, its driver reads EOF on
        # stdin and exits.
        return [
            "bwrap",
            "--unshare-all",
            "--unshare-user",
            "--as-pid-1",
            *([] if warm else ["--die-with-parent"]),
            "--new-session",
            "--hostname",
            "sandbox",
            *_system_binds(),
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--size",
            str(limits.tmp_mb * mib),
            "--tmpfs",
            "/tmp",
            "--size",
            str(workspace_bytes + limits.disk_mb * mib),
            "--tmpfs",
            WORKSPACE,
            "--ro-bind",
            str(runtime_dir()),
            INSIDE_RUNTIME,
            "--size",
            str(4 * mib),
            "--tmpfs",
            INSIDE_PROGRAM,
            "--size",
            str(limits.trace_kb * 1024 * 4),
            "--tmpfs",
            INSIDE_TRACE,
            "--size",
            str(limits.tmp_mb * mib),
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
            "-c",
            DRIVER_BOOT.format(dir=INSIDE_RUNTIME),
        ]

    def _spawn(
        self, limits: Limits, workspace_bytes: int, warm: bool = False
    ) -> subprocess.Popen[bytes]:
        return self.start(self._command(limits, workspace_bytes, warm), popen=drop_privileges())

    def _take(self, limits: Limits, workspace_bytes: int) -> subprocess.Popen[bytes]:
        """A started sandbox for these limits (warm if one is ready), and a warm one for later."""
        key = (limits.tmp_mb, limits.disk_mb, limits.trace_kb)
        proc = None
        if workspace_bytes <= WARM_WORKSPACE_BYTES:
            with self._lock:
                pool = self._warm.setdefault(key, [])
                while pool and proc is None:
                    candidate = pool.pop()
                    if candidate.poll() is None:
                        proc = candidate
            if self.prestart:
                with self._lock:
                    self._warm[key].append(self._spawn(limits, WARM_WORKSPACE_BYTES, warm=True))
        return proc or self._spawn(limits, max(workspace_bytes, WARM_WORKSPACE_BYTES))

    def run(
        self, program: str, workspace: Workspace, tests: list[str], limits: Limits
    ) -> SandboxResult:
        proc = self._take(limits, sum(len(d) for d in workspace.files.values()))
        job = self._job(
            program=program,
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
        return self.talk(proc, job, tests, limits)

    def close(self) -> None:
        """Stop the warm sandboxes (they hold no work)."""
        with self._lock:
            for pool in self._warm.values():
                for proc in pool:
                    proc.kill()
                    proc.wait()
            self._warm.clear()
