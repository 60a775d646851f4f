# Shared by every rule file: validated config, output layout, how the CLI is called.
import os
import shlex
import sys
from pathlib import Path

from snakemake.utils import validate

from hpcgen.config import defaults_yaml, validate_config

# defaults first, then the user's --configfile on top (Snakemake merges mappings key by key)
_defaults = __import__("yaml").safe_load(defaults_yaml())


def _merge(base, over):
    out = dict(base)
    for k, v in (over or {}).items():
        out[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


config.update(_merge(_defaults, dict(config)))
validate(config, schema=str(Path(workflow.basedir) / ".." / "config" / "schema.json"))
CFG = validate_config(config, "workflow config")

OUT = CFG.workflow.outdir
PROFILE = CFG.dispatch.profile
# the effective config, handed to every CLI call so rules and CLI see the same values
EFFECTIVE_CONFIG = f"{OUT}/config.effective.yaml"
os.makedirs(OUT, exist_ok=True)
Path(EFFECTIVE_CONFIG).write_text(__import__("yaml").safe_dump(CFG.to_dict(), sort_keys=False))
HPCGEN = f"{shlex.quote(sys.executable)} -m hpcgen"
LOGS = f"{OUT}/logs"

# the layout every rule file follows (docs/CONTRACTS.md)
DATA_DIR = str(Path(CFG.workflow.vcf).parent)
VCF = CFG.workflow.vcf
CLINICAL = CFG.workflow.clinical
STORE = f"{OUT}/store"
STORE_MANIFEST = f"{STORE}/manifest.json"
ID_MAPPING = f"{OUT}/private/id_mapping.tsv"
QC_DIR = f"{OUT}/qc"
QC_DONE = f"{QC_DIR}/manifest.json"
PGX_DIR = f"{OUT}/pgx"
PGX_DONE = f"{PGX_DIR}/manifest.json"
MODEL_DIR = f"{OUT}/models"
PREDICTIONS = f"{OUT}/predictions/predictions.tsv"
REPORTS_DIR = f"{OUT}/reports"
REPORTS_DONE = f"{REPORTS_DIR}/index.html"
IMPACT_DIR = f"{OUT}/impact"
IMPACT_DONE = f"{IMPACT_DIR}/impact.json"
RUN_DIR = f"{OUT}/run"
