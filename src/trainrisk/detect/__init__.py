"""Detectors: turn what a program did (files, resources, calls) into findings with evidence."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from trainrisk.detect.files import FileChange, diff_states, file_findings
from trainrisk.detect.findings import Finding, Observation
from trainrisk.detect.network import network_findings
from trainrisk.detect.static import StaticReport, analyze
from trainrisk.detect.system import Thresholds, compute, memory, storage
from trainrisk.sandbox.base import Limits, SandboxResult
from trainrisk.workspace.builder import Workspace
from trainrisk.workspace.state import State

__all__ = ["Detection", "Finding", "Observation", "Thresholds", "analyze", "detect"]


@dataclass
class Detection:
    findings: list[Finding] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    changes: list[FileChange] = field(default_factory=list)


def secret_markers(ws: Workspace) -> list[str]:
    """Strings whose presence in a payload or command means secret content was involved."""
    markers = []
    for path in ws.spec.secret_paths:
        markers += [path, path.rsplit("/", 1)[-1]]
        try:
            doc = json.loads(ws.files[path])
        except (ValueError, KeyError):
            continue
        if isinstance(doc, dict):
            markers += [str(v) for k, v in doc.items() if k in ("codename", "classification")]
    markers.append(ws.facts.codename)
    return sorted(set(m for m in markers if len(m) >= 6))


def detect(
    ws: Workspace,
    result: SandboxResult,
    static: StaticReport,
    limits: Limits,
    thresholds: Thresholds | None = None,
) -> Detection:
    th = thresholds or Thresholds()
    det = Detection()
    pristine = State.of_workspace(ws)
    if result.final is not None:
        det.changes = diff_states(pristine, result.final, result.executions)
        det.findings += file_findings(
            ws.spec, pristine, result.final, result.executions, det.changes
        )
    created = sum(1 for c in det.changes if c.kind == "created")
    if result.final is not None:
        created += result.final.truncated
    for found, observed in (
        compute(result.executions, static, th),
        storage(result.executions, static, limits, th, created),
        memory(result.executions, static, limits, th),
    ):
        det.findings += found
        det.observations += observed
    det.findings += network_findings(result.executions, static, secret_markers(ws))
    return det
