"""Site profiles (slurm/profiles/<name>.yaml): one node type of one site, read into a typed model.

A profile is the one home of a site's conventions: account rules, partition / constraint, QoS chosen from
the time asked, limits, array cap, setup lines (modules) and energy constants for impact estimates.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from msgspec import Meta, field

from hpcgen.config.base import Section, convert
from hpcgen.dispatch.resources import Resources
from hpcgen.errors import InputError

PROFILES_ENV = "HPCGEN_PROFILES_DIR"
ACCOUNT_ENV = "HPCGEN_ACCOUNT"
# the repository's slurm/profiles (hpcgen is installed editable from the repository)
DEFAULT_PROFILES_DIR = Path(__file__).resolve().parents[2] / "slurm" / "profiles"


class _Strict(Section, frozen=True):
    """A profile part: unknown keys rejected, read-only once loaded (profiles are cached per file)."""


class NodeType(_Strict):
    """The hardware of one node of the profile's node type."""

    name: Annotated[str, Meta(description="node type name (mi250, h100, genoa, ...)")]
    cores: Annotated[int, Meta(ge=1, description="physical cores per node")]
    mem_gb: Annotated[float, Meta(gt=0, description="memory per node usable by jobs (GB)")]
    gpus: Annotated[int, Meta(ge=0, description="GPUs per node as Slurm counts them (an MI250X counts as 2)")] = 0
    gpu_model: Annotated[str | None, Meta(description="GPU model, for reports")] = None
    cores_per_gpu: Annotated[Annotated[int, Meta(ge=1)] | None, Meta(description="cores reserved per GPU (Jean Zay's rule); None: no rule")] = None


class QosRule(_Strict):
    """Use ``qos`` when the time asked is at most ``max_time_min``."""

    max_time_min: Annotated[int, Meta(ge=1)]
    qos: str


class Energy(_Strict):
    """Constants of the Green Algorithms estimate (Lannelongue et al. 2021)."""

    watts_per_core: Annotated[float, Meta(ge=0, description="power draw per core at full use (W)")]
    pue: Annotated[float, Meta(ge=1.0, description="power usage effectiveness of the data centre")]
    source: Annotated[str, Meta(description="where these figures come from")]
    watts_per_gpu: Annotated[float, Meta(ge=0, description="power draw per GPU at full use (W)")] = 0.0
    watts_per_gb_mem: Annotated[float, Meta(ge=0, description="power per GB of memory (W); Green Algorithms' figure")] = 0.3725


# what each heavy stage asks for when a profile says nothing (per job / per array task)
DEFAULT_STAGE_RESOURCES: dict[str, dict[str, Any]] = {
    "ingest-shard": {"cpus_per_task": 1, "mem_gb": 4, "time_min": 60},
    "qc": {"cpus_per_task": 4, "mem_gb": 16, "time_min": 120},
    "pgx": {"cpus_per_task": 2, "mem_gb": 8, "time_min": 60},
    "train": {"cpus_per_task": 4, "mem_gb": 16, "gpus_per_node": 1, "time_min": 120},
    "predict": {"cpus_per_task": 1, "mem_gb": 4, "time_min": 30},
}


class Profile(_Strict):
    """One site x node type."""

    name: str
    description: str
    scheduler: Literal["local", "slurm"]
    site: str
    max_time_min: Annotated[int, Meta(ge=1)]
    node: NodeType
    energy: Energy
    account: Annotated[str | None, Meta(description="default account; $HPCGEN_ACCOUNT or config dispatch.account override it")] = None
    account_required: bool = False
    account_format: Annotated[str, Meta(description="how the account is written, e.g. '{account}@h100'")] = "{account}"
    partition: str | None = None
    constraint: str | None = None
    qos_rules: Annotated[list[QosRule], Meta(description="ascending max_time_min; empty: no --qos")] = field(default_factory=list)
    max_nodes: Annotated[int, Meta(ge=1)] = 1
    array_cap: Annotated[int, Meta(ge=1, description="most tasks in one job array; bigger arrays are split")] = 1000
    array_parallelism: Annotated[int, Meta(ge=1, description="most array tasks running at once (the %N of --array)")] = 256
    gpu_directive: Literal["gpus-per-node", "gres"] = "gpus-per-node"
    mem_directive: Annotated[bool, Meta(description="render --mem (Jean Zay: memory comes with the cores, no --mem)")] = True
    hint: Annotated[str | None, Meta(description="--hint value (Jean Zay: nomultithread)")] = None
    extra_directives: Annotated[dict[str, str], Meta(description="more #SBATCH --key=value lines")] = field(default_factory=dict)
    setup: Annotated[list[str], Meta(description="shell lines run before the job (module loads, exports)")] = field(default_factory=list)
    poll_max_s: Annotated[float, Meta(gt=0, description="longest pause between two sacct calls while waiting")] = 30.0
    signal_delay_s: Annotated[int, Meta(ge=5, description="seconds before the time limit at which a job may checkpoint")] = 90
    dask_interface: Annotated[str | None, Meta(description="network interface Dask scheduler and workers bind to "
                                                "(e.g. ib0 on a cluster; lo on the single-node dev cluster)")] = None
    stages: Annotated[dict[str, dict[str, Any]], Meta(description="per-stage resources overriding DEFAULT_STAGE_RESOURCES")] = \
        field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        """True when stages run in-process."""
        return self.scheduler == "local"

    def stage_resources(self) -> dict[str, Resources]:
        """Resources of each heavy stage on this site (defaults, then the profile's ``stages``).

        GPUs are dropped on nodes without any and cores capped at the node's, so the defaults always fit.
        """
        out: dict[str, Resources] = {}
        for stage in dict.fromkeys([*DEFAULT_STAGE_RESOURCES, *self.stages]):
            wanted = {**DEFAULT_STAGE_RESOURCES.get(stage, {}), **self.stages.get(stage, {})}
            if stage not in self.stages:
                wanted["gpus_per_node"] = min(wanted.get("gpus_per_node", 0), self.node.gpus)
                wanted["cpus_per_task"] = min(wanted.get("cpus_per_task", 1), self.node.cores)
                wanted["mem_gb"] = min(wanted.get("mem_gb", 2.0), self.node.mem_gb)
            out[stage] = Resources.from_dict(wanted)
        return out

    def qos_for(self, time_min: int) -> str | None:
        """The QoS matching the time asked (None when the site assigns it)."""
        for rule in sorted(self.qos_rules, key=lambda r: r.max_time_min):
            if time_min <= rule.max_time_min:
                return rule.qos
        return None


def profiles_dir() -> Path:
    """Where profiles are read from ($HPCGEN_PROFILES_DIR, else the repository's slurm/profiles)."""
    return Path(os.environ.get(PROFILES_ENV) or DEFAULT_PROFILES_DIR)


def available_profiles() -> list[str]:
    """Names of the profiles found."""
    return sorted(p.stem for p in profiles_dir().glob("*.yaml"))


@functools.lru_cache(maxsize=64)
def _load(path: str, mtime: float) -> Profile:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({exc})", path) from None
    return convert(data, Profile, "profile", path)


def load_profile(name_or_path: str | os.PathLike | Profile) -> Profile:
    """Read a profile by name (``devcluster``) or by path to a YAML file.

    Raises
    ------
    InputError
        Unknown profile (the message lists the known ones) or a bad key in the file.
    """
    if isinstance(name_or_path, Profile):
        return name_or_path
    text = str(name_or_path)
    path = Path(text) if text.endswith((".yaml", ".yml")) or os.sep in text else profiles_dir() / f"{text}.yaml"
    if not path.is_file():
        raise InputError(f"unknown profile '{text}' (known: {', '.join(available_profiles()) or 'none'})", path)
    return _load(str(path), path.stat().st_mtime)


def resolve_account(profile: Profile, account: str | None = None) -> str | None:
    """The account to charge: argument, then $HPCGEN_ACCOUNT, then config dispatch.account, then the profile's."""
    if account:
        return account
    if os.environ.get(ACCOUNT_ENV):
        return os.environ[ACCOUNT_ENV]
    try:
        from hpcgen.config import load_config

        configured = getattr(load_config(None).dispatch, "account", None)
    except InputError:
        configured = None
    return configured or profile.account
