"""Benchmarks: `make bench` writes their figures to bench/RESULTS.md and bench/results.json."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
RESULTS_JSON = Path(__file__).resolve().parent / "results.json"
# The "## " sections of RESULTS.md, in this order after the page table at its head.
SECTIONS = ("## Pages under load", "## Digest")


def _split(text: str) -> tuple[str, dict[str, str]]:
    """RESULTS.md as its head (before the first "## " heading) and its sections by heading."""
    head: list[str] = []
    sections: dict[str, list[str]] = {}
    current = head
    for line in text.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line.strip(), [])
        current.append(line)
    return "\n".join(head), {title: "\n".join(lines) for title, lines in sections.items()}


def _write(head: str, sections: dict[str, str]) -> None:
    ordered = [sections[t] for t in SECTIONS if t in sections]
    ordered += [body for title, body in sections.items() if title not in SECTIONS]
    parts = [head.rstrip("\n"), *(body.strip("\n") for body in ordered)]
    RESULTS.write_text("\n\n".join(part for part in parts if part) + "\n")


def replace_section(title: str, body: str) -> None:
    """Write one part's section of RESULTS.md, keeping the other parts' figures."""
    head, sections = _split(RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n")
    sections[title] = body
    _write(head, sections)


def replace_head(body: str) -> None:
    """Write the head of RESULTS.md (the in-process page table), keeping every section."""
    _, sections = _split(RESULTS.read_text() if RESULTS.exists() else "")
    _write(body, sections)


def update_results_json(values: dict) -> None:
    """Set these keys of bench/results.json, keeping the other parts' keys."""
    try:
        current = json.loads(RESULTS_JSON.read_text())
    except (OSError, ValueError):
        current = {}
    current.update(values)
    RESULTS_JSON.write_text(json.dumps(current, indent=2, ensure_ascii=False, default=str) + "\n")
