"""Generic resources -> a site's sbatch directives, by one pure function; validation before submission.

``slurm_parameters`` is the single translation (profile, resources) -> submitit SlurmExecutor parameters;
``render_sbatch`` renders the very script submitit would submit, so a dry run shows what a real run sends.
"""
from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import Any

from hpcgen.dispatch.profiles import Profile, load_profile, resolve_account
from hpcgen.dispatch.resources import Resources
from hpcgen.errors import InputError


def _hours(minutes: int) -> str:
    return f"{minutes / 60:g} h" if minutes % 60 == 0 or minutes > 120 else f"{minutes} min"


def validate_request(profile: Profile, resources: Resources, account: str | None) -> None:
    """Refuse, before anything is submitted, a request the site cannot satisfy.

    Raises
    ------
    InputError
        One line naming the profile and what is impossible (too many GPUs, too long, no account...).
    """
    node = profile.node
    where = f"profile {profile.name} ({profile.site}, {node.name} node)"
    if resources.node_type is not None and resources.node_type.lower() != node.name.lower():
        raise InputError(f"{where}: asks node type '{resources.node_type}' but this profile's nodes are '{node.name}'")
    if profile.account_required and not account:
        raise InputError(
            f"{where}: an account is required (set $HPCGEN_ACCOUNT or config dispatch.account, e.g. your project id)"
        )
    if resources.gpus_per_node > node.gpus:
        raise InputError(f"{where}: asks {resources.gpus_per_node} GPUs per node but a {node.name} node has {node.gpus}")
    if resources.time_min > profile.max_time_min:
        raise InputError(
            f"{where}: asks {_hours(resources.time_min)} but the site allows at most {_hours(profile.max_time_min)} per job"
        )
    if resources.nodes > profile.max_nodes:
        raise InputError(f"{where}: asks {resources.nodes} nodes but at most {profile.max_nodes} are allowed")
    cpus = resources.tasks_per_node * resources.cpus_per_task
    if cpus > node.cores:
        raise InputError(
            f"{where}: asks {cpus} cores per node ({resources.tasks_per_node} tasks x {resources.cpus_per_task}) "
            f"but a {node.name} node has {node.cores}"
        )
    if profile.mem_directive and resources.mem_gb > node.mem_gb:
        raise InputError(f"{where}: asks {resources.mem_gb:g} GB per node but a {node.name} node has {node.mem_gb:g} GB")
    if node.cores_per_gpu and resources.gpus_per_node:
        needed = resources.gpus_per_node * node.cores_per_gpu
        if needed > node.cores:
            raise InputError(f"{where}: {resources.gpus_per_node} GPUs need {needed} cores but a node has {node.cores}")


def slurm_parameters(
    profile: Profile | str,
    resources: Resources,
    name: str,
    account: str | None = None,
    setup_extra: list[str] | None = None,
) -> dict[str, Any]:
    """Translate generic resources into submitit ``SlurmExecutor`` parameters for this site (pure).

    Parameters
    ----------
    profile
        A :class:`Profile` or a profile name.
    resources
        What the job needs.
    name
        Job name (the stage).
    account
        Account to charge; ``None`` resolves it ($HPCGEN_ACCOUNT, config, profile default).
    setup_extra
        More shell lines run before the job (after the profile's own).

    Returns
    -------
    dict
        Keyword arguments of ``submitit.SlurmExecutor.update_parameters``.

    Raises
    ------
    InputError
        When the request is impossible on this site (see :func:`validate_request`).
    """
    profile = load_profile(profile)
    if profile.is_local:
        raise InputError(f"profile {profile.name} runs in-process: there is no sbatch script to render")
    account = resolve_account(profile, account)
    validate_request(profile, resources, account)
    node = profile.node
    cpus_per_task = resources.cpus_per_task
    if node.cores_per_gpu and resources.gpus_per_node:
        # Jean Zay bills and places by cores: reserve the GPU's share of cores (and so of memory) per task
        share = math.ceil(resources.gpus_per_node * node.cores_per_gpu / resources.tasks_per_node)
        cpus_per_task = max(cpus_per_task, share)
    params: dict[str, Any] = {
        "job_name": name,
        "time": resources.time_min,
        "nodes": resources.nodes,
        "ntasks_per_node": resources.tasks_per_node,
        "cpus_per_task": cpus_per_task,
        "signal_delay_s": profile.signal_delay_s,
        "array_parallelism": profile.array_parallelism,
        "wckey": "hpcgen",
    }
    additional: dict[str, Any] = {}
    if profile.partition:
        params["partition"] = profile.partition
    if profile.constraint:
        params["constraint"] = profile.constraint
    if account:
        params["account"] = profile.account_format.format(account=account)
    qos = profile.qos_for(resources.time_min)
    if qos:
        params["qos"] = qos
    if profile.mem_directive:
        params["mem"] = f"{math.ceil(resources.mem_gb)}G"
    if resources.gpus_per_node:
        if profile.gpu_directive == "gres":
            params["gres"] = f"gpu:{resources.gpus_per_node}"
        else:
            params["gpus_per_node"] = resources.gpus_per_node
    if profile.hint:
        additional["hint"] = profile.hint
    additional.update(profile.extra_directives)
    if additional:
        params["additional_parameters"] = dict(sorted(additional.items()))
    setup = list(profile.setup) + list(setup_extra or [])
    if setup:
        params["setup"] = setup
    return params


def render_sbatch(
    profile: Profile | str,
    resources: Resources | None,
    name: str,
    *,
    account: str | None = None,
    run_dir: str | Path = "/RUN_DIR",
    python: str = "python3",
    array_size: int | None = None,
    setup_extra: list[str] | None = None,
) -> str:
    """The sbatch script a submission would send, rendered without submitting anything (``--dry-run``).

    Parameters
    ----------
    profile, resources, name, account, setup_extra
        As for :func:`slurm_parameters` (``resources=None`` means the defaults).
    run_dir
        The run folder; submitit would keep the job's pickles and logs in RUN_DIR/slurm/<name>/<job id>.
    python
        The interpreter command the job runs.
    array_size
        Render a job array of this many tasks (capped by the profile's array cap, as a real submission splits).

    Returns
    -------
    str
        The script text.
    """
    from submitit.slurm.slurm import _make_sbatch_string

    profile = load_profile(profile)
    params = slurm_parameters(profile, resources or Resources(), name, account, setup_extra)
    if array_size is not None:
        params["map_count"] = min(array_size, profile.array_cap)
    folder = f"{Path(run_dir).absolute()}/slurm/{name}/%j"
    command = " ".join([python, "-u -m submitit.core._submit", shlex.quote(folder)])
    return _make_sbatch_string(command=command, folder=folder, **params)
