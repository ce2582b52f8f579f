"""Survey: do the hosts' own configs build with only ``type`` changed to tricks_mm's?

Walks the config trees installed with mmdet, mmseg and mmpretrain (``<package>/.mim/configs``),
keeps every config whose model holds a ResNet-family backbone (``ResNet``, ``ResNetV1c``,
``ResNetV1d``) or mmdet's C4 shared head (``ResLayer``), changes only those ``type`` keys to
``tricks_mm.BoTResNet`` / ``tricks_mm.BoTResLayer`` and builds them, as the host does (mmseg's
``EncoderDecoder`` hands its ``model.pretrained`` to the backbone, so the survey does too). Each
config ends as ``built``, ``refused`` (tricks_mm's ValueError naming an unsupported key) or
``error`` (anything else: a defect). Modules are built on the ``meta`` device (shapes only).

    python benchmarks/host_config_survey.py            # all configs, prints the table
    python benchmarks/host_config_survey.py --write    # and replaces its section of
                                                       # docs/benchmarks.md
    python benchmarks/host_config_survey.py --sample 5 # the first 5 per tree (quick look)
"""

import argparse
import collections
import copy
import importlib
import re
import sys
import time
import uuid
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch

HOSTS = ('mmdet', 'mmseg', 'mmpretrain')
FAMILY = {
    'ResNet': 'tricks_mm.BoTResNet',
    'ResNetV1c': 'tricks_mm.BoTResNet',
    'ResNetV1d': 'tricks_mm.BoTResNet',
    'ResLayer': 'tricks_mm.BoTResLayer',
}
DOC = Path(__file__).resolve().parents[1] / 'docs' / 'benchmarks.md'
BEGIN, END = '<!-- host_config_survey: begin -->', '<!-- host_config_survey: end -->'


def config_root(host: str) -> Path:
    """``<host>/.mim/configs`` of the installed package."""
    module = importlib.import_module(host)
    return Path(module.__file__).parent / '.mim' / 'configs'


def _nodes(node: Any, path: str = 'model') -> Iterator[Tuple[str, dict]]:
    if isinstance(node, dict):
        kind = str(node.get('type', '')).split('.')[-1]
        if kind in FAMILY and not callable(node.get('type')):
            yield path, node
        for key, value in node.items():
            yield from _nodes(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _nodes(value, f'{path}[{i}]')


def family_configs(host: str) -> Iterator[Tuple[Path, Any]]:
    """``(path, Config)`` of every config of ``host`` with a ResNet-family node."""
    from mmengine.config import Config

    root = config_root(host)
    for path in sorted(root.rglob('*.py')):
        if '_base_' in path.parts:
            continue
        try:
            cfg = Config.fromfile(str(path))
        except Exception:  # noqa: BLE001 - a config the host itself cannot read is not counted
            continue
        model = cfg.get('model')
        if isinstance(model, dict) and any(True for _ in _nodes(model)):
            yield path, cfg


def check_config(host: str, cfg: Any) -> Tuple[str, str]:
    """``(outcome, detail)``: build each ResNet-family node with only its type changed."""
    from mmengine.registry import DefaultScope

    registry = importlib.import_module(f'{host}.registry').MODELS
    model = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model)
    DefaultScope.get_instance(f'survey-{uuid.uuid4()}', scope_name=host)
    built = []
    for path, node in _nodes(model):
        node = copy.deepcopy(node)
        node['type'] = FAMILY[str(node['type']).split('.')[-1]]
        if path == 'model.backbone' and host == 'mmseg' and model.get('pretrained'):
            node['pretrained'] = model['pretrained']  # mmseg's EncoderDecoder does this
        try:
            with torch.device('meta'):
                module = registry.build(node)
        except ValueError as err:
            return 'refused', f'{path}: {err}'
        except Exception as err:  # noqa: BLE001 - reported as a defect, with its type
            return 'error', f'{path}: {type(err).__name__}: {err}'
        built.append(f'{path}: {type(module).__name__}-{module.variant.upper()}')
    return 'built', '; '.join(built)


def refusal_key(detail: str) -> str:
    """The first refused key of a refusal message (for the counts by reason)."""
    match = re.search(r'does not support (\w+)=', detail) or re.search(
        r'(\w+)=\S+ contradicts', detail
    )
    return match.group(1) if match else detail.split(': ', 1)[-1][:60]


def survey(sample: Optional[int] = None) -> Dict[str, Dict[str, Any]]:
    """Per host: counts by outcome, the refusals by key, and every config not built."""
    from mmengine.logging import MMLogger

    MMLogger.get_instance('survey', log_level='WARNING')
    warnings.simplefilter('ignore')  # the hosts' deprecation warnings, once per config
    results: Dict[str, Dict[str, Any]] = {}
    for host in HOSTS:
        counts: collections.Counter = collections.Counter()
        reasons: collections.Counter = collections.Counter()
        variants: collections.Counter = collections.Counter()
        failures: List[Tuple[str, str, str]] = []
        root = config_root(host)
        for i, (path, cfg) in enumerate(family_configs(host)):
            if sample is not None and i >= sample:
                break
            outcome, detail = check_config(host, cfg)
            counts[outcome] += 1
            if outcome == 'built':
                variants.update(re.findall(r'-([ABCD])(?:;|$)', detail))
            else:
                reasons[refusal_key(detail)] += 1
                failures.append((str(path.relative_to(root)), outcome, detail))
        results[host] = dict(counts=counts, reasons=reasons, failures=failures, variants=variants)
    return results


def render(results: Dict[str, Dict[str, Any]], seconds: float) -> str:
    import mmdet
    import mmpretrain
    import mmseg

    versions = dict(
        mmdet=mmdet.__version__, mmseg=mmseg.__version__, mmpretrain=mmpretrain.__version__
    )
    lines = [
        BEGIN,
        '## Host configs with only `type` changed (`benchmarks/host_config_survey.py`)',
        '',
        'Every config of the installed trees (`<package>/.mim/configs`) whose model holds a '
        "`ResNet` / `ResNetV1c` / `ResNetV1d` backbone or mmdet's C4 `ResLayer` shared head, "
        'with only those `type` keys changed to `tricks_mm.BoTResNet` / `tricks_mm.BoTResLayer`, '
        f'built on the meta device (whole run {seconds:.0f} s on a 2-core CPU machine). '
        'Built modules pick their variant by the defaults rule '
        '(`tricks_mm/models/backbones/host_interface.py`); "variants built" counts modules '
        '(backbones and C4 shared heads). Built means constructed: the remote weights the '
        'configs name are not fetched here (no network), though their names set the variant; '
        "loading host files is tested on local files in the hosts' layouts "
        '(`tests/transfer/test_host_layouts.py`, `tests/integration/test_host_train_tools.py`).',
        '',
        '| tree | configs | built | refused | error | built % | variants built |',
        '|---|---|---|---|---|---|---|',
    ]
    for host, res in results.items():
        c = res['counts']
        total = sum(c.values())
        share = 100.0 * c['built'] / total if total else 0.0
        variants = ', '.join(f'{v}: {n}' for v, n in sorted(res['variants'].items()))
        lines.append(
            f'| {host} {versions[host]} | {total} | {c["built"]} | {c["refused"]} | '
            f'{c["error"]} | {share:.1f} | {variants} |'
        )
    lines += ['', 'Configs that do not build, and why:', '']
    for host, res in results.items():
        if not res['failures']:
            lines.append(f'- {host}: none')
        for rel, outcome, detail in res['failures']:
            lines.append(f'- {host} `{rel}` ({outcome}): {detail[:300]}')
    lines.append(END)
    return '\n'.join(lines) + '\n'


def write_doc(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else '# Benchmarks\n'
    if BEGIN in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1].lstrip('\n')
    else:
        text = text.rstrip('\n') + '\n\n' + section
    DOC.write_text(text)


def main(argv: Optional[List[str]] = None) -> Dict[str, Dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sample', type=int, help='only the first N configs of each tree')
    parser.add_argument('--write', action='store_true', help='update docs/benchmarks.md')
    args = parser.parse_args(argv)
    import tricks_mm  # noqa: F401  (registers tricks_mm.X)

    start = time.perf_counter()
    results = survey(args.sample)
    section = render(results, time.perf_counter() - start)
    print(section)
    if args.write:
        write_doc(section)
    return results


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
