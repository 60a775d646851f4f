"""Torch models: a dose regressor on tabular features and a genotype model scalable from tiny to billions.

This module imports only ``math`` and ``torch`` so the GPU benchmark can load it on a machine without
the rest of hpcgen. Every model maps float32/bf16 inputs of shape (batch, n_in) to (batch,) outputs.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class DoseMLP(nn.Module):
    """Linear path plus a small MLP residual: starts as the IWPC model's form, learns interactions on top.

    Parameters
    ----------
    n_features
        Input width (standardized tabular features).
    hidden
        Widths of the hidden layers.
    dropout
        Dropout after each hidden layer.
    """

    def __init__(self, n_features: int, hidden: tuple[int, ...] = (32, 16), dropout: float = 0.1):
        super().__init__()
        self.linear = nn.Linear(n_features, 1)
        layers: list[nn.Module] = []
        width = n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.GELU(), nn.Dropout(dropout)]
            width = h
        last = nn.Linear(width, 1)
        nn.init.zeros_(last.weight)  # the residual starts at zero: training begins from the linear model
        nn.init.zeros_(last.bias)
        layers.append(last)
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.linear(x) + self.mlp(x)).squeeze(-1)


class Block(nn.Module):
    """Pre-norm transformer block (fused scaled-dot-product attention, GELU MLP x4)."""

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0):
        super().__init__()
        self.n_heads = n_heads
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, 4 * d_model)
        self.fc2 = nn.Linear(4 * d_model, d_model)
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class GenotypeTransformer(nn.Module):
    """Transformer over patches of variant dosages: (batch, n_variants) -> (batch,).

    The dosage vector (0/1/2 alt alleles, missing imputed upstream) is cut into ``n_variants / patch``
    tokens of ``patch`` consecutive variants, embedded linearly, given a learned position, passed through
    ``n_layers`` blocks, mean-pooled and regressed. Parameters ~ 12 x n_layers x d_model^2.
    """

    def __init__(self, n_variants: int, patch: int = 16, d_model: int = 64, n_layers: int = 2, n_heads: int = 4,
                 dropout: float = 0.0, checkpoint_activations: bool = False):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} not divisible by n_heads {n_heads}")
        self.patch = patch
        self.n_tokens = math.ceil(n_variants / patch)
        self.n_variants = n_variants
        self.embed = nn.Linear(patch, d_model)
        self.pos = nn.Parameter(torch.zeros(1, self.n_tokens, d_model))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList(Block(d_model, n_heads, dropout) for _ in range(n_layers))
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 1)
        self.checkpoint_activations = checkpoint_activations

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.n_tokens * self.patch - x.shape[1]
        if pad:
            x = F.pad(x, (0, pad))
        h = self.embed(x.view(x.shape[0], self.n_tokens, self.patch)) + self.pos
        for blk in self.blocks:
            if self.checkpoint_activations and self.training:
                h = torch.utils.checkpoint.checkpoint(blk, h, use_reentrant=False)
            else:
                h = blk(h)
        return self.head(self.ln(h).mean(dim=1)).squeeze(-1)


class GenotypeMLP(nn.Module):
    """Deep MLP over variant dosages: (batch, n_variants) -> (batch,)."""

    def __init__(self, n_variants: int, width: int = 256, depth: int = 3, dropout: float = 0.1):
        super().__init__()
        layers: list[nn.Module] = []
        w = n_variants
        for _ in range(depth):
            layers += [nn.Linear(w, width), nn.GELU(), nn.Dropout(dropout)]
            w = width
        layers.append(nn.Linear(w, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def transformer_shape_for_params(target: float, head_dim: int = 128, min_layers: int = 2) -> dict[str, int]:
    """A (d_model, n_layers, n_heads) whose block parameters (~12 L d^2) come near ``target``.

    Depth grows with width roughly as in GPT-style scaling (L ~ d / 100), d a multiple of ``head_dim``.
    """
    best = None
    for d in range(head_dim, 16385, head_dim):
        layers = max(min_layers, round(target / (12 * d * d)))
        if layers > max(min_layers, d // 64):
            continue  # too deep for its width
        err = abs(12 * layers * d * d - target)
        if best is None or err < best[0]:
            best = (err, d, layers)
    if best is None or target < 12 * min_layers * head_dim * head_dim:
        d = max(16, int(math.sqrt(max(target, 1) / (12 * min_layers))) // 8 * 8 or 16)
        return {"d_model": d, "n_layers": min_layers, "n_heads": max(1, d // 16) if d % 16 == 0 else 1}
    _, d, layers = best
    return {"d_model": d, "n_layers": layers, "n_heads": d // head_dim}


def build_model(name: str, n_inputs: int, **hparams) -> nn.Module:
    """Model by registry name: ``dose-mlp``, ``genotype-net`` (transformer) or ``genotype-mlp``."""
    if name == "dose-mlp":
        return DoseMLP(n_inputs, **hparams)
    if name == "genotype-net":
        return GenotypeTransformer(n_inputs, **hparams)
    if name == "genotype-mlp":
        return GenotypeMLP(n_inputs, **hparams)
    raise ValueError(f"unknown model {name!r} (dose-mlp, genotype-net, genotype-mlp)")
