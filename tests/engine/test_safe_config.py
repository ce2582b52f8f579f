"""The stored-config reader parses what mmengine's runner writes and never executes anything."""

from pathlib import Path

import pytest
from mmengine.config import Config

from tricks_mm.config.setup import load_config
from tricks_mm.engine.safe_config import UnsafeConfigText, read_literal_config

REPO = Path(__file__).resolve().parents[2]
CLS_CONFIGS = sorted((REPO / 'configs' / 'classification').glob('*.py'))


@pytest.mark.parametrize('config', CLS_CONFIGS[:3] + CLS_CONFIGS[-3:], ids=lambda p: p.stem)
def test_runner_pretty_text_reads_back_as_mmengine_parses_it(config):
    """``meta.cfg`` is ``cfg.pretty_text`` (mmengine's runner); reading it without executing gives
    the dict mmengine itself gets by executing it (the reference)."""
    cfg = load_config(str(config), [str(REPO / 'configs' / 'toy' / 'classification.py')])
    text = cfg.pretty_text
    assert read_literal_config(text) == Config.fromstring(text, '.py').to_dict()


@pytest.mark.parametrize(
    'text, where',
    [
        ('import os\nmodel = dict(depth=50)\n', 'line 1: Import'),
        ("model = dict(depth=__import__('os').getpid())\n", 'line 1: Call'),
        ("model = dict(depth=50)\nprint('hi')\n", 'line 2: Expr'),
        ('x = [i for i in range(3)]\n', 'ListComp'),
        ('x = dict(**other)\n', 'line 1: Call'),
        ('x = {**other}\n', r'\*\* unpacking'),
        ('x = y = 1\n', 'line 1: Assign'),
        ('x = open\n', "Name 'open'"),
        ('x = (1).__class__\n', 'Attribute'),
        ("x = 'a' + 'b'\n", 'BinOp'),
        ('def f():\n    pass\n', 'FunctionDef'),
        ('x = dict(\n', 'not Python'),
    ],
)
def test_anything_but_literal_assignments_is_refused(text, where):
    with pytest.raises(UnsafeConfigText, match=where):
        read_literal_config(text)


def test_literals():
    text = "a = dict(b=(1, -2.5, +3), c=[None, True, 'x'], d={'k-1': {1, 2}})\ne = b'raw'\n"
    assert read_literal_config(text) == dict(
        a=dict(b=(1, -2.5, 3), c=[None, True, 'x'], d={'k-1': {1, 2}}), e=b'raw'
    )


def test_resume_gets_gpu_ids_without_executing_meta_config(tmp_path):
    """mmengine's Runner.resume runs Config.fromstring(meta['config']) to read gpu_ids: the
    strict runner keeps exactly that value, read as a literal, and drops text that is code."""
    from tricks_mm.engine.runner import defuse_stored_config

    marker = tmp_path / 'pwned'
    checkpoint = dict(meta=dict(config='gpu_ids = [0, 1]\nmodel = dict(depth=50)\n'))
    defuse_stored_config(checkpoint, 'ckpt.pth')
    assert checkpoint['meta']['config'] == 'gpu_ids = [0, 1]\n'
    assert Config.fromstring(checkpoint['meta']['config'], '.py').gpu_ids == [0, 1]
    for text in (f"import os\nopen({str(marker)!r}, 'w')\ngpu_ids = [0]\n", 42):
        checkpoint = dict(meta=dict(config=text, epoch=3))
        defuse_stored_config(checkpoint, 'ckpt.pth')
        assert checkpoint['meta'] == dict(epoch=3)
    checkpoint = dict(meta=dict(config="gpu_ids = 'all'\n"))  # not a list of ints: dropped
    defuse_stored_config(checkpoint, 'ckpt.pth')
    assert 'config' not in checkpoint['meta']
    assert not marker.exists()
