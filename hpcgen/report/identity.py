"""Who a report is about: the pseudonym always, the real identifier only with the mapping AND the key.

The mapping (real -> pseudonym, written by ingest) is trusted only where the key reproduces the
pseudonym: a mapping from another key, or an edited one, cannot put a wrong name on a report.
"""
from __future__ import annotations

from pathlib import Path

from hpcgen.errors import InputError
from hpcgen.pseudonym import load_key, pseudonymize, read_mapping


def load_identities(mapping_path: str | Path | None, key_file: str | Path | None) -> dict[str, str]:
    """Pseudonym -> real identifier, verified against the key; empty when either input is absent.

    Raises
    ------
    InputError
        Only one of the two is given, the mapping is unreadable, or a row's pseudonym is not the
        HMAC of its real identifier under this key (the mapping belongs to another key).
    """
    if mapping_path is None and key_file is None:
        return {}
    if mapping_path is None or key_file is None:
        raise InputError("--id-mapping and --key-file go together (the key verifies the mapping)")
    key = load_key(key_file)
    try:
        mapping = read_mapping(mapping_path)
    except (OSError, KeyError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read ID mapping ({exc})", mapping_path) from None
    pseudonyms = list(mapping)
    expected = pseudonymize([mapping[p] for p in pseudonyms], key)
    for row, (given, computed) in enumerate(zip(pseudonyms, expected), start=2):
        if given != computed:
            raise InputError("pseudonym does not match its identifier under this key (wrong key or mapping)", mapping_path, f"line {row}")
    return dict(mapping)
