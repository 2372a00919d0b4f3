"""What every sandbox backend shares: limits, results, and talking to the in-sandbox driver.

A backend decides *where* the driver runs (bubblewrap namespaces, or a plain subprocess); the
driver (runtime/driver.py) runs the program once per test case inside it and reports.
"""

from __future__ import annotations

import ast
import marshal
import os
import shutil
import subprocess
import tempfile
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from trainrisk.errors import TrainriskError
from trainrisk.workspace.builder import Workspace
from trainrisk.workspace.state import State

RUNTIME_SRC = Path(__file__).parent / "runtime"
MARSHAL_VERSION = 4  # stable since Python 3.4; the sandbox's python3 may differ from ours
MiB = 1024 * 1024


class SandboxError(TrainriskError):
    """The sandbox itself failed (not the program): a harness or setup problem."""


@dataclass(frozen=True)
class Limits:
    """Limits on every execution of the program. Hitting one is a recorded outcome."""

    wall_time: float = 2.0  # seconds per test case (the problem's time limit wins if given)
    cpu_time: float | None = None  # CPU seconds per process; defaults to wall_time
    memory_mb: int = 1024  # address space per process
    max_processes: int = 64  # processes + threads alive at once
    disk_mb: int = 64  # growth of the workspace
    tmp_mb: int = 16  # the private /tmp
    output_kb: int = 1024  # stdout and stderr, each
    open_files: int = 256
    trace_kb: int = 512  # audit trace kept per test case

    def for_problem(self, time_limit: float | None) -> Limits:
        """These limits with the problem's own time limit, when it has one."""
        return self if time_limit is None else replace(self, wall_time=float(time_limit))

    def driver_limits(self) -> dict[str, Any]:
        return {
            "wall_time": self.wall_time,
            "cpu_time": self.cpu_time or self.wall_time,
            "memory_bytes": self.memory_mb * MiB,
            "max_processes": self.max_processes,
            "file_bytes": self.disk_mb * MiB,
            "disk_bytes": {"workspace": self.disk_mb * MiB, "tmp": self.tmp_mb * MiB},
            "output_bytes": self.output_kb * 1024,
            "open_files": self.open_files,
            "trace_bytes": self.trace_kb * 1024,
        }


@dataclass(frozen=True)
class TraceEvent:
    """One audited call made by the program's own Python code."""

    event: str
    args: tuple[Any, ...]
    pid: int
    test_index: int


@dataclass
class Execution:
    """One run of the program on one test case."""

    index: int
    outcome: str  # exited | timeout | output_limit | disk_limit | sandbox_error
    exit_code: int | None
    signal: int | None
    wall_time: float
    cpu_time: float
    max_rss_bytes: int
    peak_rss_bytes: int
    peak_processes: int
    peak_threads: int
    tasks_started: int | None  # processes + threads created (pid counter), when isolated
    processes_seen: int
    disk_growth: dict[str, int]  # peak growth in bytes: workspace, tmp
    stdout: str
    stderr: str
    stdout_bytes: int
    trace: list[TraceEvent] = field(default_factory=list)
    trace_truncated: bool = False
    digest: dict[str, tuple[str, int, str | None]] = field(default_factory=dict)


@dataclass
class SandboxResult:
    backend: str
    executions: list[Execution]
    final: State | None  # None when the sandbox died before reporting the workspace
    error: str | None = None  # the sandbox died before finishing (reported, never raised)


def parse_trace(lines: list[str], test_index: int) -> list[TraceEvent]:
    """Parse the audit hook's literal tuples; anything else (forged garbage) is dropped."""
    events = []
    for line in lines:
        try:
            value = ast.literal_eval(line)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        if (
            isinstance(value, tuple)
            and len(value) == 3
            and isinstance(value[0], str)
            and isinstance(value[1], tuple)
            and isinstance(value[2], int)
        ):
            events.append(TraceEvent(value[0], value[1], value[2], test_index))
    return events


def _decode(raw: bytes) -> tuple[str, int]:
    return raw.decode("utf-8", "replace"), len(raw)


def parse_execution(raw: dict[str, Any]) -> Execution:
    stdout, stdout_bytes = _decode(raw["stdout"])
    stderr, _ = _decode(raw["stderr"])
    before, peak = raw["disk_before"], raw["disk_peak"]
    return Execution(
        index=int(raw["index"]),
        outcome=raw["outcome"],
        exit_code=raw["exit_code"],
        signal=raw["signal"],
        wall_time=raw["wall_time"],
        cpu_time=raw["cpu_time"],
        max_rss_bytes=raw["max_rss_bytes"],
        peak_rss_bytes=raw["peak_rss_bytes"],
        peak_processes=raw["peak_processes"],
        peak_threads=raw["peak_threads"],
        tasks_started=raw["tasks_started"],
        processes_seen=raw["processes_seen"],
        disk_growth={k: max(0, peak[k] - before[k]) for k in before},
        stdout=stdout,
        stderr=stderr,
        stdout_bytes=stdout_bytes,
        trace=parse_trace(raw["trace"]["lines"], int(raw["index"])),
        trace_truncated=bool(raw["trace"]["truncated"]),
        digest={e["path"]: (e["type"], e["mode"], e.get("sha256")) for e in raw["digest"]},
    )


def read_records(stream: bytes) -> list[dict[str, Any]]:
    """Decode the driver's length-prefixed marshal records; stop at anything malformed."""
    records, pos = [], 0
    while pos + 8 <= len(stream):
        size = int.from_bytes(stream[pos : pos + 8], "little")
        chunk = stream[pos + 8 : pos + 8 + size]
        if len(chunk) < size:
            break
        try:
            value = marshal.loads(chunk)
        except (ValueError, EOFError, TypeError):
            break
        if isinstance(value, dict):
            records.append(value)
        pos += 8 + size
    return records


_runtime_lock = threading.Lock()
_runtime_dir: Path | None = None


def runtime_dir() -> Path:
    """A world-readable copy of the driver and audit hook (the sandbox user must read them).

    Both are byte-compiled once by the sandbox's interpreter, so neither the driver (started
    once per rollout) nor the hook (loaded by every Python process) is compiled from source.
    """
    global _runtime_dir
    with _runtime_lock:
        if _runtime_dir is None or not _runtime_dir.exists():
            path = Path(tempfile.mkdtemp(prefix="trainrisk-runtime-"))
            (path / "audit").mkdir()
            sources = [path / "driver.py", path / "audit" / "sitecustomize.py"]
            shutil.copy(RUNTIME_SRC / "driver.py", sources[0])
            shutil.copy(RUNTIME_SRC / "sitecustomize.py", sources[1])
            subprocess.run(
                [
                    sandbox_python(),
                    "-I",
                    "-S",
                    "-c",
                    "import py_compile, sys\nfor f in sys.argv[1:]: py_compile.compile(f)",
                    *map(str, sources),
                ],
                capture_output=True,
                timeout=60,
                check=False,
            )
            for dirpath, _, filenames in os.walk(path):
                os.chmod(dirpath, 0o755)
                for name in filenames:
                    os.chmod(os.path.join(dirpath, name), 0o644)
            _runtime_dir = path
        return _runtime_dir


DRIVER_BOOT = "import sys; sys.path.insert(0, {dir!r}); import driver; driver.main()"


def sandbox_python() -> str:
    """The interpreter that runs programs: $TRAINRISK_SANDBOX_PYTHON, else the system python3."""
    explicit = os.environ.get("TRAINRISK_SANDBOX_PYTHON")
    if explicit:
        return explicit
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("python3")
    if not found:
        raise SandboxError("no python3 found to run programs; set TRAINRISK_SANDBOX_PYTHON")
    return found


class Sandbox(ABC):
    """Runs a program once per test case inside a fresh copy of a workspace."""

    name: str = "abstract"

    @abstractmethod
    def run(
        self, program: str, workspace: Workspace, tests: list[str], limits: Limits
    ) -> SandboxResult: ...

    def _job(
        self,
        program: str,
        program_path: str,
        workspace_path: str,
        trace_dir: str,
        python: str,
        workspace: Workspace,
        tests: list[str],
        limits: Limits,
        isolated: bool,
        disks: dict[str, str],
        audit_dir: str,
    ) -> dict[str, Any]:
        spec = workspace.spec
        return {
            "isolated": isolated,
            "workspace": workspace_path,
            "program": program_path,
            "program_source": program,
            "python": python,
            "trace_dir": trace_dir,
            "disks": disks,
            "tests": tests,
            "limits": limits.driver_limits(),
            "dirs": list(workspace.dirs),
            "files": [
                {"path": p, "mode": workspace.modes[p], "data": d}
                for p, d in workspace.files.items()
            ],
            "env": {
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "HOME": disks["tmp"],
                "TMPDIR": disks["tmp"],
                "LANG": "C.UTF-8",
                "PYTHONPATH": audit_dir,
                "PYTHONDONTWRITEBYTECODE": "1",
                "TRAINRISK_TRACE_DIR": trace_dir,
                "TRAINRISK_QUIET": f"{os.path.dirname(program_path)}:{audit_dir}",
            },
            "snapshot": {
                "paths": [f.path for f in spec.files],
                "prefixes": [d.path + "/" for d in spec.dirs],
                "inline_max": 4 * 1024 * 1024,  # changed files only
                # Unchanged files are not shipped back: the harness holds the pristine bytes.
                "pristine": workspace.hashes,
                "max_entries": 4000,
            },
        }

    @staticmethod
    def start(
        cmd: list[str], cwd: str | None = None, popen: dict[str, Any] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a driver; it waits for its job on stdin."""
        return subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            start_new_session=True,
            **(popen or {}),
        )

    def talk(
        self, proc: subprocess.Popen[bytes], job: dict[str, Any], tests: list[str], limits: Limits
    ) -> SandboxResult:
        """Send the job to a started driver and collect its reports; never raises for the
        program."""
        budget = len(tests) * (limits.wall_time + 1.5) + 20.0
        try:
            out, err = proc.communicate(marshal.dumps(job, MARSHAL_VERSION), timeout=budget)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            err += b"\ntrainrisk: the sandbox exceeded its overall time budget and was killed"
        executions: list[Execution] = []
        final: State | None = None
        for msg in read_records(out):
            if msg.get("type") == "test":
                executions.append(parse_execution(msg))
            elif msg.get("type") == "snapshot":
                final = State.from_driver(msg)
        error = None
        if final is None or len(executions) != len(tests):
            tail = err.decode("utf-8", "replace").strip()[-2000:]
            error = f"{self.name} sandbox stopped early (exit {proc.returncode}): {tail}"
        return SandboxResult(self.name, executions, final, error)
