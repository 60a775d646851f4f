# Cohort QC of the genotype store: variant and sample tables, PCA, KING kinship and qc_report.html
# (QC_DIR/manifest.json, written last, is the done-marker). The PCA is coloured by ancestry when the
# input folder has a samples sheet (the demo's samples.tsv: real IDs, keyed to pseudonyms through the
# ingest ID mapping). With a Slurm profile the Dask work runs on a dask-jobqueue cluster (qc.dask_*).
# `qc_filter` writes a store of the variants passing the qc thresholds (not part of `all`: ask for it).

QC_SAMPLES_SHEET = f"{DATA_DIR}/samples.tsv"
QC_FILTERED_STORE = f"{OUT}/store_filtered"
QC_FILTERED_MANIFEST = f"{QC_FILTERED_STORE}/manifest.json"

_qc_inputs = {"store": STORE_MANIFEST}
_qc_sheet_args = ""
if CFG.workflow.make_demo_data or os.path.exists(QC_SAMPLES_SHEET):
    _qc_inputs.update(samples=QC_SAMPLES_SHEET, mapping=ID_MAPPING)
    _qc_sheet_args = f"--samples-sheet {shlex.quote(QC_SAMPLES_SHEET)} --id-mapping {shlex.quote(ID_MAPPING)}"


rule qc:
    input:
        **_qc_inputs,
    output:
        done=QC_DONE,
    log:
        f"{LOGS}/qc.log",
    params:
        store=STORE,
        out=QC_DIR,
        sheet=_qc_sheet_args,
    shell:
        "{HPCGEN} qc {params.store} --out {params.out} --tsv {params.sheet}"
        " --config {EFFECTIVE_CONFIG} --profile {PROFILE} --run-dir {RUN_DIR} > {log} 2>&1"


rule qc_filter:
    input:
        store=STORE_MANIFEST,
    output:
        done=QC_FILTERED_MANIFEST,
    log:
        f"{LOGS}/qc_filter.log",
    params:
        store=STORE,
        out=QC_FILTERED_STORE,
    shell:
        "{HPCGEN} filter {params.store} --out {params.out}"
        " --config {EFFECTIVE_CONFIG} --profile {PROFILE} > {log} 2>&1"
