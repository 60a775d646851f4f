# The bundled demo cohort: generated when workflow.make_demo_data is set and the input VCF is absent.

if CFG.workflow.make_demo_data:

    rule demo_data:
        output:
            vcf=VCF,
            clinical=CLINICAL,
            samples=f"{DATA_DIR}/samples.tsv",
        log:
            f"{LOGS}/demo_data.log",
        params:
            n=CFG.demo.samples,
            m=CFG.demo.variants,
            seed=CFG.demo.seed,
        shell:
            "{HPCGEN} demo-data --samples {params.n} --variants {params.m} --seed {params.seed}"
            " --out {DATA_DIR} > {log} 2>&1"
