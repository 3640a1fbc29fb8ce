"""The Python package as an AArch64 wheel, built on x86 with the cross toolchain, installed into an arm64
Debian root and run there under qemu-aarch64: the kernel testers, every operator test and the sparse and
LSTM layer tests, on the "neon" kernel set (assembly) and the portable one. With CI=true a missing tool is
a failure."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "tests" / ".cache"
RFS = CACHE / "arm64-root"  # Debian arm64 minbase with python3 and its headers
SITE = CACHE / "site-aarch64"  # aarch64 packages for that python, installed by the host pip
DIST = CACHE / "dist-aarch64"
PLATFORM = ["--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11", "--abi", "cp311",
            "--platform", "manylinux_2_28_aarch64", "--platform", "manylinux2014_aarch64",
            "--platform", "linux_aarch64"]


def _run(args, **kw):
    result = subprocess.run(args, capture_output=True, text=True, **kw)
    assert result.returncode == 0, f"{args[:3]}...:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def aarch64_python() -> list:
    missing = [t for t in ("debootstrap", "dpkg-deb", "qemu-aarch64", "aarch64-linux-gnu-gcc") if not shutil.which(t)]
    if missing:
        message = f"missing {missing}: apt-get install debootstrap qemu-user gcc-aarch64-linux-gnu g++-aarch64-linux-gnu"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)  # only outside CI
    python = RFS / "usr" / "bin" / "python3"
    if not python.exists():
        shutil.rmtree(RFS, ignore_errors=True)
        # --foreign only unpacks the base system; the rest is unpacked by hand (no chroot, no binfmt).
        _run(["debootstrap", "--foreign", "--arch=arm64", "--variant=minbase",
              "--include=python3,libpython3.11-dev", "bookworm", str(RFS), "http://deb.debian.org/debian"],
             timeout=900)
        for deb in sorted((RFS / "var" / "cache" / "apt" / "archives").glob("*.deb")):
            _run(["dpkg-deb", "-x", str(deb), str(RFS)])
            deb.unlink()
        # Debian's pyconfig.h only includes the multiarch one: make the include dir self-contained.
        shutil.copy(RFS / "usr/include/aarch64-linux-gnu/python3.11/pyconfig.h", RFS / "usr/include/python3.11")
    if not (SITE / "numpy").exists():
        _run([sys.executable, "-m", "pip", "install", "-q", "--target", str(SITE), *PLATFORM,
              "numpy", "pytest", "protobuf", "grpcio-tools"], timeout=900)
    shutil.rmtree(DIST, ignore_errors=True)
    env = dict(os.environ, _PYTHON_HOST_PLATFORM="linux-aarch64",
               SETUPTOOLS_EXT_SUFFIX=".cpython-311-aarch64-linux-gnu.so")
    _run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(DIST),
          "-C", f"cmake.toolchain-file={ROOT / 'cmake' / 'aarch64-linux-gnu.cmake'}",
          "-C", "cmake.define.PYBIND11_USE_CROSSCOMPILING=ON",
          "-C", f"cmake.define.Python_INCLUDE_DIR={RFS / 'usr' / 'include' / 'python3.11'}",
          "-C", f"build-dir={CACHE / 'wheel-aarch64'}"], env=env, timeout=1200)
    wheels = list(DIST.glob("xnn-*-linux_aarch64.whl"))
    assert len(wheels) == 1, list(DIST.iterdir())
    listing = _run([sys.executable, "-m", "zipfile", "-l", str(wheels[0])]).stdout
    assert "_xnn.cpython-311-aarch64-linux-gnu.so" in listing, listing
    _run([sys.executable, "-m", "pip", "install", "-q", "--upgrade", "--no-deps", "--target", str(SITE), *PLATFORM,
          str(wheels[0])])
    return ["qemu-aarch64", "-L", str(RFS), "-E", f"PYTHONPATH={SITE}", str(python)]


def test_aarch64_wheel_runs_neon(aarch64_python) -> None:
    out = _run(aarch64_python + ["-c", "import xnn; print(xnn.available_isas(), xnn.cpu_features())"],
               timeout=300).stdout
    assert "['ref', 'neon']" in out, out


def test_kernel_and_op_tests_under_qemu(aarch64_python) -> None:
    run = subprocess.run(aarch64_python + ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_kernels.py",
                                           "tests/test_ops.py", "tests/test_sparse.py", "tests/test_lstm.py",
                                           # The LRCN nets' convolutional halves take minutes under qemu and
                                           # reach no kernel the other tests do not.
                                           "-k", "not lrcn"],
                         cwd=ROOT, capture_output=True, text=True, timeout=1800)
    print(run.stdout[-2000:])
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    assert " passed" in run.stdout and " failed" not in run.stdout and " skipped" not in run.stdout
