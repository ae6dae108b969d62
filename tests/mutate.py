"""Mutation run on the security-critical modules: every decision in a function is weakened one at
a time (a comparison flipped, `and`/`or` swapped, a `not` dropped, a guard that raises or
returns skipped, a returned True/False inverted); a mutant is killed when the module's tests fail.

It works on a copy of the tree in a temporary directory (put first on PYTHONPATH, so the tests
and the servers they start import the mutant), so the worktree is never edited.

    python tests/mutate.py                        # every module, every mutant (long)
    python tests/mutate.py tokens access          # some modules
    python tests/mutate.py --sample 30 --seed 1   # a seeded random sample per module
    python tests/mutate.py --list tokens          # the mutants, without running them
    python tests/mutate.py filetype --only portal/filetype/rtf.py:120 --tests tests/test_filetype.py

The test selection per module (MODULES) is narrow on purpose: this machine has two cores.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator

root = pathlib.Path(__file__).resolve().parents[1]

# module name: (files mutated, tests that must kill them; fastest first, run with -x)
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "filetype": (
        sorted(str(p.relative_to(root)) for p in (root / "portal/filetype").glob("*.py")),
        ["tests/test_filetype.py", "tests/test_file_attacks.py"],
    ),
    "access": (["portal/access.py"], ["tests/test_access.py", "tests/test_sessions.py"]),
    "tokens": (["portal/tokens.py"], ["tests/test_access.py", "tests/test_sessions.py"]),
    "attachments": (
        ["portal/attachments.py"],
        [
            "tests/test_downloads.py",
            "tests/test_bad_input.py",
            "tests/test_access.py",
            "tests/test_idempotency.py",
        ],
    ),
}

FLIP = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


def _guards(node: ast.If) -> bool:
    """An `if` whose body refuses (raise) or leaves early (return, continue, break)."""
    return any(isinstance(s, ast.Raise | ast.Return | ast.Continue | ast.Break) for s in node.body)


def _sites(tree: ast.Module) -> Iterator[tuple[ast.AST, str]]:
    """Every mutable decision inside a function, with a one-line description."""
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Compare) and type(node.ops[0]) in FLIP:
                yield node, f"flip {type(node.ops[0]).__name__}"
            elif isinstance(node, ast.BoolOp):
                yield node, "and->or" if isinstance(node.op, ast.And) else "or->and"
            elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
                yield node, "drop not"
            elif isinstance(node, ast.If) and _guards(node):
                yield node, "skip guard"
            elif (
                isinstance(node, ast.Return)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, bool)
            ):
                yield node, f"return {not node.value.value}"


def _mutate(node: ast.AST, how: str) -> None:
    """Change one site in place."""
    if isinstance(node, ast.Compare):
        node.ops[0] = FLIP[type(node.ops[0])]()
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif isinstance(node, ast.If):
        node.test = ast.Constant(False)
    elif isinstance(node, ast.Return) and isinstance(node.value, ast.Constant):
        node.value = ast.Constant(not node.value.value)


class _DropNot(ast.NodeTransformer):
    def __init__(self, target: ast.AST) -> None:
        self.target = target

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        return node.operand if node is self.target else node


def mutants(path: str) -> list[tuple[str, int, str, str]]:
    """(path, line, description, mutated source) for every site in one file."""
    source = (root / path).read_text()
    tree = ast.parse(source)
    found = []
    for i, (node, how) in enumerate(_sites(tree)):
        tree2 = copy.deepcopy(tree)
        node2, _ = list(_sites(tree2))[i]
        if how == "drop not":
            tree2 = _DropNot(node2).visit(tree2)
        else:
            _mutate(node2, how)
        line = getattr(node, "lineno", 0)
        found.append(
            (path, line, f"{how}: {source.splitlines()[line - 1].strip()[:70]}", ast.unparse(tree2))
        )
    return found


def run(
    name: str,
    sample: int | None,
    seed: int,
    only: list[str] | None = None,
    tests: list[str] | None = None,
) -> tuple[int, int, list[str]]:
    """Run one module's mutants on a copy of the tree; (killed, total, survivors)."""
    files, default_tests = MODULES[name]
    tests = tests or default_tests
    todo = [m for f in files for m in mutants(f)]
    if only:
        todo = [m for m in todo if f"{m[0]}:{m[1]}" in only]
    if sample is not None and sample < len(todo):
        todo = sorted(random.Random(seed).sample(todo, sample), key=lambda m: (m[0], m[1]))
    killed, survivors = 0, []
    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        work = pathlib.Path(tmp) / "run" / "tree"
        # The tests look for the third-party corpus beside the checkout (../shared/mime-corpus):
        # without this link they would skip the corpus cases and spare some mutants.
        shared = next((p / "shared" for p in root.parents if (p / "shared").is_dir()), None)
        work.parent.mkdir()
        if shared is not None:
            (work.parent / "shared").symlink_to(shared)
        shutil.copytree(
            root,
            work,
            ignore=shutil.ignore_patterns(".git", "__pycache__", ".venv*", "*.egg-info", "mutants"),
        )
        env = {**os.environ, "PYTHONPATH": str(work), "PYTHONDONTWRITEBYTECODE": "1"}
        for path, line, what, mutated in todo:
            target = work / path
            original = target.read_text()
            target.write_text(mutated)
            try:
                r = subprocess.run(
                    [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                    cwd=work,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=900,
                )
                dead = r.returncode != 0
            except subprocess.TimeoutExpired:
                dead = True  # a mutant that hangs the tests is caught by their timeout
            finally:
                target.write_text(original)
            killed += dead
            tag = "killed  " if dead else "SURVIVED"
            print(f"{tag} {path}:{line} {what}", flush=True)
            if not dead:
                survivors.append(f"{path}:{line} {what}")
    return killed, len(todo), survivors


def main() -> int:
    """Run the chosen modules and print the kill rate of each."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("modules", nargs="*", help=f"some of {', '.join(MODULES)} (all if none)")
    ap.add_argument("--sample", type=int, help="a random sample of this many mutants per module")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    ap.add_argument(
        "--only", nargs="+", metavar="PATH:LINE", help="just the mutants on these lines"
    )
    ap.add_argument("--tests", nargs="+", help="other tests to run (default: the module's)")
    a = ap.parse_args()
    if unknown := set(a.modules) - set(MODULES):
        ap.error(f"unknown module {', '.join(sorted(unknown))}")
    a.modules = a.modules or list(MODULES)
    results = {}
    for name in a.modules:
        if a.list:
            for path, line, what, _ in (m for f in MODULES[name][0] for m in mutants(f)):
                print(f"{path}:{line} {what}")
            continue
        results[name] = run(name, a.sample, a.seed, a.only, a.tests)
    for name, (killed, total, survivors) in results.items():
        rate = 100 * killed / total if total else 100.0
        print(f"{name}: {killed} of {total} killed ({rate:.0f}%)")
        for s in survivors:
            print("   survived", s)
    return 0 if all(k == t for k, t, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
