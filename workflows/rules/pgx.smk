# Genotype store -> star-allele diplotypes, phenotypes and CPIC/DPWG recommendations (docs/pgx.md).
# PGX_DIR/manifest.json, written last, is the done-marker. G6PD is called by sex when the input folder has a
# samples sheet (the demo's samples.tsv: real IDs, mapped to the store's pseudonyms through the ingest ID
# mapping). Outside calls (CYP2D6, HLA) come from pgx.outside_calls in the config. With a Slurm profile the
# stage runs as one job through hpcgen.dispatch, recorded in RUN_DIR for `hpcgen impact`.

PGX_SEX_SHEET = f"{DATA_DIR}/samples.tsv"
# the output tables' schemas: a param, so that results written by an older hpcgen in another layout are redone
# (Snakemake reruns a rule whose params changed) instead of being handed to a report that refuses them
from hpcgen.pgx.outputs import TABLE_SCHEMA as _PGX_TABLE_SCHEMA

_PGX_SCHEMAS = ",".join(f"{k}={v}" for k, v in sorted(_PGX_TABLE_SCHEMA.items()))

_pgx_inputs = {"store": STORE_MANIFEST}
_pgx_sheet_args = ""
if CFG.workflow.make_demo_data or os.path.exists(PGX_SEX_SHEET):
    _pgx_inputs.update(samples=PGX_SEX_SHEET, mapping=ID_MAPPING)
    _pgx_sheet_args = f"--sex-sheet {shlex.quote(PGX_SEX_SHEET)} --id-mapping {shlex.quote(ID_MAPPING)}"


rule pgx:
    input:
        **_pgx_inputs,
    output:
        done=PGX_DONE,
    log:
        f"{LOGS}/pgx.log",
    params:
        store=STORE,
        out=PGX_DIR,
        sheet=_pgx_sheet_args,
        run_dir=RUN_DIR,
        schemas=_PGX_SCHEMAS,
    shell:
        "{HPCGEN} pgx call {params.store} --out {params.out} {params.sheet}"
        " --config {EFFECTIVE_CONFIG} --profile {PROFILE} --run-dir {params.run_dir} > {log} 2>&1"
