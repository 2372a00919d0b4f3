"""In-sandbox driver: runs one rollout's program once per test case and reports what happened.

Runs with the system interpreter in isolated mode (`python3 -I -S driver.py`), standard library
only, because it executes inside the sandbox where trainrisk itself is not installed.

Protocol: one marshal-encoded job on stdin; length-prefixed marshal records on stdout
({"type": "test", ...} per test, then {"type": "snapshot", ...}). marshal, _signal and _sha256
instead of json, signal and hashlib keep start-up cheap: the driver starts once per rollout.
The program gets fresh pipes for its own stdin/stdout/stderr and never sees the driver's.

Two modes:
- isolated (bubblewrap): the driver is pid 1 of the sandbox's pid namespace, so the program
  cannot kill it, and it is made non-dumpable, so the program cannot read its memory or file
  descriptors through /proc. After each test every other process in the namespace is killed.
- plain (fallback): the driver is a child subreaper; it tracks and kills the program's
  descendants through /proc. Nothing stops the program from reaching the rest of the machine.
"""

import _signal as signal
import ctypes
import marshal
import os
import resource
import select
import stat
import sys
import time

try:
    from _sha256 import sha256
except ImportError:  # Python 3.12+
    from _sha2 import sha256

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PAGE = os.sysconf("SC_PAGE_SIZE")
CLK_TCK = os.sysconf("SC_CLK_TCK")
SAMPLE_INTERVAL = 0.01
FIRST_SAMPLE = 0.025  # most solutions finish before this; their usage comes from the reaper
READ_CHUNK = 65536


MARSHAL_VERSION = 4


def emit(obj):
    data = marshal.dumps(obj, MARSHAL_VERSION)
    view = memoryview(len(data).to_bytes(8, "little") + data)
    while view:
        view = view[os.write(1, view) :]


# ---------------------------------------------------------------- processes


def proc_stat(pid):
    """(ppid, session, utime+stime seconds, threads, rss bytes) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    return (
        int(fields[1]),
        int(fields[3]),
        (int(fields[11]) + int(fields[12])) / CLK_TCK,
        int(fields[17]),
        int(fields[21]) * PAGE,
    )


def _children(pid):
    """Direct children of a process, from /proc/PID/task/*/children."""
    kids = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                kids += [int(x) for x in fh.read().split()]
        except OSError:
            pass
    return kids


def live_processes(isolated):
    """{pid: stat} of the program's processes: everything but us (isolated), else descendants.

    Orphans reparent to the driver (pid 1, or a child subreaper), so walking children from
    the driver finds every process the program started.
    """
    me = os.getpid()
    if isolated:
        pids = [int(n) for n in os.listdir("/proc") if n.isdigit() and int(n) != me]
    else:
        pids, frontier = [], _children(me)
        while frontier:
            pids += frontier
            frontier = [k for pid in frontier for k in _children(pid)]
    stats = {}
    for pid in pids:
        st = proc_stat(pid)
        if st is not None:
            stats[pid] = st
    return stats


def kill_all(isolated):
    if isolated:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return
    for _ in range(20):
        pids = live_processes(False)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.005)


class Reaper:
    """Reaps every child (orphans included) and sums their resource usage."""

    def __init__(self):
        self.cpu = 0.0
        self.maxrss = 0
        self.status = {}

    def reap(self, block=False):
        while True:
            try:
                pid, status, ru = os.wait4(-1, 0 if block else os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.cpu += ru.ru_utime + ru.ru_stime
            self.maxrss = max(self.maxrss, ru.ru_maxrss * 1024)
            self.status[pid] = status


# ---------------------------------------------------------------- disk


def disk_used(path, isolated, limit_entries=20000):
    """Bytes used under path: the tmpfs's own count when isolated, else a bounded walk."""
    if isolated:
        st = os.statvfs(path)
        return (st.f_blocks - st.f_bfree) * st.f_frsize
    total, seen, stack = 0, 0, [path]
    while stack and seen < limit_entries:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    seen += 1
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += st.st_blocks * 512
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(entry.path)
        except OSError:
            continue
    return total


# ---------------------------------------------------------------- snapshot


_RESTORE = []  # (path, mode) the snapshot unlocked and must lock again


def _readable(path, mode):
    """Let the snapshot read a file or directory the program locked (chmod 000)."""
    want = 0o500 if stat.S_ISDIR(mode) else 0o400
    if mode & want != want:
        try:
            os.chmod(path, stat.S_IMODE(mode) | want)
            _RESTORE.append((path, stat.S_IMODE(mode)))
        except OSError:
            pass


def _relock():
    while _RESTORE:
        path, mode = _RESTORE.pop()
        try:
            os.chmod(path, mode)
        except OSError:
            pass


_HASHES = {}  # path -> (stat signature, sha256): unchanged files are not read again


def snapshot(root, interest, inline_max, max_entries, walk_all, pristine):
    """Entries under root, never following symlinks nor opening non-regular files.

    interest = (paths, prefixes): the protected files and directories. Their regular files are
    inlined up to inline_max bytes. With walk_all False only they are listed, and only the
    directories leading to them are walked (the cheap per-test digest).
    """
    paths, prefixes = interest
    entries, stack, truncated = [], [""], 0
    while stack:
        rel_dir = stack.pop()
        full_dir = os.path.join(root, rel_dir) if rel_dir else root
        try:
            names = sorted(os.listdir(full_dir))
        except PermissionError:
            _readable(full_dir, os.lstat(full_dir).st_mode)
            try:
                names = sorted(os.listdir(full_dir))
            except OSError:
                names = []
        except OSError:
            names = []
        for name in names:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            wanted = rel in paths or rel.startswith(prefixes) or rel + "/" in prefixes
            leads = any(p.startswith(rel + "/") for p in paths) or any(
                p.startswith(rel + "/") for p in prefixes
            )
            if not walk_all and not (wanted or leads):
                continue
            if len(entries) >= max_entries:
                truncated += 1
                continue
            path = os.path.join(root, rel)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            entry = {"path": rel, "mode": stat.S_IMODE(st.st_mode), "size": st.st_size}
            if stat.S_ISDIR(st.st_mode):
                entry["type"] = "dir"
                _readable(path, st.st_mode)
                stack.append(rel)
            elif stat.S_ISLNK(st.st_mode):
                entry["type"] = "symlink"
                entry["target"] = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                entry["type"] = "file"
                _hash_file(path, st, entry, inline_max if wanted else 0, pristine.get(rel))
            else:
                entry["type"] = "fifo" if stat.S_ISFIFO(st.st_mode) else "special"
            if walk_all or wanted:
                entries.append(entry)
    _relock()
    return {"entries": entries, "truncated": truncated}


def _hash_file(path, st, entry, inline_max, pristine_sha):
    """Hash a file; ship its bytes (up to inline_max) only when it differs from the pristine
    copy the harness holds, since only changed files need a before/after excerpt."""
    # ctime changes on every write, chmod or rename and cannot be set by the program.
    signature = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    cached = _HASHES.get(path)
    if cached and cached[0] == signature and (not inline_max or cached[1] == pristine_sha):
        entry["sha256"] = cached[1]
        return
    _readable(path, st.st_mode)
    digest = sha256()
    keep = inline_max
    head = b""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        entry["error"] = exc.strerror
        return
    with os.fdopen(fd, "rb") as fh:
        while True:
            chunk = fh.read(READ_CHUNK)
            if not chunk:
                break
            if len(head) < keep:
                head += chunk[: keep - len(head)]
            digest.update(chunk)
    entry["sha256"] = digest.hexdigest()
    _HASHES[path] = (signature, entry["sha256"])
    if inline_max and entry["sha256"] != pristine_sha and st.st_size <= inline_max:
        entry["data"] = head


# ---------------------------------------------------------------- one test


def spawn(job, stdin_r, stdout_w, stderr_w):
    limits = job["limits"]
    pid = os.fork()
    if pid:
        return pid
    try:
        os.setsid()
        for sig in (signal.SIGPIPE, signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        for fd, target in ((stdin_r, 0), (stdout_w, 1), (stderr_w, 2)):
            os.dup2(fd, target)
        os.closerange(3, 65536)
        os.chdir(job["workspace"])
        cpu = int(limits["cpu_time"]) + 1
        for res, value in (
            (resource.RLIMIT_AS, limits["memory_bytes"]),
            (resource.RLIMIT_CPU, cpu),
            (resource.RLIMIT_FSIZE, limits["file_bytes"]),
            (resource.RLIMIT_NOFILE, limits["open_files"]),
            (resource.RLIMIT_CORE, 0),
        ):
            resource.setrlimit(res, (value, value))
        if job["isolated"]:
            nproc = limits["max_processes"]
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        elif os.getuid() != 0:
            # Without a user namespace the limit counts all of this user's processes.
            nproc = limits["max_processes"] + count_user_processes()
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        os.execve(job["python"], [job["python"], job["program"]], job["env"])
    except BaseException as exc:
        os.write(2, f"trainrisk driver: could not start program: {exc}\n".encode())
    os._exit(127)


def count_user_processes():
    uid, count = os.getuid(), 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def ns_last_pid():
    try:
        with open("/proc/sys/kernel/ns_last_pid") as fh:
            return int(fh.read())
    except (OSError, ValueError):
        return None


def run_test(job, test_input, reaper):
    limits = job["limits"]
    isolated = job["isolated"]
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    stderr_r, stderr_w = os.pipe()
    pids_before = ns_last_pid() if isolated else None
    cpu_before = reaper.cpu
    reaper.maxrss = 0
    disk_before = {name: disk_used(path, isolated) for name, path in job["disks"].items()}
    start = time.monotonic()
    main_pid = spawn(job, stdin_r, stdout_w, stderr_w)
    for fd in (stdin_r, stdout_w, stderr_w):
        os.close(fd)
    os.set_blocking(stdin_w, False)
    pending = test_input.encode()
    buffers = {stdout_r: bytearray(), stderr_r: bytearray()}
    caps = {stdout_r: limits["output_bytes"], stderr_r: limits["output_bytes"]}
    open_fds = {stdout_r, stderr_r}
    poller = select.poll()
    for fd in open_fds:
        poller.register(fd, select.POLLIN)
    # A pidfd becomes readable when the program exits, so the loop wakes at once.
    try:
        exit_fd = os.pidfd_open(main_pid)
        poller.register(exit_fd, select.POLLIN)
    except (AttributeError, OSError):
        exit_fd = None
    if pending:
        poller.register(stdin_w, select.POLLOUT)
    else:
        os.close(stdin_w)
        stdin_w = None
    deadline = start + limits["wall_time"]
    outcome, main_status = None, None
    peak = {"processes": 0, "threads": 0, "rss_bytes": 0, "cpu_live": 0.0}
    disk_peak = dict(disk_before)
    seen_pids = set()
    # The first sample waits FIRST_SAMPLE: a program that is done by then needs none, and its
    # CPU time and peak memory still come from the reaper.
    last_sample = start + FIRST_SAMPLE - SAMPLE_INTERVAL
    while True:
        now = time.monotonic()
        if now - last_sample >= SAMPLE_INTERVAL:
            last_sample = now
            procs = live_processes(isolated)
            seen_pids.update(procs)
            peak["processes"] = max(peak["processes"], len(procs))
            peak["threads"] = max(peak["threads"], sum(p[3] for p in procs.values()))
            peak["rss_bytes"] = max(peak["rss_bytes"], sum(p[4] for p in procs.values()))
            peak["cpu_live"] = max(peak["cpu_live"], sum(p[2] for p in procs.values()))
            for name, path in job["disks"].items():
                used = disk_used(path, isolated)
                disk_peak[name] = max(disk_peak[name], used)
                if used - disk_before[name] > limits["disk_bytes"].get(name, 1 << 62):
                    outcome = outcome or "disk_limit"
        if now >= deadline:
            outcome = outcome or "timeout"
        if outcome:
            kill_all(isolated)
            reaper.reap(block=True)
            main_status = reaper.status.pop(main_pid, main_status)
            break
        timeout_ms = max(0, min(SAMPLE_INTERVAL, deadline - now)) * 1000
        for fd, _event in poller.poll(timeout_ms):
            if fd == exit_fd:
                poller.unregister(exit_fd)
                continue
            if fd == stdin_w:
                try:
                    written = os.write(stdin_w, pending[:READ_CHUNK])
                    pending = pending[written:]
                except (BrokenPipeError, BlockingIOError) as exc:
                    if isinstance(exc, BrokenPipeError):
                        pending = b""
                if not pending:
                    poller.unregister(stdin_w)
                    os.close(stdin_w)
                    stdin_w = None
                continue
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                poller.unregister(fd)
                open_fds.discard(fd)
                continue
            room = caps[fd] - len(buffers[fd])
            buffers[fd] += chunk[:room]
            if len(chunk) > room:
                outcome = "output_limit"
        reaper.reap()
        if main_pid in reaper.status and main_status is None:
            main_status = reaper.status.pop(main_pid)
        if main_status is not None and not open_fds:
            break
        if main_status is not None and open_fds:
            # The program exited but something it started still holds the pipes: a daemon.
            # It is killed now; its output up to here is kept.
            kill_all(isolated)
    wall = time.monotonic() - start
    kill_all(isolated)
    reaper.reap(block=True)
    for fd in list(open_fds) + [x for x in (stdin_w, exit_fd) if x is not None]:
        os.close(fd)
    if main_status is None:
        main_status = reaper.status.pop(main_pid, None)
    reaper.status.clear()
    pids_after = ns_last_pid() if isolated else None
    exit_code = sig = None
    if main_status is not None:
        if os.WIFEXITED(main_status):
            exit_code = os.WEXITSTATUS(main_status)
        elif os.WIFSIGNALED(main_status):
            sig = os.WTERMSIG(main_status)
    tasks = pids_after - pids_before if pids_before is not None and pids_after is not None else None
    return {
        "outcome": outcome or "exited",
        "exit_code": exit_code,
        "signal": sig,
        "wall_time": round(wall, 4),
        "cpu_time": round(max(reaper.cpu - cpu_before, peak["cpu_live"]), 4),
        "max_rss_bytes": reaper.maxrss,
        "peak_rss_bytes": peak["rss_bytes"],
        "peak_processes": peak["processes"],
        "peak_threads": peak["threads"],
        "processes_seen": len(seen_pids),
        "tasks_started": tasks,
        "disk_before": disk_before,
        "disk_peak": disk_peak,
        "stdout": bytes(buffers[stdout_r]),
        "stderr": bytes(buffers[stderr_r]),
        "trace": collect_trace(job),
    }


def collect_trace(job):
    """Read and clear the audit-hook trace files written by the program's Python processes."""
    trace_dir, budget, lines = job["trace_dir"], job["limits"]["trace_bytes"], []
    try:
        names = sorted(os.listdir(trace_dir))
    except OSError:
        return {"lines": [], "truncated": False}
    truncated = False
    for name in names:
        path = os.path.join(trace_dir, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as fh:
                data = fh.read(max(budget, 0) + 1)
        except OSError:
            data = b""
        if len(data) > budget:
            data, truncated = data[: max(budget, 0)], True
        budget -= len(data)
        lines.extend(data.decode("utf-8", "replace").splitlines())
        try:
            os.unlink(path)
        except OSError:
            pass
    return {"lines": lines, "truncated": truncated}


# ---------------------------------------------------------------- main


def populate(job):
    """Write the program (read-only) and the workspace's files."""
    with open(job["program"], "w", encoding="utf-8") as fh:
        fh.write(job["program_source"])
    os.chmod(job["program"], 0o444)
    root = job["workspace"]
    for rel in job["dirs"]:
        os.makedirs(os.path.join(root, rel), exist_ok=True)
    for item in job["files"]:
        path = os.path.join(root, item["path"])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(item["data"])
        os.chmod(path, item["mode"])


def main():
    job = marshal.loads(sys.stdin.buffer.read())
    # Keep descriptors 0-2 occupied so the program's pipes never land on them.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.umask(0o022)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    if not job["isolated"]:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # The driver must never die of a signal the program can send it, nor of a closed pipe.
    for sig in (signal.SIGPIPE, signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    populate(job)
    snap = job["snapshot"]
    interest = (set(snap["paths"]), tuple(snap["prefixes"]))
    reaper = Reaper()
    for index, test_input in enumerate(job["tests"]):
        result = run_test(job, test_input, reaper)
        digest = snapshot(job["workspace"], interest, 0, snap["max_entries"], False, {})
        emit({"type": "test", "index": index, **result, "digest": digest["entries"]})
    final = snapshot(
        job["workspace"], interest, snap["inline_max"], snap["max_entries"], True, snap["pristine"]
    )
    emit({"type": "snapshot", **final})


if __name__ == "__main__":
    main()
