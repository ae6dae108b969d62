"""The front end's pure modules (static/portal/*.js), unit-tested with `node --test tests/js/`.

Run here so CI runs them with the rest: a failing JS test fails this test with node's report,
and a machine without node fails saying what to install (never a silent skip).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
