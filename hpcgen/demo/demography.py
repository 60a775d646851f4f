"""Ancestry groups of the demo cohort and the out-of-Africa demography that relates them.

The model is Gutenkunst et al. (2009, PLoS Genet 5:e1000695) three-population out-of-Africa model, with the
parameters stdpopsim ships as ``HomSap/OutOfAfrica_3G09`` (generation time 25 years), plus one recently admixed
group (half African, half European ancestry, 12 generations ago) standing for the Afro-Caribbean patients of a
French hospital. Population names are the ancestry group codes used everywhere in the demo files.
"""
from __future__ import annotations

import math

import msprime

#: ancestry group -> human-readable label (samples.tsv, reports)
GROUPS: dict[str, str] = {
    "EUR": "European",
    "AFR": "African",
    "EAS": "East Asian",
    "ADM": "Admixed African-European",
}

#: share of each ancestry group in a French hospital warfarin cohort (an assumption, stated as such)
GROUP_SHARES: dict[str, float] = {"EUR": 0.60, "AFR": 0.15, "EAS": 0.12, "ADM": 0.13}

#: admixed group: fraction of its ancestry from each source population (used for PGx alleles too)
ADMIXTURE: dict[str, float] = {"AFR": 0.5, "EUR": 0.5}
ADMIXTURE_GENERATIONS = 12

#: per-generation mutation and recombination rates (per bp) of the model
MUTATION_RATE = 2.35e-8
RECOMBINATION_RATE = 1.0e-8


def out_of_africa() -> msprime.Demography:
    """The demography: Gutenkunst 2009 OOA (AFR, EUR, EAS) plus a recently admixed group ADM.

    Returns
    -------
    msprime.Demography
        Populations EUR, AFR, EAS, ADM (sampled now) and the ancestral ones; sizes in diploid individuals,
        times in generations.
    """
    gen = 25
    n_a, n_b, n_af = 7300, 2100, 12300
    n_eu0, n_as0 = 1000, 510
    r_eu, r_as = 0.004, 0.0055
    t_af, t_b, t_eu_as = 220e3 / gen, 140e3 / gen, 21.2e3 / gen
    n_eu = n_eu0 / math.exp(-r_eu * t_eu_as)
    n_as = n_as0 / math.exp(-r_as * t_eu_as)
    dem = msprime.Demography()
    dem.add_population(name="AFR", description="African", initial_size=n_af)
    dem.add_population(name="EUR", description="European", initial_size=n_eu, growth_rate=r_eu)
    dem.add_population(name="EAS", description="East Asian", initial_size=n_as, growth_rate=r_as)
    # the admixed group grows from a few thousand founders, as a recent migrant population would
    dem.add_population(name="ADM", description="Admixed African-European", initial_size=30_000, growth_rate=0.05)
    dem.add_population(name="OOA", description="Bottleneck out of Africa", initial_size=n_b)
    dem.add_population(name="ANC", description="Ancestral (African) population", initial_size=n_af)
    dem.set_symmetric_migration_rate(["AFR", "EUR"], 3e-5)
    dem.set_symmetric_migration_rate(["AFR", "EAS"], 1.9e-5)
    dem.set_symmetric_migration_rate(["EUR", "EAS"], 9.6e-5)
    dem.add_admixture(time=ADMIXTURE_GENERATIONS, derived="ADM", ancestral=list(ADMIXTURE), proportions=list(ADMIXTURE.values()))
    dem.add_population_split(time=t_eu_as, derived=["EUR", "EAS"], ancestral="OOA")
    dem.add_symmetric_migration_rate_change(time=t_eu_as, populations=["AFR", "OOA"], rate=25e-5)
    dem.add_population_split(time=t_b, derived=["AFR", "OOA"], ancestral="ANC")
    # the expansion of the ancestral African population, seen backwards in time as a shrink to N_A
    dem.add_population_parameters_change(time=t_af, population="ANC", initial_size=n_a)
    dem.sort_events()
    return dem
