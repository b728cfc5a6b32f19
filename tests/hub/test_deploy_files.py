"""Static checks of the Kubernetes files (deploy/kubernetes): no cluster is needed, or used.

What they can show: the values file parses, its Python compiles, its roster and role settings
agree with each other and with the image's start script, the Dockerfile copies only files that
exist and installs the course extra, and check_values.py (the schema check run by hand against
the chart, see docs/jupyterhub.md) rejects what the chart's schema rejects.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "kubernetes"
VALUES = yaml.safe_load((K8S / "values.yaml").read_text())


def test_hub_config_compiles_and_roster_is_consistent():
    for name, code in VALUES["hub"]["extraConfig"].items():
        compile(code, name, "exec")
    roster = json.loads(VALUES["hub"]["extraFiles"]["roster"]["stringData"])
    assert VALUES["singleuser"]["extraFiles"]["roster"] == VALUES["hub"]["extraFiles"]["roster"]
    uids = list(roster.values())
    assert len(set(uids)) == len(uids) and min(uids) >= 10000, roster
    instructors = set(VALUES["hub"]["config"]["Authenticator"]["admin_users"])
    assert instructors <= set(roster) and set(VALUES["hub"]["config"]["Authenticator"]["allowed_users"]) <= set(roster)
    assert re.search(r"INSTRUCTORS = \{" + "".join(f'"{i}"' for i in instructors) + r"\}",
                     VALUES["hub"]["extraConfig"]["dlscratch.py"])


def test_start_script_matches_the_values(tmp_path):
    start = (K8S / "dlscratch-start").read_text()
    subprocess.run(["bash", "-n", str(K8S / "dlscratch-start")], check=True)
    [mount] = [m["mountPath"] for m in VALUES["singleuser"]["storage"]["extraVolumeMounts"]
               if m["name"] == "nbgrader-exchange"]
    assert f"--exchange {mount} " in start
    assert VALUES["hub"]["extraFiles"]["roster"]["mountPath"] in start
    assert VALUES["singleuser"]["cmd"] == "dlscratch-start"
    for role in ("student", "instructor"):  # what the script runs in the pod, run here
        folder = tmp_path / role
        subprocess.run([sys.executable, str(REPO / "deploy" / "local" / "course_hub.py"), "role-config",
                        "--role", role, "--exchange", mount, "--course-root", "/home/jovyan/dlscratch",
                        "--uid-map", "/etc/dlscratch/roster.json", "--into", str(folder)], check=True)
        compile((folder / "nbgrader_config.py").read_text(), "nbgrader_config.py", "exec")
        page = json.loads((folder / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
        assert ("@jupyter/nbgrader:formgrader" in page) == (role == "student")


def test_dockerfile_copies_what_exists_and_installs_the_course():
    text = (K8S / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (.+)$", text, re.M):
        *sources, _ = line.split()
        for source in sources:
            assert (REPO / source).exists(), f"the Dockerfile copies {source}, which is not in the repository"
    assert re.search(r'pip" install "/tmp/dlscratch\[course\]"', text)
    assert "FROM debian:12" in text  # the same Debian and Python 3.11 as the tested local hub


def test_check_values_rejects_what_the_schema_rejects(tmp_path):
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "values.yaml").write_text("singleuser: {cmd: x}\n")
    (chart / "values.schema.json").write_text(json.dumps({
        "type": "object", "additionalProperties": False,
        "properties": {"singleuser": {"type": "object", "additionalProperties": False,
                                      "properties": {"cmd": {"type": "string"}}}}}))
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("singleuser: {cmd: dlscratch-start}\n")
    bad.write_text("singleuser: {cmd: [1], bogus: 1}\n")
    run = [sys.executable, str(K8S / "check_values.py"), str(chart)]
    assert subprocess.run([*run, str(good)], capture_output=True).returncode == 0
    result = subprocess.run([*run, str(bad)], capture_output=True, text=True)
    assert result.returncode == 1 and "bogus" in result.stdout and "2 schema errors" in result.stdout
