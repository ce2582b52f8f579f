"""mmpretrain's Mixup is the paper's (Sec. 5.4 of arXiv 1812.01187).

Paper: lam ~ Beta(alpha, alpha), each batch mixed with a permuted copy of itself, labels mixed the
same way. One test fixes lam and the permutation and compares with a mix computed independently
from the inputs; the other checks the distribution of lam over many batches (recovered from the
mixed one-hot labels, which a correct mix makes possible).
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


@pytest.mark.parametrize(
    'lam, perm',
    [
        (0.3, [2, 0, 3, 1, 5, 4, 7, 6]),
        (0.85, [7, 6, 5, 4, 3, 2, 1, 0]),
        (1.0, [1, 2, 3, 4, 5, 6, 7, 0]),
    ],
)
def test_mixup_equals_an_independent_mix_at_a_given_lambda_and_permutation(monkeypatch, lam, perm):
    """Paper Sec. 5.4: with lam drawn from Beta(alpha, alpha) and a random permutation, images
    and labels become lam * x + (1 - lam) * x[perm]. The draws are fixed here (and their
    arguments checked); the expected batch is computed from the inputs alone."""
    draws = []

    def beta(a, b, *args, **kwargs):
        draws.append(('beta', a, b))
        return lam

    def randperm(n, *args, **kwargs):
        draws.append(('randperm', n))
        return torch.tensor(perm)

    monkeypatch.setattr(np.random, 'beta', beta)
    monkeypatch.setattr(torch, 'randperm', randperm)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 3, 4, 4, generator=g)
    scores = torch.softmax(torch.randn(8, 5, generator=g), dim=1)  # soft labels, 5 classes
    mixed_x, mixed_s = _mixup(0.2)(x, scores)
    assert sorted(draws) == [('beta', 0.2, 0.2), ('randperm', 8)]
    expected_x = torch.stack([lam * x[i] + (1 - lam) * x[perm[i]] for i in range(8)])
    expected_s = torch.stack([lam * scores[i] + (1 - lam) * scores[perm[i]] for i in range(8)])
    assert_close(mixed_x, expected_x, rtol=1e-6, atol=1e-6)
    assert_close(mixed_s, expected_s, rtol=1e-6, atol=1e-6)


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
