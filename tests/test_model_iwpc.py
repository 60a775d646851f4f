"""IWPC algorithms against hand-computed published-equation examples; the clinical reader's validation."""
from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest

from conftest import run_hpcgen
from model_helpers import HEADER, patient, write_table

from hpcgen.errors import InputError
from hpcgen.model import iwpc
from hpcgen.model.clinical import age_decades, dose_group, load_clinical, parse_age
from hpcgen.model.evaluate import dose_metrics, kfold_indices, metrics_by_group

# Worked examples, computed by hand from the coefficients printed in Klein et al., NEJM 2009 (appendix).
# A: 60-69 y (6 decades), 175 cm, 80 kg, White, VKORC1 A/G, CYP2C9 *1/*1, no inducer / amiodarone
#    PG: 5.6044 - 0.2614*6 + 0.0087*175 + 0.0128*80 - 0.8677 = 5.7148 -> 5.7148^2 = 32.6589 mg/week
#    clinical: 4.0376 - 0.2546*6 + 0.0118*175 + 0.0134*80 = 5.6470 -> 31.8886 mg/week
# B: 70-79 y, 160 cm, 55 kg, Asian, amiodarone, CYP2C9 *1/*3, VKORC1 imputed A/A (rs2359612 T/T)
#    PG: 5.6044 - 1.8298 + 1.3920 + 0.7040 - 1.6974 - 0.9357 - 0.1092 - 0.5503 = 2.5780 -> 6.6461
#    clinical: 4.0376 - 1.7822 + 1.8880 + 0.7370 - 0.6752 - 0.5695 = 3.6357 -> 13.2183
# C: 50-59 y, 180 cm, 95 kg, Black, carbamazepine, *1/*2, VKORC1 missing; rs2359612 T/T is ignored for
#    Black patients, rs9934438 C/T -> A/G. PG: 5.6044 - 1.3070 + 1.5660 + 1.2160 - 0.8677 - 0.5211
#    - 0.2760 + 1.1816 = 6.5962 -> 43.5099
# D: 90+ (9 decades), 150 cm, 50 kg, race unknown, rifampin, CYP2C9 and VKORC1 unknown
#    PG: 5.6044 - 2.3526 + 1.3050 + 0.6400 - 0.4854 - 0.2188 - 0.1032 + 1.1816 = 5.5710 -> 31.0360
EXAMPLES = [
    (patient("A", age="60 - 69", height="175", weight="80", vk="A/G", dose="35"), 32.6589, 31.8886),
    (patient("B", race="Asian", age="70 - 79", height="160", weight="55", cyp="*1/*3", vk="NA", rs2359612="T/T",
             amio="1", dose=""), 6.6461, 13.2183),
    (patient("C", race="Black or African American", age="50 - 59", height="180", weight="95", cyp="*1/*2", vk="NA",
             rs2359612="T/T", rs9934438="C/T", carb="1", dose="49"), 43.5099, None),
    (patient("D", race="Unknown", age="90+", height="150", weight="50", cyp="NA", vk="NA", rif="1", dose="20"), 31.0360, None),
]


@pytest.fixture
def examples(tmp_path):
    return write_table(tmp_path / "examples.tsv", [e[0] for e in EXAMPLES])


def test_pharmacogenetic_and_clinical_match_hand_computed_examples(examples):
    frame = load_clinical(examples).frame
    pg = iwpc.pharmacogenetic_dose(frame)
    cl = iwpc.clinical_dose(frame)
    for i, (_, want_pg, want_cl) in enumerate(EXAMPLES):
        assert pg[i] == pytest.approx(want_pg, abs=5e-4)
        if want_cl is not None:
            assert cl[i] == pytest.approx(want_cl, abs=5e-4)


@pytest.mark.parametrize("race,rs2359612,rs9934438,rs8050894,want", [
    ("White", "C/C", None, None, "G/G"),
    ("White", "T/T", None, None, "A/A"),
    ("Asian", "C/T", None, None, "A/G"),
    ("Black", "T/T", None, None, None),            # rs2359612 rule excludes Black patients
    ("Unknown", "C/C", None, None, None),          # ... and missing / mixed race
    ("Black", None, "T/T", None, "A/A"),           # rs9934438 applies to every race
    ("Unknown", None, "C/C", None, "G/G"),
    ("Black", "C/C", "C/T", None, "A/G"),
    ("White", None, None, "C/G", "A/G"),
    ("Asian", None, None, "C/C", "A/A"),
    ("White", None, None, "G/G", "G/G"),
    ("Black", None, None, "C/C", None),            # rs8050894 rule excludes Black patients
    ("White", "C/C", "T/T", "C/C", "G/G"),         # first matching rule wins (rs2359612 before rs9934438)
])
def test_vkorc1_imputation_rules(race, rs2359612, rs9934438, rs8050894, want):
    assert iwpc.impute_vkorc1(None, rs2359612, rs9934438, rs8050894, race) == want


def test_typed_vkorc1_is_never_overridden():
    assert iwpc.impute_vkorc1("A/A", "C/C", "C/C", "G/G", "White") == "A/A"


def test_age_decades_and_strings():
    assert [age_decades(parse_age(a)) for a in ("10 - 19", "60 - 69", "90+", "95", "0 - 9")] == [1, 6, 9, 9, 0]
    assert math.isnan(parse_age("NA"))


def test_dose_groups_and_metrics_by_hand():
    actual = np.array([10.0, 20.0, 21.0, 35.0, 49.0, 70.0])
    pred = np.array([12.0, 30.0, 21.0, 28.0, 60.0, 70.0])
    assert list(dose_group(actual)) == ["<21", "<21", "21-49", "21-49", ">=49", ">=49"]
    m = dose_metrics(actual, pred)
    # |err| = 2, 10, 0, 7, 11, 0 -> MAE 30/6 = 5; within 20%: 2<=2, 10>4, 0, 7<=7, 11>9.8, 0 -> 4/6
    assert m["mae"] == pytest.approx(5.0)
    assert m["within_20pct"] == pytest.approx(4 / 6)
    g = metrics_by_group(actual, pred)["dose_group"]
    assert g["<21"]["mae"] == pytest.approx(6.0) and g[">=49"]["within_20pct"] == pytest.approx(0.5)


def test_kfold_covers_every_row_once():
    folds = kfold_indices(23, 5, seed=3)
    tested = np.sort(np.concatenate([t for _, t in folds]))
    assert list(tested) == list(range(23))
    for tr, te in folds:
        assert not set(tr) & set(te)


def test_cli_iwpc_prints_metrics_and_writes_predictions(examples, tmp_path):
    out = tmp_path / "pred.tsv"
    proc = run_hpcgen("dose", "iwpc", "--input", str(examples), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "3 with a therapeutic dose, 1 without" in proc.stdout
    assert "IWPC pharmacogenetic: n=3" in proc.stdout and "dose   <21" in proc.stdout.replace("dose <21", "dose   <21")
    df = pd.read_csv(out, sep="\t")
    assert list(df["iwpc_dose_mg_week"].round(2)) == [32.66, 6.65, 43.51, 31.04]
    assert list(df["vkorc1_1639"]) == ["A/G", "A/A", "A/G", "unknown"]
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
    # MAE by hand: |32.66-35|, |43.51-49|, |31.04-20| -> (2.341 + 5.490 + 11.036) / 3 = 6.289
    assert "MAE=6.29" in proc.stdout


def test_csv_input_and_our_own_columns(tmp_path):
    p = tmp_path / "ours.csv"
    p.write_text("sample,age,height_cm,weight_kg,race,cyp2c9,vkorc1,amiodarone,enzyme_inducer,dose_mg_week\n"
                 "S1,65,175,80,European,*1/*1,C/T,0,0,35\n")
    frame = load_clinical(p).frame
    assert frame["vkorc1"][0] == "A/G" and frame["age_decades"][0] == 6  # + strand C/T is -1639 G/A
    assert iwpc.pharmacogenetic_dose(frame)[0] == pytest.approx(32.6589, abs=5e-4)


@pytest.mark.parametrize("field,value,needle,row", [
    ("Height (cm)", "0", "height (cm) outside", 2),
    ("Weight (kg)", "2000", "weight (kg) outside", 2),
    ("Age", "200", "age outside", 2),
    ("Age", "sixty", "could not convert", 2),
    ("Therapeutic Dose of Warfarin", "-5", "weekly dose (mg) outside", 2),
    ("Race (OMB)", "Martian", "unknown race", 2),
])
def test_impossible_values_rejected_with_row_and_column(tmp_path, field, value, needle, row):
    rows = [patient("P1"), patient("P2", **{}), patient("P3")]
    rows[row - 1][field] = value
    p = write_table(tmp_path / "bad.tsv", rows)
    out = tmp_path / "out.tsv"
    proc = run_hpcgen("dose", "iwpc", "--input", str(p), "--out", str(out))
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and str(p) in err
    assert f"row {row}, column '{field}'" in err and needle in err
    assert not out.exists()


def test_unknown_genotype_strings_are_listed(tmp_path):
    rows = [patient("P1", cyp="*1/*1"), patient("P2", cyp="*1/banana"), patient("P3", cyp="star2"), patient("P4")]
    p = write_table(tmp_path / "geno.tsv", rows)
    with pytest.raises(InputError) as exc:
        load_clinical(p)
    msg = str(exc.value)
    assert "rows 2, 3" in msg and "'*1/banana'" in msg and "'star2'" in msg and "Cyp2C9 genotypes" in msg


def test_rows_without_target_are_counted(tmp_path):
    p = write_table(tmp_path / "t.tsv", [patient("P1"), patient("P2", dose="NA"), patient("P3", dose="")])
    t = load_clinical(p)
    assert t.n_rows == 3 and t.n_without_target == 2 and len(t.with_target()) == 1


def test_empty_tables_refused(tmp_path):
    header_only = write_table(tmp_path / "h.tsv", [])
    empty = tmp_path / "e.tsv"
    empty.write_text("")
    for p in (header_only, empty):
        proc = run_hpcgen("dose", "iwpc", "--input", str(p), "--out", str(tmp_path / "o.tsv"))
        assert proc.returncode == 2 and "empty table" in proc.stderr


def test_missing_required_column(tmp_path):
    p = write_table(tmp_path / "c.tsv", [patient("P1")], header=[h for h in HEADER if h != "Weight (kg)"])
    with pytest.raises(InputError, match="required column missing"):
        load_clinical(p)

