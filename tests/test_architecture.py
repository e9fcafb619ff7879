"""The house holds together (docs/architecture.md): the layers and no-cycles contracts of `make lint` hold on
this tree and fail on a planted reverse import or module cycle, and every document the code cites is in
the repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "accounts", "surveys", "metrics", "playbooks", "integrations", "dashboard", "cshub")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter (the contracts in `tree`/pyproject.toml) on the packages of `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(  # noqa: S603 - our own tool on our own tree
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The packages and pyproject.toml copied to a temporary folder, to plant bad imports in."""
    for name in PACKAGES:
        shutil.copytree(
            ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "templates", "static")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_contracts_hold_on_this_tree():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_reverse_import_breaks_the_layers_contract(tree_copy: Path):
    # core is the floor: it may import no app, so core importing the dashboard must fail the lint.
    (tree_copy / "core" / "planted.py").write_text("from dashboard import selectors  # noqa\n")
    result = lint_imports(tree_copy)
    assert result.returncode != 0
    assert "Layers" in result.stdout
    assert "BROKEN" in result.stdout
    assert "core.planted -> dashboard.selectors" in result.stdout


def test_an_upward_import_between_apps_breaks_the_layers_contract(tree_copy: Path):
    (tree_copy / "accounts" / "planted.py").write_text(
        "def later():\n    from playbooks import models  # a function-local import counts too\n"
    )
    result = lint_imports(tree_copy)
    assert result.returncode != 0
    assert "accounts.planted -> playbooks.models" in result.stdout


def test_a_module_cycle_hidden_in_a_function_breaks_the_cycles_contract(tree_copy: Path):
    (tree_copy / "surveys" / "planted_a.py").write_text("from surveys import planted_b  # noqa\n")
    (tree_copy / "surveys" / "planted_b.py").write_text("def later():\n    from surveys import planted_a\n")
    result = lint_imports(tree_copy)
    assert result.returncode != 0
    assert "No cycles are allowed in surveys" in result.stdout


# --- Documents -------------------------------------------------------------------------------------------

TEXT_SUFFIXES = {".py", ".html", ".md", ".txt", ".toml", ".yml", ".yaml", ".js", ".css", ".cfg", ""}
OUTSIDE = re.compile(r"DESIGN\.md|STYLE\.md|\.\./shared")
CITATION = re.compile(r"docs/([a-z_]+\.md)(?:#([a-z0-9-]+))?")


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files"],  # noqa: S607 - git from PATH, as every developer and CI have it
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [
        ROOT / name
        for name in listed
        if Path(name).suffix in TEXT_SUFFIXES and ".min." not in name and (ROOT / name).is_file()
    ]


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def test_no_file_cites_a_document_outside_the_repository():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in tracked_text_files()
        if path.name != "test_architecture.py"
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_every_cited_document_and_section_exists():
    missing = set()
    for path in tracked_text_files():
        for name, anchor in CITATION.findall(path.read_text(errors="replace")):
            doc = ROOT / "docs" / name
            if not doc.is_file():
                missing.add(f"docs/{name} (cited in {path.relative_to(ROOT)})")
            elif anchor and anchor not in anchors(doc.read_text()):
                missing.add(f"docs/{name}#{anchor} (cited in {path.relative_to(ROOT)})")
    assert sorted(missing) == []


# --- One visibility module -------------------------------------------------------------------------------

ROLE_TEST = re.compile(r"\.role\s*(==|!=|\bin\b|\bnot in\b)|\brole\s*==\s*[\"']")


def test_only_accounts_visibility_compares_roles():
    # Who may see or change what is asked of accounts.visibility; a role compared anywhere else is a rule
    # written twice (the models' is_csm/is_manager/is_admin properties are for templates).
    allowed = {"accounts/visibility.py", "accounts/models.py"}
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in tracked_text_files()
        if path.suffix in {".py", ".html"}
        and path.parts[len(ROOT.parts)] not in {"tests", "bench"}
        and str(path.relative_to(ROOT)) not in allowed
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if ROLE_TEST.search(line)
    ]
    assert offenders == []
