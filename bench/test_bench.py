"""pytest-benchmark: xnn and its peers (onnxruntime, OpenCV DNN, MNN, ncnn, TFLite, torch) on the
same models, batch 1, 1 and 2 threads.

    python -m pytest bench/ --benchmark-only                 # all runtimes, grouped by model x threads
    python -m pytest bench/ --benchmark-only -k xnn          # xnn only

These only measure (no speed assertions); each also asserts that the benchmarked runtime's output
agrees with every other runtime (max |a - b| <= 1e-4 * max |a|). A runtime whose package is not
installed is skipped. All runtimes share one process here; for an isolated, interleaved comparison
(and the runtime settings) use bench/bench_peers.py. The timed call is ``runner.predict`` on
``runner.prepare_input(x)``, as there.
Not collected by ``python -m pytest`` / ``pytest tests`` (pyproject's testpaths is ``tests``).
"""
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import models  # noqa: E402  (bench/models.py)

MODELS = ("squeezenet_v1.1", "mobilenet_v1")
THREADS = (1, 2)


@pytest.fixture(scope="module")
def reference():
    """``reference(model) -> (BenchModel, input, {runtime: outputs})``, computed once per model.

    The reference runners (1 thread, every installed runtime) are released right after, so that
    only the benchmarked runtime's thread pool is alive while it is timed.
    """
    cache = {}

    def get(name):
        if name not in cache:
            bm = models.prepare(name)
            x = bm.make_input()
            outs = {}
            for rt in models.RUNTIMES:
                if not models.installed(rt):
                    continue
                try:
                    runner = models.load_runner(rt, bm, 1)
                except models.caffe_tools.UnsupportedLayerError:
                    continue
                outs[rt] = runner.run(x)
                del runner
            problems = models.compare_outputs(outs)
            if problems:        # pairs are fine when both are within the tolerance of float64
                ref_err = models.reference_errors(models.reference_outputs(bm, x), outs)
                problems = models.excused_by_reference(problems, ref_err)
            assert not problems, f"{name}: reference runtimes disagree: {problems}"
            cache[name] = (bm, x, outs)
        return cache[name]

    return get


@pytest.mark.parametrize("runtime", models.RUNTIMES)
@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"t{t}")
@pytest.mark.parametrize("model", MODELS)
def test_predict(benchmark, reference, model, threads, runtime):
    if not models.installed(runtime):
        pytest.skip(f"{runtime}: not installed (module {models.RUNTIME_MODULES[runtime]!r})")
    bm, x, ref = reference(model)
    try:
        runner = models.load_runner(runtime, bm, threads)
    except models.caffe_tools.UnsupportedLayerError as e:
        pytest.skip(f"the bench cannot convert {model} for {runtime}: {e}")
    if hasattr(runner, "activate"):
        runner.activate()                   # cv2.setNumThreads / torch.set_num_threads are process-wide
    benchmark.group = f"{model} / {threads} thread{'s' if threads > 1 else ''}"
    benchmark.extra_info.update(runtime=runtime, version=runner.version(), threads=threads,
                                input_shape=list(bm.input_shape))
    if runtime == "xnn":
        benchmark.extra_info["macs"] = runner.macs()

    xi = runner.prepare_input(x)
    result = benchmark(runner.predict, xi)

    assert result is not None
    out = runner.run(x)
    assert set(out) == set(bm.outputs)
    for other, other_out in ref.items():
        if other != runtime:
            d = models.max_rel_diff(other_out, out)
            assert d <= models.AGREE_TOL, f"{runtime} vs {other}: max diff {d:.3g} of max"


PERMUTE_SHAPE = (1, 64, 56, 56)


@pytest.mark.parametrize("runtime", ["xnn", "numpy"])
def test_permute_nchw_to_nhwc(benchmark, runtime):
    """A 56x56x64 NCHW -> NHWC Permute on one thread next to NumPy's transpose + copy (what an app would do
    by hand). Measures only; the output must equal NumPy's."""
    import numpy as np
    import xnn

    x = np.random.default_rng(0).standard_normal(PERMUTE_SHAPE).astype(np.float32)
    want = np.transpose(x, (0, 2, 3, 1)).copy()
    benchmark.group = "permute 1x64x56x56 NCHW -> NHWC, 1 thread"
    if runtime == "numpy":
        got = benchmark(lambda: np.transpose(x, (0, 2, 3, 1)).copy())
    else:
        proto = (b'input: "data"\ninput_shape { dim: 1 dim: 64 dim: 56 dim: 56 }\n'
                 b'layer { name: "perm" type: "Permute" bottom: "data" top: "out" '
                 b'permute_param { order: 0 order: 2 order: 3 order: 1 } }')
        model = xnn.Model.from_caffe_bytes(proto, b"", num_threads=1)
        got = benchmark(lambda: model.predict(x))
    np.testing.assert_array_equal(got, want)
