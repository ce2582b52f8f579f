#!/usr/bin/env bash
# The one recipe for building mmcv 2.1.0 from its sdist into a wheel; scripts/install.sh (this
# machine) and benchmarks/gpu_setup.py (a GPU machine without network) both call it.
#
#   bash scripts/build_mmcv.sh SDIST WHEEL_DIR
#
# Environment:
#   PY                    interpreter whose torch the build compiles against (default: python3)
#   MMCV_WITH_OPS         1 (default): compiled ops (mmcv.ops: nms, RoIAlign, ...); 0: none (fast)
#   FORCE_CUDA            1: CUDA ops (needs nvcc matching torch's CUDA); default 0
#   TORCH_CUDA_ARCH_LIST  e.g. 9.0 (only the GPU at hand: faster than torch's default list)
#   MAX_JOBS              parallel compile jobs (default: number of cores)
#   BUILD_LOG             file for the build output (default: shown)
#
# The recipe: mmcv 2.1.0's setup.py hard-codes -std=c++14/17, but the headers of recent torch
# (2.14 here) need C++20: when torch's own extension builder uses C++20, so does this build.
# --no-build-isolation: setup.py imports torch (and pkg_resources: setuptools >=77,<81 must be
# installed in PY's environment). No network is used.
set -euo pipefail
SDIST=$(realpath "$1")
WHEEL_DIR=$(realpath -m "$2")
PY=${PY:-python3}
BUILD=$(mktemp -d)
trap 'rm -rf "$BUILD"' EXIT
tar -xzf "$SDIST" -C "$BUILD"
SRC=$(ls -d "$BUILD"/mmcv-*/)
if "$PY" -c "import pathlib, sys, torch.utils.cpp_extension as e
sys.exit(\"'-std=c++20'\" not in pathlib.Path(e.__file__).read_text())"; then
  sed -i 's/-std=c++1[47]/-std=c++20/g' "$SRC/setup.py"
  CXX20=1
else
  CXX20=0
fi
mkdir -p "$WHEEL_DIR"
echo "[build_mmcv] $(basename "$SDIST"): ops ${MMCV_WITH_OPS:-1}, CUDA ${FORCE_CUDA:-0}," \
  "arch ${TORCH_CUDA_ARCH_LIST:--}, C++20 $CXX20, ${MAX_JOBS:-$(nproc)} jobs -> $WHEEL_DIR"
cd "$SRC"
CMD=("$PY" -m pip wheel "$([ -n "${BUILD_LOG:-}" ] && echo -v || echo -q)" --no-index --no-deps --no-build-isolation --disable-pip-version-check
     -w "$WHEEL_DIR" .)
export MMCV_WITH_OPS=${MMCV_WITH_OPS:-1} FORCE_CUDA=${FORCE_CUDA:-0} MAX_JOBS=${MAX_JOBS:-$(nproc)}
if [ -n "${BUILD_LOG:-}" ]; then
  "${CMD[@]}" >"$BUILD_LOG" 2>&1 || { tail -n 40 "$BUILD_LOG" >&2; exit 1; }
else
  "${CMD[@]}"
fi
ls "$WHEEL_DIR"/mmcv*.whl
