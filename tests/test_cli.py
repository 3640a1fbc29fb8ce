"""Tests of the ``xnn`` command line (xnn/cli.py) and of the MTCNN face-detection demo (xnn/demo.py).

The CLI runs in-process: ``xnn.cli.main([...])`` returns the exit code, output is captured with capsys.
"""
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import caffe_tools as ct
import cv2
import xnn
from xnn import cli, demo

MTCNN = {k: demo.MODELS_DIR / f"det{k}.prototxt" for k in (1, 2, 3)}

# Where the face of the bundled 256x256 photo is (0-based pixels, checked by eye on the picture):
# forehead to chin about y = 30..87, cheek to cheek about x = 89..134; eyes near y = 50, mouth near y = 70.
FACE_REGION = (80, 15, 145, 100)  # x1, y1, x2, y2 that the detected box must lie within
FACE_CENTRE = (111, 58)


def xnn_main(capsys, *argv):
    """Runs ``xnn ARGV...``; returns (exit code, stdout, stderr)."""
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_user_error(rc, out, err, *fragments):
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xnn: error: "), err
    assert "Traceback" not in err + out
    for f in fragments:
        assert f in lines[0], (f, lines[0])


@pytest.fixture(scope="module")
def detector():
    return demo.FaceDetector(num_threads=2)


@pytest.fixture(scope="module")
def sample():
    return demo.load_sample_image()


@pytest.fixture(scope="module")
def detection(detector, sample):
    return detector.detect(sample)


# ------------------------------------------------------------------------------------ bundled data


def test_sample_image_is_bundled():
    img = demo.load_sample_image()
    assert demo.SAMPLE_IMAGE.parent == Path(xnn.__file__).resolve().parent / "data"
    assert img.shape == (256, 256, 3) and img.dtype == np.uint8
    assert 60 < img.mean() < 200 and img.std() > 30  # a real photo, not a blank
    assert (demo.SAMPLE_IMAGE.parent / "README.md").read_text().count("public domain") >= 1


# ------------------------------------------------------------------------------------ demo internals


def test_resample_matches_opencv():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (61, 47, 3)).astype(np.float32)
    for h, w in [(30, 20), (17, 13), (61, 23), (8, 8)]:  # shrinking: pixel-area average
        ref = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
        np.testing.assert_allclose(demo.resample(img, h, w), ref, atol=1e-3)
    for h, w in [(96, 90), (122, 94)]:  # enlarging: bilinear
        ref = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
        np.testing.assert_allclose(demo.resample(img, h, w), ref, atol=1e-3)


def test_nms_union_and_min():
    boxes = np.array(
        [
            [0, 0, 9, 9, 0.9],  # kept (best)
            [1, 1, 10, 10, 0.8],  # IoU 81/119 = 0.68 with the first
            [20, 20, 29, 29, 0.7],  # disjoint: kept
            [2, 2, 5, 5, 0.95],  # inside the first: IoU 16/100, min-overlap 1
        ],
        np.float64,
    )
    assert sorted(demo.nms(boxes, 0.5).tolist()) == [0, 2, 3]
    assert sorted(demo.nms(boxes, 0.7).tolist()) == [0, 1, 2, 3]
    # "min": box 3 (best) lies inside 0 and 1, so both overlap it fully
    assert sorted(demo.nms(boxes, 0.7, "min").tolist()) == [2, 3]
    assert demo.nms(np.zeros((0, 5)), 0.5).size == 0


def test_pyramid_scales():
    d = demo.FaceDetector.__new__(demo.FaceDetector)
    d.min_face, d.factor = 20.0, 0.709
    scales = d.scales(256, 256)
    assert scales[0] == pytest.approx(0.6)
    assert np.allclose(np.diff(np.log(scales)), np.log(0.709))
    assert 256 * scales[-1] >= 12 > 256 * scales[-1] * 0.709  # the smallest level still holds a 12x12 window
    assert len(scales) == 8


def test_detects_one_face_on_the_astronaut(detection, sample):
    assert len(detection.faces) == 1
    face = detection.faces[0]
    x1, y1, x2, y2 = face.box
    fx1, fy1, fx2, fy2 = FACE_REGION
    assert fx1 <= x1 < x2 <= fx2 and fy1 <= y1 < y2 <= fy2, face.box
    assert 35 <= x2 - x1 <= 65 and 35 <= y2 - y1 <= 70  # a ~50 px face
    assert abs((x1 + x2) / 2 - FACE_CENTRE[0]) < 8 and abs((y1 + y2) / 2 - FACE_CENTRE[1]) < 10
    assert face.score > 0.9
    # landmarks inside the box, in anatomical order (image left = the person's right: "left eye" has smaller x)
    (lex, ley), (rex, rey), (nx, ny), (mlx, mly), (mrx, mry) = face.landmarks
    assert all(x1 <= x <= x2 and y1 <= y <= y2 for x, y in face.landmarks)
    assert lex < nx < rex and mlx < nx < mrx
    assert max(ley, rey) < ny < min(mly, mry)
    assert 15 <= rex - lex <= 30  # eye distance of a ~50 px face
    # the eyes are darker than the skin around the nose
    gray = sample.astype(np.float32).mean(axis=2)
    eye = np.mean([gray[int(round(y)), int(round(x))] for x, y in face.landmarks[:2]])
    assert eye < gray[int(ny) + 3, int(nx)] - 10


def test_detection_stages(detection):
    # one P-Net plan per pyramid level: 8 input sizes 154x154 .. 14x14
    assert detection.pnet_sizes == [(154, 154), (109, 109), (78, 78), (55, 55), (39, 39), (28, 28), (20, 20), (14, 14)]
    c = detection.candidates
    assert c["pnet"] >= c["rnet"] >= c["onet"] == 1 and c["pnet"] > 5
    assert set(detection.times_ms) == {"pnet", "rnet", "onet", "total"}
    assert detection.times_ms["total"] >= detection.times_ms["pnet"] > 0


def test_detection_is_mirror_consistent(detector, sample, detection):
    flipped = detector.detect(np.ascontiguousarray(sample[:, ::-1]))
    assert len(flipped.faces) == 1
    a, b = detection.faces[0], flipped.faces[0]
    w = sample.shape[1]
    assert abs((w - b.box[2]) - a.box[0]) < 4 and abs((w - b.box[0]) - a.box[2]) < 4
    assert abs(a.box[1] - b.box[1]) < 4 and abs(a.box[3] - b.box[3]) < 4
    assert b.score > 0.9


def test_no_face_on_background(detector, sample):
    assert detector.detect(np.full((120, 160, 3), 128, np.uint8)).faces == []
    assert detector.detect(np.ascontiguousarray(sample[150:, 180:])).faces == []  # shuttle, helmet


def test_onet_face_probability_matches_numpy_reference(detection, sample):
    """The transposed-input convention, checked with a plain numpy forward of the real O-Net weights."""
    box = np.array([[np.fix(v) for v in detection.faces[0].box]], np.float64)
    box[:, :2] += 1  # to the 1-based inclusive boxes of _crops
    face = demo._normalize_transposed(demo._crops(sample.astype(np.float32), box, 48))
    wrong = np.ascontiguousarray(face.transpose(0, 1, 3, 2))  # not transposed: (N, 3, H, W)
    weights = ct.caffemodel_weights(MTCNN[3].with_suffix(".caffemodel"), MTCNN[3])
    ref = ct.numpy_forward(ct.load_prototxt(MTCNN[3]), weights, {"data": face.astype(np.float64)})["prob1"]
    onet = xnn.Model.load(MTCNN[3])
    got = onet.predict(face)["prob1"]
    np.testing.assert_allclose(got, ref, atol=1e-4)
    assert got[0, 1] > 0.9
    assert onet.predict(wrong)["prob1"][0, 1] < 0.7  # the same crop untransposed is no face to O-Net


# ------------------------------------------------------------------------------------ xnn demo


def _parse_demo(out):
    faces = re.findall(
        r"face \d+: box x=([\d.]+)\.\.([\d.]+) y=([\d.]+)\.\.([\d.]+) \(\d+x\d+ px\), probability ([\d.]+)", out
    )
    return [tuple(float(v) for v in f) for f in faces]


def test_cli_demo(capsys):
    rc, out, err = xnn_main(capsys, "demo", "--threads", 2)
    assert rc == 0 and err == ""
    assert "1 face(s) found in the 256x256 image" in out
    faces = _parse_demo(out)
    assert len(faces) == 1
    x1, x2, y1, y2, prob = faces[0]
    fx1, fy1, fx2, fy2 = FACE_REGION
    assert fx1 <= x1 < x2 <= fx2 and fy1 <= y1 < y2 <= fy2
    assert prob > 0.9
    for name in demo.LANDMARK_NAMES:
        assert re.search(rf"{name}\s+\(\s*[\d.]+,\s*[\d.]+\)", out), name
    assert f"{xnn.cpu_features()}, 2 threads" in out
    m = re.search(r"latency: P-Net ([\d.]+) ms \+ R-Net ([\d.]+) ms \+ O-Net ([\d.]+) ms = ([\d.]+) ms", out)
    assert m, out
    pnet, rnet, onet, total = map(float, m.groups())
    assert total >= pnet + rnet + onet - 0.3 and total < 2000
    assert "8 P-Net input sizes" in out and "154x154" in out


def test_cli_demo_other_image(capsys, tmp_path, sample):
    gray = tmp_path / "gray.npy"
    np.save(gray, np.full((100, 100, 3), 90, np.uint8))
    rc, out, _ = xnn_main(capsys, "demo", "--threads", 1, "--image", gray)
    assert rc == 0 and "0 face(s) found in the 100x100 image" in out and "1 thread" in out
    png = tmp_path / "astronaut.png"
    cv2.imwrite(str(png), np.ascontiguousarray(sample[:, :, ::-1]))
    rc, out, _ = xnn_main(capsys, "demo", "--image", png, "--min-face", 30)
    faces = _parse_demo(out)
    assert rc == 0 and len(faces) == 1 and faces[0][4] > 0.9


def test_cli_demo_errors(capsys, tmp_path):
    assert_user_error(*xnn_main(capsys, "demo", "--min-face", 5), "--min-face")
    bad = tmp_path / "gray2d.npy"
    np.save(bad, np.zeros((40, 40), np.float32))
    assert_user_error(*xnn_main(capsys, "demo", "--image", bad), "--image must be an HxWx3 uint8")
    assert_user_error(*xnn_main(capsys, "demo", "--threads", "two"), "--threads")


# ------------------------------------------------------------------------------------ xnn info


def _layer_rows(out):
    """name -> (type, shape, params, macs) of the layer table."""
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+)\s+(\S+)\s+(\d+(?:x\d+)*)\s+([\d,]+)\s+([\d,]+)$", line)
        if m:
            rows[m[1]] = (m[2], m[3], int(m[4].replace(",", "")), int(m[5].replace(",", "")))
    return rows


def _params_of(caffemodel, prototxt):
    return {k: sum(int(np.prod(b.shape)) for b in v) for k, v in ct.caffemodel_weights(caffemodel, prototxt).items()}


@pytest.mark.parametrize(
    "k, outputs",
    [(1, {"conv4-2": "1x4x1x1", "prob1": "1x2x1x1"}), (2, {"conv5-2": "1x4", "prob1": "1x2"}),
     (3, {"conv6-2": "1x4", "conv6-3": "1x10", "prob1": "1x2"})],
)
def test_cli_info_mtcnn(capsys, k, outputs):
    rc, out, err = xnn_main(capsys, "info", f"mtcnn/det{k}")
    assert rc == 0 and err == ""
    layers = [(n, t) for n, t, *_ in ct.iter_layers(ct.load_prototxt(MTCNN[k])) if t != "Input"]
    rows = _layer_rows(out)
    assert list(rows) == [n for n, _ in layers]  # every layer, in order
    assert [r[0] for r in rows.values()] == [t for _, t in layers]
    outs = out.split("outputs:")[1].split("\n\n")[0]
    for name, shape in outputs.items():
        assert re.search(rf"^\s+{re.escape(name)}\s+{shape}$", outs, re.M), (name, outs)
    params = _params_of(MTCNN[k].with_suffix(".caffemodel"), MTCNN[k])
    for name, (_, _, p, _) in rows.items():
        assert p == params.get(name, 0), name
    model = xnn.Model.load(MTCNN[k])
    macs = sum(r[3] for r in rows.values())
    m = re.search(r"total: (\d+) layers, ([\d,]+) params, ([\d.]+) GMACs, activation arena ([\d,]+) bytes", out)
    assert m, out
    assert int(m[1]) == len(layers) and int(m[2].replace(",", "")) == sum(params.values())
    assert float(m[3]) == pytest.approx(macs / 1e9, abs=1e-4)
    assert int(m[4].replace(",", "")) == model.arena_bytes()


def test_cli_info_input_shape_pnet(capsys):
    rc, out, _ = xnn_main(capsys, "info", "mtcnn/det1", "--input-shape", "1,3,154,154")
    assert rc == 0
    assert re.search(r"data\s+1x3x154x154\s+\(declared 1x3x12x12\)", out)
    rows = _layer_rows(out)
    # conv 3x3 -> 152, pool 2x2/2 -> 76, conv 3x3 -> 74, conv 3x3 -> 72
    assert rows["conv1"][1] == "1x10x152x152" and rows["pool1"][1] == "1x10x76x76"
    assert rows["conv3"][1] == "1x32x72x72" and rows["prob1"][1] == "1x2x72x72"
    assert rows["conv1"][3] == 10 * 3 * 9 * 152 * 152  # MACs
    assert re.search(r"^\s+prob1\s+1x2x72x72$", out, re.M) and re.search(r"^\s+conv4-2\s+1x4x72x72$", out, re.M)


def test_cli_info_random_model(capsys, random_caffe_model):
    proto, weights = random_caffe_model("squeezenet_v1.1")
    rc, out, _ = xnn_main(capsys, "info", proto, "--weights", weights, "--input-shape", "1,3,227,227")
    assert rc == 0
    rows = _layer_rows(out)
    model = xnn.Model.load(proto, weights)
    assert list(rows) == [l.name for l in model.layers]
    stats = model.layer_shapes((1, 3, 227, 227))
    assert [r[1] for r in rows.values()] == ["x".join(map(str, s.shape)) for s in stats]
    assert [r[3] for r in rows.values()] == [s.macs for s in stats]
    assert rows["conv1"][1] == "1x64x113x113" and rows["conv1"][2] == 64 * 3 * 9 + 64
    assert re.search(r"^\s+prob\s+1x1000x1x1$", out, re.M)


# ------------------------------------------------------------------------------------ xnn run


def _output_lines(out):
    return {m[1]: (m[2], float(m[3]), float(m[4]))
            for m in re.finditer(r"^output (\S+)\s+(\S+)\s+min (\S+)\s+max (\S+)$", out, re.M)}


def test_cli_run_npy_matches_predict(capsys, tmp_path):
    x = np.random.default_rng(3).standard_normal((3, 3, 24, 24)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    rc, out, err = xnn_main(capsys, "run", "mtcnn/det2", "--input", tmp_path / "x.npy", "--threads", 1,
                            "--save", tmp_path / "out.npz")
    assert rc == 0 and err == ""
    ref = xnn.Model.load(MTCNN[2], num_threads=1).predict(x)
    saved = np.load(tmp_path / "out.npz")
    assert sorted(saved.files) == sorted(ref) == ["conv5-2", "prob1"]
    for name in ref:
        np.testing.assert_array_equal(saved[name], ref[name])
    lines = _output_lines(out)
    for name, arr in ref.items():
        shape, lo, hi = lines[name]
        assert shape == "x".join(map(str, arr.shape))
        assert lo == pytest.approx(float(arr.min()), rel=1e-5, abs=1e-6)
        assert hi == pytest.approx(float(arr.max()), rel=1e-5, abs=1e-6)
    # a 2-class classifier: the top-2 of every batch item, best first
    for n in range(3):
        best = int(np.argmax(ref["prob1"][n]))
        assert re.search(rf"top-2 of item {n}:\n\s+1\. class {best}\s+{ref['prob1'][n, best]:.6f}", out)
    assert re.search(r"^latency: [\d.]+ ms \(1 thread\)$", out, re.M)


def test_cli_run_image_preprocessing(capsys, tmp_path, sample):
    crop = np.ascontiguousarray(sample[25:95, 80:145])  # the face, resized to 48x48 by the preprocessing
    np.save(tmp_path / "face.npy", crop)
    cv2.imwrite(str(tmp_path / "face.png"), np.ascontiguousarray(crop[:, :, ::-1]))
    opts = ["--mean", "127.5", "--scale", "0.0078125", "--channel-order", "rgb", "--threads", 1]
    ref = xnn.Model.load(MTCNN[3], num_threads=1).predict(crop, mean=127.5, scale=0.0078125, channel_order="RGB")
    for f in ("face.npy", "face.png"):
        rc, out, _ = xnn_main(capsys, "run", "mtcnn/det3", "--input", tmp_path / f, *opts, "--save", tmp_path / "o.npz")
        assert rc == 0
        saved = np.load(tmp_path / "o.npz")
        for name in ref:
            np.testing.assert_array_equal(saved[name], ref[name])
        assert _output_lines(out)["prob1"][0] == "1x2"


def test_cli_run_image_readers(capsys, tmp_path, sample, monkeypatch):
    png = tmp_path / "a.png"
    cv2.imwrite(str(png), np.ascontiguousarray(sample[:, :, ::-1]))
    np.testing.assert_array_equal(cli.read_image(png), sample)  # OpenCV, BGR -> RGB
    # no OpenCV: Pillow is used
    monkeypatch.setitem(sys.modules, "cv2", None)
    fake_pil = types.ModuleType("PIL")

    class _Img:
        def __init__(self, path):
            self.path = path

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def convert(self, mode):
            assert mode == "RGB"
            return sample.copy()

    fake_pil.Image = types.SimpleNamespace(open=_Img)
    monkeypatch.setitem(sys.modules, "PIL", fake_pil)
    np.testing.assert_array_equal(cli.read_image(png), sample)
    # neither: a clear message; .npy still works
    monkeypatch.setitem(sys.modules, "PIL", None)
    assert_user_error(*xnn_main(capsys, "run", "mtcnn/det3", "--input", png), "OpenCV", "Pillow", ".npy")
    np.save(tmp_path / "a.npy", sample)
    rc, out, _ = xnn_main(capsys, "run", "mtcnn/det3", "--input", tmp_path / "a.npy")
    assert rc == 0 and "prob1" in out


def test_cli_run_random_model_top_k(capsys, tmp_path, random_caffe_model):
    proto, weights = random_caffe_model("squeezenet_v1.1")
    x = np.random.default_rng(5).standard_normal((1, 3, 227, 227)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(f"label{i}" for i in range(1000)))
    rc, out, _ = xnn_main(capsys, "run", proto, "--weights", weights, "--input", tmp_path / "x.npy",
                          "--input-shape", "1,3,227,227", "--top", 3, "--labels", labels)
    assert rc == 0
    prob = xnn.Model.load(proto, weights).predict(x)
    assert prob.shape == (1, 1000, 1, 1)
    top = np.argsort(-prob.reshape(-1), kind="stable")[:3]
    got = re.findall(r"^\s+\d\. class (\d+)\s+([\d.]+)\s+label(\d+)$", out, re.M)
    assert [int(c) for c, _, _ in got] == top.tolist() == [int(l) for _, _, l in got]
    np.testing.assert_allclose([float(s) for _, s, _ in got], prob.reshape(-1)[top], atol=1e-6)


def test_cli_run_random_input(capsys, random_caffe_model):
    proto, weights = random_caffe_model("lenet_mnist")
    rc, out, _ = xnn_main(capsys, "run", proto, "--weights", weights, "--input-shape", "2,1,28,28")
    assert rc == 0
    assert re.search(r"^input  data\s+2x1x28x28  \(random normal\)$", out, re.M)
    shape, lo, hi = _output_lines(out)["prob"]
    assert shape == "2x10" and 0 <= lo <= hi <= 1
    assert out.count("top-5 of item") == 2


# ------------------------------------------------------------------------------------ bench / profile


def test_cli_bench(capsys):
    rc, out, err = xnn_main(capsys, "bench", "mtcnn/det3", "--runs", 7, "--warmup", 1, "--threads", 1)
    assert rc == 0 and err == ""
    assert "threads: 1, 1 warm-up + 7 timed runs" in out and "data 1x3x48x48" in out
    m = re.search(r"latency: min ([\d.]+) ms, median ([\d.]+) ms, max ([\d.]+) ms", out)
    lo, med, hi = map(float, m.groups())
    assert 0 < lo <= med <= hi


def test_cli_bench_input_shape(capsys):
    rc, out, _ = xnn_main(capsys, "bench", "mtcnn/det1", "--runs", 2, "--input-shape", "data=1,3,40,30")
    assert rc == 0 and "data 1x3x40x30" in out


def _profile_rows(out):
    rows = []
    for line in out.splitlines():
        m = re.match(r"^(\S+)\s+(\S+(?: layers)?)\s+(\d+(?:x\d+)*)?\s+([\d.]+)\s+([\d.]+|-)\s+([\d.]+)$", line)
        if m:
            rows.append(m.groups())
    return rows


@pytest.mark.parametrize("k", [1, 3])
def test_cli_profile_mtcnn(capsys, k):
    rc, out, err = xnn_main(capsys, "profile", f"mtcnn/det{k}", "--runs", 3)
    assert rc == 0 and err == ""
    rows = _profile_rows(out)
    model = xnn.Model.load(MTCNN[k])
    assert [r[0] for r in rows[:-1]] == [l.name for l in model.layers]  # execution order
    assert [r[1] for r in rows[:-1]] == [l.type for l in model.layers]
    total = rows[-1]
    assert total[0] == "total" and total[1] == f"{len(model.layers)} layers"
    times = [float(r[3]) for r in rows[:-1]]
    assert float(total[3]) == pytest.approx(sum(times), abs=1e-3 * len(times))
    assert sum(float(r[5]) for r in rows[:-1]) == pytest.approx(100, abs=0.1 * len(times))
    macs = {s.name: s.macs for s in model.layer_shapes()}
    for name, _, _, ms, gflops, _ in rows[:-1]:
        if gflops != "-" and float(ms) >= 0.01:
            assert float(gflops) == pytest.approx(2 * macs[name] / (float(ms) * 1e6), rel=0.02, abs=0.02)


def test_cli_profile_input_shape(capsys):
    rc, out, _ = xnn_main(capsys, "profile", "mtcnn/det1", "--runs", 2, "--input-shape", "1,3,100,80")
    rows = {r[0]: r for r in _profile_rows(out)}
    assert rc == 0 and rows["conv1"][2] == "1x10x98x78" and rows["prob1"][2] == "1x2x45x35"


# ------------------------------------------------------------------------------------ errors, help


def test_cli_errors(capsys, tmp_path):
    assert_user_error(*xnn_main(capsys, "info"), "required: MODEL")
    assert_user_error(*xnn_main(capsys, "info", tmp_path / "nope.prototxt"), "nope.prototxt", "no such file")
    assert_user_error(*xnn_main(capsys, "frobnicate"), "invalid choice")
    assert_user_error(*xnn_main(capsys, "run", "mtcnn/det1", "--threads", -1), "--threads")
    assert_user_error(*xnn_main(capsys, "bench", "mtcnn/det1", "--runs", 0), "--runs")
    assert_user_error(*xnn_main(capsys, "info", "mtcnn/det1", "--input-shape", "1,3,a,12"), "--input-shape")
    assert_user_error(*xnn_main(capsys, "info", "mtcnn/det1", "--input-shape", "1,3,12"), "4 dimensions")
    assert_user_error(*xnn_main(capsys, "info", "mtcnn/det1", "--input-shape", "img=1,3,12,12"), "no input 'img'")
    assert_user_error(*xnn_main(capsys, "run", "mtcnn/det1", "--input", tmp_path / "x.npy"), "no such file")
    assert_user_error(*xnn_main(capsys, "run", "mtcnn/det1", "--mean", "1,2,3"), "need an image")
    # the engine's own errors (XnnError): a too-small input, a malformed model, mismatched weights
    np.save(tmp_path / "small.npy", np.zeros((1, 3, 12, 12), np.float32))
    assert_user_error(*xnn_main(capsys, "run", "mtcnn/det2", "--input", tmp_path / "small.npy"), "conv3")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    assert_user_error(*xnn_main(capsys, "run", "mtcnn/det2", "--input", tmp_path / "junk.npy"), "not a .npy")
    np.save(tmp_path / "ints.npy", np.zeros((1, 3, 24, 24), np.int32))
    assert_user_error(*xnn_main(capsys, "run", "mtcnn/det2", "--input", tmp_path / "ints.npy"), "int32")
    bad = tmp_path / "bad.prototxt"
    bad.write_text('layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: }')
    assert_user_error(*xnn_main(capsys, "info", bad, "--weights", MTCNN[1].with_suffix(".caffemodel")))
    assert_user_error(*xnn_main(capsys, "info", MTCNN[1], "--weights", MTCNN[2].with_suffix(".caffemodel")), "conv1")


def test_cli_help_and_version(capsys):
    rc, out, _ = xnn_main(capsys, "--help")
    assert rc == 0 and all(c in out for c in ("info", "run", "bench", "profile", "demo"))
    for cmd in ("info", "run", "bench", "profile", "demo"):
        rc, out, _ = xnn_main(capsys, cmd, "--help")
        assert rc == 0 and out.startswith(f"usage: xnn {cmd}")
    rc, out, _ = xnn_main(capsys, "--version")
    assert rc == 0 and out.strip() == f"xnn {xnn.__version__} ({xnn.cpu_features()})"
    rc, out, _ = xnn_main(capsys)  # no command: the help, exit code 1
    assert rc == 1 and "usage: xnn" in out


# ------------------------------------------------------------------------------------ small hand-written models

TWO_INPUTS = """
name: "two_inputs"
layer { name: "in" type: "Input" top: "x" top: "y"
        input_param { shape { dim: 1 dim: 2 dim: 6 dim: 6 } shape { dim: 1 dim: 2 dim: 6 dim: 6 } } }
layer { name: "sum" type: "Eltwise" bottom: "x" bottom: "y" top: "s" eltwise_param { operation: SUM } }
layer { name: "conv" type: "Convolution" bottom: "s" top: "feat" convolution_param { num_output: 3 kernel_size: 3 } }
layer { name: "relu" type: "ReLU" bottom: "feat" top: "feat" }
"""

ONE_INPUT = """
name: "one_input"
input: "data" input_shape { dim: 1 dim: 2 dim: 6 dim: 6 }
layer { name: "conv" type: "Convolution" bottom: "data" top: "feat" convolution_param { num_output: 3 kernel_size: 3 } }
layer { name: "relu" type: "ReLU" bottom: "feat" top: "feat" }
"""


def _small_model(tmp_path, text, name):
    proto = tmp_path / f"{name}.prototxt"
    proto.write_text(text)
    ct.random_caffemodel(proto, tmp_path / f"{name}.caffemodel", seed=0)
    return proto


def test_cli_output_blob_not_named_after_a_layer(capsys, tmp_path):
    proto = _small_model(tmp_path, ONE_INPUT, "one")  # output blob "feat" of layers "conv" + in-place "relu"
    rc, out, _ = xnn_main(capsys, "info", proto)
    assert rc == 0 and re.search(r"^\s+feat\s+1x3x4x4$", out, re.M)
    rc, out, _ = xnn_main(capsys, "info", proto, "--input-shape", "1,2,11,9")
    assert rc == 0 and re.search(r"^\s+feat\s+1x3x9x7$", out, re.M)
    # The in-place ReLU is fused into the convolution at load: one layer, "Convolution+ReLU".
    assert list(_layer_rows(out)) == ["conv"] and "Convolution+ReLU" in out


def test_cli_run_named_inputs(capsys, tmp_path):
    proto = _small_model(tmp_path, TWO_INPUTS, "two")
    rng = np.random.default_rng(2)
    x, y = (rng.standard_normal((1, 2, 6, 6)).astype(np.float32) for _ in range(2))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y[0])  # (C, H, W): the batch axis is added
    rc, out, _ = xnn_main(capsys, "run", proto, "--input", f"y={tmp_path / 'y.npy'}", "--input",
                          f"x={tmp_path / 'x.npy'}", "--save", tmp_path / "o.npz")
    assert rc == 0 and "input  x" in out and "input  y" in out
    ref = xnn.Model.load(proto).run({"x": x, "y": y})["feat"]
    np.testing.assert_array_equal(np.load(tmp_path / "o.npz")["feat"], ref)
    assert _output_lines(out)["feat"][1] == pytest.approx(float(ref.min()), abs=1e-6)
    assert_user_error(*xnn_main(capsys, "run", proto, "--input", f"z={tmp_path / 'x.npy'}"), "no input 'z'")


def test_reshape_all_inputs_of_a_two_input_model(capsys, tmp_path):
    """Engine bug (reported): giving *every* input of a multi-input model a new shape fails.

    Model._session_for reshapes the inputs one at a time and each xnn_session_reshape_input re-plans the
    whole net at once, so after the first input is reshaped the Eltwise sees 9x8 + 6x6 and raises.
    """
    proto = _small_model(tmp_path, TWO_INPUTS, "two")
    model = xnn.Model.load(proto)
    x = np.ones((1, 2, 9, 8), np.float32)
    assert model.run({"x": x, "y": 2 * x})["feat"].shape == (1, 3, 7, 6)
    rc, out, err = xnn_main(capsys, "info", proto, "--input-shape", "x=1,2,9,8", "--input-shape", "y=1,2,9,8")
    assert rc == 0, err
    assert re.search(r"^\s+feat\s+1x3x7x6$", out, re.M)


def test_cli_run_image_no_resize(capsys, tmp_path, sample):
    img = np.ascontiguousarray(sample[20:60, 90:120])  # 40x30 uint8 RGB
    np.save(tmp_path / "img.npy", img)
    rc, out, _ = xnn_main(capsys, "run", "mtcnn/det1", "--input", tmp_path / "img.npy", "--no-resize", "--mean",
                          "127.5", "--scale", "0.0078125", "--channel-order", "RGB", "--save", tmp_path / "o.npz")
    assert rc == 0 and re.search(r"^input  data\s+1x3x40x30  \(from file\)$", out, re.M)
    ref = xnn.Model.load(MTCNN[1]).predict(img, mean=127.5, scale=0.0078125, channel_order="RGB", resize=False)
    assert ref["prob1"].shape == (1, 2, 15, 10)  # (40 - 10) / 2, (30 - 10) / 2
    np.testing.assert_array_equal(np.load(tmp_path / "o.npz")["prob1"], ref["prob1"])


def test_cli_convert_then_every_command_on_the_xnn(capsys, tmp_path):
    out_path = tmp_path / "det2.xnn"
    rc, out, err = xnn_main(capsys, "convert", "mtcnn/det2", "-o", out_path)
    assert rc == 0 and err == "", err
    size = out_path.stat().st_size
    assert re.search(rf"det2.xnn: {size:,} bytes \({size / 1024:.1f} KiB\), 13 layers, 100,178 params \(the Caffe", out)
    x = np.random.default_rng(4).standard_normal((2, 3, 24, 24)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    rc, out, err = xnn_main(capsys, "run", out_path, "--input", tmp_path / "x.npy", "--save", tmp_path / "o.npz")
    assert rc == 0 and err == ""
    ref = xnn.Model.load(MTCNN[2]).predict(x)
    saved = np.load(tmp_path / "o.npz")
    for name in ref:
        np.testing.assert_array_equal(saved[name], ref[name])
    rc, info_xnn, _ = xnn_main(capsys, "info", out_path)
    rc2, info_caffe, _ = xnn_main(capsys, "info", "mtcnn/det2")
    assert rc == rc2 == 0
    assert info_xnn.splitlines()[1:] == info_caffe.splitlines()[1:]  # all but the "model:" line
    assert xnn_main(capsys, "bench", out_path, "--runs", 2)[0] == 0
    assert_user_error(*xnn_main(capsys, "convert", out_path), "already a .xnn")
    (tmp_path / "bad.xnn").write_bytes(out_path.read_bytes()[:-10])
    assert_user_error(*xnn_main(capsys, "info", tmp_path / "bad.xnn"), "bad.xnn", "truncated")
