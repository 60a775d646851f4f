"""hpcgen.dispatch without a cluster: in-process runs, jobs.jsonl, profiles, validation, arrays, module roots."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import dispatch_helpers as h
from hpcgen.dispatch import Resources, load_profile, render_sbatch, run_array, run_stage, slurm_parameters
from hpcgen.dispatch.arrays import split
from hpcgen.dispatch.executors import module_roots, pythonpath_setup
from hpcgen.dispatch.records import read_records
from hpcgen.errors import InputError

REPO = Path(__file__).resolve().parents[1]


def test_run_stage_local_runs_in_process_and_records(tmp_path):
    assert run_stage(h.add, 2, b=3, name="qc", run_dir=tmp_path) == 5
    (rec,) = h.read_jsonl(tmp_path / "jobs.jsonl")
    assert rec["stage"] == "qc" and rec["profile"] == "local" and rec["state"] == "COMPLETED"
    assert rec["job_id"].startswith("local-") and rec["pid"] == os.getpid()
    assert rec["start"] <= rec["end"] and rec["resources"]["cpus_per_task"] == 1
    assert rec["usage"]["max_rss_kb"] > 1000 and rec["usage"]["wall_s"] >= 0
    assert rec["energy_constants"]["watts_per_core"] == load_profile("local").energy.watts_per_core


def test_run_stage_local_measures_cpu_time(tmp_path):
    run_stage(h.burn, 0.3, 8, name="burn", run_dir=tmp_path)
    usage = read_records(tmp_path)[0]["usage"]
    assert usage["cpu_user_s"] + usage["cpu_sys_s"] >= 0.25


def test_run_stage_local_failure_is_recorded_and_raised(tmp_path):
    with pytest.raises(ValueError, match="corrupt"):
        run_stage(h.fail_loudly, "chr1", name="bad", run_dir=tmp_path)
    (rec,) = read_records(tmp_path)
    assert rec["state"] == "FAILED" and "corrupt" in rec["error"]


def test_run_array_local_pool_keeps_order_and_records_each_task(tmp_path):
    out = run_array(h.square, list(range(7)), name="sq", run_dir=tmp_path, workers=2)
    assert out == [x * x for x in range(7)]
    recs = read_records(tmp_path)
    assert sorted(r["array_index"] for r in recs) == list(range(7))
    assert all(r["state"] == "COMPLETED" and "usage" in r for r in recs)
    assert len({r["job_id"] for r in recs}) == 7


def test_run_array_local_lambda_runs_in_process(tmp_path):
    assert run_array(lambda x: x + 1, [1, 2, 3], name="lam", run_dir=tmp_path, workers=2) == [2, 3, 4]


def test_run_array_local_retries_failed_task(tmp_path):
    marker = tmp_path / "m"
    assert run_array(h.fail_once, [str(marker)], name="flaky", run_dir=tmp_path, max_retries=1) == ["ok on retry"]
    marker.unlink()
    with pytest.raises(RuntimeError, match="transient"):
        run_array(h.fail_once, [str(marker)], name="flaky0", run_dir=tmp_path, max_retries=0)


def test_empty_array_is_empty(tmp_path):
    assert run_array(h.square, [], name="none", run_dir=tmp_path) == []


@pytest.mark.parametrize(
    "profile, resources, account, message",
    [
        ("adastra-mi250", Resources(gpus_per_node=9), "proj", "asks 9 GPUs per node but a mi250 node has 8"),
        ("adastra-mi250", Resources(time_min=30 * 60), "proj", "asks 30 h but the site allows at most 24 h"),
        ("adastra-genoa", Resources(), None, "an account is required"),
        ("adastra-genoa", Resources(gpus_per_node=1), "proj", "asks 1 GPUs per node but a genoa node has 0"),
        ("jean-zay-h100", Resources(gpus_per_node=5), "proj", "a h100 node has 4"),
        ("jean-zay-h100", Resources(time_min=101 * 60), "proj", "at most 100 h"),
        ("jean-zay-a100", Resources(cpus_per_task=65), "proj", "asks 65 cores per node"),
        ("adastra-mi300", Resources(mem_gb=600), "proj", "asks 600 GB per node"),
        ("adastra-mi250", Resources(node_type="h100"), "proj", "asks node type 'h100'"),
        ("devcluster", Resources(nodes=2), None, "asks 2 nodes but at most 1"),
    ],
)
def test_impossible_requests_refused_before_submission(profile, resources, account, message, monkeypatch):
    monkeypatch.delenv("HPCGEN_ACCOUNT", raising=False)
    with pytest.raises(InputError) as err:
        slurm_parameters(profile, resources, "qc", account=account)
    assert message in str(err.value) and "\n" not in err.value.one_line()
    assert f"profile {profile}" in str(err.value)


def test_resources_reject_nonsense():
    with pytest.raises(InputError, match="time_min"):
        Resources(time_min=0)
    with pytest.raises(InputError, match="unknown resource key"):
        Resources.from_dict({"gpu": 1})


@pytest.mark.parametrize("minutes, qos", [(30, "qos_gpu_h100-dev"), (120, "qos_gpu_h100-dev"),
                                          (121, "qos_gpu_h100-t3"), (1200, "qos_gpu_h100-t3"),
                                          (1201, "qos_gpu_h100-t4"), (6000, "qos_gpu_h100-t4")])
def test_jean_zay_qos_follows_time(minutes, qos):
    params = slurm_parameters("jean-zay-h100", Resources(gpus_per_node=1, time_min=minutes), "train", account="abc")
    assert params["qos"] == qos


def test_jean_zay_conventions():
    params = slurm_parameters("jean-zay-h100", Resources(gpus_per_node=2, tasks_per_node=2), "train", account="abc")
    assert params["account"] == "abc@h100" and params["constraint"] == "h100"
    assert params["gres"] == "gpu:2" and "mem" not in params
    assert params["cpus_per_task"] == 24  # 24 cores per H100, one task per GPU
    assert params["additional_parameters"]["hint"] == "nomultithread"
    assert "module load arch/h100" in params["setup"]
    a100 = slurm_parameters("jean-zay-a100", Resources(gpus_per_node=8, tasks_per_node=8), "t", account="abc")
    assert a100["account"] == "abc@a100" and a100["cpus_per_task"] == 8 and a100["constraint"] == "a100"


def test_adastra_conventions(monkeypatch):
    monkeypatch.setenv("HPCGEN_ACCOUNT", "gen1234")
    params = slurm_parameters("adastra-mi250", Resources(gpus_per_node=8, time_min=1440), "train")
    assert params["account"] == "gen1234" and params["constraint"] == "MI250"
    assert "qos" not in params and params["gpus_per_node"] == 8 and params["time"] == 1440


def test_array_split_by_cap_and_rendered_array_capped():
    assert [len(c) for c in split(list(range(25)), 11)] == [11, 11, 3]
    assert split([], 11) == []
    script = render_sbatch("adastra-mi250", Resources(), "ingest-shard", account="p", array_size=30)
    assert "#SBATCH --array=0-10%11" in script


def test_local_profile_has_no_sbatch():
    with pytest.raises(InputError, match="in-process"):
        render_sbatch("local", None, "qc")


def test_unknown_profile_lists_known():
    with pytest.raises(InputError, match="known: .*adastra-mi250.*jean-zay-h100"):
        load_profile("adastra-mi251")


def test_profile_with_unknown_key_is_refused(tmp_path):
    text = (REPO / "slurm/profiles/devcluster.yaml").read_text() + "\nqueue: debug\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(InputError, match="profile key 'queue'"):
        load_profile(str(bad))


def test_module_roots_put_the_functions_folder_on_the_jobs_path():
    assert module_roots(h.add) == [str(REPO / "tests")]
    assert module_roots(h.CountingTask()) == [str(REPO / "tests")]
    assert module_roots(render_sbatch) == [str(REPO)]
    assert module_roots(lambda x: x) == [str(REPO / "tests")]
    line = pythonpath_setup(h.add)[0]
    assert line.startswith("export PYTHONPATH=") and str(REPO / "tests") in line


def test_jobs_jsonl_last_record_wins_and_torn_line_ignored(tmp_path):
    path = tmp_path / "jobs.jsonl"
    lines = [{"job_id": "1", "stage": "qc", "state": "SUBMITTED", "profile": "devcluster"},
             {"job_id": "1", "stage": "qc", "state": "COMPLETED"}]
    path.write_text("\n".join(json.dumps(x) for x in lines) + '\n{"job_id": "2", "sta')
    (rec,) = read_records(tmp_path)
    assert rec["state"] == "COMPLETED" and rec["profile"] == "devcluster"
    path.write_text('{"job_id": "1"\n' + json.dumps(lines[1]) + "\n")
    with pytest.raises(InputError, match="line 1"):
        read_records(tmp_path)


def test_dask_cluster_kwargs_follow_the_profile():
    from hpcgen.dispatch.dask_clusters import slurm_cluster_kwargs

    kw = slurm_cluster_kwargs("jean-zay-h100", Resources(gpus_per_node=1, time_min=150), account="abc")
    assert kw["account"] == "abc@h100" and kw["cores"] == 24 and kw["walltime"] == "02:30:00"
    assert "--constraint=h100" in kw["job_extra_directives"] and "--qos=qos_gpu_h100-t3" in kw["job_extra_directives"]
    assert "--hint=nomultithread" in kw["job_extra_directives"] and kw["job_directives_skip"] == ["--mem"]
    assert "module load arch/h100" in kw["job_script_prologue"]
    with pytest.raises(InputError, match="9 GPUs"):
        slurm_cluster_kwargs("adastra-mi250", Resources(gpus_per_node=9), account="p")


@pytest.mark.parametrize("profile", ["devcluster", "adastra-mi250", "adastra-genoa", "jean-zay-h100", "local"])
def test_stage_resources_fit_every_profile(profile):
    prof = load_profile(profile)
    stages = prof.stage_resources()
    assert {"ingest-shard", "qc", "pgx", "train"} <= set(stages)
    assert stages["train"].gpus_per_node == min(1, prof.node.gpus)
    if not prof.is_local:
        for name, res in stages.items():  # every default renders (validation passes) on its own site
            assert f"--job-name={name}" in render_sbatch(prof, res, name, account="p")


def test_module_roots_skip_what_the_job_finds_anyway():
    import functools
    import json as json_module

    assert module_roots(json_module.dumps) == []  # standard library
    assert module_roots(functools.partial(h.add, 1)) == [str(REPO / "tests")]
    import yaml as yaml_module

    assert module_roots(yaml_module.safe_load) == []  # an installed package


def test_local_worker_killed_is_a_clear_error(tmp_path):
    from hpcgen.errors import HpcgenError

    with pytest.raises(HpcgenError, match="local worker process died"):
        run_array(h.die_hard, [0, 1, 2], name="oom", run_dir=tmp_path, workers=2)
