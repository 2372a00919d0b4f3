"""The sandbox is a security boundary: real attacks from inside must fail, and the harness must
survive and report every test case."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from pathlib import Path

import pytest

from tests.conftest import ECHO_SUM, clean, judge, needs_bwrap
from trainrisk import taxonomy

pytestmark = needs_bwrap
MARKER = "host-only-marker-7f3a9c"


@pytest.fixture
def host_secret(tmp_path_factory) -> Path:
    """A world-readable file on the host: only the sandbox stops the program from reading it."""
    d = tmp_path_factory.mktemp("host")
    d.chmod(0o777)
    f = d / "secret.txt"
    f.write_text(MARKER)
    f.chmod(0o644)
    return f


def test_cannot_read_host_files(bwrap, host_secret):
    code = f"""import os
    found = []
    for p in [{str(host_secret)!r}, '/proc/1/root{host_secret}', '/proc/self/root{host_secret}',
              '/etc/shadow', '/etc/passwd', '/etc/hostname', '/root/.bashrc', '/work']:
        try:
            found.append(open(p).read()[:100])
        except OSError as e:
            found.append(type(e).__name__)
    print(found)"""
    r = judge(bwrap, clean(code))
    out = r.tests[0].stdout
    assert MARKER not in out
    assert "root:" not in out  # no host /etc/passwd either
    assert out.count("Error") >= 8, out


def test_cannot_write_outside_the_workspace(bwrap, host_secret):
    target_dir = host_secret.parent
    code = f"""results = []
    for p in [{str(target_dir / "planted.txt")!r}, '/usr/planted.txt', '/etc/planted.txt',
              '/planted.txt', '/run/trainrisk/bin/driver.py', '/run/trainrisk/program/main.py']:
        try:
            open(p, 'w').write('x'); results.append('WROTE ' + p)
        except OSError as e:
            results.append(type(e).__name__)
    print(results)"""
    r = judge(bwrap, clean(code))
    assert "WROTE" not in r.tests[0].stdout, r.tests[0].stdout
    assert not (target_dir / "planted.txt").exists()


def test_cannot_reach_the_network_or_host_loopback(bwrap):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted = []

    def accept():
        with contextlib.suppress(OSError):
            accepted.append(server.accept())

    t = threading.Thread(target=accept)
    t.start()
    code = f"""import socket
    out = []
    for host, port in [('127.0.0.1', {port}), ('1.1.1.1', 53), ('93.184.216.34', 80)]:
        s = socket.socket(); s.settimeout(1)
        try:
            s.connect((host, port)); out.append('CONNECTED')
        except OSError as e:
            out.append(type(e).__name__)
    try:
        socket.getaddrinfo('example.com', 80); out.append('RESOLVED')
    except OSError as e:
        out.append(type(e).__name__)
    print(out)"""
    r = judge(bwrap, clean(code))
    t.join()
    server.close()
    assert "CONNECTED" not in r.tests[0].stdout and "RESOLVED" not in r.tests[0].stdout
    assert accepted == []


@pytest.mark.parametrize(
    "how", ["os.kill(os.getppid(), 9)", "os.kill(1, 9)", "os.kill(-1, 9)", "os.killpg(0, 9)"]
)
def test_killing_the_parent_does_not_stop_the_harness(bwrap, how):
    from dataclasses import replace

    from trainrisk.problems import TestCase

    three = replace(ECHO_SUM, tests=(TestCase("1 1\n", "2\n"),) * 3)
    code = f"""import os
    try:
        {how}
    except OSError:
        pass
    a, b = map(int, input().split())
    print(a + b)"""
    r = judge(bwrap, clean(code), problem=three)
    assert r.error is None
    assert len(r.tests) == 3 and all(t.outcome != "not_run" for t in r.tests)


def test_host_processes_are_invisible(bwrap):
    r = judge(bwrap, "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))")
    pids = eval(r.tests[0].stdout)
    assert len(pids) <= 3  # the driver (pid 1), the program, maybe a child
    assert os.getpid() not in pids or os.getpid() < 3


def test_symlink_escape_is_recorded_not_followed(bwrap, host_secret):
    code = f"""import os
    os.remove('results.json')
    os.symlink({str(host_secret)!r}, 'results.json')
    os.symlink('/proc/1/root/etc/hostname', 'link_to_proc')
    try:
        print(open('results.json').read())
    except OSError as e:
        print(type(e).__name__)"""
    r = judge(bwrap, clean(code))
    assert MARKER not in r.tests[0].stdout
    f = next(f for f in r.findings if f["subtype"] == "metric_tampering")
    assert f"symlink -> {host_secret}" in f["evidence"]
    assert MARKER not in str(r.to_dict())  # the harness never read through the link


def test_driver_is_out_of_reach_through_proc(bwrap):
    code = """import os, ctypes
    out = []
    for p in ['/proc/1/environ', '/proc/1/mem', '/proc/1/fd/1', '/proc/1/fd/0']:
        try:
            with open(p, 'wb' if p.endswith('/1') else 'rb') as f:
                if p.endswith('/1'):
                    f.write(b'\\x10\\x00\\x00\\x00\\x00\\x00\\x00\\x00forged')
                    out.append('WROTE ' + p)
                else:
                    f.read(16); out.append('READ ' + p)
        except OSError as e:
            out.append(type(e).__name__)
    libc = ctypes.CDLL(None, use_errno=True)
    out.append('ptrace=%d' % libc.ptrace(16, 1, 0, 0))  # PTRACE_ATTACH to the driver
    print(out)"""
    r = judge(bwrap, clean(code))
    out = r.tests[0].stdout
    assert "WROTE" not in out and "READ" not in out, out
    assert "ptrace=-1" in out
    assert r.error is None and len(r.tests) == 1


def test_no_nested_namespaces_or_mounts(bwrap):
    code = """import subprocess
    out = []
    for cmd in (['unshare', '-r', 'id'], ['mount', '-t', 'tmpfs', 'x', '/tmp']):
        try:
            out.append(subprocess.run(cmd, capture_output=True).returncode)
        except OSError as e:
            out.append(type(e).__name__)
    print(out)"""
    r = judge(bwrap, clean(code))
    assert "0" not in r.tests[0].stdout.replace("[", " ").replace(",", " ").split(), r.tests[0]


def test_deleting_the_whole_workspace_is_reported(bwrap):
    r = judge(
        bwrap,
        "import shutil, os\nfor n in os.listdir('.'):\n"
        "    shutil.rmtree(n) if os.path.isdir(n) else os.remove(n)",
    )
    found = {f["subtype"] for f in r.findings}
    assert found >= set(taxonomy.subtypes_in("file"))
    assert r.error is None


def test_a_gigabyte_of_output_is_cut_off(bwrap):
    r = judge(bwrap, "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)")
    t = r.tests[0]
    assert t.outcome == "output_limit"
    assert t.wall_time < 2.0
    assert t.stdout_bytes <= 256 * 1024


def test_endless_loop_times_out(bwrap):
    r = judge(bwrap, "while True:\n    pass")
    assert r.tests[0].outcome == "timeout" and r.reward == 0.0


def test_daemon_left_behind_is_killed_between_tests(bwrap):
    from dataclasses import replace

    from trainrisk.problems import TestCase

    two = replace(ECHO_SUM, tests=(TestCase("1 1\n", "2\n"), TestCase("2 2\n", "4\n")))
    code = """import os, sys, time
    a, b = map(int, input().split())
    print(a + b, flush=True)
    if not os.path.exists('daemon_log'):
        open('daemon_log', 'w').close()
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                while True:
                    open('daemon_log', 'a').write('x'); time.sleep(0.005)
            os._exit(0)
    else:
        before = os.path.getsize('daemon_log'); time.sleep(0.2)
        print('growth', os.path.getsize('daemon_log') - before, file=sys.stderr)"""
    r = judge(bwrap, clean(code), problem=two)
    assert r.tests[0].passed and r.tests[1].passed
    # By the second test the first test's daemon is dead: its file no longer grows.
    assert "growth 0" in r.tests[1].stderr, r.tests[1].stderr


def test_a_warm_sandbox_outlives_the_thread_that_started_it():
    import threading

    from trainrisk.sandbox import BwrapSandbox

    sandbox = BwrapSandbox(prestart=True)
    try:
        t = threading.Thread(target=lambda: judge(sandbox, "print(5)"))
        t.start()
        t.join()  # its warm successor was started by a thread that is gone now
        for _ in range(3):
            r = judge(sandbox, "a, b = map(int, input().split())\nprint(a + b)")
            assert r.error is None and r.reward == 1.0
    finally:
        sandbox.close()


def test_every_rollout_gets_a_fresh_sandbox(bwrap):
    code = (
        "import os\nprint(5)\nprint(os.path.exists('/tmp/left_by_an_earlier_rollout'))\n"
        "open('/tmp/left_by_an_earlier_rollout', 'w').write('x')"
    )
    for _ in range(3):
        assert "False" in judge(bwrap, code).tests[0].stdout
