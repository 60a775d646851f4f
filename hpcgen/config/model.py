"""Dose / response model training defaults."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from hpcgen.config.base import Section


class ModelConfig(Section):
    """Training settings for `hpcgen train`, `hpcgen dose evaluate` and `hpcgen predict`."""

    seed: int = Field(0, ge=0, description="random seed for splits, init and shuffling")
    zero_stage: int = Field(1, ge=0, le=3, description="DeepSpeed ZeRO stage (1-2 on CPU/gloo; 3 for billion-parameter models on GPUs)")
    epochs: int = Field(200, gt=0, description="maximum epochs")
    batch_size: int = Field(64, gt=0, description="per-rank micro-batch size")
    learning_rate: float = Field(3e-3, gt=0, description="optimizer (AdamW) learning rate")
    weight_decay: float = Field(1e-4, ge=0, description="AdamW weight decay")
    patience: int = Field(25, gt=0, description="early stopping: epochs without validation improvement")
    checkpoint_every: int = Field(5, gt=0, description="epochs between checkpoints (saved on all ranks)")
    val_fraction: float = Field(0.15, gt=0, lt=0.5, description="share of rows for validation (early stopping)")
    test_fraction: float = Field(0.15, gt=0, lt=0.5, description="share of rows held out for the registry metrics and promotion")
    loss: Literal["huber", "mse"] = Field("huber", description="training loss on the standardized sqrt dose (huber: robust to outlying doses)")
    huber_delta: float = Field(0.5, gt=0, description="Huber loss threshold (standardized sqrt-dose units)")
    warm_start: bool = Field(True, description="dose-mlp: start the linear path at the least-squares fit of the training rows")
    hidden: list[int] = Field([32, 16], description="dose-mlp hidden layer widths")
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout in the hidden layers")
    n_pcs: int = Field(4, ge=0, description="ancestry PCs from QC used as features")
    max_variants: int = Field(2048, gt=0, description="genotype-net: polymorphic variants read from the store")
    genotype_patch: int = Field(16, gt=0, description="genotype-net: variants per token")
    genotype_d_model: int = Field(64, gt=0, description="genotype-net: transformer width")
    genotype_layers: int = Field(2, gt=0, description="genotype-net: transformer blocks")
    genotype_heads: int = Field(4, gt=0, description="genotype-net: attention heads")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="training device per rank (auto: a GPU when the rank sees one; the Slurm request gets one GPU per rank on GPU profiles)")
    ranks: int = Field(1, ge=1, description="data-parallel training processes (submitit tasks per node)")
    timeout_min: float = Field(60.0, gt=0, description="job time limit; on timeout the job is requeued and resumes")
    promote_margin: float = Field(0.0, ge=0, description="mg/week by which a new version's held-out MAE must beat the current one")
    registry: str = Field("results/models", description="model registry folder")
