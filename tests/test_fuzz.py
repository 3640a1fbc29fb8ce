"""Coverage-guided fuzzing of the model loaders with clang's libFuzzer, AddressSanitizer and
UndefinedBehaviorSanitizer: tests/c/fuzz_caffe.c (prototxt + caffemodel) and tests/c/fuzz_xnn.c (.xnn
payloads), each loading its input and, when it loads, creating sessions with 1 and 2 threads, reshaping and
running them (tests/c/fuzz_session.h).

Each target runs on its seed corpus (tests/data/fuzz/seeds/, written by tests/fuzz_seeds.py), on the
inputs earlier campaigns found crashing (tests/data/fuzz/{caffe,xnn}/, each also a test in
tests/test_bad_input.py), and on a bounded number of new inputs with a fixed seed. Any crash, leak, UB
report, timeout or allocation past the limits fails the test. With CI=true a missing clang or libFuzzer
runtime is a failure.

A longer campaign on the same build (one process per machine core at most):
    tests/.cache/fuzz/tests/c/fuzz_caffe -max_total_time=3600 -dict=tests/data/fuzz/caffe.dict \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 NEW_CORPUS tests/data/fuzz/seeds/caffe
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "tests" / ".cache" / "fuzz"
DATA = ROOT / "tests" / "data" / "fuzz"
# New inputs per target on top of the corpus: 20-25 s each (the build takes 30 s more).
RUNS = {"caffe": 20000, "xnn": 20000}


def _tool(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or "")


def _require_libfuzzer(tmp: Path) -> str:
    clang = shutil.which("clang")
    problem = None if clang else "clang is not installed (apt-get install clang)"
    if clang:
        src = tmp / "probe.c"
        src.write_text("#include <stddef.h>\n#include <stdint.h>\n"
                       "int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) { return 0; }\n")
        probe = subprocess.run([clang, "-fsanitize=fuzzer,address,undefined", str(src), "-o", str(tmp / "probe")],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            problem = f"clang cannot link libFuzzer (-fsanitize=fuzzer): {probe.stderr[-500:]}"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)  # only outside CI, on a machine without clang's fuzzing runtime
    return clang


@pytest.fixture(scope="module")
def fuzzers(tmp_path_factory) -> Path:
    clang = _require_libfuzzer(tmp_path_factory.mktemp("probe"))
    cmake, ninja = _tool("cmake"), _tool("ninja")
    assert cmake and ninja, "cmake and ninja are needed (pip install '.[test]')"
    # -O1: fast enough to fuzz, still precise stack traces; the library gets coverage instrumentation
    # (fuzzer-no-link), the targets libFuzzer's main.
    subprocess.run([cmake, "-S", str(ROOT), "-B", str(BUILD), "-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}",
                    f"-DCMAKE_C_COMPILER={clang}", "-DCMAKE_BUILD_TYPE=Debug", "-DXNN_SANITIZE=ON",
                    "-DXNN_BUILD_TESTS=ON", "-DXNN_BUILD_FUZZERS=ON", "-DXNN_BUILD_BENCH=OFF",
                    "-DCMAKE_C_FLAGS=-O1 -fsanitize=fuzzer-no-link"], check=True, capture_output=True)
    build = subprocess.run([cmake, "--build", str(BUILD), "-j2", "--target", "fuzz_caffe", "fuzz_xnn"],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    return BUILD / "tests" / "c"


@pytest.mark.parametrize("target", ["caffe", "xnn"])
def test_fuzz_target(fuzzers: Path, target: str, tmp_path: Path) -> None:
    seeds, found = DATA / "seeds" / target, DATA / target
    assert len(list(seeds.iterdir())) >= 9
    # New inputs go to the first folder (a temporary one); the committed folders are only read.
    args = [str(fuzzers / f"fuzz_{target}"), f"-runs={RUNS[target]}", "-seed=1", "-rss_limit_mb=2048",
            "-malloc_limit_mb=1024", "-timeout=10", "-max_len=65536", "-print_final_stats=1",
            f"-artifact_prefix={tmp_path}/", str(tmp_path / "corpus"), str(seeds)]
    if found.is_dir():
        args.append(str(found))
    if target == "caffe":
        args.append(f"-dict={DATA / 'caffe.dict'}")
    (tmp_path / "corpus").mkdir()
    run = subprocess.run(args, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, UBSAN_OPTIONS="print_stacktrace=1"))
    log = run.stderr
    assert run.returncode == 0, log[-8000:]
    assert "Done" in log and f"stat::number_of_executed_units: " in log, log[-3000:]
    executed = int(log.split("stat::number_of_executed_units: ")[1].split()[0])
    assert executed >= RUNS[target], log[-3000:]
    # The seeds reach the runner: far more code is covered than the parsers' error paths alone.
    inited = int(log.split("INITED cov: ")[1].split()[0])
    assert inited > 1500, log[-3000:]
