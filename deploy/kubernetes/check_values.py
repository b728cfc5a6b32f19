"""Check values.yaml against a Zero to JupyterHub chart's values schema, as `helm install` would.

    python deploy/kubernetes/check_values.py CHART_DIR [VALUES]

CHART_DIR is an unpacked `jupyterhub` chart (`helm pull jupyterhub/jupyterhub --version X --untar`,
or jupyterhub/ in a checkout of jupyterhub/zero-to-jupyterhub-k8s) with values.yaml and
values.schema.yaml (or .json). Helm validates the chart's defaults merged with yours; so does this.
Needs PyYAML and jsonschema (both in the course environment). Exit status 1 lists every error.
"""
import json
import sys
from pathlib import Path

import jsonschema
import yaml


def merged(defaults, override):
    if isinstance(defaults, dict) and isinstance(override, dict):
        out = dict(defaults)
        for key, value in override.items():
            out[key] = merged(defaults.get(key), value) if key in defaults else value
        return out
    return override


VALUES = Path(__file__).with_name("values.yaml")


def main(chart, values=VALUES):
    chart = Path(chart)
    schema_file = next(p for p in (chart / "values.schema.json", chart / "values.schema.yaml") if p.exists())
    schema = (json.loads if schema_file.suffix == ".json" else yaml.safe_load)(schema_file.read_text())
    values = merged(yaml.safe_load((chart / "values.yaml").read_text()), yaml.safe_load(Path(values).read_text()))
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(values), key=lambda e: list(e.path))
    for error in errors:
        print(f"{'.'.join(map(str, error.path)) or '(top)'}: {error.message}")
    print(f"{len(errors)} schema errors ({schema_file})")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
