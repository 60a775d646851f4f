"""The model registry: versioned folders with weights, config, data checksums, metrics and a model card.

Layout::

    REGISTRY/<model>/v0001/model.safetensors    weights (safetensors: no pickle is ever loaded)
                          /model.json           architecture, hyperparameters, feature names, scaling
                          /data.json            input files' sha256, row counts, split sizes
                          /metrics.json         held-out metrics overall / per dose group / per ancestry
                          /history.json         per-epoch losses; learning_curve.png
                          /card.md              model card (intended use, data, limits)
                          /MANIFEST.json        sha256 of every file above, code version; written last
    REGISTRY/<model>/CURRENT                    the promoted version's name

A version whose files do not match MANIFEST.json is refused before anything is read from it.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from hpcgen.errors import InputError
from hpcgen.fsutil import atomic_dir, atomic_write_text, sha256_file

MANIFEST = "MANIFEST.json"
CURRENT = "CURRENT"
_VERSION_RE = re.compile(r"^v(\d{4,})$")


def code_version() -> dict:
    """hpcgen's version and, from a git checkout, the commit (``+dirty`` when modified)."""
    from hpcgen import __version__

    out = {"hpcgen": __version__, "git_commit": None}
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if commit.returncode == 0:
            out["git_commit"] = commit.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def versions(registry: str | os.PathLike, model: str) -> list[str]:
    """Existing versions of ``model``, oldest first."""
    d = Path(registry) / model
    if not d.is_dir():
        return []
    return sorted((p.name for p in d.iterdir() if p.is_dir() and _VERSION_RE.match(p.name)), key=lambda v: int(v[1:]))


def next_version(registry: str | os.PathLike, model: str) -> str:
    existing = versions(registry, model)
    return f"v{(int(existing[-1][1:]) + 1 if existing else 1):04d}"


def save_version(registry: str | os.PathLike, model: str, files: dict[str, Path | bytes | str]) -> Path:
    """Write a new version atomically: ``files`` maps names to source paths, bytes or text; returns its folder."""
    version = next_version(registry, model)
    dest = Path(registry) / model / version
    with atomic_dir(dest) as tmp:
        for name, src in files.items():
            target = tmp / name
            if isinstance(src, Path):
                target.write_bytes(src.read_bytes())
            elif isinstance(src, bytes):
                target.write_bytes(src)
            else:
                target.write_text(src, encoding="utf-8")
            os.chmod(target, 0o640)
        manifest = {"model": model, "version": version, "code": code_version(),
                    "files": {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return dest


def verify(version_dir: str | os.PathLike) -> dict:
    """Check every file against MANIFEST.json; return the manifest or raise :class:`InputError`."""
    d = Path(version_dir)
    mpath = d / MANIFEST
    if not mpath.is_file():
        raise InputError("not a registered model version (no MANIFEST.json)", d)
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise InputError("MANIFEST.json is corrupted", d) from None
    for name, digest in manifest["files"].items():
        p = d / name
        if not p.is_file():
            raise InputError(f"registered file missing: {name}", d)
        if sha256_file(p) != digest:
            raise InputError(f"checksum mismatch: {name} was modified or corrupted; refusing to load it", d, name)
    return manifest


def resolve(path: str | os.PathLike) -> Path:
    """A version folder from ``REGISTRY/<model>/<version>`` or ``REGISTRY/<model>`` (its CURRENT version)."""
    p = Path(path)
    if (p / MANIFEST).is_file() or _VERSION_RE.match(p.name):
        return p
    cur = p / CURRENT
    if cur.is_file():
        return p / cur.read_text(encoding="utf-8").strip()
    raise InputError("no promoted model here (REGISTRY/<model> needs a CURRENT file, or give a version folder)", p)


def current(registry: str | os.PathLike, model: str) -> Path | None:
    cur = Path(registry) / model / CURRENT
    return Path(registry) / model / cur.read_text(encoding="utf-8").strip() if cur.is_file() else None


def promote(version_dir: str | os.PathLike) -> None:
    """Make ``version_dir`` the CURRENT version of its model (after verifying it)."""
    d = Path(version_dir)
    verify(d)
    atomic_write_text(d.parent / CURRENT, d.name + "\n")


def load_version(path: str | os.PathLike) -> tuple[Path, dict, dict]:
    """Verify, then read a version: (folder, model.json, state dict of torch tensors)."""
    from safetensors.torch import load_file

    d = resolve(path)
    verify(d)
    meta = json.loads((d / "model.json").read_text(encoding="utf-8"))
    return d, meta, load_file(str(d / "model.safetensors"))


def model_card(meta: dict, data: dict, metrics: dict) -> str:
    """The model card (Markdown): intended use, data, evaluation, limits."""
    o = metrics.get("test", {}).get("overall", {})
    groups = metrics.get("test", {}).get("dose_group", {})
    anc = metrics.get("test", {}).get("ancestry", {})
    lines = [
        f"# Model card: {meta['model']} {meta.get('version', '')}".rstrip(),
        "",
        "## Intended use",
        "Decision support for the initial weekly warfarin dose (mg/week) of adult patients, to be read by a "
        "clinician beside the IWPC algorithm's estimate and INR monitoring. Not a prescription; not for "
        "children, pregnancy, or patients outside the training population.",
        "",
        "## Data",
        f"- rows with a therapeutic dose: {data.get('n_with_target')} (without: {data.get('n_without_target')}, skipped)",
        f"- split train / validation / test: {data.get('n_train')} / {data.get('n_val')} / {data.get('n_test')} (seed {meta.get('seed')})",
        f"- inputs (sha256): " + ", ".join(f"{k} {v[:12]}" for k, v in data.get("checksums", {}).items()),
        f"- features: {', '.join(meta.get('features', []))}",
        "",
        "## Evaluation (held-out test rows)",
        f"- MAE {o.get('mae', float('nan')):.2f} mg/week, within 20% of the actual dose: {100 * o.get('within_20pct', float('nan')):.1f}% (n={o.get('n')})",
    ]
    iw = metrics.get("test_iwpc", {}).get("overall")
    if iw:
        lines.append(f"- IWPC pharmacogenetic algorithm on the same rows: MAE {iw['mae']:.2f}, within 20% {100 * iw['within_20pct']:.1f}%")
    for g, m in groups.items():
        if m.get("n"):
            lines.append(f"- dose {g} mg/week: MAE {m['mae']:.2f}, within 20% {100 * m['within_20pct']:.1f}% (n={m['n']})")
    for g, m in anc.items():
        if m.get("n"):
            lines.append(f"- ancestry {g}: MAE {m['mae']:.2f}, within 20% {100 * m['within_20pct']:.1f}% (n={m['n']})")
    lines += [
        "",
        "## Limits",
        "- Trained on this hospital's records only; performance in other populations is unknown, and small "
        "subgroups (see counts above) have wide uncertainty.",
        "- Extreme doses (<21 or >=49 mg/week) are predicted worst, as with every published algorithm.",
        "- Missing height/weight are imputed with training means; rare CYP2C9 alleles count as 'unknown'.",
        "- Genotypes come from the pgx stage: a no-call falls back to the clinical table or 'unknown'.",
        "",
    ]
    return "\n".join(lines)
