"""Check the data a config's datasets will read, before training starts.

Why: the hosts find most data problems late, obscurely, or never:

=====================================  ==========================================================
problem                                host behaviour (mmdet 3.3 / mmseg 1.2 / mmpretrain 1.2)
=====================================  ==========================================================
missing data root / split list         ``FileNotFoundError`` deep inside dataset construction
VOC id without JPEG                    crash in a dataloader worker when the image is drawn
VOC object of a class not in           **silently dropped** (``XMLDataset`` skips the name):
``metainfo.classes``                   the model never sees those objects
VOC zero-area / inverted box           ignored with ``filter_cfg.bbox_min_size``, otherwise kept
                                       as a degenerate target (test sets: kept)
VOC box partly outside the image       kept; ``Resize(clip_object_border=True)`` clips it
VOC image without objects              dropped from training by ``filter_empty_gt``
seg label value >= num_classes         ``IndexError: Target 199 is out of bounds`` in the loss
(other than 255)                       (CPU), a device-side assert (CUDA): no file named
seg label map with 3 channels          packed as an (H, W, 3) "map" after a mere warning: a
                                       wrong target or a shape error in the loss
head ``num_classes`` != dataset        CE index error, or silently unused logits
=====================================  ==========================================================

:func:`check_config_datasets` walks the dataloaders of a config (through ``ConcatDataset``,
``RepeatDataset``, ``ClassBalancedDataset`` and other ``dataset=``/``datasets=`` wrappers). Every
VOC-style (mmdet ``XMLDataset``), segmentation (mmseg ``BaseSegDataset``) and classification
(mmpretrain ``CustomDataset``/``ImageNet``) dataset it finds is built by its host with
``lazy_init=True`` and lists its own samples with ``load_data_list()``: the paths, defaults, split
conventions and directory scans are the host's. On those samples it adds only what the hosts
lack: files present and non-empty, unknown VOC class names, zero-area and outside boxes (read
from the XML, which the host reads without checking), label values in range, head and dataset
class counts. Problems that would train a wrong model are collected into one
:class:`DatasetLayoutError` naming the files and the fix; the ones the host handles safely are
logged as warnings with counts. Label maps are all read for datasets of up to
``label_map_sample`` images, a seeded random sample of that many (logged) above.

``tools/train.py`` runs it through :func:`check_before_training`: on the launching rank only, and
not again when a run resumes.
"""

import copy
import logging
import os
import os.path as osp
import random
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import DATASETS
from PIL import Image

from tricks_mm.config.walk import DATALOADERS, iter_dicts

#: How many offending files an error message lists before "... and N more".
_SHOW = 5
#: Label maps read per dataset before the scan samples (a few minutes of reads at most).
DEFAULT_LABEL_MAP_SAMPLE = 2000


class DatasetLayoutError(ValueError):
    """The data on disk does not match the config; the message names the paths and the fix."""


@dataclass
class CheckReport:
    """What :func:`check_config_datasets` looked at.

    Attributes:
        checked: ``'<config path> (<type>): <root>'`` per dataset checked.
        skipped: Datasets of a type this module has no check for.
        warnings: Problems the host handles safely (also logged).
        counts: Totals: images, objects, empty_images, boxes_partly_outside, label_maps, ...
    """

    checked: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    _heads_reported: set = field(default_factory=set, repr=False)


class _Problems:
    """Errors of one dataset, each a headline plus the offending files."""

    def __init__(self, where: str):
        self.where = where
        self.errors: List[str] = []

    def add(self, headline: str, files: Sequence[str] = (), fix: str = '') -> None:
        shown = ''.join(f'\n      {f}' for f in files[:_SHOW])
        more = f'\n      ... and {len(files) - _SHOW} more' if len(files) > _SHOW else ''
        self.errors.append(f'  - {headline}{shown}{more}' + (f'\n    fix: {fix}' if fix else ''))


def _listed(files: Sequence[str]) -> str:
    return ', '.join(files[:_SHOW]) + (
        f' (+{len(files) - _SHOW} more)' if len(files) > _SHOW else ''
    )


# ---------------------------------------------------------------------------------------------
# config walking and building


def _iter_datasets(node: Any, path: str) -> Iterator[Tuple[str, dict]]:
    """Leaf dataset configs under ``node``, unwrapping ``datasets=[...]`` / ``dataset=...``."""
    if not isinstance(node, dict):
        return
    if isinstance(node.get('datasets'), (list, tuple)):
        for i, child in enumerate(node['datasets']):
            yield from _iter_datasets(child, f'{path}.datasets[{i}]')
    elif isinstance(node.get('dataset'), dict):
        yield from _iter_datasets(node['dataset'], f'{path}.dataset')
    else:
        yield path, node


def _resolve(type_: Any, scope: Optional[str]) -> Optional[type]:
    if isinstance(type_, type):
        return type_
    if not isinstance(type_, str):
        return None
    try:
        if scope:
            with DATASETS.switch_scope_and_registry(scope) as registry:
                return registry.get(type_)
        return DATASETS.get(type_)
    except Exception:  # an unknown type is the Runner's error to report, not ours
        return None


def _family(cls: Optional[type]) -> Optional[str]:
    names = {f'{k.__module__}.{k.__name__}' for k in getattr(cls, '__mro__', ())}
    if 'mmdet.datasets.xml_style.XMLDataset' in names:
        return 'voc'
    if 'mmseg.datasets.basesegdataset.BaseSegDataset' in names:
        return 'seg'
    if 'mmpretrain.datasets.custom.CustomDataset' in names:
        return 'cls'
    return None


def _build_lazily(ds: dict, cls: type, problems: _Problems) -> Any:
    """The host's dataset object, its samples not yet listed (no pipeline: nothing is loaded).

    Returns None (a problem added) when the host refuses the arguments.
    """
    kwargs = copy.deepcopy({k: v for k, v in ds.items() if k not in ('type', '_scope_')})
    kwargs.update(pipeline=[], lazy_init=True)
    try:
        return cls(**kwargs)
    except Exception as err:  # the host's own argument checks
        problems.add(f'{cls.__name__} does not accept this config: {type(err).__name__}: {err}')
        return None


def _head_num_classes(cfg: Config) -> List[Tuple[str, int]]:
    """Every ``num_classes`` under ``cfg.model`` (and ``cfg.data_preprocessor``), with its path;
    the RPN's (always 1, class-agnostic) excluded."""
    found: List[Tuple[str, int]] = []
    for root in ('model', 'data_preprocessor'):
        for path, node in iter_dicts(cfg.get(root, None) or {}, root):
            value = node.get('num_classes')
            if isinstance(value, int) and 'rpn' not in path:
                found.append((f'{path}.num_classes', value))
    return found


def _check_num_classes(
    cfg: Config, k: int, source: str, problems: _Problems, report: CheckReport
) -> None:
    for path, value in _head_num_classes(cfg):
        if value != k and (path, value, k) not in report._heads_reported:
            report._heads_reported.add((path, value, k))
            problems.add(
                f'{path} = {value} but the dataset has {k} classes ({source})',
                fix=f'set {path}={k} (e.g. --cfg-options {path}={k}), or fix the class list',
            )


def _missing_root(problems: _Problems, what: str, path: str, key: str) -> None:
    hint = (
        'generate the embedded data: python -m tricks_mm.datasets.synthetic --out '
        'data/synthetic (configs use paths relative to the working directory)'
        if 'synthetic' in path
        else 'download/extract the dataset there, or point the config at it '
        f'(--cfg-options <dataloader>.dataset.{key}=/path)'
    )
    problems.add(f'{what} {path} does not exist (absolute: {osp.abspath(path)})', fix=hint)


def _sizes(directory: str) -> Dict[str, int]:
    """``{file name: size}`` of the plain files in ``directory`` (one scandir)."""
    sizes = {}
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_file():
                sizes[entry.name] = entry.stat().st_size
    return sizes


def _present(
    paths: Iterable[str], problems: _Problems, report: CheckReport, what: str, fix: str
) -> None:
    """Check that every path exists and is non-empty, listing each directory once."""
    by_dir: Dict[str, List[str]] = defaultdict(list)
    for p in paths:
        by_dir[osp.dirname(p)].append(osp.basename(p))
    missing, empty = [], []
    for directory, names in by_dir.items():
        sizes = _sizes(directory) if osp.isdir(directory) else {}
        for name in names:
            size = sizes.get(name)
            if size is None:
                missing.append(osp.join(directory, name))
            elif size == 0:
                empty.append(osp.join(directory, name))
    report.counts[what] += sum(len(v) for v in by_dir.values())
    if missing:
        problems.add(f'{len(missing)} {what} listed but missing:', missing, fix)
    if empty:
        problems.add(
            f'{len(empty)} {what} are empty (0 bytes):',
            empty,
            'replace them, or remove their entries from the split list',
        )


def _usable(path: str) -> bool:
    return osp.isfile(path) and osp.getsize(path) > 0


# ---------------------------------------------------------------------------------------------
# VOC (mmdet XMLDataset)


def _parse_voc_xml(path: str) -> Tuple[Optional[Tuple[int, int]], List[Tuple[str, Any]]]:
    """(width, height) or None, and [(class name, (xmin, ymin, xmax, ymax) or error string)].

    Our own read of the XML: the host's ``parse_data_info`` drops objects of unknown classes
    and truncates the coordinates before anything could be checked.
    """
    root = ET.parse(path).getroot()
    size = None
    size_node = root.find('size')
    if size_node is not None:
        try:
            width, height = int(size_node.findtext('width')), int(size_node.findtext('height'))
            size = (width, height) if width > 0 and height > 0 else None
        except (TypeError, ValueError):
            size = None
    objects: List[Tuple[str, Any]] = []
    for obj in root.findall('object'):
        name = (obj.findtext('name') or '').strip()
        box = obj.find('bndbox')
        if box is None:
            objects.append((name, 'object without <bndbox>'))
            continue
        try:
            coords = tuple(float(box.findtext(k)) for k in ('xmin', 'ymin', 'xmax', 'ymax'))
        except (TypeError, ValueError):
            objects.append((name, 'bndbox without numeric xmin/ymin/xmax/ymax'))
            continue
        objects.append((name, coords))
    return size, objects


def _voc_samples(dataset: Any) -> List[dict]:
    """The host's sample list (``img_id``, ``file_name``, ``xml_path``), its XML not yet read.

    ``XMLDataset.load_data_list`` reads the split list and names each sample's files, then hands
    each to ``parse_data_info``, which reads the XML and stops at the first missing or broken
    one; this dataset object's ``parse_data_info`` returns the raw sample instead, so every
    file can be checked (and read once, by :func:`_parse_voc_xml`).
    """
    dataset.parse_data_info = dict
    return dataset.load_data_list()


def _check_voc(
    ds: dict, dataset: Any, cfg: Config, problems: _Problems, report: CheckReport
) -> None:
    data_root = dataset.data_root
    if data_root and not osp.isdir(data_root):
        _missing_root(problems, 'data_root', data_root, 'data_root')
        return
    ann_file = dataset.ann_file
    if not osp.isfile(ann_file):
        problems.add(
            f'split list (ann_file) {ann_file} does not exist',
            fix='check data_root / ann_file (VOC: VOC2007/ImageSets/Main/trainval.txt)',
        )
        return
    samples = _voc_samples(dataset)
    if not samples:
        problems.add(f'split list {ann_file} is empty')
        return
    sub_root = dataset.sub_data_root
    for subdir in (dataset.img_subdir, dataset.ann_subdir):
        directory = osp.join(sub_root, subdir)
        if not osp.isdir(directory):
            _missing_root(problems, 'directory', directory, 'data_prefix.sub_data_root')
            return
    # XMLDataset.parse_data_info: img_path = sub_data_root / file_name
    _present(
        [osp.join(sub_root, s['file_name']) for s in samples],
        problems,
        report,
        'images',
        f'add the JPEGs or remove the ids from {ann_file}',
    )
    xmls = [s['xml_path'] for s in samples]
    _present(
        xmls,
        problems,
        report,
        'annotations',
        f'add the XML files or remove the ids from {ann_file}',
    )

    classes = tuple(dataset.metainfo.get('classes') or ())
    known = set(classes)
    unknown: Dict[str, List[str]] = defaultdict(list)
    broken, degenerate, outside, partly, empty = [], [], [], [], []
    for path in xmls:
        if not _usable(path):
            continue  # reported above
        try:
            size, objects = _parse_voc_xml(path)
        except ET.ParseError as err:
            broken.append(f'{path}: {err}')
            continue
        if not objects:
            empty.append(path)
        for name, box in objects:
            report.counts['objects'] += 1
            if name not in known:
                unknown[name].append(path)
            if isinstance(box, str):
                broken.append(f'{path}: {box} (class {name!r})')
                continue
            xmin, ymin, xmax, ymax = box
            # mmdet subtracts 1 from all four: width = xmax - xmin
            if xmax - xmin <= 0 or ymax - ymin <= 0:
                degenerate.append(f'{path}: {name} {box}')
            elif size is not None:
                width, height = size
                if xmin >= width or ymin >= height or xmax < 1 or ymax < 1:
                    outside.append(f'{path}: {name} {box} in a {width}x{height} image')
                elif xmin < 1 or ymin < 1 or xmax > width or ymax > height:
                    partly.append(f'{path}: {name} {box} in a {width}x{height} image')
    report.counts['boxes_partly_outside'] += len(partly)
    report.counts['empty_images'] += len(empty)
    for name, files in sorted(unknown.items()):
        problems.add(
            f'unknown class {name!r} in {len(files)} annotation file(s) (not in '
            f'metainfo.classes = {classes}); mmdet would silently drop these objects:',
            files,
            "fix the <name> in the XML, or add the class to metainfo.classes and the head's "
            'num_classes',
        )
    if broken:
        problems.add(
            f'{len(broken)} unreadable annotation(s):',
            broken,
            'repair or regenerate these XML files',
        )
    if degenerate:
        problems.add(
            f'{len(degenerate)} zero-area or inverted box(es) (xmax <= xmin or ymax <= ymin):',
            degenerate,
            'fix or delete these objects',
        )
    if outside:
        problems.add(
            f'{len(outside)} box(es) entirely outside their image:',
            outside,
            'fix the coordinates (VOC boxes are 1-based, inside 1..width x 1..height)',
        )
    if partly:
        _warn(
            report,
            f'{problems.where}: {len(partly)} box(es) extend past the image border '
            f'(clipped by Resize(clip_object_border=True)): {_listed(partly)}',
        )
    if empty:
        filtered = (ds.get('filter_cfg') or {}).get('filter_empty_gt', False) and not ds.get(
            'test_mode', False
        )
        _warn(
            report,
            f'{problems.where}: {len(empty)} image(s) without objects'
            + (' (dropped from training by filter_empty_gt)' if filtered else '')
            + f': {_listed(empty)}',
        )
    if classes:
        _check_num_classes(
            cfg, len(classes), f'metainfo.classes of {problems.where}', problems, report
        )


# ---------------------------------------------------------------------------------------------
# segmentation (mmseg BaseSegDataset)


def _label_values(path: str) -> Tuple[Optional[np.ndarray], Optional[str]]:
    """Distinct values of a label map read as mmseg's pillow backend does, or a problem."""
    with Image.open(path) as img:
        array = np.asarray(img)
    if array.ndim != 2:
        return None, (
            f'{path}: {array.shape[2] if array.ndim == 3 else array.ndim}-channel '
            f'label map ({img.mode}); mmseg needs one channel of class indices '
            f'(mode L or P), not a colour-rendered mask'
        )
    if array.dtype == np.uint8:
        return np.flatnonzero(np.bincount(array.ravel(), minlength=256)), None
    return np.unique(array), None


def _sample(
    samples: List[dict], limit: Optional[int], report: CheckReport, where: str
) -> List[dict]:
    """All of ``samples`` up to ``limit``; above, a seeded random ``limit`` of them (logged)."""
    if limit is None or len(samples) <= limit:
        return samples
    chosen = random.Random(0).sample(range(len(samples)), limit)
    print_log(
        f'dataset check: {where}: reading {limit} of {len(samples)} label maps (a seeded '
        f'random sample; label_map_sample=None reads all)',
        logger='current',
    )
    report.counts['label_maps_not_scanned'] += len(samples) - limit
    return [samples[i] for i in sorted(chosen)]


def _check_seg(
    ds: dict,
    dataset: Any,
    cfg: Config,
    problems: _Problems,
    report: CheckReport,
    scan_labels: bool,
    label_map_sample: Optional[int],
) -> None:
    data_root = dataset.data_root
    if data_root and not osp.isdir(data_root):
        _missing_root(problems, 'data_root', data_root, 'data_root')
        return
    img_dir = dataset.data_prefix.get('img_path', '')
    seg_dir = dataset.data_prefix.get('seg_map_path', '')
    for what, directory in (('image dir', img_dir), ('label map dir', seg_dir)):
        if not osp.isdir(directory):
            _missing_root(problems, what, directory, 'data_prefix')
            return
    ann_file = dataset.ann_file
    if ann_file and not osp.isfile(ann_file):
        problems.add(f'split list (ann_file) {ann_file} does not exist')
        return
    samples = dataset.load_data_list()  # the split list, or mmseg's scan of img_dir
    if not samples:
        problems.add(
            f'no *{dataset.img_suffix} image in {img_dir}',
            fix='check data_prefix.img_path and img_suffix',
        )
        return
    _present(
        [s['img_path'] for s in samples],
        problems,
        report,
        'images',
        f'add the images or remove them from {ann_file}' if ann_file else 'replace or remove them',
    )
    _present(
        [s['seg_map_path'] for s in samples],
        problems,
        report,
        'label_maps',
        f'every image needs its label map ({dataset.seg_map_suffix}) under {seg_dir}',
    )

    classes = dataset.metainfo.get('classes')
    if classes is None:
        return
    k = len(classes)
    _check_num_classes(cfg, k, f'metainfo.classes of {problems.where}', problems, report)
    if not scan_labels:
        return
    bad, shaped = [], []
    for sample in _sample(samples, label_map_sample, report, problems.where):
        path = sample['seg_map_path']
        if not _usable(path):
            continue
        try:
            values, problem = _label_values(path)
        except OSError as err:
            shaped.append(f'{path}: unreadable ({err})')
            continue
        if problem:
            shaped.append(problem)
            continue
        report.counts['label_maps_scanned'] += 1
        if sample.get('reduce_zero_label'):  # LoadAnnotations: 0 -> 255, v -> v - 1, 255 stays
            values = np.array([255 if v in (0, 255) else v - 1 for v in values.tolist()])
        label_map = sample.get('label_map')
        if label_map:  # a class subset: old id -> new id, dropped classes -> 255
            values = np.array([label_map.get(int(v), v) for v in values.tolist()])
        invalid = sorted(int(v) for v in values if not (0 <= v < k or v == 255))
        if invalid:
            bad.append(f'{path}: {invalid}')
    if shaped:
        problems.add(
            f'{len(shaped)} label map(s) cannot be used:',
            shaped,
            'save label maps as single-channel PNGs of class indices',
        )
    if bad:
        after = ' after reduce_zero_label' if dataset.reduce_zero_label else ''
        problems.add(
            f'{len(bad)} label map(s) hold values outside 0..{k - 1} and 255 (ignore){after}:',
            bad,
            f'the dataset has {k} classes (metainfo.classes); fix the label maps, or '
            f'the class list / reduce_zero_label setting',
        )


# ---------------------------------------------------------------------------------------------
# classification (mmpretrain CustomDataset / ImageNet)


def _check_cls(ds: dict, cls: type, cfg: Config, problems: _Problems, report: CheckReport) -> None:
    data_root = ds.get('data_root') or ''
    if data_root and not osp.isdir(data_root):
        _missing_root(problems, 'data_root', data_root, 'data_root')
        return
    classes_cfg = ds.get('classes')
    if isinstance(classes_cfg, str) and not osp.isfile(osp.expanduser(classes_cfg)):
        problems.add(
            f'classes file {classes_cfg} does not exist (mmpretrain reads it relative '
            f'to the working directory, not data_root)',
            fix='point dataset.classes at the class list (one name per line)',
        )
        return
    dataset = _build_lazily(ds, cls, problems)
    if dataset is None:
        return
    split = getattr(dataset, 'split', '') or ''
    img_prefix = dataset.img_prefix
    if not osp.isdir(img_prefix):
        _missing_root(
            problems,
            f'image folder{f" of split {split!r}" if split else ""}',
            img_prefix,
            'data_prefix',
        )
        return
    classes = dataset.metainfo.get('classes')
    if isinstance(classes_cfg, str):
        source = f'{len(classes)} names in {classes_cfg}'
    elif classes_cfg is not None:
        source = 'dataset.classes'
    else:
        source = f'metainfo.classes of {cls.__name__}' if classes else None
    k = len(classes) if classes else None

    ann_file = dataset.ann_file
    if ann_file and not osp.isfile(ann_file):
        problems.add(f'annotation file {ann_file} does not exist')
        return
    if not ann_file and dataset.with_label:
        # mmpretrain asserts this (without the paths) while it lists the folders
        from mmpretrain.datasets.custom import find_folders

        folders, _ = find_folders(img_prefix)
        if classes is not None and len(folders) != len(classes):
            problems.add(
                f'{img_prefix} has {len(folders)} class folders but {source} lists '
                f'{len(classes)} classes',
                fix='make the folders and the class list agree',
            )
            return
    try:
        samples = dataset.load_data_list()
    except (ValueError, RuntimeError) as err:
        problems.add(
            f'{cls.__name__} cannot list its samples: {type(err).__name__}: {err}',
            fix=f'split list lines are "<path> <int label>" ({ann_file})'
            if ann_file
            else f'put the images in one folder per class under {img_prefix}',
        )
        return
    _present(
        [s['img_path'] for s in samples],
        problems,
        report,
        'images',
        f'add the images or fix {ann_file}' if ann_file else 'replace or remove them',
    )
    labels = [s['gt_label'] for s in samples if 'gt_label' in s]
    if ann_file and labels:
        if k is None:
            k, source = max(labels) + 1, f'largest label in {ann_file} + 1'
        out = sorted({lab for lab in labels if not 0 <= lab < k})
        if out:
            problems.add(
                f'{ann_file} has labels {out[:10]} outside 0..{k - 1} ({source})',
                fix='fix the labels or the class list',
            )
    elif not ann_file and dataset.with_label and k is None:
        found = dataset.metainfo.get('classes') or ()  # the folders, as mmpretrain named them
        k, source = len(found), f'{len(found)} class folders in {img_prefix}'
    if k is not None and dataset.with_label:
        _check_num_classes(cfg, k, source, problems, report)


# ---------------------------------------------------------------------------------------------


def _warn(report: CheckReport, message: str) -> None:
    report.warnings.append(message)
    print_log(f'dataset check: {message}', logger='current', level=logging.WARNING)


def check_config_datasets(
    cfg: Config,
    loaders: Sequence[str] = DATALOADERS,
    scan_labels: bool = True,
    label_map_sample: Optional[int] = DEFAULT_LABEL_MAP_SAMPLE,
) -> CheckReport:
    """Check the datasets of ``cfg``'s dataloaders on disk (see the module docstring).

    Args:
        cfg: A host config (its ``default_scope`` resolves the dataset types).
        loaders: Dataloader keys to walk; missing or ``None`` ones are skipped.
        scan_labels: Read segmentation label maps to check their values.
        label_map_sample: Read every label map of a dataset with at most this many, a seeded
            random sample of this many above (logged); ``None`` reads all.

    Returns:
        What was checked, the warnings and counts.

    Raises:
        DatasetLayoutError: all problems that would stop or silently corrupt training, per
            dataset, with the files and the fix.
    """
    if label_map_sample is not None and label_map_sample < 1:
        raise ValueError(f'label_map_sample must be >= 1 or None (all), got {label_map_sample!r}')
    report = CheckReport()
    scope = cfg.get('default_scope')
    errors: List[str] = []
    seen = set()
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if not isinstance(loader_cfg, dict) or not isinstance(loader_cfg.get('dataset'), dict):
            continue
        for path, ds in _iter_datasets(loader_cfg['dataset'], f'{loader}.dataset'):
            key = repr(sorted((k, repr(v)) for k, v in ds.items() if k != 'pipeline'))
            if key in seen:
                continue
            seen.add(key)
            cls = _resolve(ds.get('type'), ds.get('_scope_', scope))
            family = _family(cls)
            if family is None:
                report.skipped.append(f'{path} ({ds.get("type")})')
                continue
            problems = _Problems(path)
            if family == 'cls':
                _check_cls(ds, cls, cfg, problems, report)
            else:
                dataset = _build_lazily(ds, cls, problems)
                if dataset is not None and family == 'voc':
                    _check_voc(ds, dataset, cfg, problems, report)
                elif dataset is not None:
                    _check_seg(ds, dataset, cfg, problems, report, scan_labels, label_map_sample)
            report.checked.append(f'{path} ({cls.__name__}): {ds.get("data_root")}')
            if problems.errors:
                errors.append(
                    f'{path} ({cls.__name__}, data_root={ds.get("data_root")!r}):\n'
                    + '\n'.join(problems.errors)
                )
    if errors:
        raise DatasetLayoutError(
            "dataset check failed (run from the directory the config's relative paths start "
            'at; skip the check with --skip-data-check):\n' + '\n'.join(errors)
        )
    print_log(
        f'dataset check passed: {len(report.checked)} dataset(s), '
        + ', '.join(f'{n} {k}' for k, n in sorted(report.counts.items())),
        logger='current',
    )
    return report


def _launch_rank() -> int:
    """This process's rank as the launcher set it (the process group does not exist yet)."""
    for key in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        if key in os.environ:
            return int(os.environ[key])
    return 0


def check_before_training(
    cfg: Config,
    loaders: Sequence[str] = DATALOADERS,
    label_map_sample: Optional[int] = DEFAULT_LABEL_MAP_SAMPLE,
) -> Optional[CheckReport]:
    """:func:`check_config_datasets` once per run: on rank 0, and not when the run resumes.

    Every rank reads the same files, so one check is enough (a failure stops rank 0 and the
    launcher stops the others); a resumed run was checked when it started.

    Returns:
        The report, or None where the check was not this process's to run.
    """
    if _launch_rank() != 0:
        return None
    if cfg.get('resume') and cfg.get('load_from'):
        print_log(
            f'dataset check skipped: resuming from {cfg.load_from} (checked when the run started)',
            logger='current',
        )
        return None
    return check_config_datasets(cfg, loaders=loaders, label_map_sample=label_map_sample)
