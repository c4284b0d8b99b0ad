"""The benchmarks run to the end with tiny counts on SQLite (figures printed, none judged)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_smoke_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


async def test_updates_benchmark_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load("updates")
    # 43 taps per teacher: each completes the questionnaire, so the load phase starts new
    # attempts first
    figures = await bench.main(
        teachers=3, rounds=1, taps_per_teacher=43, rate=20.0, seconds=0.5, concurrency=4
    )
    out = capsys.readouterr().out
    assert out.startswith("machine: ")
    assert "database: SQLite" in out
    assert re.search(r"^round 1: project \d+\.\d taps/s \(129 taps", out, re.M)
    assert re.search(r"^round 1: bare +\d+\.\d taps/s \(129 taps", out, re.M)
    assert re.search(r"^round 1: ratio project/bare \d\.\d{3}$", out, re.M)
    assert re.search(r"^over 1 rounds: project min .* / median .* taps/s", out, re.M)
    assert re.search(r"^over 1 rounds: ratio project/bare min .*goal ratio >= 0.5", out, re.M)
    assert re.search(r"^load: project achieved \d+\.\d taps/s \(10 of 10 taps", out, re.M)
    assert re.search(r"^load: bare +achieved \d+\.\d taps/s \(10 of 10 taps.*p99", out, re.M)
    assert "check: 139 answers stored for 139 accepted answer taps (equal)" in out
    assert "taps refused or failed: project 0, bare 0" in out
    assert "REFUSED" not in out
    assert figures["answers_stored"] == figures["answer_taps"] == 139
    assert figures["failed"] == 0


async def test_burst_benchmark_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load("burst")
    figures = await bench.main(teachers=4, delay=0.01, rounds=1)
    out = capsys.readouterr().out
    assert out.startswith("machine: ")
    assert re.search(r"^round 1: last reply after \d+\.\d{3} s; p50 .* 4/4 teachers", out, re.M)
    assert "FAILED" not in out
    assert re.search(r"^over 1 rounds: last reply min .*goal: last reply <= 0.5 s", out, re.M)
    assert figures["last_reply"] > 0


async def test_indicators_benchmark_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load("indicators")
    figures = await bench.main(teachers=40, answers=400, schools=3, rounds=1)
    out = capsys.readouterr().out
    assert out.startswith("machine: ")
    assert "database: SQLite" in out
    assert re.search(r"^round 1: compute \d+\.\d{3} s; floor \(read of 400 answers\)", out, re.M)
    assert re.search(r"^indicators: \d+ codes for 3 schools and the municipality", out, re.M)
    assert re.search(r"^over 1 rounds: compute min .*goal under 1 s and ratio under 3", out, re.M)
    assert figures["schools"] == 3


async def test_uploads_benchmark_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load("uploads")
    figures = await bench.main(teachers=3, rows=50, every=0.02, bomb_mb=8, csv_rows=6000)
    out = capsys.readouterr().out
    assert out.startswith("machine: ")
    assert re.search(r"^no upload: \d+ replies, max .* ms, p99 .* ms$", out, re.M)
    for label in ("wide", "bomb", "long-csv", "legit", "legit-again"):
        assert re.search(
            rf"^{label}: .* upload handled in .* other replies meanwhile: max", out, re.M
        )
    assert "столбцов" in out and "после распаковки" in out and "больше 5000 строк" in out
    assert "Добавлено программ: 50" in out and "Без изменений: 50" in out
    assert re.search(r"^worst reply during any upload: .* \(goal: under 0.5 s", out, re.M)
    assert set(figures) == {"wide", "bomb", "long-csv", "legit", "legit-again"}


@pytest.mark.parametrize("side", ["project", "bare"])
async def test_instruction_count_benchmark_taps_each_side(side: str) -> None:
    """The taps ``bench/instructions.py`` runs under cachegrind (cachegrind itself is not
    needed here: the count is what it adds)."""
    bench = load("instructions")
    assert await bench.run_side(side, teachers=3, taps=6) == 6
