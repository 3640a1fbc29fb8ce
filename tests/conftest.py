"""Shared pytest fixtures of xnn's tests."""
import sys
from pathlib import Path

import pytest

_TESTS_DIR = Path(__file__).resolve().parent
if str(_TESTS_DIR) not in sys.path:      # so `import caffe_tools` works with any --import-mode
    sys.path.insert(0, str(_TESTS_DIR))

import caffe_tools  # noqa: E402

#: Seed of every random Caffe model the fixtures generate.
CAFFE_SEED = 0


@pytest.fixture(scope="session")
def random_caffe_model(tmp_path_factory):
    """Factory ``random_caffe_model(name, v1=False) -> (prototxt Path, caffemodel Path)``.

    ``name`` is a model of tests/data/caffe (see ``caffe_tools.CAFFE_MODELS``). The caffemodel
    holds seeded random weights (seed ``CAFFE_SEED``, shapes for batch-1 inputs, or the declared ones where a
    Reshape fixes the batch) and is generated
    at most once per session and ``v1`` flavour (V1 writes the legacy ``layers`` field), under a
    session temp dir. Weights: ``caffe_tools.caffemodel_weights(caffemodel, prototxt)``.
    """
    root = tmp_path_factory.mktemp("caffe_models")
    cache = {}

    def get(name: str, v1: bool = False):
        key = (name, bool(v1))
        if key not in cache:
            prototxt = caffe_tools.model_prototxt(name)
            shapes = caffe_tools.net_input_shapes(prototxt, batch=1)
            try:
                caffe_tools.analyze_net(prototxt, shapes)
            except ValueError:  # batch fixed by a Reshape (the LRCN nets): the declared shapes
                shapes = caffe_tools.net_input_shapes(prototxt)
            out = root / f"{name}{'.v1' if v1 else ''}.caffemodel"
            caffe_tools.random_caffemodel(prototxt, out, seed=CAFFE_SEED, input_shapes=shapes, v1=v1)
            cache[key] = (prototxt, out)
        return cache[key]

    return get


@pytest.fixture(scope="session")
def caffe_model(random_caffe_model):
    """Alias of :func:`random_caffe_model`."""
    return random_caffe_model
