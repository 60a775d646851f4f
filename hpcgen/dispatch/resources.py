"""Generic resource requests: what a stage asks for, independent of any site."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from hpcgen.errors import InputError


@dataclass(frozen=True)
class Resources:
    """What one job (or one array task) needs.

    Parameters
    ----------
    nodes
        Number of nodes.
    tasks_per_node
        Processes per node (MPI ranks / torch ranks); the function runs once per task.
    cpus_per_task
        CPU cores per task.
    mem_gb
        Memory per node, in GB (10^9 bytes is close enough; Slurm receives it in GB).
    gpus_per_node
        GPUs per node (0 for CPU jobs).
    time_min
        Wall-clock limit in minutes.
    node_type
        A node type named in the profile (``mi250``, ``h100``, ``genoa``...); ``None`` takes the profile's default.
    """

    nodes: int = 1
    tasks_per_node: int = 1
    cpus_per_task: int = 1
    mem_gb: float = 2.0
    gpus_per_node: int = 0
    time_min: int = 60
    node_type: str | None = None

    def __post_init__(self) -> None:
        for field in ("nodes", "tasks_per_node", "cpus_per_task", "time_min"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"resources.{field} must be a positive integer, got {value!r}")
        if not isinstance(self.gpus_per_node, int) or self.gpus_per_node < 0:
            raise InputError(f"resources.gpus_per_node must be an integer >= 0, got {self.gpus_per_node!r}")
        if not isinstance(self.mem_gb, (int, float)) or self.mem_gb <= 0:
            raise InputError(f"resources.mem_gb must be > 0, got {self.mem_gb!r}")

    @property
    def total_cpus(self) -> int:
        """Cores over all nodes and tasks."""
        return self.nodes * self.tasks_per_node * self.cpus_per_task

    @property
    def total_gpus(self) -> int:
        """GPUs over all nodes."""
        return self.nodes * self.gpus_per_node

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping (what jobs.jsonl records)."""
        return asdict(self)

    def with_(self, **changes: Any) -> "Resources":
        """A copy with some fields changed."""
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Resources":
        """Build from a mapping; unknown keys are an :class:`InputError`."""
        data = dict(data or {})
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise InputError(f"unknown resource key(s): {', '.join(unknown)}")
        return cls(**data)
