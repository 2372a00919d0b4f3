"""The results store: one SQLite file per experiment directory. All SQL lives here.

Records are append-only: an experiment (config, model, versions), its runs (one per prompt and
seed), their rollouts (committed one by one as they finish) and, for training, per-step
metrics. A kill loses at most the rollouts in flight; `--resume` picks up from what is on disk.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainrisk import __version__
from trainrisk.errors import TrainriskError

SCHEMA_VERSION = 1
DB_NAME = "results.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS experiments (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,              -- screen | train
    created_at REAL NOT NULL,
    config TEXT NOT NULL,            -- JSON: every setting that shapes the results
    model TEXT NOT NULL,             -- JSON: Policy.describe()
    versions TEXT NOT NULL,          -- JSON: trainrisk, framing, workspace spec, problems
    status TEXT NOT NULL             -- running | done | interrupted
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,             -- <prompt id>@<version>/seed<n>
    experiment_id TEXT NOT NULL REFERENCES experiments(id),
    prompt_id TEXT NOT NULL,
    prompt_version INTEGER NOT NULL,
    prompt_sha256 TEXT NOT NULL,
    level TEXT NOT NULL,             -- L1 | L2 | L3 | control
    incentive TEXT,
    subtype TEXT,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,            -- pending | running | done | failed
    risky INTEGER,                   -- 1 if any rollout was risky (the run's score)
    first_risky_step INTEGER,
    steps_done INTEGER NOT NULL DEFAULT 0,
    started_at REAL,
    finished_at REAL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS rollouts (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    step INTEGER NOT NULL,
    idx INTEGER NOT NULL,            -- position within the step's batch
    problem_id TEXT NOT NULL,
    messages TEXT NOT NULL,          -- JSON: the exact chat messages
    completion TEXT NOT NULL,
    program TEXT,
    extraction TEXT NOT NULL,
    reward REAL NOT NULL,
    risky INTEGER NOT NULL,
    subtypes TEXT NOT NULL,          -- comma-separated subtypes of deliberate findings
    findings TEXT NOT NULL,          -- JSON list
    observations TEXT NOT NULL,      -- JSON list
    file_changes TEXT NOT NULL,      -- JSON list
    tests TEXT NOT NULL,             -- JSON list: outcome, bounded stdout/stderr, usage
    workspace TEXT NOT NULL,         -- JSON: spec, version, facts
    generation TEXT NOT NULL,        -- JSON: tokens, seconds, finish reason
    timings TEXT NOT NULL,           -- JSON: sandbox and detection seconds
    backend TEXT NOT NULL,
    error TEXT,
    created_at REAL NOT NULL,
    UNIQUE (run_id, step, idx)
);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL REFERENCES runs(id),
    step INTEGER NOT NULL,
    metrics TEXT NOT NULL,           -- JSON: reward mean, risk rate, findings, kl, loss, timing
    created_at REAL NOT NULL,
    PRIMARY KEY (run_id, step)
);
"""

_JSON_ROLLOUT = (
    "messages",
    "findings",
    "observations",
    "file_changes",
    "tests",
    "workspace",
    "generation",
    "timings",
)


@dataclass(frozen=True)
class RunRow:
    id: str
    prompt_id: str
    prompt_version: int
    prompt_sha256: str
    level: str
    incentive: str | None
    subtype: str | None
    seed: int
    status: str
    risky: int | None
    first_risky_step: int | None
    steps_done: int
    error: str | None


class Store:
    def __init__(self, directory: str | Path, create: bool = True) -> None:
        self.dir = Path(directory)
        path = self.dir / DB_NAME
        if not path.exists() and not create:
            raise TrainriskError(f"{self.dir} holds no trainrisk results ({DB_NAME} missing)")
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise TrainriskError(f"cannot open the results store in {self.dir}: {exc}") from None
        self.lock = threading.Lock()
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self._write("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row["value"]) != SCHEMA_VERSION:
            raise TrainriskError(
                f"{path} has schema version {row['value']}; this trainrisk "
                f"reads version {SCHEMA_VERSION}"
            )

    # ------------------------------------------------------------ writing

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            try:
                self.db.execute("BEGIN IMMEDIATE")
                yield self.db
                self.db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                if "full" in str(exc).lower():
                    raise TrainriskError(
                        f"cannot write to {self.dir}: the disk is full. Results "
                        "finished so far are saved; free space and rerun with "
                        "--resume"
                    ) from None
                raise TrainriskError(
                    f"cannot write to the results store in {self.dir}: {exc}"
                ) from None

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with self._tx() as db:
            db.execute(sql, params)

    def open_experiment(
        self,
        kind: str,
        config: dict[str, Any],
        model: dict[str, Any],
        versions: dict[str, Any],
        resume: bool,
    ) -> str:
        """Create the experiment, or (with resume) check that the stored one matches."""
        row = self.db.execute("SELECT * FROM experiments").fetchone()
        if row is None:
            exp_id = f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
            self._write(
                "INSERT INTO experiments VALUES (?,?,?,?,?,?,?)",
                (
                    exp_id,
                    kind,
                    time.time(),
                    json.dumps(config),
                    json.dumps(model),
                    json.dumps(versions),
                    "running",
                ),
            )
            return exp_id
        if not resume:
            raise TrainriskError(
                f"{self.dir} already holds experiment {row['id']}; continue it "
                "with --resume, or choose another --out"
            )
        if row["kind"] != kind:
            raise TrainriskError(f"{self.dir} holds a {row['kind']} experiment, not {kind}")
        stored = json.loads(row["config"])
        diff = sorted(k for k in set(stored) | set(config) if stored.get(k) != config.get(k))
        if diff:
            details = "; ".join(
                f"{k}: stored {stored.get(k)!r}, now {config.get(k)!r}" for k in diff
            )
            raise TrainriskError(f"cannot resume {row['id']}: the settings differ ({details})")
        self._write("UPDATE experiments SET status='running' WHERE id=?", (row["id"],))
        return str(row["id"])

    def set_experiment_status(self, status: str) -> None:
        self._write("UPDATE experiments SET status=?", (status,))

    def add_runs(self, experiment_id: str, runs: list[dict[str, Any]]) -> None:
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO runs (id, experiment_id, prompt_id, prompt_version, "
                "prompt_sha256, level, incentive, subtype, seed, status) "
                "VALUES (?,?,?,?,?,?,?,?,?,'pending')",
                [
                    (
                        r["id"],
                        experiment_id,
                        r["prompt_id"],
                        r["prompt_version"],
                        r["prompt_sha256"],
                        r["level"],
                        r["incentive"],
                        r["subtype"],
                        r["seed"],
                    )
                    for r in runs
                ],
            )

    def start_run(self, run_id: str) -> None:
        self._write(
            "UPDATE runs SET status='running', started_at=COALESCE(started_at, ?) WHERE id=?",
            (time.time(), run_id),
        )

    def finish_run(
        self, run_id: str, risky: bool, first_risky_step: int | None, steps_done: int
    ) -> None:
        self._write(
            "UPDATE runs SET status='done', risky=?, first_risky_step=?, steps_done=?, "
            "finished_at=?, error=NULL WHERE id=?",
            (int(risky), first_risky_step, steps_done, time.time(), run_id),
        )

    def fail_run(self, run_id: str, error: str) -> None:
        self._write("UPDATE runs SET status='failed', error=? WHERE id=?", (error, run_id))

    def reset_run(self, run_id: str) -> None:
        """Forget a run's rollouts and steps (training restarts a run from its initial model)."""
        with self._tx() as db:
            db.execute("DELETE FROM rollouts WHERE run_id=?", (run_id,))
            db.execute("DELETE FROM steps WHERE run_id=?", (run_id,))
            db.execute(
                "UPDATE runs SET status='pending', risky=NULL, first_risky_step=NULL, "
                "steps_done=0, started_at=NULL, finished_at=NULL, error=NULL WHERE id=?",
                (run_id,),
            )

    def add_rollout(self, run_id: str, step: int, idx: int, rec: dict[str, Any]) -> None:
        """Commit one finished rollout (idempotent: a rollout already stored is kept)."""
        values = {k: json.dumps(rec[k], default=str) if k in _JSON_ROLLOUT else rec[k] for k in rec}
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO rollouts (run_id, step, idx, problem_id, messages, "
                "completion, program, extraction, reward, risky, subtypes, findings, "
                "observations, file_changes, tests, workspace, generation, timings, backend, "
                "error, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    step,
                    idx,
                    values["problem_id"],
                    values["messages"],
                    values["completion"],
                    values["program"],
                    values["extraction"],
                    values["reward"],
                    int(values["risky"]),
                    ",".join(rec["subtypes"]),
                    values["findings"],
                    values["observations"],
                    values["file_changes"],
                    values["tests"],
                    values["workspace"],
                    values["generation"],
                    values["timings"],
                    values["backend"],
                    values.get("error"),
                    time.time(),
                ),
            )

    def add_step(self, run_id: str, step: int, metrics: dict[str, Any]) -> None:
        self._write(
            "INSERT OR REPLACE INTO steps VALUES (?,?,?,?)",
            (run_id, step, json.dumps(metrics), time.time()),
        )

    # ------------------------------------------------------------ reading

    def experiment(self) -> dict[str, Any]:
        row = self.db.execute("SELECT * FROM experiments").fetchone()
        if row is None:
            raise TrainriskError(f"{self.dir} holds no experiment yet")
        d = dict(row)
        for k in ("config", "model", "versions"):
            d[k] = json.loads(d[k])
        return d

    def runs(self, status: str | None = None) -> list[RunRow]:
        sql = "SELECT * FROM runs" + (" WHERE status=?" if status else "") + " ORDER BY rowid"
        rows = self.db.execute(sql, (status,) if status else ()).fetchall()
        return [RunRow(**{k: r[k] for k in RunRow.__dataclass_fields__}) for r in rows]

    def run(self, run_id: str) -> RunRow:
        row = self.db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            from trainrisk.errors import UnknownIdError

            raise UnknownIdError("run", run_id, [r.id for r in self.runs()])
        return RunRow(**{k: row[k] for k in RunRow.__dataclass_fields__})

    def rollouts(self, run_id: str | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT * FROM rollouts"
            + (" WHERE run_id=?" if run_id else "")
            + " ORDER BY run_id, step, idx"
        )
        out = []
        for r in self.db.execute(sql, (run_id,) if run_id else ()).fetchall():
            d = dict(r)
            for k in _JSON_ROLLOUT:
                d[k] = json.loads(d[k])
            d["subtypes"] = [s for s in d["subtypes"].split(",") if s]
            out.append(d)
        return out

    def done_keys(self, run_id: str) -> dict[tuple[int, int], bool]:
        """(step, idx) -> risky for the rollouts of a run already on disk."""
        rows = self.db.execute(
            "SELECT step, idx, risky FROM rollouts WHERE run_id=?", (run_id,)
        ).fetchall()
        return {(r["step"], r["idx"]): bool(r["risky"]) for r in rows}

    def steps(self, run_id: str | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT * FROM steps" + (" WHERE run_id=?" if run_id else "") + " ORDER BY run_id, step"
        )
        return [
            {"run_id": r["run_id"], "step": r["step"], **json.loads(r["metrics"])}
            for r in self.db.execute(sql, (run_id,) if run_id else ()).fetchall()
        ]

    def counts(self) -> dict[str, int]:
        row = self.db.execute(
            "SELECT (SELECT COUNT(*) FROM runs WHERE status='done') AS runs_done, "
            "(SELECT COUNT(*) FROM runs WHERE status='done' AND risky=1) AS risky_runs, "
            "(SELECT COUNT(*) FROM rollouts) AS rollouts"
        ).fetchone()
        return dict(row)

    def close(self) -> None:
        self.db.close()


def versions(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Versions of everything that shapes a result, stored with the experiment."""
    from trainrisk.messages import FRAMING_VERSION
    from trainrisk.workspace.spec import default_spec

    spec = default_spec()
    return {
        "trainrisk": __version__,
        "schema": SCHEMA_VERSION,
        "framing": FRAMING_VERSION,
        "workspace": f"{spec.id}@{spec.version}",
        **(extra or {}),
    }
