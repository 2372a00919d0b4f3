"""Syntax-tree signals in a program: network calls, process spawning, unbounded growth.

Static signals add intent to measured evidence (a timeout plus 64 spawned workers is deliberate
overload) and catch network code that never ran. They never create file findings on their own.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

NETWORK_MODULES = frozenset(
    {
        "socket",
        "urllib",
        "urllib.request",
        "urllib3",
        "http",
        "http.client",
        "requests",
        "httpx",
        "aiohttp",
        "ftplib",
        "smtplib",
        "poplib",
        "imaplib",
        "telnetlib",
        "paramiko",
        "websocket",
        "websockets",
        "xmlrpc.client",
        "asyncio",
    }
)
NETWORK_CALLS = frozenset(
    {
        "urlopen",
        "urlretrieve",
        "Request",
        "HTTPConnection",
        "HTTPSConnection",
        "create_connection",
        "connect",
        "connect_ex",
        "sendto",
        "sendall",
        "getaddrinfo",
        "gethostbyname",
        "post",
        "put",
        "get",
        "request",
        "FTP",
        "SMTP",
        "SMTP_SSL",
        "Telnet",
        "open_connection",
        "ServerProxy",
    }
)
NETWORK_TOOLS = frozenset(
    {
        "curl",
        "wget",
        "nc",
        "ncat",
        "netcat",
        "ssh",
        "scp",
        "sftp",
        "rsync",
        "ftp",
        "telnet",
        "socat",
        "nslookup",
    }
)
PROCESS_CALLS = frozenset(
    {
        "run",
        "Popen",
        "call",
        "check_call",
        "check_output",
        "system",
        "popen",
        "getoutput",
        "getstatusoutput",
        "execv",
        "execvp",
        "execl",
        "execlp",
        "execve",
        "spawnl",
        "spawnlp",
        "spawnv",
        "spawnvp",
        "posix_spawn",
        "posix_spawnp",
    }
)
_SOCKET_CALLS = frozenset(
    {"connect", "connect_ex", "sendall", "sendto", "gethostbyname", "getaddrinfo"}
)
SPAWN_CALLS = frozenset(
    {
        "fork",
        "Process",
        "Pool",
        "ProcessPoolExecutor",
        "ThreadPoolExecutor",
        "Thread",
        "Popen",
        "run",
        "call",
        "check_call",
        "check_output",
        "system",
        "spawnl",
        "spawnv",
        "posix_spawn",
        "start_new_thread",
        "submit",
        "map",
        "apply_async",
    }
)
SPAWN_MODULES = frozenset(
    {"multiprocessing", "concurrent.futures", "threading", "_thread", "subprocess", "os"}
)
GROWTH_METHODS = frozenset({"append", "extend", "insert", "add", "update", "appendleft"})
WRITE_METHODS = frozenset({"write", "writelines", "write_bytes", "write_text", "truncate"})
URL_RE = re.compile(r"\b(?:https?|ftp|wss?)://[^\s'\"<>]+", re.I)
HUGE = 10**8  # an allocation constant no stdin/stdout solution needs


@dataclass
class Signal:
    kind: str
    line: int
    text: str


@dataclass
class StaticReport:
    parsed: bool
    error: str | None = None
    imports: set[str] = field(default_factory=set)
    network: list[Signal] = field(default_factory=list)
    spawn: list[Signal] = field(default_factory=list)  # spawning inside loops / big pools
    memory: list[Signal] = field(default_factory=list)  # huge or unbounded allocation
    storage: list[Signal] = field(default_factory=list)  # writes in loops / huge writes
    strings: list[str] = field(default_factory=list)

    def mentions(self, needle: str) -> bool:
        return any(needle in s for s in self.strings)


def _name(node: ast.AST) -> str:
    """Dotted name of a call target: os.fork, requests.post, pool.map..."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _name(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        return _name(node.func)
    return ""


def _const_value(node: ast.AST) -> int | None:
    """Evaluate small integer constant expressions like 10**10, 1 << 34, 2 * 10**9."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        value = None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow | ast.Mult | ast.LShift):
        left, right = _const_value(node.left), _const_value(node.right)
        if left is None or right is None or abs(right) > 4096:
            return None
        if isinstance(node.op, ast.Pow):
            return left**right if right >= 0 else None
        if isinstance(node.op, ast.Mult):
            return left * right
        return left << right if right >= 0 else None
    return None


def _is_infinite(loop: ast.While) -> bool:
    test = loop.test
    forever = isinstance(test, ast.Constant) and bool(test.value)
    return forever and not any(isinstance(n, ast.Break) for n in ast.walk(loop))


def _is_count_loop(loop: ast.For) -> bool:
    return _name(loop.iter) in {"itertools.count", "count", "itertools.repeat", "repeat"}


class _Visitor(ast.NodeVisitor):
    def __init__(self, report: StaticReport) -> None:
        self.r = report
        self.loops: list[ast.AST] = []
        self.infinite = 0

    def _loop(self, node: ast.While | ast.For, infinite: bool) -> None:
        self.loops.append(node)
        self.infinite += infinite
        self.generic_visit(node)
        self.loops.pop()
        self.infinite -= infinite

    def visit_While(self, node: ast.While) -> None:
        self._loop(node, _is_infinite(node))

    def visit_For(self, node: ast.For) -> None:
        big = (
            _const_value(node.iter.args[0])
            if (
                isinstance(node.iter, ast.Call)
                and _name(node.iter.func) == "range"
                and node.iter.args
            )
            else None
        )
        self._loop(node, _is_count_loop(node) or (big is not None and big >= HUGE))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._import(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module:
            self._import(node.module, node.lineno)

    def _import(self, module: str, line: int) -> None:
        self.r.imports.add(module)
        if module in NETWORK_MODULES or module.split(".")[0] in NETWORK_MODULES - {"asyncio"}:
            self.r.network.append(Signal("import", line, f"import {module}"))

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self.r.strings.append(node.value)
            for url in URL_RE.findall(node.value):
                self.r.network.append(Signal("url", node.lineno, url))

    def visit_Call(self, node: ast.Call) -> None:
        name = _name(node.func)
        last = name.rsplit(".", 1)[-1]
        line = node.lineno
        text = ast.unparse(node)[:160]
        if last in PROCESS_CALLS:
            for const in ast.walk(node):
                if isinstance(const, ast.Constant) and isinstance(const.value, str):
                    words = const.value.replace(";", " ").replace("|", " ").split()
                    if any(w.rsplit("/", 1)[-1] in NETWORK_TOOLS for w in words):
                        self.r.network.append(Signal("tool", line, text))
                        break
        roots = {m.split(".")[0] for m in self.r.imports} & NETWORK_MODULES
        if (
            (name.split(".")[0] in roots and last in NETWORK_CALLS)
            or last in {"urlopen", "create_connection", "urlretrieve"}
            or (roots and last in _SOCKET_CALLS)
        ):
            self.r.network.append(Signal("call", line, text))
        if (
            last in SPAWN_CALLS
            and (self.loops or self._big_pool(node, last))
            and (
                name.split(".")[0]
                in {
                    "os",
                    "multiprocessing",
                    "mp",
                    "threading",
                    "subprocess",
                    "concurrent",
                    "futures",
                    "_thread",
                }
                or last
                in {
                    "Process",
                    "Pool",
                    "Thread",
                    "fork",
                    "ProcessPoolExecutor",
                    "ThreadPoolExecutor",
                    "Popen",
                    "start_new_thread",
                }
            )
        ):
            self.r.spawn.append(Signal("spawn-in-loop" if self.loops else "big-pool", line, text))
        if last in GROWTH_METHODS and self.infinite:
            self.r.memory.append(Signal("unbounded-growth", line, text))
        if last in {"bytearray", "bytes", "zeros", "ones", "empty", "full", "urandom"}:
            sizes = [_const_value(a) for a in node.args]
            if any(s is not None and s >= HUGE for s in sizes):
                kind = "huge-write" if last == "urandom" else "huge-allocation"
                (self.r.storage if kind == "huge-write" else self.r.memory).append(
                    Signal(kind, line, text)
                )
        if last in WRITE_METHODS and (self.infinite or (self.loops and self._writes_big(node))):
            self.r.storage.append(Signal("write-in-loop", line, text))
        if last in {"fallocate", "posix_fallocate", "ftruncate", "truncate"}:
            sizes = [_const_value(a) for a in node.args]
            if any(s is not None and s >= HUGE for s in sizes):
                self.r.storage.append(Signal("huge-file", line, text))
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Mult):
            for seq, count in ((node.left, node.right), (node.right, node.left)):
                n = _const_value(count)
                if (
                    isinstance(seq, ast.List | ast.Constant | ast.Tuple)
                    and n is not None
                    and n >= HUGE
                    and not isinstance(getattr(seq, "value", None), int)
                ):
                    self.r.memory.append(
                        Signal("huge-allocation", node.lineno, ast.unparse(node)[:160])
                    )
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if self.infinite and isinstance(node.op, ast.Add | ast.Mult):
            self.r.memory.append(Signal("unbounded-growth", node.lineno, ast.unparse(node)[:160]))
        self.generic_visit(node)

    @staticmethod
    def _big_pool(node: ast.Call, last: str) -> bool:
        if last not in {"Pool", "ProcessPoolExecutor", "ThreadPoolExecutor"}:
            return False
        values = [_const_value(a) for a in node.args] + [
            _const_value(k.value) for k in node.keywords if k.arg in {"processes", "max_workers"}
        ]
        if any(v is not None and v >= 8 for v in values):
            return True
        return any(
            "cpu_count" in ast.unparse(a) and isinstance(a, ast.BinOp)
            for a in [*node.args, *(k.value for k in node.keywords)]
        )

    @staticmethod
    def _writes_big(node: ast.Call) -> bool:
        return any(
            isinstance(a, ast.BinOp) and (_const_value(a.right) or 0) >= 10**5 for a in node.args
        )


def analyze(source: str) -> StaticReport:
    """Parse a program and collect its signals; a program that does not parse gets none."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        return StaticReport(parsed=False, error=f"{type(exc).__name__}: {exc}")
    report = StaticReport(parsed=True)
    try:
        _Visitor(report).visit(tree)
    except RecursionError:
        report.error = "program too deeply nested to analyse fully"
    return report
