"""tools/train.py end to end: kill -9 mid-run, --resume, same weights as an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tricks_mm.engine.safe_checkpoint import UnsafeCheckpointError, safe_torch_load

RUNG = 'configs/classification/resnet50d_cosine_ls_mixup_8xb128_in1k.py'  # every random trick


def _train_cmd(repo: Path, work_dir: str, *extra: str) -> list:
    # 3 epochs of the tiny suite (24 images, batch 8), data loading in the main process so the
    # RNG state in the checkpoint covers the augmentations too; deterministic CPU kernels.
    return [
        sys.executable,
        '-m',
        'tricks_mm.cli.train',
        str(repo / RUNG),
        '--overlay',
        str(repo / 'configs/toy/classification.py'),
        '--epoch-scale',
        str(3 / 200),
        '--work-dir',
        work_dir,
        '--cfg-options',
        'train_dataloader.batch_size=8',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'randomness.deterministic=True',
        'env_cfg.mp_cfg.opencv_num_threads=1',
        *extra,
    ]


def _weights(path: str) -> dict:
    return safe_torch_load(path, map_location='cpu')['state_dict']


@pytest.mark.slow
def test_kill_then_resume_matches_uninterrupted_run(in_workspace, repo):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    subprocess.run(_train_cmd(repo, 'straight'), check=True, env=env, capture_output=True)
    straight = _weights('straight/epoch_3.pth')

    proc = subprocess.Popen(
        _train_cmd(repo, 'killed'), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 300
    while not os.path.exists('killed/epoch_2.pth') and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # during epoch 3 (or its checkpoint write)
    proc.wait()
    assert os.path.exists('killed/epoch_2.pth')
    safe_torch_load('killed/epoch_2.pth')  # the last complete checkpoint is intact

    subprocess.run(_train_cmd(repo, 'killed', '--resume'), check=True, env=env, capture_output=True)
    resumed = _weights('killed/epoch_3.pth')
    assert resumed.keys() == straight.keys()
    for key in straight:
        torch.testing.assert_close(resumed[key], straight[key], rtol=0, atol=0, msg=key)


def test_resume_refuses_a_checkpoint_with_a_foreign_object(in_workspace, repo, tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, (f'touch {tmp_path}/pwned',))

    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': {}, 'payload': Payload()}, evil)
    result = subprocess.run(
        _train_cmd(repo, 'evil', '--resume', str(evil)), capture_output=True, text=True
    )
    assert result.returncode != 0
    assert UnsafeCheckpointError.__name__ in result.stderr
    assert 'allowlist' in result.stderr
    assert not (tmp_path / 'pwned').exists()


@pytest.mark.slow
def test_resume_never_executes_the_config_text_in_a_checkpoint(in_workspace, repo, tmp_path):
    """mmengine's resume would run ``Config.fromstring(meta['config'])``: a checkpoint whose
    meta.config writes a file resumes normally and the file never appears."""
    from tricks_mm.cli import train

    argv = _train_cmd(repo, 'hostile')[3:]  # the same run, in this process
    argv[argv.index('--epoch-scale') + 1] = str(1 / 200)
    train.main(argv)
    checkpoint = safe_torch_load('hostile/epoch_1.pth')
    marker = tmp_path / 'pwned'
    checkpoint['meta']['config'] = f"import os\nopen({str(marker)!r}, 'w')\ngpu_ids = [0]\n"
    torch.save(checkpoint, 'hostile/epoch_1.pth')
    argv[argv.index('--epoch-scale') + 1] = str(2 / 200)
    runner = train.main(argv + ['--resume', 'hostile/epoch_1.pth'])
    assert runner.epoch == 2 and os.path.isfile('hostile/epoch_2.pth')
    assert not marker.exists()


def test_dangling_last_checkpoint_falls_back_to_the_newest_on_disk(tmp_path):
    """mmengine deletes the oldest kept checkpoint before rewriting last_checkpoint."""
    from tricks_mm.engine.runner import find_resume_checkpoint

    assert find_resume_checkpoint(str(tmp_path)) is None
    for name in ('epoch_2.pth', 'epoch_10.pth', 'best.pth'):
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_9.pth'))  # deleted file
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_10.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
