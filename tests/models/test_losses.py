"""Label smoothing (Sec. 5.2) and distillation (Sec. 5.3) losses against independent references."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from tricks_mm.models.losses import BoTDistillLoss, BoTLabelSmoothLoss

N, K = 6, 5


@pytest.fixture
def logits() -> torch.Tensor:
    return torch.randn(N, K, generator=torch.Generator().manual_seed(0)) * 3


@pytest.fixture
def labels() -> torch.Tensor:
    return torch.tensor([0, 4, 2, 2, 1, 3])


def paper_targets_by_loop(labels: torch.Tensor, k: int, eps: float) -> torch.Tensor:
    """Sec. 5.2 written out: 1 - eps on the true class, eps / (K - 1) elsewhere."""
    q = torch.empty(len(labels), k)
    for n, y in enumerate(labels.tolist()):
        for i in range(k):
            q[n, i] = 1 - eps if i == y else eps / (k - 1)
    return q


def ce_by_hand(logits: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return -(q * torch.log_softmax(logits, dim=1)).sum(1).mean()


def one_hot(labels: torch.Tensor, k: int = K) -> torch.Tensor:
    return F.one_hot(labels, k).float()


# ------------------------------------------------------------------ label smoothing
@pytest.mark.parametrize('eps', [0.0, 0.1, 0.5])
def test_paper_mode_matches_hand_target(logits, labels, eps):
    loss = BoTLabelSmoothLoss(num_classes=K, eps=eps)(logits, labels)
    assert_close(loss, ce_by_hand(logits, paper_targets_by_loop(labels, K, eps)))


@pytest.mark.parametrize('eps', [0.0, 0.1, 0.3])
def test_uniform_mode_matches_torch_label_smoothing(logits, labels, eps):
    loss = BoTLabelSmoothLoss(num_classes=K, eps=eps, mode='uniform')(logits, labels)
    assert_close(loss, F.cross_entropy(logits, labels, label_smoothing=eps))


def test_modes_differ_by_eps_rescaling(logits, labels):
    """paper(eps) == uniform(eps * K / (K - 1)): the two parametrisations of the same family."""
    eps = 0.1
    paper = BoTLabelSmoothLoss(num_classes=K, eps=eps)(logits, labels)
    uniform = BoTLabelSmoothLoss(num_classes=K, eps=eps * K / (K - 1), mode='uniform')
    assert_close(paper, uniform(logits, labels))
    assert not torch.allclose(paper, BoTLabelSmoothLoss(eps, K, 'uniform')(logits, labels))


def test_relation_to_mmpretrain_label_smooth_loss(logits, labels):
    """Docstring claims: mmpretrain 'original' == our 'uniform'; 'paper' == v = eps K / (K - 1)."""
    from mmpretrain.models.losses import LabelSmoothLoss

    eps = 0.1
    original = LabelSmoothLoss(label_smooth_val=eps, num_classes=K, mode='original')
    assert_close(original(logits, labels), BoTLabelSmoothLoss(eps, K, 'uniform')(logits, labels))
    rescaled = LabelSmoothLoss(label_smooth_val=eps * K / (K - 1), num_classes=K)
    assert_close(rescaled(logits, labels), BoTLabelSmoothLoss(eps, K, 'paper')(logits, labels))


@pytest.mark.parametrize('mode', ['paper', 'uniform'])
def test_soft_mixup_target_is_linear_mix(logits, labels, mode):
    loss = BoTLabelSmoothLoss(num_classes=K, eps=0.1, mode=mode)
    other = labels.roll(1)
    lam = 0.3
    mixed = lam * one_hot(labels) + (1 - lam) * one_hot(other)
    assert_close(loss(logits, mixed), lam * loss(logits, labels) + (1 - lam) * loss(logits, other))
    assert_close(loss(logits, one_hot(labels)), loss(logits, labels))


def test_weight_avg_factor_and_reduction(logits, labels):
    loss = BoTLabelSmoothLoss(num_classes=K, eps=0.1, loss_weight=2.0)
    per_sample = loss(logits, labels, reduction_override='none')
    assert per_sample.shape == (N,)
    unweighted = BoTLabelSmoothLoss(num_classes=K, eps=0.1)(logits, labels)
    assert_close(per_sample.mean(), 2 * unweighted)
    w = torch.arange(N, dtype=torch.float)
    assert_close(loss(logits, labels, weight=w, avg_factor=4.0), (per_sample * w).sum() / 4)
    assert_close(loss(logits, labels, reduction_override='sum'), per_sample.sum())


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(num_classes=K, eps=1.0), '1.0'),
        (dict(num_classes=K, eps=-0.1), '-0.1'),
        (dict(num_classes=1), 'num_classes.*1'),
        (dict(num_classes=K, mode='gluon'), 'gluon'),
        (dict(num_classes=K, reduction='avg'), 'avg'),
    ],
)
def test_label_smooth_rejects_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BoTLabelSmoothLoss(**kwargs)


def test_label_smooth_rejects_bad_label_shapes(logits, labels):
    loss = BoTLabelSmoothLoss(num_classes=K)
    with pytest.raises(ValueError, match=r'\(6, 4\)'):
        loss(logits, torch.rand(N, K - 1))
    with pytest.raises(ValueError, match='batch size 5'):
        loss(logits, labels[:5])
    with pytest.raises(ValueError, match='integer'):
        loss(logits, labels.float())
    with pytest.raises(ValueError, match=r'\(6, 3\)'):
        loss(logits[:, :3], labels)


def _head(k: int = K, c: int = 8):
    from mmpretrain.registry import MODELS

    return MODELS.build(
        dict(
            type='LinearClsHead',
            num_classes=k,
            in_channels=c,
            loss=dict(type='tricks_mm.BoTLabelSmoothLoss', num_classes=k, eps=0.1),
        )
    )


def test_through_mmpretrain_cls_head_hard_and_soft_labels(labels):
    from mmpretrain.structures import DataSample

    head = _head()
    feats = (torch.randn(N, 8, generator=torch.Generator().manual_seed(1)),)
    cls_score = head(feats)
    hard = [DataSample().set_gt_label(int(y)) for y in labels]
    expected = ce_by_hand(cls_score, paper_targets_by_loop(labels, K, 0.1))
    assert_close(head.loss(feats, hard)['loss'], expected)

    other, lam = labels.roll(2), 0.7
    score = lam * one_hot(labels) + (1 - lam) * one_hot(other)
    soft = [DataSample().set_gt_label(int(y)).set_gt_score(s) for y, s in zip(labels, score)]
    expected_soft = lam * ce_by_hand(cls_score, paper_targets_by_loop(labels, K, 0.1)) + (
        1 - lam
    ) * ce_by_hand(cls_score, paper_targets_by_loop(other, K, 0.1))
    assert_close(head.loss(feats, soft)['loss'], expected_soft)


@pytest.mark.parametrize('host_scope', [None, 'mmpretrain', 'mmengine'])
def test_prefixed_type_builds_under_host_scopes(host_scope):
    from mmengine.registry import MODELS, DefaultScope

    cfg = dict(type='tricks_mm.BoTDistillLoss', temperature=4.0)
    if host_scope is None:
        loss = MODELS.build(cfg)
    else:
        with DefaultScope.overwrite_default_scope(host_scope):
            loss = MODELS.build(cfg)
    assert isinstance(loss, BoTDistillLoss) and loss.temperature == 4.0


# ------------------------------------------------------------------ distillation
def distill_by_hand(z, r, labels, t):
    """Sec. 5.3, explicit softmax / log: CE(p, softmax(z)) + T^2 CE(softmax(r/T), softmax(z/T))."""

    def softmax(x):
        e = torch.exp(x - x.max(1, keepdim=True).values)
        return e / e.sum(1, keepdim=True)

    p = one_hot(labels) if labels.dim() == 1 else labels
    hard = -(p * torch.log(softmax(z))).sum(1)
    soft = -(softmax(r / t) * torch.log(softmax(z / t))).sum(1)
    return (hard + t * t * soft).mean()


@pytest.mark.parametrize('t', [1.0, 20.0])
def test_distill_matches_hand_formula(logits, labels, t):
    teacher = torch.randn(N, K, generator=torch.Generator().manual_seed(3)) * 5
    assert_close(
        BoTDistillLoss(temperature=t)(logits, teacher, labels),
        distill_by_hand(logits, teacher, labels, t),
    )
    mixed = 0.25 * one_hot(labels) + 0.75 * one_hot(labels.roll(1))
    assert_close(
        BoTDistillLoss(temperature=t)(logits, teacher, mixed),
        distill_by_hand(logits, teacher, mixed, t),
    )


def test_soft_term_gradient_closed_form(logits):
    """Batch-mean d/dz of T^2 CE(softmax(r/T), softmax(z/T)) is T (sm(z/T) - sm(r/T)) / N."""
    t = 20.0
    z = logits.clone().requires_grad_(True)
    r = torch.randn(N, K, generator=torch.Generator().manual_seed(4)) * 10
    r.requires_grad_(True)
    loss = BoTDistillLoss(temperature=t, hard_weight=0.0)(z, r, torch.zeros(N, dtype=torch.long))
    loss.backward()
    assert_close(z.grad, t * (F.softmax(z.detach() / t, 1) - F.softmax(r.detach() / t, 1)) / N)
    assert r.grad is None


def test_hard_term_gradient_and_label_smoothing(logits, labels):
    z = logits.clone().requires_grad_(True)
    BoTDistillLoss(soft_weight=0.0)(z, torch.randn(N, K), labels).backward()
    assert_close(z.grad, (F.softmax(logits, 1) - one_hot(labels)) / N)

    teacher = torch.randn(N, K)
    smoothed = BoTDistillLoss(temperature=20.0, soft_weight=0.0, label_smooth_eps=0.1)
    assert_close(
        smoothed(logits, teacher, labels), ce_by_hand(logits, paper_targets_by_loop(labels, K, 0.1))
    )


def test_gluoncv_weighting(logits, labels):
    """GluonCV: (1 - h) T^2 soft + h hard, h = 0.5  ==  hard_weight=h, soft_weight=1-h."""
    t, h = 20.0, 0.5
    teacher = torch.randn(N, K)
    soft = BoTDistillLoss(temperature=t, hard_weight=0.0)(logits, teacher, labels)
    hard = BoTDistillLoss(temperature=t, soft_weight=0.0)(logits, teacher, labels)
    gluon = BoTDistillLoss(temperature=t, hard_weight=h, soft_weight=1 - h)
    assert_close(gluon(logits, teacher, labels), (1 - h) * soft + h * hard)
    assert math.isfinite(soft.item()) and soft > 0


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(temperature=0.0), 'temperature.*0.0'),
        (dict(hard_weight=-1.0), '-1.0'),
        (dict(label_smooth_eps=1.5), '1.5'),
        (dict(label_smooth_mode='x'), "'x'"),
    ],
)
def test_distill_rejects_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BoTDistillLoss(**kwargs)


def test_distill_rejects_mismatched_logits(logits, labels):
    with pytest.raises(ValueError, match=r'\(6, 5\) and \(6, 4\)'):
        BoTDistillLoss()(logits, torch.randn(N, K - 1), labels)


def test_num_classes_defaults_to_the_score_width():
    """Rung configs say only eps; K comes from the head, and a fixed K still checks shapes."""
    logits, labels = torch.randn(4, 7), torch.tensor([0, 3, 6, 2])
    assert_close(
        BoTLabelSmoothLoss(eps=0.1)(logits, labels),
        BoTLabelSmoothLoss(eps=0.1, num_classes=7)(logits, labels),
    )
    with pytest.raises(ValueError, match=r'\(N, 5\)'):
        BoTLabelSmoothLoss(eps=0.1, num_classes=5)(logits, labels)
