"""Registries of the ``tricks_mm`` scope.

Each registry is a child of the mmengine root of the same kind, with the scope ``tricks_mm`` and
``locations`` set. That is what lets a config of any host library (mmpretrain, mmdet, mmseg) say
``type='tricks_mm.BoTResNet'`` without ``custom_imports``: mmengine imports
``tricks_mm.registry`` for the ``tricks_mm.`` prefix, walks to the root, finds this child and
imports the modules listed in ``locations``, which register the components.

Inside the package, build sub-components scope-proof: pass ``_scope_='tricks_mm'`` (see
:func:`scoped`) or pass classes, never a bare ``MODELS.build(dict(type='Mine'))``, which resolves
against whatever host scope is current.
"""

from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

SCOPE = 'tricks_mm'

MODELS = Registry('model', parent=MMENGINE_MODELS, scope=SCOPE, locations=['tricks_mm.models'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope=SCOPE, locations=['tricks_mm.engine'])
OPTIM_WRAPPERS = Registry(
    'optim wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope=SCOPE, locations=['tricks_mm.engine']
)
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMENGINE_PARAM_SCHEDULERS,
    scope=SCOPE,
    locations=['tricks_mm.engine'],
)
METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, scope=SCOPE, locations=['tricks_mm.evaluation']
)
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, scope=SCOPE, locations=['tricks_mm.datasets']
)


def scoped(cfg: dict) -> dict:
    """Return a copy of ``cfg`` pinned to the ``tricks_mm`` scope (for package-internal builds)."""
    cfg = dict(cfg)
    cfg.setdefault('_scope_', SCOPE)
    return cfg
