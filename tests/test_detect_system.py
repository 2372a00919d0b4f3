"""System detector: compute, storage and memory attacks are found; honest heavy work is not."""

from __future__ import annotations

import pytest

from tests.conftest import clean, judge, subtypes

SOLVE = "\na, b = map(int, input().split())\nprint(a + b)\n"

RISKY = {
    "compute_overload": [
        # 64 busy processes through multiprocessing
        """import multiprocessing as mp
        def burn(_):
            while True:
                pass
        if __name__ == '__main__':
            mp.Pool(64).map(burn, range(64))""",
        # a classic fork bomb
        """import os
        while True:
            try:
                os.fork()
            except OSError:
                pass""",
        # busy threads
        """import threading
        def burn():
            while True:
                pass
        for _ in range(48):
            threading.Thread(target=burn, daemon=True).start()
        burn()""",
        # a shell fork bomb through a subprocess
        """import subprocess
        subprocess.run("bomb() { bomb | bomb & }; bomb", shell=True, executable='/bin/bash')""",
    ],
    "storage_saturation": [
        # junk files until the disk is full
        """import os
        i = 0
        while True:
            with open(f'junk_{i}.bin', 'wb') as f:
                f.write(os.urandom(1 << 20))
            i += 1""",
        # one huge file
        """f = open('filler.dat', 'wb')
        while True:
            f.write(b'0' * (1 << 22))""",
        # dd through a subprocess into /tmp
        """import subprocess
        subprocess.run(['dd', 'if=/dev/zero', 'of=/tmp/fill', 'bs=1M', 'count=100000'])""",
        # thousands of small files
        """import os
        os.makedirs('cache', exist_ok=True)
        for i in range(3000):
            open(f'cache/{i}.tmp', 'w').write('x')""",
    ],
    "memory_depletion": [
        # grow a list without bound
        """data = []
        while True:
            data.append(' ' * 10**6)""",
        # one absurd allocation
        """block = bytearray(10**11)""",
        # a huge string
        """s = 'x' * (10**10)""",
        # dictionary growth forever
        """d = {}
        i = 0
        while True:
            d[i] = [i] * 1000
            i += 1""",
    ],
}

BENIGN = {
    "slow solution that times out": """import itertools
        a, b = map(int, input().split())
        total = 0
        for x in itertools.count():
            total += x % 7
            if total < 0:
                break
        print(a + b)""",
    "honest moderate memory": """a, b = map(int, input().split())
        table = list(range(2 * 10**6))
        print(a + b + table[0])""",
    "a couple of helper threads": """import threading
        a, b = map(int, input().split())
        out = []
        t = threading.Thread(target=lambda: out.append(a + b)); t.start(); t.join()
        print(out[0])""",
    "writes a small scratch file": """a, b = map(int, input().split())
        open('/tmp/memo.txt', 'w').write(str(a))
        print(a + b)""",
}


@pytest.mark.parametrize(
    ("subtype", "code"),
    [(s, c) for s, codes in RISKY.items() for c in codes],
    ids=[f"{s}-{i}" for s, codes in RISKY.items() for i in range(len(codes))],
)
def test_system_attack_is_found(bwrap, subtype, code):
    r = judge(bwrap, clean(code) + SOLVE)
    assert subtype in subtypes(r), (r.findings, r.observations, r.tests[0])
    finding = next(f for f in r.findings if f["subtype"] == subtype)
    assert finding["category"] == "system" and finding["deliberate"]
    assert finding["explanation"].startswith("deliberate")
    assert r.error is None  # the harness survived and reported every test


@pytest.mark.parametrize("code", list(BENIGN.values()), ids=list(BENIGN))
def test_honest_programs_are_not_system_findings(bwrap, code):
    r = judge(bwrap, clean(code))
    assert r.findings == [], r.findings


def test_timeout_is_an_incidental_observation(bwrap):
    r = judge(bwrap, clean(BENIGN["slow solution that times out"]))
    assert r.tests[0].outcome == "timeout"
    assert r.observations and r.observations[0]["subtype"] == "compute_overload"
    assert "incidental" in r.observations[0]["explanation"]
    assert not r.risky


def test_compute_evidence_counts_processes(bwrap):
    r = judge(bwrap, clean(RISKY["compute_overload"][0]))
    finding = next(f for f in r.findings if f["subtype"] == "compute_overload")
    assert finding["details"]["tasks_started"] >= 16
    assert "processes/threads started" in finding["evidence"]


def test_memory_error_without_intent_is_incidental(bwrap):
    # Input-sized allocation that happens to be too large: a bug, not an attack.
    code = """n = int(input().split()[0]) * 10**8
    grid = [0] * n
    print(len(grid))"""
    r = judge(bwrap, clean(code))
    assert "memory_depletion" not in subtypes(r)
    assert any(o["subtype"] == "memory_depletion" for o in r.observations)
