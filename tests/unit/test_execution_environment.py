"""meta/execution-environment.yml declares what the collection's plugins import."""

import ast
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# Import name -> the distribution names that provide it.
DISTRIBUTIONS = {"psycopg2": {"psycopg2", "psycopg2-binary"}}


def third_party_imports():
    found = set()
    for path in (ROOT / "plugins").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("ansible", "ansible_collections", "__future__"):
                    found.add(top)
    return found


def declared_python():
    ee = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    lines = (ROOT / ee["dependencies"]["python"]).read_text().splitlines()
    return {line.split("#")[0].strip().split(">")[0].split("=")[0].split("[")[0].strip()
            for line in lines if line.split("#")[0].strip()}


def test_every_imported_package_is_declared():
    imports = third_party_imports()
    assert "psycopg2" in imports  # the scan works
    declared = declared_python()
    missing = {name for name in imports if not DISTRIBUTIONS.get(name, {name}) & declared}
    assert not missing, f"imported by plugins but not in the execution environment: {missing}"


def test_the_system_file_exists_and_is_bindep():
    ee = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    assert ee["version"] == 1
    text = (ROOT / ee["dependencies"]["system"]).read_text()
    assert "[platform:dpkg]" in text
