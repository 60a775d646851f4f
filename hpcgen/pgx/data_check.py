"""Integrity of the packaged PGx reference data: checksums against the manifest, every allele a phenotype or
guideline rule uses is defined, every gene has a phenotype rule, definitions are well formed.

``hpcgen pgx data --check`` runs :func:`check_data`; ``--write-manifest`` (maintainers, after updating
the tables with their SOURCES) regenerates ``MANIFEST.json``.
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from hpcgen.fsutil import atomic_write_text, sha256_file
from hpcgen.pgx.definitions import VCF_GENES, data_dir

MANIFEST = "MANIFEST.json"
#: bump when the tables are replaced by a newer release (with SOURCES.md updated)
DATA_RELEASE = "2025.11-pharmcat5431bf1"


def _data_files(base: Path) -> list[Path]:
    return sorted(p for p in base.rglob("*") if p.is_file() and p.name != MANIFEST and "__pycache__" not in p.parts)


def build_manifest(base: Path | None = None) -> dict:
    """Manifest of the data folder: release name and SHA-256 of every file."""
    base = base or data_dir()
    files = {str(p.relative_to(base)): sha256_file(p) for p in _data_files(base)}
    return {"schema": "hpcgen.pgx.data-manifest/1", "release": DATA_RELEASE, "files": files}


def write_manifest(base: Path | None = None) -> Path:
    base = base or data_dir()
    return atomic_write_text(base / MANIFEST, json.dumps(build_manifest(base), indent=1, sort_keys=True) + "\n")


@functools.lru_cache(maxsize=1)
def data_version() -> str:
    """``<release>+<first 12 hex of the manifest's SHA-256>``: names the exact reference tables used."""
    path = data_dir() / MANIFEST
    if not path.exists():
        return f"{DATA_RELEASE}+unversioned"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{json.loads(path.read_text())['release']}+{digest}"


def check_data(base: Path | None = None) -> list[str]:
    """Every problem found (empty list = data OK)."""
    from hpcgen.pgx.definitions import parse_gene
    from hpcgen.pgx.phenotype import gene_table, pypgx_alleles
    from hpcgen.pgx.recommend import load_guidelines

    base = base or data_dir()
    problems: list[str] = []
    mpath = base / MANIFEST
    if not mpath.exists():
        problems.append(f"{mpath}: manifest missing")
    else:
        manifest = json.loads(mpath.read_text())
        actual = {str(p.relative_to(base)): p for p in _data_files(base)}
        for rel, digest in manifest["files"].items():
            if rel not in actual:
                problems.append(f"{rel}: listed in manifest but missing")
            elif sha256_file(actual[rel]) != digest:
                problems.append(f"{rel}: checksum differs from manifest")
        for rel in sorted(set(actual) - set(manifest["files"])):
            problems.append(f"{rel}: not listed in manifest")
    exemptions = json.loads((base / "alleles" / "exemptions.json").read_text())
    defined: dict[str, set[str]] = {}
    for gene in VCF_GENES:
        try:
            gd = parse_gene(json.loads((base / "alleles" / f"{gene}_translation.json").read_text()),
                            exemptions.get(gene))
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"alleles/{gene}_translation.json: {exc}")
            continue
        if gd.build.split(".")[0] != "GRCh38":
            problems.append(f"alleles/{gene}_translation.json: build {gd.build}, expected GRCh38")
        if list(gd.positions) != sorted(gd.positions) or len(set(gd.positions.tolist())) != gd.n_pos:
            problems.append(f"alleles/{gene}_translation.json: positions not sorted/unique")
        if len(set(gd.names)) != gd.n_hap:
            problems.append(f"alleles/{gene}_translation.json: duplicate named alleles")
        defined[gene] = set(gd.names)
    # every gene has a phenotype rule (PharmCAT table, or a CPIC rule coded in phenotype.py)
    coded_rules = {"G6PD": "G6PD", "RYR1": None, "CYP2D6": "CYP2D6"}
    no_phenotype_by_cpic = {"CYP4F2", "IFNL3"}  # CPIC defines no phenotype; recommendations use the diplotype
    for gene in list(VCF_GENES) + ["CYP2D6"]:
        # uncached read: the check must see the files as they are now
        table = gene_table.__wrapped__(gene, str(base))
        if gene in coded_rules:
            if coded_rules[gene] and not pypgx_alleles(coded_rules[gene], str(base)):
                problems.append(f"{gene}: allele functions missing from pypgx/allele-table.csv")
            continue
        if not table:
            if gene not in no_phenotype_by_cpic:
                problems.append(f"phenotype/{gene}.json: missing (no phenotype rule)")
            continue
        # structural alleles (CYP2B6 *29, CYP2C19 *36) are defined by their function entry, not by SNVs
        defined.setdefault(gene, set()).update(table["function"])
        if not table["diplotypes"] and gene not in no_phenotype_by_cpic:
            problems.append(f"phenotype/{gene}.json: no diplotype rules")
        for key in table["diplotypes"]:
            for allele in key:
                if gene in defined and allele not in defined[gene]:
                    problems.append(f"phenotype/{gene}.json: allele {allele} not defined in the allele table")
    # every allele a guideline rule names (allele-count keys) is defined
    for gl in load_guidelines(("CPIC", "DPWG")):
        for rec in gl.recommendations:
            for gene, key in (rec.get("lookupKey") or {}).items():
                if isinstance(key, dict) and gene in defined:
                    for allele in key:
                        parts = allele.split("+")
                        if not all(p in defined[gene] or allele in defined[gene] for p in parts):
                            problems.append(f"guideline {gl.id}: allele {allele} of {gene} not defined")
    return sorted(set(problems))
