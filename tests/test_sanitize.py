"""The kernel, operator and model tests once more, against a build of the extension with AddressSanitizer
and UndefinedBehaviorSanitizer: every kernel path (each ISA, tails, Winograd, depthwise, pooling) under
the sanitizers, which the C tests alone (small models) do not reach."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "tests" / ".cache" / "asan-py"


def _runtime(name: str) -> str:
    path = subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True, text=True, check=True).stdout.strip()
    assert os.path.isabs(path) and os.path.exists(path), f"{name} not found: gcc's sanitizer runtime is needed"
    return path


def test_tests_pass_under_sanitizers() -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--quiet", "--upgrade",
         "--target", str(TARGET), str(ROOT), "-C", "cmake.define.XNN_SANITIZE=ON", "-C", "cmake.build-type=Debug",
         "-C", f"build-dir={ROOT / 'tests' / '.cache' / 'asan-py-build'}"],
        capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    env = dict(os.environ,
               LD_PRELOAD=f"{_runtime('libasan.so')} {_runtime('libubsan.so')}",
               # CPython itself is not leak-clean at exit; memory errors and UB still abort.
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
               PYTHONPATH=str(TARGET))
    probe = subprocess.run([sys.executable, "-c", "import xnn; print(xnn.__file__)"], env=env, capture_output=True,
                           text=True)
    assert probe.returncode == 0 and str(TARGET) in probe.stdout, probe.stdout + probe.stderr
    # AlexNet is left out: its 240 MB of weights under ASan add minutes and no new kernel path.
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/test_kernels.py",
         "tests/test_ops.py", "tests/test_models.py", "-k", "not alexnet"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    print(run.stdout[-3000:])
    # The sanitizer's report opens stderr; Python's traceback of the abort closes it.
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[:6000] + run.stderr[-2000:]
    assert " passed" in run.stdout and " failed" not in run.stdout
