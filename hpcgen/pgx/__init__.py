"""Pharmacogenomics stage: named-allele matching (PharmCAT semantics), phenotypes, CPIC/DPWG recommendations.

Modules: definitions (allele tables as arrays), reader (VCF/store at PGx positions), matcher (cohort calling
with the numba kernel kernels/pgx_match.py), phenotype, outside_calls, cnv (CYP2D6 copy number), recommend,
outputs, data_check, api (the stage function), cli.
"""
