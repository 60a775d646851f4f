"""The base every config section derives from: unknown keys are errors, values are checked strictly."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section: unknown keys rejected, assignments validated, no silent coercion of strings."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)
