"""Dose / response model training defaults."""
from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, field

from hpcgen.config.base import Section


class ModelConfig(Section):
    """Training settings for `hpcgen train`, `hpcgen dose evaluate` and `hpcgen predict`."""

    seed: Annotated[int, Meta(ge=0, description="random seed for splits, init and shuffling")] = 0
    zero_stage: Annotated[int, Meta(ge=0, le=3, description="DeepSpeed ZeRO stage (1-2 on CPU/gloo; 3 for billion-parameter models on GPUs)")] = 1
    epochs: Annotated[int, Meta(gt=0, description="maximum epochs")] = 200
    batch_size: Annotated[int, Meta(gt=0, description="per-rank micro-batch size")] = 64
    learning_rate: Annotated[float, Meta(gt=0, description="optimizer (AdamW) learning rate")] = 3e-3
    weight_decay: Annotated[float, Meta(ge=0, description="AdamW weight decay")] = 1e-4
    patience: Annotated[int, Meta(gt=0, description="early stopping: epochs without validation improvement")] = 25
    checkpoint_every: Annotated[int, Meta(gt=0, description="epochs between checkpoints (saved on all ranks)")] = 5
    val_fraction: Annotated[float, Meta(gt=0, lt=0.5, description="share of rows for validation (early stopping)")] = 0.15
    test_fraction: Annotated[float, Meta(gt=0, lt=0.5, description="share of rows held out for the registry metrics and promotion")] = 0.15
    loss: Annotated[Literal["huber", "mse"], Meta(description="training loss on the standardized sqrt dose (huber: robust to outlying doses)")] = "huber"
    huber_delta: Annotated[float, Meta(gt=0, description="Huber loss threshold (standardized sqrt-dose units)")] = 0.5
    warm_start: Annotated[bool, Meta(description="dose-mlp: start the linear path at the least-squares fit of the training rows")] = True
    hidden: Annotated[list[int], Meta(description="dose-mlp hidden layer widths")] = field(default_factory=lambda: [32, 16])
    dropout: Annotated[float, Meta(ge=0, lt=1, description="dropout in the hidden layers")] = 0.1
    n_pcs: Annotated[int, Meta(ge=0, description="ancestry PCs from QC used as features")] = 4
    max_variants: Annotated[int, Meta(gt=0, description="genotype-net: polymorphic variants read from the store")] = 2048
    genotype_patch: Annotated[int, Meta(gt=0, description="genotype-net: variants per token")] = 16
    genotype_d_model: Annotated[int, Meta(gt=0, description="genotype-net: transformer width")] = 64
    genotype_layers: Annotated[int, Meta(gt=0, description="genotype-net: transformer blocks")] = 2
    genotype_heads: Annotated[int, Meta(gt=0, description="genotype-net: attention heads")] = 4
    device: Annotated[Literal["auto", "cpu", "cuda"], Meta(description="training device per rank (auto: a GPU when the rank sees one; the Slurm request gets one GPU per rank on GPU profiles)")] = "auto"
    ranks: Annotated[int, Meta(ge=1, description="data-parallel training processes (submitit tasks per node)")] = 1
    timeout_min: Annotated[float, Meta(gt=0, description="job time limit; on timeout the job is requeued and resumes")] = 60.0
    promote_margin: Annotated[float, Meta(ge=0, description="mg/week by which a new version's held-out MAE must beat the current one")] = 0.0
    registry: Annotated[str, Meta(description="model registry folder")] = "results/models"
