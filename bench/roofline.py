"""How fast each network could run on this machine in float32 if its GEMM-class layers (1x1 convolutions,
inner products) ran at the cores' FMA issue rate, every other layer as xnn runs it now: a lower bound on
xnn's latency short of new algorithms, set next to the fastest peer of ``bench/RESULTS.md``.

    python bench/roofline.py squeezenet_v1.0 squeezenet_v1.1 mobilenet_v1 mobilenet_v2 resnet50 --threads 1 2

The FMA issue rate comes from ``bench/fma_peak.c`` (built here with ``cc``; twelve chains of register-only
FMAs per thread, at the vector width of xnn's kernel set). xnn's layers come from ``Model.profile`` (per
layer the least of ``--repeats`` medians over ``--runs``); a layer run as one with the layer before it
counts in that layer's time and kind. The 3x3 convolutions that xnn runs as Winograd (fewer multiplies than
their MACs) stay as measured, so the bound says what the GEMM-class layers alone leave possible: where it is
above 0.8x the fastest peer, that target needs the other layers faster too, and where the GEMM-class share
alone is, it is out of reach of float32 on these cores.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402  (bench/models.py)

HERE = Path(__file__).resolve().parent


def fma_peak(threads: int, avx512: bool) -> float:
    """GFLOP/s of `threads` cores issuing FMAs only (fma_peak.c)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise SystemExit("roofline.py needs a C compiler (cc) to build bench/fma_peak.c")
    flags = ["-mavx512f", "-DWIDTH=16"] if avx512 else ["-mavx2", "-mfma", "-DWIDTH=8"]
    with tempfile.TemporaryDirectory() as tmp:
        exe = str(Path(tmp) / "fma_peak")
        subprocess.run([cc, "-O2", *flags, str(HERE / "fma_peak.c"), "-o", exe, "-lpthread"], check=True)
        return max(float(subprocess.run([exe, str(threads)], check=True, capture_output=True, text=True).stdout)
                   for _ in range(3))


def gemm_class(info) -> bool:
    """A 1x1 convolution without groups (a GEMM over the pixels) or an inner product."""
    if info.type == "InnerProduct":
        return True
    if info.type != "Convolution":
        return False
    p = info.msg.convolution_param
    ks = list(p.kernel_size) or [1]
    kh, kw = (p.kernel_h or ks[0], p.kernel_w or ks[-1])
    return kh == 1 and kw == 1 and (p.group or 1) == 1


def fastest_peer(results: Path) -> dict:
    """(model, threads) -> (peer, median ms) from the generated table of RESULTS.md."""
    out = {}
    header = None
    for line in results.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 3 and cells[0] == "model" and cells[1] == "threads":
            header = cells
            continue
        if header and len(cells) == len(header) and cells[1].isdigit():
            best = None
            for name, cell in zip(header, cells):
                m = re.match(r"(\w+) median ms", name)
                if m and m.group(1) != "xnn" and cell not in ("", "-"):
                    ms = float(cell.split()[0])
                    if best is None or ms < best[1]:
                        best = (m.group(1), ms)
            if best:
                out[(cells[0], int(cells[1]))] = best
        elif header and not line.startswith("|"):
            header = None
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5, help="profiles per model and thread count (least median)")
    ap.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = ap.parse_args(argv)

    import xnn
    from caffe_tools import analyze_net, load_prototxt, net_input_shapes

    avx512 = "avx512f" in xnn.cpu_features()
    peers = fastest_peer(args.results) if args.results.exists() else {}
    peak = {t: fma_peak(t, avx512) for t in args.threads}
    print(f"FMA issue rate ({'AVX-512' if avx512 else 'AVX2'} FMAs, bench/fma_peak.c): "
          + ", ".join(f"{peak[t]:.1f} GFLOP/s at {t} thread(s)" for t in args.threads))
    print()
    print("| model | threads | xnn layer sum ms | 1x1 + FC layers ms (GFLOP/s) | the same at the FMA rate ms | "
          "bound ms | fastest peer ms (RESULTS.md) | bound / peer | 0.8 x peer ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.models:
        bm = models.prepare(name)
        net = load_prototxt(bm.prototxt)
        info = analyze_net(net, net_input_shapes(net, batch=1))
        kinds = {layer.name: gemm_class(layer) for layer in info.layers}
        for t in args.threads:
            model = xnn.Model.load(bm.prototxt, bm.caffemodel, num_threads=t)
            # Per layer, the least of several medians: the host is shared, and a burst of another job's work
            # in one profile's runs should not count as the layer's time.
            profiles = [model.profile(bm.make_input(), runs=args.runs) for _ in range(args.repeats)]
            prof = [min(same, key=lambda p: p.time_ms) for same in zip(*profiles)]
            total = sum(p.time_ms for p in prof)
            gemm_ms = gemm_macs = 0.0
            owner = None  # the layer a paired layer's time is counted in
            for p in prof:
                if not p.with_previous:
                    owner = p.name
                if kinds.get(owner, False):
                    gemm_ms += p.time_ms
                    gemm_macs += p.macs
            at_peak = 2 * gemm_macs / (peak[t] * 1e9) * 1e3
            bound = total - gemm_ms + at_peak
            peer = peers.get((name, t))
            peer_cells = (f"{peer[1]:.2f} ({peer[0]}) | {bound / peer[1]:.2f} | {0.8 * peer[1]:.2f}" if peer
                          else "– | – | –")
            gf = 2 * gemm_macs / (gemm_ms * 1e-3) * 1e-9 if gemm_ms else 0.0
            print(f"| {name} | {t} | {total:.2f} | {gemm_ms:.2f} ({gf:.0f}) | {at_peak:.2f} | {bound:.2f} | "
                  f"{peer_cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
