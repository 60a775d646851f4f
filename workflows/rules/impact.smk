# Impact of the whole run: every job recorded in RUN_DIR/jobs.jsonl by hpcgen.dispatch (sacct for Slurm jobs,
# process accounting for in-process ones) -> hours, energy, carbon, cost per job and per stage.
# Runs last: its inputs are the final outputs of every other stage. The table is also printed at the end.


rule impact:
    input:
        STORE_MANIFEST,
        QC_DONE,
        PGX_DONE,
        PREDICTIONS,
        REPORTS_DONE,
    output:
        json=IMPACT_DONE,
        table=f"{IMPACT_DIR}/impact.txt",
        plot=f"{IMPACT_DIR}/impact.png",
        jobs=f"{IMPACT_DIR}/jobs.tsv",
    log:
        f"{LOGS}/impact.log",
    params:
        run_dir=RUN_DIR,
        out=IMPACT_DIR,
    shell:
        "{HPCGEN} impact {params.run_dir} --out {params.out} --config {EFFECTIVE_CONFIG} --allow-empty"
        " --table {output.table} > {log} 2>&1 && cat {output.table}"
