"""Kernel testers: every kernel family of every kernel set this CPU has, against NumPy, on random
shapes that cover every tail (rows below MR, columns below NR and below one vector, K of 0..odd) and the
accumulate/activation paths. Op-level tests (test_ops.py) cover the same kernels inside the operators."""

import numpy as np
import pytest

import xnn
from test_ops import rng_for
from xnn import _xnn

T = _xnn.testing
ISAS = xnn.available_isas()
INF = float("inf")
ACTS = {"identity": (1.0, -INF, INF), "relu": (0.0, -INF, INF), "leaky": (0.1, -INF, INF), "relu6": (0.0, -INF, 6.0)}


def act(y, slope, lo, hi):
    y = np.where(y > 0, y, y * slope)
    return np.clip(y, lo, hi)


def close(got, want, what):
    scale = max(float(np.abs(want).max()), 1.0)
    err = float(np.abs(got - want).max()) if want.size else 0.0
    assert got.shape == want.shape and err <= 1e-5 * scale, f"{what}: max error {err:.3g} (scale {scale:.3g})"


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("act_name", list(ACTS))
def test_gemm(isa, act_name):
    rng = rng_for(isa, act_name)
    slope, lo, hi = ACTS[act_name]
    shapes = [(1, 1, 1), (3, 5, 7), (8, 32, 16), (9, 33, 17), (17, 47, 64), (5, 100, 300), (25, 13, 3), (40, 64, 1)]
    # Every column count up to three full panels: each full, wide and narrow tile, alone and after full ones.
    shapes += [(int(rng.integers(1, 20)), n, int(rng.integers(1, 40))) for n in range(1, 150)]
    shapes += [tuple(int(v) for v in rng.integers(1, 70, 3)) for _ in range(12)]
    for m, n, k in shapes:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        bias = rng.standard_normal(m).astype(np.float32)
        for kc in (0, 7, 64):  # whole K, and chunks that take the accumulate path
            # B packed in panels, or read in place (rows n floats apart) by every tile it fills.
            for with_bias, in_place in ((True, False), (False, False), (True, True), (False, True)):
                got = T.gemm(isa, a, b, bias if with_bias else None, slope, lo, hi, kc, in_place)
                want = a.astype(np.float64) @ b + (bias[:, None] if with_bias else 0)
                close(got, act(want, slope, lo, hi),
                      f"{isa} gemm m={m} n={n} k={k} kc={kc} bias={with_bias} in_place={in_place}")
            # A residual sum stored over the residual: C starts as R, the first chunk adds the bias.
            r = rng.standard_normal((m, n)).astype(np.float32)
            got = T.gemm(isa, a, b, bias, slope, lo, hi, kc, False, residual=r)
            if has_add_bias(isa):
                want = a.astype(np.float64) @ b + bias[:, None] + r
                close(got, act(want, slope, lo, hi), f"{isa} gemm + residual m={m} n={n} k={k} kc={kc}")
            else:
                assert got is None, f"{isa}: the set's tiles do not add the bias onto C"


def has_add_bias(isa):
    """Sets whose GEMM tiles add the bias onto a loaded C (XNN_GEMM_ADD_BIAS)."""
    return isa in ("avx2", "avx512")


@pytest.mark.parametrize("isa", ISAS)
def test_gemv(isa):
    """The single-column GEMV over packed weight panels (a classifier's 1x1 convolution on one pixel), called
    as the operators do: up to four panels at a time, far apart (every count from 1 to 4, K tails of 0-3)."""
    rng = np.random.default_rng(11)
    for m, k in [(1, 1), (3, 5), (8, 3), (9, 17), (17, 64), (40, 1), (1000, 1280), (5, 4), (13, 7), (16, 8), (24, 15),
                 (8, 2049), (48, 33), (78, 10), (100, 2)]:
        a = rng.standard_normal((m, k)).astype(np.float32)
        x = rng.standard_normal(k).astype(np.float32)
        close(T.gemv(isa, a, x), a.astype(np.float64) @ x, f"{isa} gemv m={m} k={k}")


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("act_name", list(ACTS))
def test_fc(isa, act_name):
    """The fully connected family: K with every tail below 16, row counts around the 4-row blocks, batch."""
    rng = np.random.default_rng(12)
    slope, lo, hi = ACTS[act_name]
    for batch, n, k in [(1, 1, 1), (1, 5, 7), (2, 4, 16), (3, 7, 17), (1, 13, 31), (2, 9, 100), (1, 64, 9216)]:
        x = rng.standard_normal((batch, k)).astype(np.float32)
        w = rng.standard_normal((n, k)).astype(np.float32)
        bias = rng.standard_normal(n).astype(np.float32)
        for with_bias in (True, False):
            got = T.fc(isa, x, w, bias if with_bias else None, slope, lo, hi)
            want = x.astype(np.float64) @ w.T + (bias if with_bias else 0)
            # Rounding grows with the sums, not with what the activation leaves of them.
            scale = max(float(np.abs(want).max()), 1.0)
            err = float(np.abs(got - act(want, slope, lo, hi)).max())
            assert err <= 1e-5 * scale, f"{isa} fc batch={batch} n={n} k={k} bias={with_bias}: max error {err:.3g}"


def pruned(rng, shape, zeros):
    """Random weights with a fraction `zeros` of them exactly 0 (and -0.0 among the zeros: it is a zero too)."""
    w = rng.standard_normal(shape).astype(np.float32)
    cut = rng.random(shape) < zeros
    w[cut] = np.where(rng.random(int(cut.sum())) < 0.5, 0.0, -0.0)
    return w


def block_pruned(rng, shape, zeros, block=4):
    """Random weights pruned in blocks of `block` rows (output channels) sharing their zero columns, with
    a zero left inside a kept block."""
    rows, cols = shape
    keep = np.repeat(rng.random((rows // block, cols)) >= zeros, block, axis=0)
    w = np.where(keep, rng.standard_normal(shape), 0.0).astype(np.float32)
    if keep.any():
        r, c = np.argwhere(keep)[0]
        w[r + 1, c] = 0.0
    return w


VARIANTS = {"tile": 0, "wide": 1, "blocked": 2}


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("zeros", [0.0, 0.5, 0.9, 0.99, 1.0])
def test_spmm(isa, variant, zeros):
    """The SpMM family (the set's kernel, its wide one for short K, and its blocked one for weights pruned
    in blocks of four channels, where it has them) against NumPy: pixel counts around every tile and
    vector width (and tails shorter than a vector), 1 to many channels, rows with no nonzero, strided
    input and output (the columns past `pixels` must stay untouched), bias and residual present or not,
    every activation; one pixel with unit row stride (a fully connected item) with rows long enough for
    every gather width."""
    family = {"wide": "spmm_wide", "blocked": "spmm_blocked"}.get(variant)
    if family and not has(isa, family):
        assert T.spmm(isa, VARIANTS[variant], 1, np.ones((4, 1), np.float32), np.ones((4, 4), np.float32), None,
                      None, 1, *ACTS["identity"]) is None
        return
    rng = np.random.default_rng(int(zeros * 100) + len(isa) + VARIANTS[variant])
    pixels_list = [1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 47, 48, 49, 63, 64, 65, 80, 96, 97, 100, 127,
                   196]
    blocked = variant == "blocked"
    cases = [(p, int(rng.integers(1, 20)), int(rng.integers(1, 70))) for p in pixels_list]
    cases += [(1, 9, 2000), (1, 40, 33), (1, 5, 17), (49, 64, 512), (5, 3, 300), (32, 1, 1), (1, 1, 1)]
    if blocked:
        cases = [(p, 4 * max(c // 4, 1), k) for p, c, k in cases]
    for n, (pixels, channels, k) in enumerate(cases):
        w = block_pruned(rng, (channels, k), zeros) if blocked else pruned(rng, (channels, k), zeros)
        if channels > 4 and zeros < 1:
            w[4:8 if blocked else 5] = 0.0  # a channel (block) with no nonzero
        in_stride = pixels + (n % 3) * 5
        out_stride = pixels + n % 2 * 3
        x = rng.standard_normal((k, in_stride)).astype(np.float32)
        bias = rng.standard_normal(channels).astype(np.float32) if n % 2 else None
        residual = rng.standard_normal((channels, out_stride)).astype(np.float32) if n % 3 == 1 else None
        want = w.astype(np.float64) @ x[:, :pixels]
        want += 0 if bias is None else bias[:, None]
        want += 0 if residual is None else residual[:, :pixels]
        for name, (slope, lo, hi) in ACTS.items():
            got = T.spmm(isa, VARIANTS[variant], pixels, x, w, bias, residual, out_stride, slope, lo, hi)
            what = (f"{isa} spmm {variant} zeros={zeros} pixels={pixels} channels={channels} k={k} "
                    f"strides={in_stride},{out_stride}")
            assert np.isnan(got[:, pixels:]).all(), f"{what}: wrote past the last pixel"
            close(got[:, :pixels], act(want, slope, lo, hi), f"{what} {name}")
    if blocked:
        # Three channels are no whole block: the kernel is refused, not run past the weights.
        assert T.spmm(isa, 2, 1, np.ones((4, 1), np.float32), np.ones((3, 4), np.float32), None, None, 1,
                      *ACTS["identity"]) is None


@pytest.mark.parametrize("isa", ISAS)
def test_spmm_blocked_alike_anywhere(isa):
    """The blocked SpMM kernel computes each pixel the same way wherever a call's pixels start (the pointwise +
    depthwise pair runs it on bands of rows and needs a band's pixels as the layer alone computes them): a call
    on pixels [s, s + n) gives bit for bit what the call on all pixels gives there."""
    if not has(isa, "spmm_blocked"):
        return
    rng = np.random.default_rng(7)
    for pixels, channels, k in [(100, 8, 24), (197, 12, 40), (64, 4, 7)]:
        w = block_pruned(rng, (channels, k), 0.75)
        x = rng.standard_normal((k, pixels)).astype(np.float32)
        bias = rng.standard_normal(channels).astype(np.float32)
        whole = T.spmm(isa, VARIANTS["blocked"], pixels, x, w, bias, None, pixels, *ACTS["relu"])
        for s, n in [(1, 37), (5, pixels - 5), (17, 15), (31, 33), (pixels - 3, 3)]:
            part = T.spmm(isa, VARIANTS["blocked"], n, np.ascontiguousarray(x[:, s:s + n]), w, bias, None, n,
                          *ACTS["relu"])
            assert np.array_equal(part[:, :n], whole[:, s:s + n]), f"{isa} pixels [{s}, {s + n}) of {pixels}"


def test_gemm_tiles():
    """Each set's GEMM tiles: the full tile and the narrow ones for column tails (all reached by test_gemm)."""
    want = {"ref": "4x16 4x8 4x1", "avx2": "6x16 6x8 6x1 wide 6x17",
            "avx512": "8x48 8x32 8x16 8x1 tail 16x24 wide 8x49", "neon": "8x12 8x4 8x1"}
    for isa in ISAS:
        assert T.gemm_tiles(isa) == want[isa], isa


def has(isa, family):
    return family in T.families(isa).split()


@pytest.mark.parametrize("isa", ISAS)
def test_dwconv_general(isa):
    """The general depthwise family (unpadded input, any geometry): what depthwise layers other than 3x3
    stride 1 or 2 run on."""
    rng = np.random.default_rng(6)
    cases = [(3, 1, 1, 1), (3, 2, 1, 1), (3, 1, 0, 1), (3, 2, 0, 1), (5, 1, 2, 1), (3, 1, 2, 2), (5, 2, 1, 1),
             (1, 1, 0, 1), (3, 3, 1, 1)]
    for k, s, pad, d in cases:
        for ih, iw in [(1, 1), (3, 5), (7, 16), (9, 17), (12, 33), (20, 40), (2, 47)]:
            ek = d * (k - 1) + 1
            oh, ow = (ih + 2 * pad - ek) // s + 1, (iw + 2 * pad - ek) // s + 1
            if oh < 1 or ow < 1:
                continue
            x = rng.standard_normal((ih, iw)).astype(np.float32)
            w = rng.standard_normal(k * k).astype(np.float32)
            for slope, lo, hi in ACTS.values():
                got = T.dwconv(isa, x, w, 0.5, [ih, iw, oh, ow, k, k, s, s, d, d, pad, pad], slope, lo, hi)
                xp = np.pad(x.astype(np.float64), pad)
                want = np.full((oh, ow), 0.5)
                for ky in range(k):
                    for kx in range(k):
                        want += w[ky * k + kx] * xp[ky * d:ky * d + s * oh:s, kx * d:kx * d + s * ow:s]
                close(got, act(want, slope, lo, hi), f"{isa} dwconv k{k} s{s} p{pad} d{d} {ih}x{iw}")


@pytest.mark.parametrize("isa", [i for i in ISAS if has(i, "dwconv3x3")])
@pytest.mark.parametrize("stride", [1, 2])
def test_dwconv3x3(isa, stride):
    rng = np.random.default_rng(stride)
    for oh, ow in [(1, 1), (2, 3), (5, 7), (7, 16), (8, 17), (13, 31), (3, 33), (16, 64)]:
        ih, iw = (oh - 1) * stride + 3, (ow - 1) * stride + 3
        stride_floats = iw + 5
        plane = np.zeros((ih + 1, stride_floats + 64), np.float32)
        plane[:ih, :iw] = rng.standard_normal((ih, iw))
        w = rng.standard_normal(9).astype(np.float32)
        for slope, lo, hi in ACTS.values():
            got = T.dwconv3x3(isa, stride, oh, ow, plane, w, 0.25, slope, lo, hi)
            want = np.full((oh, ow), 0.25)
            for ky in range(3):
                for kx in range(3):
                    want += w[ky * 3 + kx] * plane[ky:ky + stride * oh:stride, kx:kx + stride * ow:stride]
            close(got, act(want, slope, lo, hi), f"{isa} dwconv3x3 s{stride} {oh}x{ow}")


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("in_place", [False, True])
def test_vaddc(isa, in_place):
    rng = np.random.default_rng(11)
    for n in [0, 1, 15, 16, 17, 63, 64, 65, 127, 200, 1001]:
        x = rng.standard_normal(n).astype(np.float32)
        c = np.float32(rng.standard_normal())
        y = T.vaddc(isa, x, float(c), in_place)
        np.testing.assert_array_equal(y[:n], x + c, err_msg=f"{isa} vaddc n={n} in_place={in_place}")
        assert np.all(y[n:] == 7.0), f"{isa} vaddc n={n} wrote past the end"


@pytest.mark.parametrize("isa", ISAS)
def test_lrn(isa):
    """The LRN family against NumPy in float64: 1 to 7 channels in the window, rows of 0 to 1001 pixels
    (tails under a vector), the vector kernels' case (beta 0.75, k > 0: AlexNet's and GoogLeNet's) and the
    portable fallback's (other betas, k = 0), large and tiny sums of squares."""
    rng = np.random.default_rng(17)
    for n in [0, 1, 7, 8, 9, 15, 16, 17, 33, 100, 1001]:
        for taps in [1, 3, 5, 7]:
            for k, alpha, beta, spread in [(1.0, 1e-4 / 5, 0.75, 1.0), (2.0, 0.3, 0.75, 30.0), (1.0, 2e-5, 0.75, 1e-3),
                                           (0.5, 0.01, 0.5, 3.0), (1.0, 0.1, 1.0, 1.0), (0.0, 0.2, 0.6, 2.0)]:
                stride = n + int(rng.integers(0, 5))
                rows = (rng.standard_normal((taps, stride)) * spread).astype(np.float32)
                x = rows[taps // 2, :n].copy()
                y = T.lrn(isa, rows, x, k, alpha, beta)
                s = (rows[:, :n].astype(np.float64) ** 2).sum(axis=0)
                base = k + alpha * s
                with np.errstate(divide="ignore"):
                    want = x * base ** -beta
                what = f"{isa} lrn n={n} taps={taps} k={k} beta={beta}"
                finite = np.isfinite(want)
                np.testing.assert_allclose(y[:n][finite], want[finite], rtol=2e-6, atol=1e-30, err_msg=what)
                assert np.all(y[n:] == 7.0), what + ": wrote past the end"


def test_pad_plane():
    # Rows narrower than 16 floats take the per-row path, wider ones the chunked one; planes cut by the
    # stride or by the rows, no padding, padding wider than a chunk, interiors of 1-3, 4-7, 8-15 and 16+.
    rng = np.random.default_rng(5)
    cases = [(3, 3, 5, 5, 1, 1), (28, 28, 30, 30, 1, 1), (14, 14, 16, 16, 1, 1), (7, 7, 10, 10, 1, 2),
             (5, 2, 9, 19, 3, 17), (6, 5, 8, 16, 1, 1), (4, 9, 7, 40, 2, 20), (3, 17, 5, 17, 0, 0),
             (3, 17, 5, 18, 1, 1), (10, 33, 6, 36, 2, 3), (4, 20, 8, 18, 1, 2), (4, 1, 6, 16, 1, 7),
             (2, 3, 4, 16, 0, 13), (5, 5, 3, 16, 4, 0), (2, 4, 2, 20, 2, 0), (56, 56, 58, 58, 1, 1)]
    for ih, iw, rows, stride, top, left in cases:
        x = rng.standard_normal((ih, iw)).astype(np.float32)
        got = T.pad_plane(x, rows, stride, top, left)
        want = np.zeros((rows + top + ih, stride + left + iw), np.float32)
        want[top:top + ih, left:left + iw] = x
        what = f"pad_plane {ih}x{iw} -> {rows}x{stride} at ({top}, {left})"
        assert np.array_equal(got[:rows], want[:rows, :stride]), what
        assert np.isnan(got[rows]).all(), what + ": wrote past the plane"


@pytest.mark.parametrize("isa", [i for i in ISAS if has(i, "maxpool_padded")])
def test_maxpool_padded(isa):
    rng = np.random.default_rng(3)
    for oh, ow, kh, kw, s in [(1, 1, 2, 2, 2), (5, 7, 3, 3, 2), (9, 17, 3, 3, 1), (4, 33, 2, 2, 2), (6, 16, 5, 3, 1),
                              (3, 15, 3, 4, 2), (28, 28, 3, 3, 2), (1, 1, 3, 3, 2), (2, 16, 3, 3, 2),
                              (3, 17, 3, 3, 2), (2, 31, 3, 3, 2), (4, 56, 3, 3, 2), (4, 9, 2, 3, 2), (3, 10, 5, 3, 2),
                              (28, 28, 3, 3, 1), (7, 7, 3, 3, 1), (1, 1, 3, 3, 1), (3, 16, 3, 3, 1), (2, 33, 3, 3, 1)]:
        ih, iw = (oh - 1) * s + kh, (ow - 1) * s + kw
        plane = np.full((ih + 1, iw + 70), -np.inf, np.float32)
        plane[:ih, :iw] = rng.standard_normal((ih, iw))
        got = T.maxpool(isa, oh, ow, kh, kw, s, plane)
        want = np.full((oh, ow), -np.inf, np.float32)
        for ky in range(kh):
            for kx in range(kw):
                want = np.maximum(want, plane[ky:ky + s * oh:s, kx:kx + s * ow:s])
        close(got, want, f"{isa} maxpool {kh}x{kw}/{s} {oh}x{ow}")


# The family's matrices (points 0, 1, -1, 1/2, -2, infinity), written out independently of the C code.
BT = np.array([[1, -1.5, -2, 1.5, 1, 0], [0, -1, 0.5, 2.5, 1, 0], [0, 1, -2.5, 0.5, 1, 0],
               [0, -2, -1, 2, 1, 0], [0, 0.5, -1, -0.5, 1, 0], [0, 1, -1.5, -2, 1.5, 1]])
AT = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 0.5, -2, 0], [0, 1, 1, 0.25, 4, 0], [0, 1, -1, 0.125, -8, 1]])


# F(2x2, 3x3) (points 0, 1, -1, infinity).
BT2 = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])
AT2 = np.array([[1, 1, 1, 0], [0, 1, -1, -1]])
WINOGRAD = {4: ("wino43", BT, AT), 2: ("wino23", BT2, AT2)}


@pytest.mark.parametrize("isa,tile", [(i, t) for i in ISAS for t in (4, 2) if has(i, WINOGRAD[t][0])])
def test_winograd_transforms(isa, tile):
    """Input and output transforms of F(4x4, 3x3) and F(2x2, 3x3) against the matrices written out here, on
    1 to 16 tiles, with partial output tiles (rows and columns cut off) that must not be written past."""
    rng = np.random.default_rng(4 + tile)
    _, bt, at = WINOGRAD[tile]
    p, e = tile + 2, (tile + 2) ** 2
    for tiles in range(1, 17):
        patch = rng.standard_normal((p, tile * tiles + 2 + 80)).astype(np.float32)  # XNN_WINO43_EXTRA slack
        m = rng.standard_normal((e, 16)).astype(np.float32)
        n = tile * tiles
        for rows, cols in [(tile, n), (tile - 1, n - 1), (1, 1), (max(1, tile - 2), max(1, n - 3))]:
            v, out = T.winograd(isa, tile, tiles, patch, m, 0.5, 0.0, -INF, INF, rows, cols)
            for t in range(tiles):
                d = patch[:, tile * t:tile * t + p].astype(np.float64)
                close(v[:, t].reshape(p, p), bt @ d @ bt.T, f"{isa} F{tile} input tile {t}/{tiles}")
                y = act(at @ m[:, t].reshape(p, p).astype(np.float64) @ at.T + 0.5, 0.0, -INF, INF)
                want = np.zeros((tile, tile))
                want[:rows, :] = y[:rows]
                cut = np.clip(cols - tile * t, 0, tile)
                want[:, cut:] = 0
                close(out[:, tile * t:tile * t + tile], want,
                      f"{isa} F{tile} output tile {t}/{tiles} rows={rows} cols={cols}")
            assert not out[:, cols:].any(), "wrote past the last column"
            assert not out[rows:].any(), "wrote past the last row"


@pytest.mark.parametrize("isa", ISAS)
def test_winograd_input_two_tile_rows(isa):
    """The F(4x4, 3x3) input transform of two tile rows at once (maps of up to 7 tiles a row), 1 to 7 tiles a
    row, against the matrices: row 0's tiles first, then row 1's, and nothing written past them. A set without
    it (the operator then takes one row a call) has the tester say so."""
    rng = np.random.default_rng(44)
    if not has(isa, "wino43_rows2"):
        patch = np.zeros((6, 32), np.float32)
        assert T.winograd_rows2(isa, 1, patch, patch) is None
        return
    for tiles in range(1, 8):
        # Each patch row read as 32 floats from its start (XNN_WINO43_EXTRA slack past the last one).
        p0, p1 = (rng.standard_normal((6, 4 * tiles + 2 + 80)).astype(np.float32) for _ in range(2))
        v = T.winograd_rows2(isa, tiles, p0, p1)
        for r, patch in enumerate((p0, p1)):
            for t in range(tiles):
                d = patch[:, 4 * t:4 * t + 6].astype(np.float64)
                close(v[:, r * tiles + t].reshape(6, 6), BT @ d @ BT.T, f"{isa} row {r} tile {t}/{tiles}")
        assert not v[:, 2 * tiles:].any(), "wrote past the two rows' tiles"


@pytest.mark.parametrize("isa", ISAS)
def test_winograd_output_tile_rows(isa):
    """The F(4x4, 3x3) output transform of whole tile rows (maps of up to 8 tiles a row), every row width and
    row count that fits 16 lanes, the last tile row cut to 1-4 rows and the columns to a partial last tile,
    against the matrices, with nothing written past the rows and columns asked for (the output is 3 columns
    wider than the tiles). A set without it has the tester say so."""
    rng = np.random.default_rng(45)
    m = rng.standard_normal((36, 16)).astype(np.float32)
    if not has(isa, "wino43_output_rows"):
        assert T.winograd_output_rows(isa, 4, 4, m, 0.0, 1.0, -INF, INF, 4, 16) is None
        return
    for tiles_x in range(1, 9):
        for tile_rows in range(1, 16 // tiles_x + 1):
            m = rng.standard_normal((36, 16)).astype(np.float32)
            for rows, cols, name in [(4, 4 * tiles_x, "relu"), (1, 4 * tiles_x - 1, "identity"),
                                     (3, max(1, 4 * tiles_x - 3), "relu6"), (2, 4 * tiles_x - 2, "leaky")]:
                got = T.winograd_output_rows(isa, tiles_x, tile_rows, m, 0.25, *ACTS[name], rows, cols)
                want = np.zeros((4 * tile_rows, 4 * tiles_x + 3))
                for t in range(tiles_x * tile_rows):
                    q, x = divmod(t, tiles_x)
                    want[4 * q:4 * q + 4, 4 * x:4 * x + 4] = act(
                        AT @ m[:, t].reshape(6, 6).astype(np.float64) @ AT.T + 0.25, *ACTS[name])
                want[:, cols:] = 0
                want[4 * (tile_rows - 1) + rows:] = 0
                close(got, want, f"{isa} tiles_x={tiles_x} tile_rows={tile_rows} rows={rows} cols={cols} {name}")
                assert not got[:, cols:].any() and not got[4 * (tile_rows - 1) + rows:].any(), "wrote past"


@pytest.mark.parametrize("isa", ISAS)
def test_im2col_panel(isa):
    """Runs of every length up to 40 (vector tails), strides 1-3, read from the very end of the source (a
    read past the run would leave the buffer: the sanitizer build catches it), into a wider panel whose
    other columns must stay untouched."""
    rng = np.random.default_rng(5)
    for stride in (1, 2, 3):
        for length in list(range(1, 41)) + [64, 67]:
            span = (length - 1) * stride + 1
            src = rng.standard_normal(span + 11).astype(np.float32)
            offsets = [0, 11, 3, 7, 11][: 1 + length % 5]
            width = length + int(rng.integers(0, 9))
            got = T.im2col_panel(isa, length, src, offsets, stride, width)
            want = np.full((len(offsets), width), -1.0, np.float32)
            for p, o in enumerate(offsets):
                want[p, :length] = src[o + stride * np.arange(length)]
            np.testing.assert_array_equal(got, want, err_msg=f"{isa} im2col_panel len={length} stride={stride}")


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("stride", [1, 2])
def test_dwconv3x3p1(isa, stride):
    """The unpadded pad-1 3x3 depthwise family against a zero-padded NumPy convolution: planes from 1x1 up,
    widths around the 8- and 16-lane vectors (and, for stride 2, around 16 and 32 input columns), odd heights. The plane
    is passed as an exact-size array, so a read outside it shows in the sanitizer build; ranges of output rows
    write those rows only. The family is optional: a set without it must say so (the operators then use the
    padded kernels)."""
    rng = np.random.default_rng(7 + stride)
    if not has(isa, f"dwconv3x3p1s{stride}"):
        assert T.dwconv3x3p1(isa, stride, np.zeros((3, 3), np.float32), np.zeros(9, np.float32), 0.0,
                             *ACTS["identity"]) is None
        return
    for ih, iw in [(1, 1), (1, 2), (2, 1), (3, 5), (7, 7), (14, 14), (5, 15), (4, 16), (6, 17), (9, 31),
                   (8, 32), (3, 33), (13, 47), (2, 64), (5, 65), (28, 28), (11, 112),
                   # two rows a vector: at most 7 wide (stride 1), 14 wide (stride 2)
                   (1, 7), (2, 7), (8, 6), (9, 7), (6, 3), (11, 13), (14, 9), (4, 14), (15, 14), (2, 12),
                   # AVX2's 8 lanes: the first tile inside the plane, 17 and 16 input columns for stride 2
                   (3, 8), (5, 9), (4, 10), (6, 24), (7, 25), (3, 26),
                   # AVX2's stride 2 goes in chunks of rows (15 a chunk at 112 columns) and strips of 256
                   # output columns
                   (40, 112), (33, 113), (3, 600), (4, 1025), (2, 1031)]:
        x = rng.standard_normal((ih, iw)).astype(np.float32)
        w = rng.standard_normal(9).astype(np.float32)
        for slope, lo, hi in [ACTS["identity"], ACTS["relu6"]]:
            got = T.dwconv3x3p1(isa, stride, x, w, 0.5, slope, lo, hi)
            pad = np.zeros((ih + 2, iw + 2), np.float64)
            pad[1:-1, 1:-1] = x
            oh, ow = (ih - 1) // stride + 1, (iw - 1) // stride + 1
            want = np.full((oh, ow), 0.5)
            for ky in range(3):
                for kx in range(3):
                    want += w[ky * 3 + kx] * pad[ky:ky + stride * oh:stride, kx:kx + stride * ow:stride]
            close(got, act(want, slope, lo, hi), f"{isa} dwconv3x3p1 s{stride} {ih}x{iw}")
        # Output rows [oy0, oy1) only, the rest left as they were (NaN): ranges starting and ending inside a
        # two-row vector and inside a four-row block, single rows, and empty.
        want = act(want, 0.0, -np.inf, np.inf)
        for oy0, oy1 in {(0, 0), (0, 1), (oh - 1, oh), (oh // 2, oh), (0, (oh + 1) // 2), (1, oh),
                         (1, max(1, oh - 1)), (min(3, oh), min(6, oh)), (min(5, oh), oh)}:
            got = T.dwconv3x3p1(isa, stride, x, w, 0.5, *ACTS["relu"], oy0=oy0, oy1=oy1)
            assert np.isnan(got[:oy0]).all() and np.isnan(got[oy1:]).all(), \
                f"{isa} dwconv3x3p1 s{stride} {ih}x{iw} rows {oy0}-{oy1}: wrote outside them"
            if oy1 > oy0:
                close(got[oy0:oy1], want[oy0:oy1], f"{isa} dwconv3x3p1 s{stride} {ih}x{iw} rows {oy0}-{oy1}")


@pytest.mark.parametrize("isa", ISAS)
def test_conv_chw_s2(isa):
    """The direct stride-2 convolution of few channels against NumPy: 3, 5 and 7 wide kernels of any
    height, pads 0-3 (the window's first column left of the image), output rows of 1 to 151 pixels taken in
    pairs (one run of lanes; an odd count ends with a row alone; 3x3 rows alone; rows of 32, 111 and 112
    pixels, whose taps' reach leaves an uncomputed vector between the two rows), tiles of 48, 32 and 16 lanes
    with 1 to 16 of a vector's lanes stored, chunks of up to 96 lanes, output channels in partial panels of 8,
    images passed at their exact size (a read outside shows in the sanitizer build)."""
    rng = np.random.default_rng(11)
    if not has(isa, "conv_chw_s2"):
        assert T.conv_chw_s2(isa, np.zeros((1, 3, 3), np.float32), np.zeros((1, 1, 3, 3), np.float32), None, 0, 0,
                             *ACTS["identity"]) is None
        return
    cases = [(3, 9, 224 // 4, 3, 3, 1, 1, 32), (3, 13, 64, 3, 3, 1, 1, 8), (1, 5, 65, 3, 3, 0, 0, 13),
             (2, 7, 35, 5, 5, 2, 2, 16), (3, 15, 31, 7, 7, 3, 3, 17), (4, 8, 139, 7, 7, 0, 0, 9),
             (3, 3, 3, 3, 3, 1, 1, 1), (3, 7, 7, 7, 7, 0, 3, 24), (2, 6, 33, 1, 5, 0, 1, 5), (3, 11, 97, 4, 3, 2, 0, 40),
             (1, 4, 129, 6, 7, 3, 2, 3), (3, 5, 301, 3, 3, 1, 1, 8), (1, 3, 260, 7, 7, 3, 3, 8),
             (3, 9, 227, 7, 7, 0, 0, 10), (1, 8, 199, 7, 7, 0, 0, 9), (2, 4, 183, 5, 5, 2, 2, 8),
             (3, 6, 224, 3, 3, 1, 1, 12), (3, 9, 224, 7, 7, 3, 3, 16), (2, 6, 64, 5, 5, 2, 2, 8)]
    for cin, ih, iw, kh, kw, pt, pl, oc in cases:
        x = rng.standard_normal((cin, ih, iw)).astype(np.float32)
        w = rng.standard_normal((oc, cin, kh, kw)).astype(np.float32)
        b = rng.standard_normal(oc).astype(np.float32)
        pad = np.zeros((cin, ih + 2 * pt, iw + 2 * pl), np.float64)
        pad[:, pt:pt + ih, pl:pl + iw] = x
        oh, ow = (ih + 2 * pt - kh) // 2 + 1, (iw + 2 * pl - kw) // 2 + 1
        want = np.broadcast_to(b[:, None, None], (oc, oh, ow)).astype(np.float64)
        for ky in range(kh):
            for kx in range(kw):
                win = pad[:, ky:ky + 2 * oh:2, kx:kx + 2 * ow:2][:, :oh, :ow]
                want = want + np.einsum("oc,chw->ohw", w[:, :, ky, kx], win)
        for name in ("identity", "relu6"):
            got = T.conv_chw_s2(isa, x, w, b, pt, pl, *ACTS[name])
            close(got, act(want, *ACTS[name]), f"{isa} conv_chw_s2 {cin}x{ih}x{iw} k{kh}x{kw} p{pt},{pl} oc{oc}")


def test_every_set_has_its_families():
    """The optional families each set is meant to have (a set losing one would silently skip its tester)."""
    common = {"dwconv3x3", "maxpool_padded", "wino43"}
    blocked = common | {"spmm_blocked"}
    want = {"ref": blocked | {"wino23"},
            "avx2": blocked | {"dwconv3x3p1s1", "dwconv3x3p1s2", "conv_chw_s2", "wino43_rows2",
                               "wino43_output_rows"},
            "avx512": blocked | {"dwconv3x3p1s1", "dwconv3x3p1s2", "spmm_wide", "conv_chw_s2", "wino23",
                                 "wino43_rows2", "wino43_output_rows"},
            "neon": blocked}
    for isa in ISAS:
        assert set(T.families(isa).split()) == want[isa], isa


@pytest.mark.parametrize("isa", ISAS)
def test_lstm_cell(isa):
    """The fused LSTM cell: every vector tail (H below, at and past one and two vectors), clip or none,
    pre-activations far into the saturated range of sigmoid and tanh."""
    rng = np.random.default_rng(13)
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    for h in list(range(1, 34)) + [63, 64, 65, 100, 256, 1000]:
        gates = (rng.standard_normal(4 * h) * rng.choice([1.0, 4.0, 40.0], 4 * h)).astype(np.float32)
        c = (rng.standard_normal(h) * 3).astype(np.float32)
        for clip in (INF, 3.0, 0.25):
            c_got, h_got = T.lstm_cell(isa, gates, c, -clip, clip)
            g = np.clip(gates.astype(np.float64), -clip, clip).reshape(4, h)
            c_want = sig(g[1]) * c + sig(g[0]) * np.tanh(g[3])
            close(c_got, c_want, f"{isa} lstm_cell c h={h} clip={clip}")
            close(h_got, sig(g[2]) * np.tanh(c_want), f"{isa} lstm_cell h h={h} clip={clip}")
