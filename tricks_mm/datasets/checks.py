"""Check the on-disk layout of a config's datasets before training starts.

Why: the hosts find most layout problems late, obscurely, or never:

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
``RepeatDataset``, ``ClassBalancedDataset`` and other ``dataset=``/``datasets=`` wrappers) and
checks every VOC-style (mmdet ``XMLDataset``), segmentation (mmseg ``BaseSegDataset``) and
classification (mmpretrain ``CustomDataset``/``ImageNet``) dataset it finds with ``listdir``/
``stat``, XML parsing and one read of each label map. Problems that would train a wrong model are
collected into one :class:`DatasetLayoutError` naming the files and the fix; the ones the host
handles safely are logged as warnings with counts.
"""
import inspect
import logging
import os
import os.path as osp
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import DATASETS
from PIL import Image

#: How many offending files an error message lists before "... and N more".
_SHOW = 5
_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


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
    return ', '.join(files[:_SHOW]) + (f' (+{len(files) - _SHOW} more)' if len(files) > _SHOW
                                       else '')


# ---------------------------------------------------------------------------------------------
# config walking


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


def _default(cls: type, name: str, fallback: Any = None) -> Any:
    """Default of ``name`` in ``cls.__init__`` or any base's (what the dataset would use)."""
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        param = inspect.signature(init).parameters.get(name)
        if param is not None and param.default is not inspect.Parameter.empty:
            return param.default
    return fallback


def _arg(ds: dict, cls: type, name: str, fallback: Any = None) -> Any:
    return ds[name] if name in ds else _default(cls, name, fallback)


def _join(root: Optional[str], path: Optional[str]) -> str:
    """``BaseDataset._join_prefix``: relative paths are under ``data_root``."""
    path = path or ''
    if root and not osp.isabs(path):
        return osp.join(root, path)
    return path


def _metainfo_classes(ds: dict, cls: type) -> Optional[Tuple[str, ...]]:
    metainfo = ds.get('metainfo') or {}
    classes = metainfo.get('classes') if isinstance(metainfo, dict) else None
    if classes is None:
        classes = getattr(cls, 'METAINFO', {}).get('classes')
    return tuple(classes) if classes is not None else None


def _head_num_classes(cfg: Config) -> List[Tuple[str, int]]:
    """Every ``num_classes`` under ``cfg.model`` (and ``cfg.data_preprocessor``), with its path;
    the RPN's (always 1, class-agnostic) excluded."""
    found: List[Tuple[str, int]] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                sub = f'{path}.{key}'
                if key == 'num_classes' and isinstance(value, int) and 'rpn' not in path:
                    found.append((sub, value))
                else:
                    walk(value, sub)
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{path}[{i}]')

    walk(cfg.get('model', {}), 'model')
    walk(cfg.get('data_preprocessor', None) or {}, 'data_preprocessor')
    return found


def _check_num_classes(cfg: Config, k: int, source: str, problems: _Problems,
                       report: CheckReport) -> None:
    for path, value in _head_num_classes(cfg):
        if value != k and (path, value, k) not in report._heads_reported:
            report._heads_reported.add((path, value, k))
            problems.add(
                f'{path} = {value} but the dataset has {k} classes ({source})',
                fix=f'set {path}={k} (e.g. --cfg-options {path}={k}), or fix the class list')


def _missing_root(problems: _Problems, what: str, path: str, key: str) -> None:
    hint = ('generate the embedded data: python -m tricks_mm.datasets.synthetic --out '
            'data/synthetic (configs use paths relative to the working directory)'
            if 'synthetic' in path else
            'download/extract the dataset there, or point the config at it '
            f'(--cfg-options <dataloader>.dataset.{key}=/path)')
    problems.add(f'{what} {path} does not exist (absolute: {osp.abspath(path)})', fix=hint)


def _sizes(directory: str) -> Dict[str, int]:
    """``{file name: size}`` of the plain files in ``directory`` (one scandir)."""
    sizes = {}
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_file():
                sizes[entry.name] = entry.stat().st_size
    return sizes


def _present(paths: Iterable[str], problems: _Problems, report: CheckReport, what: str,
             fix: str) -> None:
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
        problems.add(f'{len(empty)} {what} are empty (0 bytes):', empty,
                     'replace them, or remove their entries from the split list')


# ---------------------------------------------------------------------------------------------
# VOC (mmdet XMLDataset)


def _parse_voc_xml(path: str) -> Tuple[Optional[Tuple[int, int]], List[Tuple[str, Any]]]:
    """(width, height) or None, and [(class name, (xmin, ymin, xmax, ymax) or error string)]."""
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


def _check_voc(ds: dict, cls: type, cfg: Config, problems: _Problems,
               report: CheckReport) -> None:
    data_root = ds.get('data_root')
    if data_root and not osp.isdir(data_root):
        _missing_root(problems, 'data_root', data_root, 'data_root')
        return
    ann_file = _join(data_root, ds.get('ann_file'))
    prefix = ds.get('data_prefix') or {}
    sub_root = _join(data_root, prefix.get('sub_data_root', '') if isinstance(prefix, dict)
                     else '')
    img_dir = osp.join(sub_root, _arg(ds, cls, 'img_subdir', 'JPEGImages'))
    ann_dir = osp.join(sub_root, _arg(ds, cls, 'ann_subdir', 'Annotations'))
    if not osp.isfile(ann_file):
        problems.add(f'split list (ann_file) {ann_file} does not exist',
                     fix='check data_root / ann_file (VOC: VOC2007/ImageSets/Main/trainval.txt)')
        return
    with open(ann_file) as f:
        ids = [line.strip() for line in f if line.strip()]
    if not ids:
        problems.add(f'split list {ann_file} is empty')
        return
    for directory in (img_dir, ann_dir):
        if not osp.isdir(directory):
            _missing_root(problems, 'directory', directory, 'data_prefix.sub_data_root')
            return
    _present([osp.join(img_dir, f'{i}.jpg') for i in ids], problems, report, 'images',
             f'add the JPEGs or remove the ids from {ann_file}')
    xmls = [osp.join(ann_dir, f'{i}.xml') for i in ids]
    _present(xmls, problems, report, 'annotations',
             f'add the XML files or remove the ids from {ann_file}')

    classes = _metainfo_classes(ds, cls) or ()
    known = set(classes)
    unknown: Dict[str, List[str]] = defaultdict(list)
    broken, degenerate, outside, partly, empty = [], [], [], [], []
    for path in xmls:
        if not osp.isfile(path) or osp.getsize(path) == 0:
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
            f'metainfo.classes = {classes}); mmdet would silently drop these objects:', files,
            'fix the <name> in the XML, or add the class to metainfo.classes and the head\'s '
            'num_classes')
    if broken:
        problems.add(f'{len(broken)} unreadable annotation(s):', broken,
                     'repair or regenerate these XML files')
    if degenerate:
        problems.add(f'{len(degenerate)} zero-area or inverted box(es) (xmax <= xmin or '
                     f'ymax <= ymin):', degenerate, 'fix or delete these objects')
    if outside:
        problems.add(f'{len(outside)} box(es) entirely outside their image:', outside,
                     'fix the coordinates (VOC boxes are 1-based, inside 1..width x 1..height)')
    if partly:
        _warn(report, f'{problems.where}: {len(partly)} box(es) extend past the image border '
                      f'(clipped by Resize(clip_object_border=True)): {_listed(partly)}')
    if empty:
        filtered = (ds.get('filter_cfg') or {}).get('filter_empty_gt', False) \
            and not ds.get('test_mode', False)
        _warn(report, f'{problems.where}: {len(empty)} image(s) without objects'
                      + (' (dropped from training by filter_empty_gt)' if filtered else '')
                      + f': {_listed(empty)}')
    if classes:
        _check_num_classes(cfg, len(classes), f'metainfo.classes of {problems.where}',
                           problems, report)


# ---------------------------------------------------------------------------------------------
# segmentation (mmseg BaseSegDataset)


def _label_values(path: str) -> Tuple[Optional[np.ndarray], Optional[str]]:
    """Distinct values of a label map read as mmseg's pillow backend does, or a problem."""
    with Image.open(path) as img:
        array = np.asarray(img)
    if array.ndim != 2:
        return None, (f'{path}: {array.shape[2] if array.ndim == 3 else array.ndim}-channel '
                      f'label map ({img.mode}); mmseg needs one channel of class indices '
                      f'(mode L or P), not a colour-rendered mask')
    if array.dtype == np.uint8:
        return np.flatnonzero(np.bincount(array.ravel(), minlength=256)), None
    return np.unique(array), None


def _check_seg(ds: dict, cls: type, cfg: Config, problems: _Problems, report: CheckReport,
               scan_labels: bool) -> None:
    data_root = ds.get('data_root')
    if data_root and not osp.isdir(data_root):
        _missing_root(problems, 'data_root', data_root, 'data_root')
        return
    prefix = ds.get('data_prefix') or _default(cls, 'data_prefix') or {}
    img_dir = _join(data_root, prefix.get('img_path', ''))
    seg_dir = _join(data_root, prefix.get('seg_map_path', ''))
    img_suffix = _arg(ds, cls, 'img_suffix', '.jpg')
    seg_suffix = _arg(ds, cls, 'seg_map_suffix', '.png')
    reduce_zero_label = _arg(ds, cls, 'reduce_zero_label', False)
    for what, directory in (('image dir', img_dir), ('label map dir', seg_dir)):
        if not osp.isdir(directory):
            _missing_root(problems, what, directory, 'data_prefix')
            return
    ann_file = ds.get('ann_file')
    if ann_file:
        ann_file = _join(data_root, ann_file)
        if not osp.isfile(ann_file):
            problems.add(f'split list (ann_file) {ann_file} does not exist')
            return
        with open(ann_file) as f:
            names = [line.strip() + img_suffix for line in f if line.strip()]
        _present([osp.join(img_dir, n) for n in names], problems, report, 'images',
                 f'add the images or remove them from {ann_file}')
    else:  # what mmseg does: every file with img_suffix under img_dir, recursively
        names = sorted(osp.relpath(osp.join(d, f), img_dir)
                       for d, _, files in os.walk(img_dir) for f in files
                       if f.endswith(img_suffix))
        report.counts['images'] += len(names)
        if not names:
            problems.add(f'no *{img_suffix} image in {img_dir}',
                         fix='check data_prefix.img_path and img_suffix')
            return
    seg_maps = [osp.join(seg_dir, n[:-len(img_suffix)] + seg_suffix) for n in names]
    _present(seg_maps, problems, report, 'label_maps',
             f'every image needs its label map ({seg_suffix}) under {seg_dir}')

    classes = _metainfo_classes(ds, cls)
    if classes is None:
        return
    k = len(classes)
    _check_num_classes(cfg, k, f'metainfo.classes of {problems.where}', problems, report)
    if not scan_labels:
        return
    label_map = None
    if (ds.get('metainfo') or {}).get('classes') and getattr(cls, 'METAINFO', {}).get('classes'):
        try:  # what mmseg does for a class subset: old id -> new id, dropped classes -> 255
            label_map = cls.get_label_map(list(classes))
        except ValueError as err:
            problems.add(f'metainfo.classes do not fit {cls.__name__}: {err}')
            return
    bad, shaped = [], []
    for path in seg_maps:
        if not osp.isfile(path) or osp.getsize(path) == 0:
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
        if reduce_zero_label:  # LoadAnnotations: 0 -> 255, v -> v - 1, 255 stays
            values = np.array([255 if v in (0, 255) else v - 1 for v in values.tolist()])
        if label_map:
            values = np.array([label_map.get(int(v), v) for v in values.tolist()])
        invalid = sorted(int(v) for v in values if not (0 <= v < k or v == 255))
        if invalid:
            bad.append(f'{path}: {invalid}')
    if shaped:
        problems.add(f'{len(shaped)} label map(s) cannot be used:', shaped,
                     'save label maps as single-channel PNGs of class indices')
    if bad:
        after = ' after reduce_zero_label' if reduce_zero_label else ''
        problems.add(f'{len(bad)} label map(s) hold values outside 0..{k - 1} and 255 '
                     f'(ignore){after}:', bad,
                     f'the dataset has {k} classes (metainfo.classes); fix the label maps, or '
                     f'the class list / reduce_zero_label setting')


# ---------------------------------------------------------------------------------------------
# classification (mmpretrain CustomDataset / ImageNet)


def _check_cls(ds: dict, cls: type, cfg: Config, problems: _Problems,
               report: CheckReport) -> None:
    data_root = ds.get('data_root') or ''
    if data_root and not osp.isdir(data_root):
        _missing_root(problems, 'data_root', data_root, 'data_root')
        return
    split = ds.get('split', '')
    data_prefix = ds.get('data_prefix', '') or ''
    if isinstance(data_prefix, dict):
        data_prefix = data_prefix.get('img_path', '')
    ann_file = ds.get('ann_file', '') or ''
    if split:  # mmpretrain ImageNet's split conventions
        data_prefix = data_prefix or split
        if not ann_file and osp.isfile(osp.join(data_root, 'meta', f'{split}.txt')):
            ann_file = osp.join('meta', f'{split}.txt')
    with_label = ds.get('with_label', split != 'test')
    img_prefix = _join(data_root, data_prefix)
    if not osp.isdir(img_prefix):
        _missing_root(problems, f'image folder{f" of split {split!r}" if split else ""}',
                      img_prefix, 'data_prefix')
        return

    classes = ds.get('classes')
    source = None
    if isinstance(classes, str):
        if not osp.isfile(osp.expanduser(classes)):
            problems.add(f'classes file {classes} does not exist (mmpretrain reads it relative '
                         f'to the working directory, not data_root)',
                         fix='point dataset.classes at the class list (one name per line)')
            return
        with open(osp.expanduser(classes)) as f:
            classes = [line.strip() for line in f if line.strip()]
        source = f'{len(classes)} names in {ds["classes"]}'
    elif classes is not None:
        source = 'dataset.classes'
    else:
        classes = _metainfo_classes(ds, cls)
        source = f'metainfo.classes of {cls.__name__}' if classes else None
    k = len(classes) if classes else None

    if ann_file:
        ann_path = _join(data_root, ann_file)
        if not osp.isfile(ann_path):
            problems.add(f'annotation file {ann_path} does not exist')
            return
        with open(ann_path) as f:
            lines = [line.strip() for line in f if line.strip()]
        files, labels = [], []
        for line in lines:
            name, _, label = line.rpartition(' ') if with_label else (line, '', '')
            files.append(osp.join(img_prefix, name))
            if with_label:
                try:
                    labels.append(int(label))
                except ValueError:
                    problems.add(f'{ann_path}: line {line!r} is not "<path> <int label>"')
                    return
        _present(files, problems, report, 'images', f'add the images or fix {ann_path}')
        if labels:
            if k is None:
                k, source = max(labels) + 1, f'largest label in {ann_path} + 1'
            out = sorted({lab for lab in labels if not 0 <= lab < k})
            if out:
                problems.add(f'{ann_path} has labels {out[:10]} outside 0..{k - 1} '
                             f'({source})', fix='fix the labels or the class list')
    elif with_label:
        folders = sorted(d for d in os.listdir(img_prefix)
                         if osp.isdir(osp.join(img_prefix, d)))
        report.counts['images'] += sum(len(os.listdir(osp.join(img_prefix, d)))
                                       for d in folders)
        if classes is not None and len(folders) != len(classes):
            problems.add(f'{img_prefix} has {len(folders)} class folders but {source} lists '
                         f'{len(classes)} classes', fix='make the folders and the class list agree')
        if k is None:
            k, source = len(folders), f'{len(folders)} class folders in {img_prefix}'
    if k is not None and with_label:
        _check_num_classes(cfg, k, source, problems, report)


# ---------------------------------------------------------------------------------------------


def _warn(report: CheckReport, message: str) -> None:
    report.warnings.append(message)
    print_log(f'dataset check: {message}', logger='current', level=logging.WARNING)


def check_config_datasets(cfg: Config, loaders: Sequence[str] = _LOADERS,
                          scan_labels: bool = True) -> CheckReport:
    """Check the datasets of ``cfg``'s dataloaders on disk (see the module docstring).

    Args:
        cfg: A host config (its ``default_scope`` resolves the dataset types).
        loaders: Dataloader keys to walk; missing or ``None`` ones are skipped.
        scan_labels: Read every segmentation label map to check its values.

    Returns:
        What was checked, the warnings and counts.

    Raises:
        DatasetLayoutError: all problems that would stop or silently corrupt training, per
            dataset, with the files and the fix.
    """
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
            if family == 'voc':
                _check_voc(ds, cls, cfg, problems, report)
            elif family == 'seg':
                _check_seg(ds, cls, cfg, problems, report, scan_labels)
            else:
                _check_cls(ds, cls, cfg, problems, report)
            report.checked.append(f'{path} ({cls.__name__}): {ds.get("data_root")}')
            if problems.errors:
                errors.append(f'{path} ({cls.__name__}, data_root={ds.get("data_root")!r}):\n'
                              + '\n'.join(problems.errors))
    if errors:
        raise DatasetLayoutError(
            'dataset check failed (run from the directory the config\'s relative paths start '
            'at; skip the check with --skip-data-check):\n' + '\n'.join(errors))
    print_log(f'dataset check passed: {len(report.checked)} dataset(s), '
              + ', '.join(f'{n} {k}' for k, n in sorted(report.counts.items())),
              logger='current')
    return report
