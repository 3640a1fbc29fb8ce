#!/usr/bin/env bash
# Executed AArch64 instructions per inference (valgrind callgrind in an arm64 Debian chroot under qemu,
# QEMU_CPU=cortex-a72: ARMv8.0 NEON), for a Python-free static xnn-bench. Deterministic, unlike time on
# this shared machine. Per inference = Ir(2 runs) - Ir(1 run), so loading and planning cancel.
#   bash bench/aarch64_instructions.sh [models...]     (root; needs network to Debian's mirror)
#   XNN_ISA=ref bash bench/aarch64_instructions.sh ...  (the portable C kernels instead of NEON)
# Needs: gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
#        binfmt-support debootstrap valgrind (host, for callgrind_annotate); ~5 minutes the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
models=("${@:-squeezenet_v1.1 mobilenet_v1}")
models=(${models[@]})
ROOT=${XNN_ARM64_CHROOT:-bench/.cache/arm64-chroot}
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
if [ ! -x "$ROOT/usr/bin/valgrind" ]; then
  debootstrap --arch=arm64 --variant=minbase --include=valgrind bookworm "$ROOT" http://deb.debian.org/debian >/dev/null
fi
cmake -S . -B build/aarch64-static -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXE_LINKER_FLAGS=-static >/dev/null
cmake --build build/aarch64-static >/dev/null
mkdir -p "$ROOT/src"
cp build/aarch64-static/xnn-bench "$ROOT/src/"
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
export QEMU_CPU=cortex-a72
isa=${XNN_ISA:-neon}
for m in "${models[@]}"; do
  python3 bench/models.py "$m" >/dev/null   # the bench's seeded random-weight caffemodel
  cp "tests/data/caffe/$m/deploy.prototxt" "$ROOT/src/$m.prototxt"
  cp "$(ls bench/.cache/"$m"/*/"$m".seed0.caffemodel | head -1)" "$ROOT/src/$m.caffemodel"
  shape=$(python3 -c "import sys; sys.path.insert(0, 'tests'); import caffe_tools as c; \
print(','.join(map(str, list(c.net_input_shapes('tests/data/caffe/$m/deploy.prototxt', batch=1).values())[0])))")
  for n in 1 2; do
    chroot "$ROOT" env XNN_ISA="$isa" valgrind --tool=callgrind --callgrind-out-file="/src/cg.$m.$n.out" /src/xnn-bench \
      "/src/$m.prototxt" "/src/$m.caffemodel" --input-shape "$shape" --runs $n --warmup 0 >/dev/null 2>&1
  done
  python3 - "$ROOT/src/cg.$m.1.out" "$ROOT/src/cg.$m.2.out" "$m ($isa)" <<'PY'
import re, subprocess, sys
def funcs(path):
    out = subprocess.run(["callgrind_annotate", "--threshold=100", path], capture_output=True, text=True).stdout
    rows = (re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+\S*:(\S+)", line) for line in out.splitlines())
    return {m.group(2): int(m.group(1).replace(",", "")) for m in rows if m}
a, b = funcs(sys.argv[1]), funcs(sys.argv[2])
per = {}
for k in set(a) | set(b):
    name = k.split("'")[0]
    per[name] = per.get(name, 0) + b.get(k, 0) - a.get(k, 0)
total = sum(per.values())
print(f"{sys.argv[3]}: {total / 1e6:.1f} M instructions per inference")
for k, v in sorted(per.items(), key=lambda kv: -kv[1])[:6]:
    print(f"  {v / 1e6:8.1f} M {100 * v / total:5.1f}%  {k}")
PY
done
umount "$ROOT/proc"
