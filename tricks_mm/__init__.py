"""tricks_mm: the tricks of He et al. (CVPR 2019) as OpenMMLab components, and their transfer.

Importing the package makes every local checkpoint mmengine loads go through
``torch.load(weights_only=True)`` with an explicit allowlist
(:mod:`tricks_mm.engine.safe_checkpoint`), remote checkpoints fail fast without a network
(:mod:`tricks_mm.engine.offline`), and every local file it saves be written atomically
(:mod:`tricks_mm.engine.atomic_io`).

First of all it checks the installed torch / OpenMMLab versions (:mod:`tricks_mm.version_check`),
before anything imports them.
"""

from tricks_mm.version_check import check_versions

check_versions()

from tricks_mm.engine.atomic_io import install_atomic_local_backend  # noqa: E402
from tricks_mm.engine.offline import install_offline_guard  # noqa: E402
from tricks_mm.engine.safe_checkpoint import install_safe_checkpoint_loader  # noqa: E402

__version__ = '0.1.0'

install_safe_checkpoint_loader()
install_offline_guard()
install_atomic_local_backend()
