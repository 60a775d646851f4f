# pgx calls (+ dose predictions) -> clinician reports: one per patient (HTML, PDF, JSON, FHIR R4) and the cohort
# summary REPORTS_DIR/index.html (REPORTS_DONE; the folder is built aside and renamed, so index.html means complete).
# Reports carry pseudonyms only: the real identifier is added only by running `hpcgen report` by hand with
# --id-mapping and --key-file. Language, formats and the PDF cap come from the config (report.lang,
# report.formats, report.pdf_max_patients: PDF costs seconds per patient, HTML/JSON/FHIR milliseconds).


rule report:
    input:
        pgx=PGX_DONE,
        predictions=PREDICTIONS,
    output:
        index=REPORTS_DONE,
    log:
        f"{LOGS}/report.log",
    params:
        calls=PGX_DIR,
        out=REPORTS_DIR,
    shell:
        "{HPCGEN} report {params.calls} --out {params.out} --predictions {input.predictions}"
        " --config {EFFECTIVE_CONFIG} --run-dir {RUN_DIR} > {log} 2>&1"
