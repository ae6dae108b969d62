"""The front end's pure modules (static/portal/*.js), unit-tested with `node --test tests/js/`.

Run here so CI runs them with the rest: a failing JS test fails this test with node's report,
and a machine without node fails saying what to install (never a silent skip). Also: the
modules each page preloads (templates/pages/_modules.html) are exactly the ones it imports.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from jinja2 import Environment, FileSystemLoader

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "static"
IMPORT = re.compile(r'^(?:import|\}) .*?from "(\./[^"]+\.js)";$', re.M)


def test_node_unit_tests_pass():
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "node is missing: install nodejs (apt-get install nodejs) to run tests/js/"
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "js").glob("*.test.mjs"))
    assert files, "no tests/js/*.test.mjs found"
    run = subprocess.run(
        [node, "--test", *files], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, f"node --test failed:\n{report}"
    assert "# fail 0" in report, report


def _imports(entry: Path) -> set[str]:
    """Every module `entry` imports, directly or not, as paths under static/."""
    found: set[str] = set()
    todo = [entry]
    while todo:
        module = todo.pop()
        for rel in IMPORT.findall(module.read_text()):
            target = (module.parent / rel).resolve()
            name = target.relative_to(STATIC).as_posix()
            if name not in found:
                found.add(name)
                todo.append(target)
    return found


def _preloaded(macro: str) -> tuple[set[str], list[str]]:
    env = Environment(loader=FileSystemLoader(ROOT / "templates"), autoescape=True)
    env.globals["url_for"] = lambda endpoint, filename: f"/{endpoint}/{filename}"
    html = str(getattr(env.get_template("pages/_modules.html").module, macro)())
    links = set(re.findall(r'rel="modulepreload" href="/static/([^"]+)"', html))
    return links, re.findall(r'<script type="module" src="/static/([^"]+)"', html)


def test_each_page_preloads_exactly_the_modules_it_imports():
    for macro, entry in (("staff_scripts", "portal.js"), ("embed_scripts", "embed.js")):
        links, scripts = _preloaded(macro)
        assert scripts == [entry]
        assert links == _imports(STATIC / entry), macro
