"""The AArch64 assembly kernels also assemble for Android and Apple targets (no NDK or Apple SDK is
needed to assemble): each file gives exactly its function, named with Mach-O's leading underscore on
Apple, and hidden from the library's exports on ELF. With CI=true a missing clang is a failure."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "kernels" / "arm64").glob("*.S"))
TARGETS = ["aarch64-linux-android24", "aarch64-linux-gnu", "arm64-apple-ios14", "arm64-apple-macos11"]


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is missing: apt-get install clang llvm")
        pytest.skip(f"{tool} is missing (only outside CI)")
    return path


def test_there_are_kernels() -> None:
    assert len(SOURCES) >= 3, SOURCES


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_assembles(source: Path, target: str, tmp_path: Path) -> None:
    clang, nm = _need("clang"), _need("llvm-nm")
    obj = tmp_path / "k.o"
    run = subprocess.run([clang, f"--target={target}", f"-I{ROOT}", "-c", str(source), "-o", str(obj)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    name = re.search(r"BEGIN_FUNCTION (\w+)", source.read_text()).group(1)
    symbols = subprocess.run([nm, "--defined-only", str(obj)], capture_output=True, text=True, check=True).stdout
    want = f"_{name}" if "apple" in target else name
    assert re.search(rf"\bT {want}$", symbols, re.M), symbols
    if "apple" not in target:
        readelf = subprocess.run(["llvm-readelf", "-s", str(obj)], capture_output=True, text=True, check=True).stdout
        line = next(l for l in readelf.splitlines() if l.endswith(f" {name}"))
        assert "HIDDEN" in line and "FUNC" in line, line
