"""`hpcgen store`: inspect a genotype store."""
from __future__ import annotations

import json

import click


@click.group()
def store() -> None:
    """Inspect a genotype store (written by hpcgen ingest)."""


@store.command()
@click.argument("path", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the manifest summary as JSON.")
@click.option("--verify", is_flag=True, help="Also check the SHA-256 of every shard and index file against the manifest.")
def info(path: str, as_json: bool, verify: bool) -> None:
    """Summarize a store: samples, variants, build, shards, source."""
    from hpcgen.errors import InputError
    from hpcgen.store import GenotypeStore

    st = GenotypeStore.open(path)
    m = st.manifest
    summary = {
        "path": str(st.path), "schema": m["schema"], "schema_version": m["schema_version"], "hpcgen_version": m["hpcgen_version"], "build": st.build,
        "n_samples": st.n_samples, "n_variants": st.n_variants, "ploidy": st.ploidy, "contigs": m["contigs"],
        "n_shards": len(st.shards), "fields": st.fields, "source": m["source"], "store": m["store"], "created": m["created"],
        # what speeds up QC: shards with 2-bit planes, and the one-file variant index (docs/store.md)
        "hardcall_shards": sum(s.hardcall for s in st.shards if s.n_variants),
        "variant_index": (m.get("variant_index") or {}).get("file"),
        "chunk_index": (m.get("chunk_index") or {}).get("file"),
    }
    if verify:
        bad = st.verify()
        if bad:
            raise InputError(f"checksum mismatch: {', '.join(bad)}", path)
        summary["verified"] = True
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return
    for k, v in summary.items():
        click.echo(f"{k:15} {', '.join(map(str, v)) if isinstance(v, list) else v}")


@store.command()
@click.argument("path", type=click.Path(file_okay=False))
def reindex(path: str) -> None:
    """Rewrite the store's derived indexes (variants.parquet, chunks.json) and its manifest.

    For a store copied without its files' times (its chunk index is then not trusted and reads go through HDF5,
    more slowly), or written before the indexes existed. Every shard's SHA-256 is checked against the manifest
    first: a store whose shards changed is refused (exit 2), not re-described.
    """
    from hpcgen.errors import InputError
    from hpcgen.store import GenotypeStore
    from hpcgen.store.manifest import write_manifest

    st = GenotypeStore.open(path)
    bad = st.verify(indexes=False)  # the indexes are what is rewritten: stale ones are why one reindexes
    if bad:
        raise InputError(f"checksum mismatch: {', '.join(bad)} (re-ingest; the indexes describe the manifest's shards)",
                         path)
    write_manifest(st.path, st.manifest)  # both indexes, then the manifest, each atomically
    click.echo(f"reindexed {st.path}: {len(st.shards)} shards, {st.n_variants} variants")
