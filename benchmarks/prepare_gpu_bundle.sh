#!/usr/bin/env bash
# Build the offline package folder that benchmarks/gpu_setup.py (run by benchmarks/gpu_check.py)
# installs on a GPU machine without network (python 3.12, torch preinstalled, no OpenMMLab).
#
#   bash benchmarks/prepare_gpu_bundle.sh [OUT_DIR]        (default: work_dirs/gpu_bundle)
#
# Environment:
#   PY              interpreter used for pip here (default: .venv/bin/python)
#   PYTHON_VERSION  target interpreter of the wheels (default: 3.12, the GPU image's)
#   WITH_NUMPY1=1   also add numpy 1.26.4 (only if the target's numpy 2 breaks OpenMMLab there)
#
# What goes in, and why:
#   - mmengine 0.10.7, mmdet 3.3.0, mmsegmentation 1.2.2, mmpretrain 1.2.0: pure-python wheels,
#     downloaded with --no-deps (gpu_setup installs with --no-deps too: mmengine/mmcv require
#     `opencv-python`, the GPU image has `opencv-python-headless`, which pip would not accept);
#   - the mmcv 2.1.0 sdist: no mmcv wheel exists for recent torch, gpu_setup compiles it there
#     with CUDA ops through scripts/build_mmcv.sh (the wheel cached by scripts/install.sh is a
#     CPU build for this machine);
#   - their small dependencies that the GPU image lacks: pure-python ones, plus cp312 manylinux
#     wheels of the two compiled ones mmdet imports at start-up (pycocotools, shapely);
#   - setuptools < 81: mmcv's setup.py and mmengine import pkg_resources, gone in 81.
#   Not torch, torchvision, numpy, scipy, matplotlib, opencv, pyyaml, regex, rich, tqdm, einops,
#   pillow, six, packaging, markdown, click, zipp: the GPU image has them. The folder stays a few MB.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-work_dirs/gpu_bundle}
PY=${PY:-.venv/bin/python}
PYV=${PYTHON_VERSION:-3.12}
mkdir -p "$OUT"
PIP=("$PY" -m pip download -q --disable-pip-version-check --no-deps -d "$OUT")

# Same versions as the local, tested environment where it has them.
pin() {
  local v
  v=$("$PY" -c "import importlib.metadata as m, sys
try: print(m.version(sys.argv[1]))
except m.PackageNotFoundError: pass" "$1")
  if [ -n "$v" ]; then echo "$1==$v"; else echo "$1"; fi
}

echo "[bundle] OpenMMLab wheels"
"${PIP[@]}" mmengine==0.10.7 mmdet==3.3.0 mmsegmentation==1.2.2 mmpretrain==1.2.0

echo "[bundle] mmcv 2.1.0 sdist"
CACHED=$(ls "$HOME"/.cache/tricks_mm/mmcv-2.1.0.tar.gz "$HOME"/.cache/tricks_mm/*/mmcv-2.1.0.tar.gz \
  2>/dev/null | head -n 1 || true)
if [ -n "$CACHED" ]; then
  cp "$CACHED" "$OUT/"
else
  # --no-build-isolation: pip prepares the sdist's metadata by running its setup.py, which
  # imports torch (present in $PY's environment, absent from an isolated build environment)
  "${PIP[@]}" --no-binary :all: --no-build-isolation mmcv==2.1.0
fi

echo "[bundle] pure-python dependencies missing from the GPU image"
PURE=(addict yapf platformdirs termcolor terminaltables prettytable wcwidth ftfy mat4py
      modelindex model-index ordered-set importlib-metadata lazy-importer)
specs=()
for name in "${PURE[@]}"; do specs+=("$(pin "$name")"); done
"${PIP[@]}" --only-binary=:all: "${specs[@]}" 'setuptools>=77.0.3,<81'

echo "[bundle] compiled dependencies for CPython $PYV manylinux x86_64"
BIN=("$(pin pycocotools)" "$(pin shapely)")
[ "${WITH_NUMPY1:-0}" = 1 ] && BIN+=(numpy==1.26.4)
"${PIP[@]}" --only-binary=:all: --python-version "$PYV" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 "${BIN[@]}"

# one version of each package: two would make the offline install fail
dups=$(ls "$OUT" | sed -E 's/-[0-9][^-]*(-.*)?\.(whl|tar\.gz)$//' | tr 'A-Z_' 'a-z-' | sort | uniq -d)
[ -z "$dups" ] || { echo "[bundle] several versions of: $dups (remove the extra files)" >&2; exit 1; }
echo "[bundle] done: $OUT ($(du -sh "$OUT" | cut -f1), $(ls "$OUT" | wc -l) files)"
ls "$OUT"
