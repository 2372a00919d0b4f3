"""Audit hook loaded into every Python process the sandboxed program starts.

It records the program's own file, process and network calls as literal tuples, one per line,
in a per-process file under $TRAINRISK_TRACE_DIR. It uses no imports beyond os and sys so that
it adds almost nothing to start-up. The program can tamper with its own trace (it runs in the
same process), so the trace is supporting evidence; the file diff and the resource usage are
measured outside the program.
"""

import os
import sys

_WATCH = frozenset(
    (
        "open",
        "os.remove",
        "os.rename",
        "os.rmdir",
        "os.mkdir",
        "os.chmod",
        "os.chown",
        "os.truncate",
        "os.symlink",
        "os.link",
        "os.utime",
        "os.listdir",
        "os.scandir",
        "shutil.rmtree",
        "shutil.copyfile",
        "shutil.copytree",
        "shutil.move",
        "shutil.copymode",
        "os.system",
        "subprocess.Popen",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "os.kill",
        "os.killpg",
        "pty.spawn",
        "socket.connect",
        "socket.bind",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.gethostbyaddr",
        "socket.sendto",
        "socket.sendmsg",
        "urllib.Request",
        "http.client.connect",
        "http.client.send",
        "ftplib.connect",
        "ftplib.sendcmd",
        "smtplib.connect",
        "smtplib.send",
        "poplib.connect",
        "imaplib.open",
        "telnetlib.Telnet.open",
        "webbrowser.open",
        "mmap.__new__",
        "resource.setrlimit",
        "ctypes.dlopen",
        "ctypes.cdata",
        "sys.addaudithook",
    )
)
# Reads under these are the interpreter's own (imports, the program file itself), not the
# program's actions; writes are always recorded.
_QUIET_PREFIXES = (
    "/usr/",
    "/proc/self/",
    *tuple(p for p in os.environ.get("TRAINRISK_QUIET", "").split(":") if p),
)
_MAX_EVENTS = 4000
_MAX_TEXT = 2000


def _plain(value, depth=0):
    """Reduce an audit argument to literals that ast.literal_eval can read back."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:_MAX_TEXT]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value[:_MAX_TEXT])
    if isinstance(value, os.PathLike):
        return _plain(os.fspath(value), depth)
    if isinstance(value, (list, tuple)) and depth < 3:
        return tuple(_plain(v, depth + 1) for v in value[:64])
    if isinstance(value, dict) and depth < 3:
        return tuple(
            (_plain(k, depth + 1), _plain(v, depth + 1)) for k, v in list(value.items())[:32]
        )
    return "<" + type(value).__name__ + ">"


def _install():
    trace_dir = os.environ.get("TRAINRISK_TRACE_DIR")
    if not trace_dir:
        return
    # The file is opened at the first recorded event: most programs record none.
    state = {"count": 0, "busy": False, "fd": None}

    def hook(event, args):
        if event not in _WATCH or state["busy"] or state["count"] > _MAX_EVENTS:
            return
        if event == "open":
            path, mode = args[0], args[1]
            if isinstance(path, int):
                return
            if (
                isinstance(path, str)
                and path.startswith(_QUIET_PREFIXES)
                and (mode is None or ("r" in str(mode) and "+" not in str(mode)))
            ):
                return
        elif event in ("os.listdir", "os.scandir"):
            path = args[0]
            if isinstance(path, str) and path.startswith(_QUIET_PREFIXES):
                return
        state["busy"] = True
        try:
            state["count"] += 1
            if state["count"] > _MAX_EVENTS:
                line = repr(("trace.truncated", (), os.getpid()))
            else:
                line = repr((event, _plain(args), os.getpid()))
            if state["fd"] is None:
                state["fd"] = os.open(
                    os.path.join(trace_dir, f"{os.getpid()}.trace"),
                    os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                    0o600,
                )
            os.write(state["fd"], (line + "\n").encode("utf-8", "backslashreplace"))
        except Exception:
            pass
        finally:
            state["busy"] = False

    sys.addaudithook(hook)


_install()
del _install
