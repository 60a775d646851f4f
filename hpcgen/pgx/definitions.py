"""Named-allele definitions (PharmCAT translation files) encoded as arrays for vectorized matching.

Each gene becomes a :class:`GeneDefinition`: its defining positions, the VCF alleles seen at each position
(allele code 0 = REF, 1.. = ALTs of the definition), and for every named allele a bit mask of the allele
codes it accepts at each position (IUPAC ambiguity codes accept several) plus whether the position is part
of its definition (what PharmCAT scores). Positions a named allele leaves undefined are filled with the
reference allele's base, as PharmCAT does (``MatchData.defaultMissingAllelesToReference``).
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

#: the genes PharmCAT calls from VCF (CYP2D6 comes as an outside call or from research mode only)
VCF_GENES: tuple[str, ...] = (
    "ABCG2", "CACNA1S", "CFTR", "CYP2B6", "CYP2C19", "CYP2C9", "CYP3A4", "CYP3A5", "CYP4F2", "DPYD",
    "G6PD", "IFNL3", "NAT2", "NUDT15", "RYR1", "SLCO1B1", "TPMT", "UGT1A1", "VKORC1",
)
#: genes reported only from outside calls (TSV from other tools) or from the copy-number caller
OUTSIDE_ONLY_GENES: tuple[str, ...] = ("CYP2D6", "HLA-A", "HLA-B", "MT-RNR1")
#: PharmCAT NamedAlleleMatcher.TREAT_UNDOCUMENTED_VARIATIONS_AS_REFERENCE
UNDOCUMENTED_AS_REFERENCE: frozenset[str] = frozenset({"CACNA1S", "DPYD", "G6PD", "NUDT15", "RYR1", "TPMT"})

IUPAC: dict[str, str] = {
    "A": "A", "C": "C", "G": "G", "T": "T", "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}
#: allele code of a sample allele absent from the definition (matches no named allele)
UNDOCUMENTED = 100
MISSING = -1
ABSENT = -2  # second allele of a haploid call (male chrX)
MAX_CODES = 31  # allele masks are int32 bit sets


def data_dir() -> Path:
    """Folder of the packaged reference data (``hpcgen/pgx/data``)."""
    return Path(str(resources.files("hpcgen.pgx") / "data"))


@dataclass
class GeneDefinition:
    """One gene's named alleles as arrays.

    Attributes
    ----------
    gene, chrom, build, version
        Gene symbol, contig (``chr``-prefixed), genome build and definition version.
    positions : ndarray, int64, shape (n_pos,)
        1-based GRCh38 positions, ascending.
    rsids : list of str or None
    alleles : list of list of str
        VCF alleles per position: ``[REF, ALT1, ...]``; the index is the allele code.
    names : list of str, length n_hap
        Named alleles (reference allele first).
    accept : ndarray, int32, shape (n_hap, n_pos)
        Bit ``c`` set when the named allele accepts allele code ``c`` at the position.
    defined : ndarray, bool, shape (n_hap, n_pos)
        The position is part of the named allele's definition (counts in its score).
    reference : int
        Row of the reference named allele.
    ignored_positions : set of int
        Positions never used for matching (exemptions), still reported.
    required_positions : set of int
        Positions that must be present to call the gene at all (NAT2 exemption).
    priorities : dict
        ``frozenset of diplotype names -> picked diplotype`` for unphased ties (NAT2 exemption).
    extra_positions : list of dict
        Positions reported alongside the call but not used (CYP2C9 rs12777823).
    """

    gene: str
    chrom: str
    build: str
    version: str
    positions: np.ndarray
    rsids: list
    alleles: list
    names: list
    accept: np.ndarray
    defined: np.ndarray
    reference: int
    ignored_positions: set = field(default_factory=set)
    required_positions: set = field(default_factory=set)
    priorities: dict = field(default_factory=dict)
    extra_positions: list = field(default_factory=list)
    display: list = field(default_factory=list)
    wobble: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not self.display:
            self.display = list(self.names)
        if self.wobble is None:
            # defined with an IUPAC ambiguity code (accepts several alleles): scored only off-reference
            counts = np.zeros(self.accept.shape, np.int32)
            for c in range(MAX_CODES):
                counts += (self.accept >> c) & 1
            self.wobble = (self.defined & (counts > 1)).astype(np.uint8)

    @property
    def n_pos(self) -> int:
        return len(self.positions)

    @property
    def n_hap(self) -> int:
        return len(self.names)

    def allele_code(self, pos_index: int, allele: str) -> int:
        """Allele code of a VCF allele string at a position; :data:`UNDOCUMENTED` if not in the definition."""
        try:
            return self.alleles[pos_index].index(allele.upper())
        except ValueError:
            return UNDOCUMENTED


def _accept_mask(allele: str, vcf_alleles: list[str]) -> int:
    """Bit set of allele codes a definition allele accepts (exact string, else IUPAC expansion)."""
    if allele in vcf_alleles:
        return 1 << vcf_alleles.index(allele)
    if len(allele) == 1 and allele in IUPAC:
        mask = 0
        for i, a in enumerate(vcf_alleles):
            if len(a) == 1 and a in IUPAC[allele]:
                mask |= 1 << i
        if mask:
            return mask
    raise ValueError(f"allele {allele!r} not among {vcf_alleles}")


def parse_gene(translation: dict, exemption: dict | None) -> GeneDefinition:
    """Encode one PharmCAT ``<GENE>_translation.json`` (format version 2) and its exemption entry."""
    gene = translation["gene"]
    variants = translation["variants"]
    named = list(translation["namedAlleles"])
    exemption = exemption or {}
    ignored_names = {n.lower() for n in exemption.get("ignoredAlleles", [])}
    named = [na for na in named if na["name"].lower() not in ignored_names]
    ref_rows = [i for i, na in enumerate(named) if na["reference"]]
    if len(ref_rows) != 1:
        raise ValueError(f"{gene}: expected one reference named allele, found {len(ref_rows)}")
    ref_row = ref_rows[0]
    # reference first, the rest in file order (PharmCAT sorts the same way for display)
    named = [named[ref_row]] + [na for i, na in enumerate(named) if i != ref_row]
    alleles = [[v["ref"].upper()] + [a.upper() for a in v["alts"]] for v in variants]
    if max(len(a) for a in alleles) > MAX_CODES:
        raise ValueError(f"{gene}: too many alleles at one position")
    n_hap, n_pos = len(named), len(variants)
    accept = np.zeros((n_hap, n_pos), dtype=np.int32)
    defined = np.zeros((n_hap, n_pos), dtype=bool)
    ref_alleles = named[0]["alleles"]
    for h, na in enumerate(named):
        for p, a in enumerate(na["alleles"]):
            if a is not None:
                defined[h, p] = True
                accept[h, p] = _accept_mask(a.upper(), alleles[p])
            else:
                r = ref_alleles[p]
                # a wobble in the reference sequence is replaced by the VCF reference (as PharmCAT does)
                base = alleles[p][0] if (r is None or (len(r) == 1 and r not in "ACGT")) else r.upper()
                accept[h, p] = _accept_mask(base, alleles[p])
    ignored = {int(v["position"]) for v in exemption.get("ignoredPositions", [])}
    priorities = {frozenset(e["list"]): e["pick"] for e in exemption.get("unphasedDiplotypePriorities", [])}
    return GeneDefinition(
        gene=gene,
        chrom=translation["chromosome"],
        build=translation["genomeBuild"],
        version=str(translation.get("version")),
        positions=np.array([int(v["position"]) for v in variants], dtype=np.int64),
        rsids=[v.get("rsid") for v in variants],
        alleles=alleles,
        names=[na["name"] for na in named],
        accept=accept,
        defined=defined,
        reference=0,
        ignored_positions=ignored,
        required_positions={int(p) for p in exemption.get("requiredPositions", [])},
        priorities=priorities,
        extra_positions=list(exemption.get("extraPositions", [])),
        # sub-alleles (SLCO1B1 *45.001, *45.002) are reported under their parent (*45), as PharmCAT does
        display=[(translation.get("suballelesMap") or {}).get(na["name"], na["name"]) for na in named],
    )


@functools.lru_cache(maxsize=4)
def load_definitions(folder: str | None = None, genes: tuple[str, ...] = VCF_GENES) -> dict[str, GeneDefinition]:
    """Load and encode the named-allele definitions of ``genes`` (cached; tables parsed once).

    Parameters
    ----------
    folder
        Folder with ``<GENE>_translation.json`` and ``exemptions.json``; default the packaged copy.
    """
    base = Path(folder) if folder else data_dir() / "alleles"
    exemptions = json.loads((base / "exemptions.json").read_text())
    out = {}
    for gene in genes:
        translation = json.loads((base / f"{gene}_translation.json").read_text())
        out[gene] = parse_gene(translation, exemptions.get(gene))
    return out


_STAR = re.compile(r"(\d+|\D+)")


def allele_sort_key(name: str, reference_name: str | None = None) -> tuple:
    """Natural sort key for named alleles: the reference first, then ``*2 < *10 < *10B``."""
    parts = tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in _STAR.findall(name))
    return (name != reference_name, parts)


def format_diplotype(h1: str, h2: str | None, reference_name: str | None = None) -> str:
    """``h1/h2`` in PharmCAT's order (reference first, natural order); a single name when haploid."""
    if h2 is None:
        return h1
    a, b = sorted((h1, h2), key=lambda n: allele_sort_key(n, reference_name))
    return f"{a}/{b}"
