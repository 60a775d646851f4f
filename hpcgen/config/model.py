"""Dose / response model training defaults."""
from __future__ import annotations

from pydantic import Field

from hpcgen.config.base import Section


class ModelConfig(Section):
    """Training settings for `hpcgen train`."""

    seed: int = Field(0, ge=0, description="random seed for splits, init and shuffling")
    zero_stage: int = Field(1, ge=0, le=3, description="DeepSpeed ZeRO stage")
    epochs: int = Field(200, gt=0, description="maximum epochs")
    batch_size: int = Field(64, gt=0, description="per-rank micro-batch size")
    learning_rate: float = Field(1e-3, gt=0, description="optimizer learning rate")
    registry: str = Field("results/models", description="model registry folder")
