"""`hpcgen pgx call` / `hpcgen pgx data` through the real CLI: the output contract (docs/CONTRACTS.md "pgx"),
pseudonymization, the store input with the demo cohort's truth, bad input (one line, exit 2, no output)."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import run_hpcgen
from pgx_helpers import definition_records, write_vcf

GENE_COLS = ["sample", "gene", "diplotype", "phenotype", "activity_score", "call_status", "missing_positions",
             "warnings", "source"]
DRUG_COLS = ["sample", "drug", "source", "genes", "phenotypes", "recommendation_id", "classification",
             "actionable", "guideline_id", "guideline_version"]
REC_COLS = ["recommendation_id", "recommendation", "implications"]


def _read_tsv(path):
    first = path.read_text().splitlines()[0]
    assert first.startswith("# schema=") and "data_version=" in first
    return pd.read_csv(path, sep="\t", skiprows=1, dtype=str, keep_default_na=False), first


def _read_drugs(folder):
    """drugs.tsv joined with recommendations.tsv (the texts back on every row)."""
    from hpcgen.pgx.outputs import read_drugs

    return read_drugs(folder)[0]


@pytest.fixture(scope="module")
def example_out(shared_pgx, tmp_path_factory):
    out = tmp_path_factory.mktemp("pgx-example") / "pgx"
    outside = out.parent / "outside.tsv"
    outside.write_text("sample\tgene\tdiplotype\nSample_1\tCYP2D6\t*1/*4\nSample_1\tHLA-B\t*57:01/*08:01\n")
    proc = run_hpcgen("pgx", "call", str(shared_pgx / "example" / "pharmcat.example.vcf"), "--out", str(out),
                      "--no-pseudonymize", "--outside-calls", str(outside))
    assert proc.returncode == 0, proc.stderr
    return out


def test_outputs_follow_the_contract(example_out):
    genes, head = _read_tsv(example_out / "genes.tsv")
    drugs, drugs_head = _read_tsv(example_out / "drugs.tsv")
    recs, recs_head = _read_tsv(example_out / "recommendations.tsv")
    manifest = json.loads((example_out / "manifest.json").read_text())
    version = manifest["data_version"]
    assert f"data_version={version}" in head and f"data_version={version}" in recs_head
    assert "schema=hpcgen.pgx.drugs/2 " in drugs_head and "schema=hpcgen.pgx.recommendations/1 " in recs_head
    assert list(genes.columns) == GENE_COLS and list(drugs.columns) == DRUG_COLS and list(recs.columns) == REC_COLS
    assert set(drugs.recommendation_id) == set(recs.recommendation_id) and recs.recommendation_id.is_unique
    assert {"recommendations.tsv", "recommendations.parquet", "drugs.tsv"} <= set(manifest["files"])
    for name, frame in (("genes", genes), ("drugs", drugs), ("recommendations", recs)):
        table = pq.read_table(example_out / f"{name}.parquet")
        assert table.schema.metadata[b"data_version"].decode() == version
        assert table.num_rows == len(frame)
    doc = json.loads((example_out / "samples" / "Sample_1.json").read_text())
    assert doc["schema"] == "hpcgen.pgx.sample/1" and doc["data_version"] == version
    assert {g["gene"] for g in doc["genes"]} == set(genes["gene"])
    assert all(isinstance(g["missing_positions"], list) and isinstance(g["warnings"], list) for g in doc["genes"])
    assert len(doc["drugs"]) == len(drugs)
    assert manifest["n_samples"] == 1 and len(manifest["genes"]) == 21
    assert (example_out / "manifest.json").stat().st_mode & 0o077 == 0


def test_outside_calls_drive_phenotypes_and_recommendations(example_out):
    genes, _ = _read_tsv(example_out / "genes.tsv")
    drugs = _read_drugs(example_out)
    cyp2d6 = genes[genes.gene == "CYP2D6"].iloc[0]
    assert (cyp2d6.call_status, cyp2d6.source, cyp2d6.phenotype, cyp2d6.activity_score) == \
        ("outside_call", "outside", "Intermediate Metabolizer", "1.0")
    codeine = drugs[(drugs.drug == "codeine") & (drugs.source == "CPIC")]
    assert len(codeine) == 1 and codeine.iloc[0].phenotypes == "Intermediate Metabolizer"
    abacavir = drugs[(drugs.drug == "abacavir") & (drugs.source == "CPIC")].iloc[0]
    assert abacavir.actionable == "True" and "abacavir" in abacavir.recommendation.lower()
    # HLA-A was not provided: its guideline gives "no recommendation possible", never a default
    hla_a = drugs[drugs.genes == "HLA-A"]
    assert len(hla_a) and set(hla_a.recommendation) == {"no recommendation possible"}


def test_multi_gene_guideline_uses_both_genes(example_out):
    drugs, _ = _read_tsv(example_out / "drugs.tsv")
    aza = drugs[(drugs.drug == "azathioprine") & (drugs.source == "CPIC")].iloc[0]
    assert aza.genes == "NUDT15;TPMT" and aza.phenotypes == "Normal Metabolizer;Normal Metabolizer"
    assert aza.actionable == "False" and aza.classification


def test_pseudonymized_vcf_ids(shared_pgx, key_file, tmp_path):
    out = tmp_path / "pgx"
    proc = run_hpcgen("pgx", "call", str(shared_pgx / "example" / "pharmcat.example.vcf"), "--out", str(out),
                      "--key-file", str(key_file))
    assert proc.returncode == 0, proc.stderr
    from hpcgen.pseudonym import load_key, pseudonymize

    pseudo = pseudonymize(["Sample_1"], load_key(key_file))[0]
    assert (out / "samples" / f"{pseudo}.json").exists()
    assert "Sample_1" not in (out / "genes.tsv").read_text()


def test_data_check_cli(tmp_path):
    proc = run_hpcgen("pgx", "data", "--check")
    assert proc.returncode == 0, proc.stderr
    assert "data check: OK" in proc.stdout


def test_data_check_detects_tampering(tmp_path):
    from hpcgen.pgx.data_check import check_data, data_dir

    copy = tmp_path / "data"
    shutil.copytree(data_dir(), copy)
    for p in copy.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    assert check_data(copy) == []
    pheno = copy / "phenotype" / "TPMT.json"
    doc = json.loads(pheno.read_text())
    doc["diplotypes"][0]["diplotypekey"] = {"*999": 2}
    pheno.write_text(json.dumps(doc))
    problems = check_data(copy)
    assert any("checksum" in p and "TPMT" in p for p in problems)
    assert any("*999" in p for p in problems)
    (copy / "phenotype" / "NUDT15.json").unlink()
    assert any("NUDT15" in p and "missing" in p for p in check_data(copy))


def test_store_input_with_sex_sheet_matches_demo_truth(demo_cohort, demo_store, tmp_path):
    out = tmp_path / "pgx"
    mapping = demo_store.parent / "ids.tsv"
    proc = run_hpcgen("pgx", "call", str(demo_store), "--out", str(out), "--sex-sheet",
                      str(demo_cohort["samples"]), "--id-mapping", str(mapping))
    assert proc.returncode == 0, proc.stderr
    genes, _ = _read_tsv(out / "genes.tsv")
    ids = pd.read_csv(mapping, sep="\t")
    to_pseudo = dict(zip(ids.iloc[:, 0], ids.iloc[:, 1]))
    truth = pd.read_csv(demo_cohort["pgx_truth"], sep="\t", keep_default_na=False)
    truth["sample"] = truth["sample"].map(to_pseudo)
    merged = genes.merge(truth, on=["sample", "gene"])
    assert len(merged) == len(truth[truth.gene.isin(set(genes.gene))])

    def agrees(r):
        want = "/".join(sorted([r.allele1, r.allele2])) if r.allele2 else r.allele1
        return want in ["/".join(sorted(d.split("/"))) for d in r.diplotype.split(" or ")]

    ok = merged.apply(agrees, axis=1)
    # the rest are genotype-identical diplotypes PharmCAT's scoring prefers (unphased *5/*6 -> *1/*7)
    assert ok.mean() > 0.95, merged[~ok][["gene", "allele1", "allele2", "diplotype"]].head()
    sex = pd.read_csv(demo_cohort["samples"], sep="\t")
    males = {to_pseudo[s] for s in sex[sex.sex == "male"]["sample"]}
    g6pd = genes[genes.gene == "G6PD"]
    assert all("/" not in d for d in g6pd[g6pd["sample"].isin(males)].diplotype)
    assert (out / "manifest.json").exists()


# ---------------------------------------------------------------- bad input

def _cyp3a5_records(gts):
    from hpcgen.pgx.definitions import load_definitions

    gene = load_definitions()["CYP3A5"]
    return gene, definition_records(gene, [[g] * gene.n_pos for g in gts])


def test_wrong_build_refused(tmp_path):
    _, recs = _cyp3a5_records(["0/0"])
    vcf = write_vcf(tmp_path / "b37.vcf", recs, ["S1"], header_extra="##reference=GRCh37")
    proc = run_hpcgen("pgx", "call", str(vcf), "--out", str(tmp_path / "out"), "--no-pseudonymize")
    assert proc.returncode == 2
    assert "GRCh37" in proc.stderr and str(vcf) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_ref_mismatches_everywhere_mean_wrong_build(tmp_path):
    gene, recs = _cyp3a5_records(["0/0"])
    from hpcgen.pgx.definitions import load_definitions

    recs = []
    for g in load_definitions().values():
        for p, pos in enumerate(g.positions[:3]):
            ref = "A" if g.alleles[p][0] != "A" else "C"
            recs.append((g.chrom, int(pos), ref, "G", ["0/0"]))
    vcf = write_vcf(tmp_path / "shifted.vcf", sorted(recs), ["S1"])
    proc = run_hpcgen("pgx", "call", str(vcf), "--out", str(tmp_path / "out"), "--no-pseudonymize")
    assert proc.returncode == 2 and "wrong genome build" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_ref_disagreeing_with_definition_is_flagged_not_guessed(tmp_path):
    from hpcgen.pgx.api import compute
    from hpcgen.pgx.definitions import load_definitions
    from hpcgen.pgx.reader import read_vcf

    gene, recs = _cyp3a5_records(["0/1"])
    bad = list(recs[-1])
    bad[2] = "G" if bad[2] != "G" else "A"  # REF of the last CYP3A5 position disagrees
    recs[-1] = tuple(bad)
    vcf = write_vcf(tmp_path / "badref.vcf", recs, ["S1"])
    genes = {"CYP3A5": load_definitions()["CYP3A5"]}
    samples, gts = read_vcf(vcf, genes)
    calls, _ = compute(genes, gts, samples)
    row = calls.iloc[0]
    pos = f"chr7:{int(gene.positions[-1])}"
    assert pos in row["missing_positions"].split(";")
    assert "REF in input" in row["warnings"] and "does not match the definition" in row["warnings"]


def test_multiallelic_records_at_pgx_positions(tmp_path):
    """ALT lists in any order are decoded allele by allele; an ALT the definition lacks is flagged."""
    from hpcgen.pgx.api import compute
    from hpcgen.pgx.definitions import load_definitions
    from hpcgen.pgx.reader import read_vcf

    gene = load_definitions()["CYP3A5"]
    h3 = gene.names.index("*3")
    p3 = int(next(p for p in range(gene.n_pos) if gene.accept[h3, p] != gene.accept[0, p]))
    recs = []
    for p, pos in enumerate(gene.positions):
        alleles = gene.alleles[p]
        if p == p3:
            # multi-allelic: an undocumented ALT first, the *3 ALT second; samples 0/2, 1/1, 2/2
            other = next(b for b in "ACGT" if b not in alleles)
            recs.append((gene.chrom, int(pos), alleles[0], f"{other},{alleles[1]}", ["0/2", "1/1", "2/2"]))
        else:
            recs.append((gene.chrom, int(pos), alleles[0], ",".join(alleles[1:]), ["0/0", "0/0", "0/0"]))
    vcf = write_vcf(tmp_path / "multi.vcf", recs, ["A", "B", "C"])
    genes = {"CYP3A5": gene}
    samples, gts = read_vcf(vcf, genes)
    calls, _ = compute(genes, gts, samples)
    by = dict(zip(calls["sample"], calls.to_dict("records")))
    assert by["A"]["diplotype"] == "*1/*3" and by["C"]["diplotype"] == "*3/*3"
    assert by["B"]["call_status"] == "not_called" and "not in the definition" in by["B"]["warnings"]


def test_sample_with_every_position_missing_is_not_called(tmp_path):
    from hpcgen.pgx.definitions import load_definitions

    recs = []
    for g in load_definitions().values():
        recs += definition_records(g, [["./."] * g.n_pos, ["0/0"] * g.n_pos])
    recs.sort(key=lambda r: (r[0], r[1]))
    vcf = write_vcf(tmp_path / "allmissing.vcf", recs, ["EMPTY", "REF"])
    out = tmp_path / "out"
    proc = run_hpcgen("pgx", "call", str(vcf), "--out", str(out), "--no-pseudonymize")
    assert proc.returncode == 0, proc.stderr
    genes, _ = _read_tsv(out / "genes.tsv")
    drugs = _read_drugs(out)
    empty = genes[genes["sample"] == "EMPTY"]
    assert len(empty) == 19 and set(empty.call_status) == {"not_called"}
    assert set(empty.phenotype) == {"No Result"}
    assert set(drugs[drugs["sample"] == "EMPTY"].recommendation) == {"no recommendation possible"}
    ref = genes[genes["sample"] == "REF"]
    assert set(ref.call_status) == {"called"}


def test_bad_outside_calls_exit_2(shared_pgx, tmp_path):
    bad = tmp_path / "outside.tsv"
    bad.write_text("sample\tgene\tdiplotype\nSample_1\tCYP9Z9\t*1/*1\n")
    proc = run_hpcgen("pgx", "call", str(shared_pgx / "example" / "pharmcat.example.vcf"), "--out",
                      str(tmp_path / "out"), "--no-pseudonymize", "--outside-calls", str(bad))
    assert proc.returncode == 2 and "line 2" in proc.stderr and "CYP9Z9" in proc.stderr
    assert not (tmp_path / "out").exists()
