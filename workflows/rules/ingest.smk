# VCF/BCF -> genotype store (HDF5 region shards + manifest.json, written last).
# The pseudonymization key is read by hpcgen from $HPCGEN_PSEUDONYM_KEY_FILE (or $HPCGEN_PSEUDONYM_KEY) in the
# environment: it never appears on a command line, in a log or in the workflow's files.
# Shards run as an array through hpcgen.dispatch with --profile (a local pool, or Slurm array tasks), are
# recorded in RUN_DIR for `hpcgen impact`, and resume after a failure (complete shards are kept).


rule ingest:
    input:
        vcf=VCF,
    output:
        manifest=STORE_MANIFEST,
        mapping=ID_MAPPING,
    log:
        f"{LOGS}/ingest.log",
    threads: CFG.ingest.threads
    params:
        store=STORE,
        run_dir=RUN_DIR,
    shell:
        "{HPCGEN} ingest {input.vcf} --out {params.store} --mapping {output.mapping}"
        " --threads {threads} --config {EFFECTIVE_CONFIG} --profile {PROFILE} --run-dir {params.run_dir}"
        " > {log} 2>&1"
