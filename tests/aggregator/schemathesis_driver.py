"""The schemathesis driver that the API fuzz (`fuzz_api`) and the OpenADR conformance
(`openadr/conformance`) share: one `schemathesis run` per credential, and its NDJSON report counted.

A caller names its document and checks; `count` can set a failure apart under a name of its own (the
conformance's contradictions of the OpenADR document), so nothing is hidden and nothing explained is
counted as a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

PHASES = "examples,coverage,fuzzing"
# (operation label, failed check, its test case) -> the name it is counted under, or None: a failure
Explain = Callable[[str, dict[str, Any], dict[str, Any]], str | None]


def run(
    target: Sequence[str],
    role: str,
    token: str,
    checks: Sequence[str],
    max_examples: int,
    seed: int,
    out: Path,
    explain: Explain | None = None,
    explained: Sequence[str] = (),
) -> dict[str, Any]:
    """`schemathesis run <target>` as `role` (bearer `token`); its counts (`count`) and exit code. A
    non-zero exit with neither a failure nor an explained one counts as an error (schemathesis itself
    failed)."""
    report = out / f"{role}.ndjson"
    cmd = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        *target,
        "--checks",
        ",".join(checks),
        "--phases",
        PHASES,
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--header",
        f"Authorization: Bearer {token}",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--warnings",
        "off",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=out)  # its cache too
    (out / f"{role}.log").write_text(result.stdout + result.stderr)
    counts = count(report, explain, explained)
    counts["exit_code"] = result.returncode
    if result.returncode != 0 and counts["failures"] == 0 and not any(counts[k] for k in explained):
        counts["errors"] = max(1, counts["errors"])
    return counts


def count(report: Path, explain: Explain | None = None, explained: Sequence[str] = ()) -> dict[str, Any]:
    """Operations, test cases, failures (by check), errors, server errors and response-schema
    violations from schemathesis' NDJSON events; a failure `explain` names is counted under that name."""
    operations: set[str] = set()
    cases = failures = errors = server_errors = violations = 0
    by_check: dict[str, int] = {}
    apart = dict.fromkeys(explained, 0)
    for line in report.read_text().splitlines() if report.exists() else []:
        event = json.loads(line)
        for kind, body in event.items():
            if kind == "ScenarioFinished":
                recorder = body.get("recorder", {})
                label = recorder.get("label") or ""
                if label:
                    operations.add(label)
                cases += len(recorder.get("cases", {}))
                for case_id, checks in recorder.get("checks", {}).items():
                    case = recorder.get("cases", {}).get(case_id, {})
                    for check in checks:
                        if str(check.get("status")).lower() != "failure":
                            continue
                        reason = explain(label, check, case) if explain else None
                        if reason is not None:
                            apart[reason] = apart.get(reason, 0) + 1
                            continue
                        name = check.get("name", "?")
                        failures += 1
                        by_check[name] = by_check.get(name, 0) + 1
                        server_errors += name == "not_a_server_error"
                        violations += name == "response_schema_conformance"
            elif kind == "NonFatalError":
                errors += 1
    return {
        "operations": len(operations),
        "test_cases": cases,
        "failures": failures,
        "failures_by_check": by_check,
        "errors": errors,
        "server_errors": server_errors,
        "schema_violations": violations,
        **apart,
    }
