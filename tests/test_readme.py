"""The README's Quick start and CI agree, and README claims are backed by the repo."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [b.strip() for b in blocks]


def test_quick_start_has_exactly_two_commands() -> None:
    cmds = _quick_start_commands()
    assert len(cmds) == 2, cmds
    assert all("\n" not in c for c in cmds), "each Quick start command is one line"


def test_ci_runs_the_readme_test_command() -> None:
    test_cmd = _quick_start_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    run_lines = [ln.strip() for ln in ci.splitlines()
                 if ln.strip() and not ln.strip().startswith("#")]
    assert test_cmd in run_lines, f"CI must run the README test command {test_cmd!r}"
    assert "pytest" in test_cmd


def test_benchmark_figures_name_their_command() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    bench = text.split("## Benchmark", 1)[1].split("\n## ", 1)[0]
    assert "python bench/bench_coverage.py" in bench
    assert (ROOT / "bench" / "bench_coverage.py").is_file()
    assert "PLACEHOLDER" not in text
