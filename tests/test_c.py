"""Builds the C tests with CMake and runs them with CTest: once normally and once under AddressSanitizer +
UndefinedBehaviorSanitizer. The C tests link only the C library (no Python)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "tests" / ".cache"


def _tool(name: str) -> str:
    # cmake/ninja come from the test extras (PyPI) next to this interpreter, or from the system.
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    assert found, f"{name} is required for the C tests (pip install '.[test]' provides it)"
    return found


@pytest.mark.parametrize("variant", ["release", "sanitize"])
def test_ctest(variant: str) -> None:
    build = CACHE / f"ctest-{variant}"
    args = [_tool("cmake"), "-S", str(ROOT), "-B", str(build), "-G", "Ninja",
            f"-DCMAKE_MAKE_PROGRAM={_tool('ninja')}", "-DXNN_BUILD_TESTS=ON"]
    if variant == "sanitize":
        args += ["-DXNN_SANITIZE=ON", "-DCMAKE_BUILD_TYPE=Debug"]
    else:
        args += ["-DCMAKE_BUILD_TYPE=Release"]
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1", UBSAN_OPTIONS="print_stacktrace=1")
    subprocess.run(args, check=True, capture_output=True, text=True)
    subprocess.run([_tool("cmake"), "--build", str(build), "-j2"], check=True, capture_output=True, text=True)
    ctest = Path(_tool("cmake")).with_name("ctest")
    result = subprocess.run([str(ctest) if ctest.exists() else _tool("ctest"), "--test-dir", str(build),
                             "--output-on-failure"], capture_output=True, text=True, env=env, timeout=900)
    print(result.stdout[-4000:], result.stderr[-2000:])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "100% tests passed" in result.stdout
    assert "tests failed out of 0" not in result.stdout


def test_threadpool_tsan(tmp_path: Path) -> None:
    """The thread pool's stress test (tests/c/test_threadpool.c) under ThreadSanitizer: its lock-free item
    counter must be free of data races, not only give the right counts."""
    cc = shutil.which("gcc") or shutil.which("cc")
    assert cc, "a C compiler is required"
    exe = tmp_path / "test_threadpool_tsan"
    subprocess.run([cc, "-O1", "-g", "-fsanitize=thread", "-std=gnu11", "-I", str(ROOT / "csrc"), "-I", str(ROOT),
                    "-I", str(ROOT / "csrc" / "include"), str(ROOT / "tests" / "c" / "test_threadpool.c"),
                    str(ROOT / "csrc" / "core" / "threadpool.c"), str(ROOT / "csrc" / "core" / "common.c"),
                    "-o", str(exe), "-lpthread", "-lm"], check=True, capture_output=True, text=True)
    result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, TSAN_OPTIONS="halt_on_error=1:exitcode=66"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    assert "all checks passed" in result.stdout
    assert "ThreadSanitizer" not in result.stderr, result.stderr[-6000:]
