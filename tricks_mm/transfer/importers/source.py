"""What every importer hands back, and the one way source files are read.

Files are read with ``torch.load(weights_only=True)`` through tricks_mm's allowlist
(:func:`~tricks_mm.engine.safe_checkpoint.safe_torch_load`) or with :mod:`safetensors`; a pickled
object outside the allowlist is refused before anything from it runs.
"""

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import torch

from tricks_mm.engine.safe_checkpoint import safe_torch_load
from tricks_mm.models.pretrained import first_keys
from tricks_mm.transfer.importers.naming import ArchName
from tricks_mm.transfer.normalization import InputNormalization

StateDict = Dict[str, torch.Tensor]


@dataclass
class SourceWeights:
    """A source checkpoint renamed to BoTResNet keys (+ ``fc.*``), with what its file says.

    Attributes:
        state: the weights in BoTResNet/timm key layout.
        normalization: the input convention of the source (library default or the file's config).
        arch: the architecture the file itself names (timm ``arch``, mmpretrain ``meta.cfg``).
        default_variant: A vs B where the weights cannot tell and the library decides it
            (timm and torchvision only have B); ``None`` = ask for ``--arch``.
        why_default: why ``default_variant`` is what it is, for the error message.
        extra: more provenance (epoch, EMA ...).
    """

    state: StateDict
    normalization: InputNormalization
    arch: Optional[ArchName] = None
    default_variant: Optional[str] = 'b'
    why_default: str = ''
    extra: Dict[str, Any] = field(default_factory=dict)


def read_file(
    path: str, extra_globals: Sequence[Union[Callable, Tuple[Callable, str]]] = ()
) -> Any:
    """The object stored in ``path``: ``.safetensors`` via safetensors, else weights-only torch."""
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file

        return load_file(path, device='cpu')
    return safe_torch_load(path, map_location='cpu', extra_globals=extra_globals)


def as_state_dict(obj: Any, path: str, what: str) -> StateDict:
    """``obj`` as a name -> tensor dict (a ``module.`` prefix of DDP is dropped).

    Raises:
        ValueError: ``obj`` is not a dict of tensors (names the entries that are not).
    """
    if not isinstance(obj, dict):
        raise ValueError(f'{path!r}: expected {what} (a dict of tensors), got {type(obj).__name__}')
    odd = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if odd:
        raise ValueError(
            f'{path!r}: expected {what}, but entries [{first_keys(odd)}] are not '
            f'tensors (a training checkpoint of another tool?)'
        )
    return {k[len('module.') :] if k.startswith('module.') else k: v for k, v in obj.items()}
