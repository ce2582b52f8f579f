#!/usr/bin/env bash
# Set up .venv with the pinned OpenMMLab stack. Idempotent: finished steps are skipped.
# The pins live in one file, requirements/constraints.txt, passed to every pip install here
# (pyproject.toml only declares the supported ranges).
# Called by `make install` (and so by `make test` / `make demo`). Environment:
#   PYTHON            interpreter for the venv (default: python3, must be >= 3.10)
#   VENV              venv path (default: .venv)
#   TRICKS_MM_WHEELS  cache for the mmcv wheel built here (default: ~/.cache/tricks_mm/wheels)
#   FORCE_CUDA=1      build mmcv's CUDA ops even when no GPU is visible (needs nvcc)
#   MAX_JOBS          parallel compile jobs for mmcv (default: number of cores)
set -euo pipefail

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
WHEELS=${TRICKS_MM_WHEELS:-$HOME/.cache/tricks_mm/wheels}
CONSTRAINTS="$(cd "$(dirname "$0")/.." && pwd)/requirements/constraints.txt"
PY="$VENV/bin/python"
STEP=""

step() { STEP="$1"; echo "[install] $1"; }
fail() {
  echo "" >&2
  echo "[install] FAILED at step: $STEP" >&2
  echo "[install] $1" >&2
  exit 1
}
trap 'fail "see the output above; fix the cause and rerun make install (finished steps are skipped)."' ERR

# the exact version pinned in $CONSTRAINTS for package $1
pin() {
  local v
  v=$(sed -n "s/^$1==\([^ ;#]*\).*/\1/p" "$CONSTRAINTS")
  [ -n "$v" ] || fail "$CONSTRAINTS has no '$1==VERSION' line."
  echo "$v"
}
TORCH_VERSION=$(pin torch)
TORCHVISION_VERSION=$(pin torchvision)
MMCV_VERSION=$(pin mmcv)

step "checking the interpreter ($PYTHON)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || fail "tricks_mm needs Python >= 3.10; set PYTHON=/path/to/python3.11 and rerun."

if [ ! -x "$PY" ]; then
  step "creating the virtual environment $VENV"
  "$PYTHON" -m venv "$VENV" || fail "python -m venv failed: install the venv module (Debian: apt-get install python3-venv)."
fi

PY="$(cd "$VENV" && pwd)/bin/python"

step "build tools: pip, setuptools >=77,<81 (torch needs >=77; mmcv's setup.py still imports pkg_resources, gone in 81), wheel"
"$PY" -m pip install -q --disable-pip-version-check -c "$CONSTRAINTS" setuptools wheel

if ! "$PY" -c "import torch, torchvision, sys; sys.exit(not (torch.__version__.startswith('$TORCH_VERSION') and torchvision.__version__.startswith('$TORCHVISION_VERSION')))" 2>/dev/null; then
  step "torch $TORCH_VERSION + torchvision $TORCHVISION_VERSION (large download on a machine without local wheels)"
  # -c keeps setuptools inside the window mmcv's build needs while torch's requirements install
  "$PY" -m pip install -q --disable-pip-version-check -c "$CONSTRAINTS" torch torchvision \
    || fail "pip could not install torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION: check the package index / network."
else
  step "torch $TORCH_VERSION + torchvision $TORCHVISION_VERSION already installed"
fi

WITH_CUDA=$("$PY" -c "import os, torch; print(int(os.environ.get('FORCE_CUDA') == '1' or torch.cuda.is_available()))")
FLAVOUR="torch${TORCH_VERSION}-$([ "$WITH_CUDA" = 1 ] && echo cuda || echo cpu)"
CACHE_DIR="$WHEELS/$FLAVOUR"
if "$PY" -c "import mmcv, sys; from mmcv.ops import nms, RoIAlign; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" 2>/dev/null; then
  step "mmcv $MMCV_VERSION with compiled ops already installed"
else
  if ! ls "$CACHE_DIR"/mmcv-$MMCV_VERSION-*.whl >/dev/null 2>&1; then
    step "building mmcv $MMCV_VERSION from source with compiled ops ($FLAVOUR; about 10 minutes on 2 cores, once per machine)"
    BUILD=$(mktemp -d)
    "$PY" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: --no-build-isolation \
      "mmcv==$MMCV_VERSION" -d "$BUILD" || fail "could not download the mmcv $MMCV_VERSION sdist from the package index."
    # the shared recipe (C++20 when torch needs it, no build isolation): scripts/build_mmcv.sh
    PY="$PY" MMCV_WITH_OPS=1 FORCE_CUDA="$WITH_CUDA" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      bash "$(dirname "$0")/build_mmcv.sh" "$BUILD/mmcv-$MMCV_VERSION.tar.gz" "$BUILD/dist" \
      || fail "the mmcv build failed: a C++ compiler (g++) and the Python headers are needed; with FORCE_CUDA=1 also nvcc matching torch's CUDA."
    mkdir -p "$CACHE_DIR"
    cp "$BUILD"/dist/mmcv-$MMCV_VERSION-*.whl "$CACHE_DIR/"
    rm -rf "$BUILD"
  fi
  step "installing mmcv $MMCV_VERSION from the wheel cache $CACHE_DIR"
  "$PY" -m pip install -q --disable-pip-version-check --no-deps --force-reinstall "$CACHE_DIR"/mmcv-$MMCV_VERSION-*.whl
fi

# Optional data, never a reason to fail the install: the real images of the miniature ladder
# (docs/miniature.md), Debian's dataset-fashion-mnist, installed only when we are root on a
# machine with apt (CI, the development machines); otherwise one line says how to get them.
FMNIST_DIR=/usr/share/datasets/fashion-mnist
if [ -f "$FMNIST_DIR/t10k-labels-idx1-ubyte.gz" ]; then
  step "Fashion-MNIST already installed ($FMNIST_DIR)"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  step "Fashion-MNIST for the miniature ladder: apt-get install dataset-fashion-mnist (optional)"
  if (apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; }); then
    echo "[install] installed dataset-fashion-mnist: $FMNIST_DIR"
  else
    echo "[install] note: apt-get could not install dataset-fashion-mnist; the miniature ladder" \
      "needs its files (docs/miniature.md), everything else works without them"
  fi
else
  echo "[install] note: Fashion-MNIST not installed (needs root and apt: apt-get install" \
    "dataset-fashion-mnist, or see docs/miniature.md); only the miniature ladder needs it"
fi

step "OpenMMLab libraries and tricks_mm itself (editable, extras mm and test, pins from $CONSTRAINTS)"
"$PY" -m pip install -q --disable-pip-version-check -c "$CONSTRAINTS" -e '.[mm,test]' \
  || fail "pip could not install the pinned OpenMMLab libraries; see $CONSTRAINTS for the pins."

step "checking the installation"
"$PY" -c "import tricks_mm, mmdet, mmseg, mmpretrain; from mmcv.ops import nms, RoIAlign" \
  || fail "the stack installed but does not import; rm -rf $VENV and rerun make install."
echo "[install] done: $VENV is ready"
