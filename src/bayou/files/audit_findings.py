"""What a file-store audit report (`files/audit.py`) says, in words: the lines `bayou
doctor` and the dashboard's Health page show. No imports of the database: the CLI reads
reports over HTTP."""

from __future__ import annotations

from typing import Any


def findings(report: dict[str, Any]) -> tuple[bool | None, str, list[str]]:
    """(verdict, summary, problems): True when every file has its blob and no blob is
    orphaned, False when files lost their data, None when only orphans are left."""
    where = f" under {report['prefix']!r}" if report.get("prefix") else ""
    summary = (
        f"{report['files']} file(s), {report['blobs']} blob(s) ({report['bytes']} bytes) in "
        f"{report['store']}{where}"
    )
    problems = []
    if report["missingBlobs"]:
        problems.append(
            f"{report['missingBlobs']} file(s) whose data is missing from the store (restore "
            "them from a backup, or delete the files): " + ", ".join(report["missingBlobExamples"])
        )
    if report["orphanedBlobs"]:
        problems.append(
            f"{report['orphanedBlobs']} orphaned blob(s) no file refers to (safe to delete "
            "from the store): " + ", ".join(report["orphanedBlobExamples"])
        )
    if not problems:
        return True, summary + "; every file has its blob, no orphans", []
    return (False if report["missingBlobs"] else None), summary, problems
