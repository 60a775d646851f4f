"""Treatment-adaptation models: the IWPC warfarin algorithms, trainable dose and genotype models, a registry.

Modules (one job each): ``clinical`` (IWPC table reader and validation), ``iwpc`` (the published
algorithms), ``features`` (clinical + PGx + ancestry PCs joined on pseudonyms), ``networks`` (torch
models), ``data`` (sharded loading from the genotype store), ``train`` (DeepSpeed), ``distributed``
(submitit ranks, checkpoint/requeue), ``registry`` (versioned, checksummed models), ``evaluate``
(metrics, k-fold CV), ``predict``. Heavy imports (torch, deepspeed) happen inside those modules only.
"""
