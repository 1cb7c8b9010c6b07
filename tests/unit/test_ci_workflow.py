"""The GitHub workflow users get: valid against the workflow schema, same stages and scenarios as make test."""

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def schema_check(path):
    return subprocess.run(["check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, check=False)


def test_the_workflow_passes_the_schema_check_and_a_broken_one_does_not(tmp_path):
    assert schema_check(WORKFLOW).returncode == 0
    broken = yaml.safe_load(WORKFLOW.read_text())
    del broken["jobs"]["checks"]["runs-on"]
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(broken))
    assert schema_check(tmp_path / "broken.yml").returncode != 0


def test_the_workflow_runs_every_stage_and_every_scenario():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    scenarios = subprocess.run(["bash", str(ROOT / "scripts" / "scenarios.sh")], capture_output=True,
                               text=True, check=True).stdout.split()
    assert jobs["molecule"]["strategy"]["matrix"]["scenario"] == scenarios
    stages = set(jobs["checks"]["strategy"]["matrix"]["stage"])
    default_stages = next(line for line in (ROOT / "scripts" / "run-tests.sh").read_text().splitlines()
                          if line.startswith("STAGES="))
    assert stages | {"molecule"} == set(default_stages.split(":-")[1].rstrip('}"').split())
