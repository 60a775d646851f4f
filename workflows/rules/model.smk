# Warfarin dose model (docs/model.md): the clinical table (IWPC format) joined on pseudonyms with the pgx calls
# (PGX_DIR/genes.tsv) and the QC ancestry PCs (QC_DIR/pca.parquet) -> a torch + DeepSpeed dose model in the
# registry MODEL_DIR/dose-mlp/vNNNN (promoted to CURRENT only if it beats the current version on held-out rows)
# -> PREDICTIONS (contract "model": the model's dose with the IWPC doses beside it).
# The clinical table's real IDs are mapped to pseudonyms with ID_MAPPING (written by ingest, mode 0600).
# Training is dispatched with --profile (local: in-process; Slurm: one job of model.ranks tasks, requeued and
# resumed from its checkpoint on timeout) and recorded in RUN_DIR for `hpcgen impact`.
# `retrain_dose_model` (not part of `all`: ask for it) appends newly observed outcomes (OUTCOMES, same columns
# as the clinical table) and retrains; the new version is promoted only if it is better on held-out data.

MODEL_NAME = "dose-mlp"
MODEL_CURRENT_DIR = f"{MODEL_DIR}/{MODEL_NAME}"
MODEL_TRAINED = f"{MODEL_CURRENT_DIR}/train.json"
OUTCOMES = f"{DATA_DIR}/outcomes.tsv"


rule train_dose_model:
    input:
        clinical=CLINICAL,
        pgx=PGX_DONE,
        qc=QC_DONE,
        mapping=ID_MAPPING,
    output:
        trained=MODEL_TRAINED,
    log:
        f"{LOGS}/train_dose_model.log",
    params:
        pgx=PGX_DIR,
        qc=QC_DIR,
        registry=MODEL_DIR,
        run_dir=RUN_DIR,
    shell:
        "{HPCGEN} train --model {MODEL_NAME} --data {input.clinical} --pgx {params.pgx} --pcs {params.qc}"
        " --id-mapping {input.mapping} --profile {PROFILE} --out {params.registry} --run-dir {params.run_dir}"
        " --config {EFFECTIVE_CONFIG} --json {output.trained} > {log} 2>&1"


rule predict:
    input:
        trained=MODEL_TRAINED,
        clinical=CLINICAL,
        pgx=PGX_DONE,
        qc=QC_DONE,
        mapping=ID_MAPPING,
    output:
        predictions=PREDICTIONS,
    log:
        f"{LOGS}/predict.log",
    params:
        model=MODEL_CURRENT_DIR,
        pgx=PGX_DIR,
        qc=QC_DIR,
    shell:
        "{HPCGEN} predict --model {params.model} --input {input.clinical} --pgx {params.pgx} --pcs {params.qc}"
        " --id-mapping {input.mapping} --out {output.predictions} > {log} 2>&1"


rule retrain_dose_model:
    input:
        trained=MODEL_TRAINED,
        clinical=CLINICAL,
        outcomes=OUTCOMES,
        pgx=PGX_DONE,
        qc=QC_DONE,
        mapping=ID_MAPPING,
    output:
        retrained=f"{MODEL_CURRENT_DIR}/retrain.json",
    log:
        f"{LOGS}/retrain_dose_model.log",
    params:
        pgx=PGX_DIR,
        qc=QC_DIR,
        registry=MODEL_DIR,
        run_dir=RUN_DIR,
    shell:
        "{HPCGEN} train --model {MODEL_NAME} --data {input.clinical} --append {input.outcomes} --pgx {params.pgx}"
        " --pcs {params.qc} --id-mapping {input.mapping} --profile {PROFILE} --out {params.registry}"
        " --run-dir {params.run_dir} --config {EFFECTIVE_CONFIG} --json {output.retrained} > {log} 2>&1"
