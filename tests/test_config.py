"""Config: defaults in one home, strict validation, JSON Schema in step with the model."""
from __future__ import annotations

import json

import pytest
import yaml

from conftest import REPO, run_hpcgen
from hpcgen.config import HpcgenConfig, json_schema_text, load_config, validate_config
from hpcgen.errors import InputError


def test_config_yaml_holds_every_default():
    on_disk = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert on_disk == HpcgenConfig().to_dict(), "run `make schema` after changing a default"


def test_schema_json_is_current():
    assert (REPO / "config" / "schema.json").read_text() == json_schema_text(), "run `make schema`"


def test_unknown_key_is_named():
    with pytest.raises(InputError, match=r"qc\.min_mafx"):
        validate_config({"qc": {"min_mafx": 0.1}})


def test_wrong_type_is_named():
    with pytest.raises(InputError, match=r"store\.chunk_variants"):
        validate_config({"store": {"chunk_variants": "many"}})


def test_partial_override_keeps_other_defaults(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("qc:\n  min_maf: 0.05\n")
    cfg = load_config(p)
    assert cfg.qc.min_maf == 0.05 and cfg.qc.min_call_rate == HpcgenConfig().qc.min_call_rate


def test_snakemake_validator_accepts_defaults_and_rejects_unknown():
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    schema = str(REPO / "config" / "schema.json")
    validate(HpcgenConfig().to_dict(), schema)
    bad = HpcgenConfig().to_dict()
    bad["qc"]["surprise"] = 1
    with pytest.raises(WorkflowError):
        validate(bad, schema)


def test_cli_bad_config_exit_2(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("qc: {min_maf: high}\n")
    proc = run_hpcgen("config", "show", "--config", str(p))
    assert proc.returncode == 2
    assert "qc.min_maf" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_cli_version_and_help():
    proc = run_hpcgen("--version", check=True)
    assert "hpcgen" in proc.stdout
    assert "ingest" in run_hpcgen("--help", check=True).stdout


@pytest.mark.parametrize("data,key", [
    ({"qc": {"kinship": 1}}, "qc.kinship"),            # an int is not a bool
    ({"qc": {"threads": True}}, "qc.threads"),         # nor a bool an int
    ({"qc": {"min_maf": "0.1"}}, "qc.min_maf"),        # nor a string a number
    ({"qc": {"min_maf": 0.7}}, "qc.min_maf"),          # above its bound
    ({"report": {"formats": []}}, "report.formats"),   # a list's minimum length
    ({"report": {"formats": ["html", "docx"]}}, "report.formats.1"),
    ({"qc": 3}, "qc"),
    ({"surprise": {}}, "surprise"),
])
def test_strict_values_and_the_key_named(data, key):
    with pytest.raises(InputError) as err:
        validate_config(data)
    assert f"config key '{key}'" in str(err.value)


def test_integers_are_numbers_and_defaults_are_fresh():
    cfg = validate_config({"qc": {"min_maf": 0}, "model": {"hidden": [8]}})
    assert cfg.qc.min_maf == 0.0 and isinstance(cfg.qc.min_maf, float)
    assert HpcgenConfig().model.hidden == [32, 16]  # a default list is not shared with the instance above


def test_profile_keys_checked_and_frozen(tmp_path):
    from hpcgen.dispatch.profiles import load_profile

    profile = load_profile("devcluster")
    with pytest.raises(AttributeError):
        profile.max_time_min = 5
    bad = tmp_path / "bad.yaml"
    text = (REPO / "slurm" / "profiles" / "devcluster.yaml").read_text()
    bad.write_text(text.replace("energy:", "energy:\n  watts_per_tpu: 3", 1))
    with pytest.raises(InputError, match=r"profile key 'energy\.watts_per_tpu': unknown key"):
        load_profile(bad)
