"""Shared by the model tests: BN layers that are not the identity in eval mode."""

import torch
from torch import nn


def randomize_bn_(module: nn.Module) -> nn.Module:
    """Random norm affine parameters and statistics, so eval-mode BN is not the identity
    (conv weights keep their random init). Returns ``module``."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.0)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return module
