"""The base every config section derives from, and the one way a mapping becomes a section.

msgspec Structs rather than pydantic models: the same typed, constrained, documented fields and the JSON
Schema, for ~5 ms of import instead of ~100 ms (pydantic itself, then building a validator per model). Every
`hpcgen` command paid that before doing anything; a 0.5 s `hpcgen qc` spent a fifth of it there.
"""
from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from hpcgen.errors import InputError

T = TypeVar("T")

# msgspec names where an error is as "... - at `$.qc.min_maf`" (or "... - at `$.formats[0]`")
_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<key>[^`]*)`$")


class Section(msgspec.Struct, forbid_unknown_fields=True):
    """A config section: unknown keys rejected, no silent coercion (``"0.1"`` is not a number, ``1`` not a bool).

    Fields are declared ``Annotated[type, msgspec.Meta(description=..., ge=...)] = default`` (required
    fields first: msgspec keeps declaration order for positional arguments); the description is what
    ``config/config.yaml`` and the JSON Schema show. Assignments are not validated: code that sets a field
    (a CLI option) passes a value of the field's type.
    """

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible values (nested sections as dicts), field order kept."""
        return msgspec.to_builtins(self)


def convert(data: Any, cls: type[T], what: str, source: str) -> T:
    """``data`` (a mapping read from YAML) as a ``cls``, strictly.

    Raises
    ------
    InputError
        Naming the first bad key as a dotted path, e.g. ``config key 'qc.min_maf': Expected `float`, got `str```.
    """
    try:
        return msgspec.convert(data, cls, strict=True)
    except msgspec.ValidationError as exc:
        key, msg = _error_key(str(exc))
        raise InputError(f"{what} key '{key}': {msg}", source) from None


def _error_key(text: str) -> tuple[str, str]:
    """(dotted key, message) of a msgspec validation error's text; ``(top level)`` for the root.

    An unknown field is named by its own path ("qc.min_mafx": "unknown key"), not its section's.
    """
    m = _AT.match(text)
    msg, path = m.group("msg"), (m.group("path") or "").lstrip(".")
    unknown = _UNKNOWN.match(msg)
    if unknown:
        path = f"{path}.{unknown.group('key')}" if path else unknown.group("key")
        msg = "unknown key"
    return path.replace("[", ".").replace("]", "") or "(top level)", msg
