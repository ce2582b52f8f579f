"""mmpretrain's Mixup is the paper's (Sec. 5.4 of arXiv 1812.01187), checked from its outputs.

Paper: lam ~ Beta(alpha, alpha), each batch mixed with a permuted copy of itself, labels mixed the
same way. We recover lam and the permutation from the mixed one-hot labels and check the images.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close


def _mixup(alpha: float):
    from mmpretrain.models.utils.batch_augments import Mixup
    return Mixup(alpha=alpha)


def _recover(scores: torch.Tensor):
    """lam and the permutation from mixed distinct one-hots: row i = lam e_i + (1-lam) e_perm(i)."""
    n = scores.shape[0]
    off = scores.clone()
    off[torch.arange(n), torch.arange(n)] = 0
    moved = off.sum(1) > 0  # rows whose partner is another sample
    if not moved.any():  # lam == 1.0 exactly (Beta(0.2, 0.2) can return it) or identity perm
        return 1.0, torch.arange(n)
    lam = scores[moved][0, moved.nonzero()[0, 0]].item()
    perm = torch.where(moved, off.argmax(1), torch.arange(n))
    return lam, perm


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_mixup_is_convex_combination_with_a_permuted_copy(seed):
    np.random.seed(seed)
    torch.manual_seed(seed)
    n = 8
    x = torch.randn(n, 3, 4, 4)
    scores = F.one_hot(torch.arange(n), n).float()
    mixed_x, mixed_s = _mixup(0.2)(x, scores)
    lam, perm = _recover(mixed_s)
    assert sorted(perm.tolist()) == list(range(n)), 'partners must form a permutation'
    assert 0.0 <= lam <= 1.0
    assert_close(mixed_x, lam * x + (1 - lam) * x[perm])
    assert_close(mixed_s, lam * scores + (1 - lam) * scores[perm])


def test_mixup_lambda_is_beta_alpha_alpha():
    from scipy import stats
    np.random.seed(0)
    torch.manual_seed(0)
    n = 16
    x = torch.zeros(n, 1, 1, 1)
    scores = F.one_hot(torch.arange(n), n).float()
    mix = _mixup(0.2)
    lams = np.array([_recover(mix(x, scores)[1])[0] for _ in range(1500)])
    assert stats.kstest(lams, 'beta', args=(0.2, 0.2)).pvalue > 0.01
    # The test can tell Beta(0.2, 0.2) from the uniform Beta(1, 1).
    assert stats.kstest(lams, 'beta', args=(1.0, 1.0)).pvalue < 1e-6
