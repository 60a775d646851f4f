"""Synthetic demo cohort: GRCh38 VCF (msprime background + PharmCAT positions), star-allele truth, IWPC table.

``make_demo_cohort(out_dir, samples, variants, seed)`` is the API; ``hpcgen demo-data`` the command line.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from hpcgen.demo.cohort import make_demo_cohort


def __getattr__(name: str):
    # msprime, scipy and pandas load only when the generator is used
    if name == "make_demo_cohort":
        from hpcgen.demo.cohort import make_demo_cohort

        return make_demo_cohort
    raise AttributeError(name)


__all__ = ["make_demo_cohort"]
