"""Every module of the collection documents itself in ansible-doc (with its doc fragments)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py"))


@pytest.mark.parametrize("module", MODULES)
def test_module_documentation_renders(collection_path, module):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection_path))
    proc = subprocess.run(["ansible-doc", "--json", f"integration.demoapp.{module}"],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)[f"integration.demoapp.{module}"]
    assert doc["doc"]["short_description"] and doc["doc"]["options"]
    assert doc["examples"].strip() and "return" in doc
    assert "check_mode" in doc["doc"].get("attributes", {}), f"{module}: attributes (check_mode) not documented"


PLUGINS = sorted((kind, p.stem) for kind in ("filter", "lookup", "callback")
                 for p in (ROOT / "plugins" / kind).glob("*.py") if not p.stem.startswith("_"))


@pytest.mark.parametrize(("kind", "plugin"), PLUGINS, ids=[f"{k}:{p}" for k, p in PLUGINS])
def test_plugin_documentation_renders(collection_path, kind, plugin):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection_path))
    proc = subprocess.run(["ansible-doc", "--json", "-t", kind, f"integration.demoapp.{plugin}"],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)[f"integration.demoapp.{plugin}"]
    assert doc["doc"]["short_description"] and doc["doc"].get("version_added") and doc["examples"] is not None
