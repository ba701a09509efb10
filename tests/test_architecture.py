"""Import-direction rules, checked statically with ``ast`` (nothing is imported).

    flows/  ──▶  newswatch/app.py, cli.py, retrain.py ──▶  classifiers/  ──▶  newswatch.models
                 newswatch/* (the rest)              ──▶  newswatch.*  (never classifiers)

(a) nothing under newswatch/ or classifiers/ imports ``prefect`` or ``flows``;
(b) classifiers/ imports from the newswatch package only ``newswatch.models``;
(c) inside newswatch/, only the composers ``app.py``, ``cli.py`` and ``retrain.py`` may import ``classifiers``;
(d) the schema migrations import of the store only ``newswatch.store.schema`` (no runtime loop back).

Every import statement counts, including ones inside functions or ``if TYPE_CHECKING:`` blocks,
and ``importlib.import_module("...")`` / ``__import__("...")`` calls with a literal name.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("newswatch", "classifiers")
CLASSIFIER_GATEWAYS = {"newswatch/app.py", "newswatch/cli.py", "newswatch/retrain.py"}


@dataclass(frozen=True)
class Import:
    file: str  # repo-relative, with forward slashes
    line: int
    statement: str  # the source text of the import, for messages
    modules: tuple[str, ...]  # absolute dotted names it may load

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.statement}"


def _module_name(path: Path, repo: Path) -> str:
    rel = path.relative_to(repo).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package_init(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve_relative(path: Path, level: int, module: str | None, repo: Path) -> str:
    """Absolute dotted name for ``from <level dots><module> import ...`` in ``path``."""
    package = _module_name(path, repo).split(".")
    if not _is_package_init(path):
        package = package[:-1]
    if level > 1:
        package = package[: len(package) - (level - 1)] if level - 1 <= len(package) else []
    base = ".".join(package)
    if module:
        return f"{base}.{module}" if base else module
    return base


def _imports_in(path: Path, repo: Path = REPO) -> list[Import]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    rel = path.relative_to(repo).as_posix()
    found: list[Import] = []

    def text(node: ast.AST) -> str:
        seg = ast.get_source_segment(source, node) or ast.dump(node)
        return " ".join(seg.split())

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods = tuple(alias.name for alias in node.names)
            found.append(Import(rel, node.lineno, text(node), mods))
        elif isinstance(node, ast.ImportFrom):
            base = (_resolve_relative(path, node.level, node.module, repo) if node.level
                    else node.module or "")
            # `from pkg import name` may load pkg (always) and pkg.name (if it is a submodule)
            mods = [base] if base else []
            mods += [f"{base}.{a.name}" if base else a.name for a in node.names if a.name != "*"]
            found.append(Import(rel, node.lineno, text(node), tuple(mods)))
        elif isinstance(node, ast.Call):
            func = node.func
            name = (func.attr if isinstance(func, ast.Attribute)
                    else func.id if isinstance(func, ast.Name) else None)
            if name in {"import_module", "__import__"} and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append(Import(rel, node.lineno, text(node), (arg.value,)))
    return sorted(found, key=lambda i: i.line)


def _package_files(package: str) -> list[Path]:
    root = REPO / package
    if not root.is_dir():
        pytest.fail(f"{package}/ is missing at {root}: the architecture rules cannot be checked",
                    pytrace=False)
    files = sorted(p for p in root.rglob("*.py") if ".venv" not in p.parts)
    if not files:
        pytest.fail(f"{package}/ has no .py files: the architecture rules cannot be checked",
                    pytrace=False)
    return files


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _report(rule: str, violations: list[str]) -> None:
    if violations:
        pytest.fail(f"{rule}\n" + "\n".join(f"  {v}" for v in violations), pytrace=False)


@pytest.fixture(scope="module")
def imports() -> dict[str, list[Import]]:
    return {pkg: [imp for f in _package_files(pkg) for imp in _imports_in(f)] for pkg in PACKAGES}


def test_packages_exist_and_parse(imports):
    for pkg in PACKAGES:
        assert (REPO / pkg / "__init__.py").is_file(), f"{pkg}/__init__.py is missing"


def test_core_and_classifiers_do_not_import_prefect_or_flows(imports):
    violations = [
        f"{imp}  -> imports {bad[0]!r}"
        for pkg in PACKAGES
        for imp in imports[pkg]
        if (bad := [m for m in imp.modules if _top(m) in {"prefect", "flows"}])
    ]
    _report("(a) newswatch/ and classifiers/ must not import `prefect` or `flows` "
            "(orchestration lives in flows/ only):", violations)


def test_classifiers_use_only_newswatch_models(imports):
    violations = []
    for imp in imports["classifiers"]:
        newswatch_mods = [m for m in imp.modules if _within(m, "newswatch")]
        if not newswatch_mods:
            continue
        # `from newswatch import models` yields ("newswatch", "newswatch.models"): allowed.
        # `from newswatch.models import Item` yields ("newswatch.models", "newswatch.models.Item").
        if _only_newswatch_models(imp, newswatch_mods):
            continue
        bad = [m for m in newswatch_mods if not _within(m, "newswatch.models")]
        violations.append(f"{imp}  -> uses {bad[-1] if bad else 'newswatch'!r}")
    _report("(b) classifiers/ may import from the newswatch package only `newswatch.models`:",
            violations)


def _only_newswatch_models(imp: Import, mods: list[str]) -> bool:
    """True when every newswatch name the import loads is newswatch.models (or inside it).

    The bare package name ``newswatch`` is accepted only as the base of
    ``from newswatch import models``, i.e. when all the imported names are ``models``.
    """
    named = [m for m in mods if m != "newswatch"]
    if not named:  # plain `import newswatch` / `from newswatch import *`
        return False
    if not all(_within(m, "newswatch.models") for m in named):
        return False
    if "newswatch" in mods:  # `from newswatch import models [as m]`
        return all(m == "newswatch.models" for m in named)
    return True


def test_only_app_and_cli_import_classifiers(imports):
    violations = [
        f"{imp}  -> imports {bad[0]!r}"
        for imp in imports["newswatch"]
        if imp.file not in CLASSIFIER_GATEWAYS
        if (bad := [m for m in imp.modules if _top(m) == "classifiers"])
    ]
    _report("(c) inside newswatch/, only newswatch/app.py, cli.py and retrain.py may import "
            "`classifiers`:", violations)


def test_migrations_import_only_the_schema(imports):
    violations = [
        f"{imp}  -> imports {bad[0]!r}"
        for imp in imports["newswatch"]
        if imp.file.startswith("newswatch/migrations/")
        if (bad := [m for m in imp.modules if _within(m, "newswatch.store") and not _within(m, "newswatch.store.schema")
                    or _within(m, "newswatch") and not _within(m, "newswatch.store") and not _within(m, "newswatch.migrations")])
    ]
    _report("(d) newswatch/migrations/ may import of newswatch only `newswatch.store.schema`:", violations)


# ------------------------------------------------------------------------ checks of the checker


def test_checker_resolves_imports(tmp_path):
    """The rules above are only as good as the import resolution; prove it on a fake tree."""
    fake = tmp_path / "repo"
    (fake / "classifiers").mkdir(parents=True)
    (fake / "classifiers" / "__init__.py").write_text("")
    (fake / "classifiers" / "m.py").write_text(
        "import prefect.flows\n"
        "from newswatch import models\n"
        "from newswatch.models import Item\n"
        "from newswatch import store, models\n"
        "from . import pipeline\n"
        "from .. import flows\n"
        "def f():\n"
        "    import importlib\n"
        "    return importlib.import_module('newswatch.fetch')\n"
    )
    got = {i.line: i.modules for i in _imports_in(fake / "classifiers" / "m.py", repo=fake)}
    assert got[1] == ("prefect.flows",)
    assert got[2] == ("newswatch", "newswatch.models")
    assert got[3] == ("newswatch.models", "newswatch.models.Item")
    assert got[4] == ("newswatch", "newswatch.store", "newswatch.models")
    assert got[5] == ("classifiers", "classifiers.pipeline")
    assert got[6] == ("flows",)
    assert got[9] == ("newswatch.fetch",)
    ok = lambda line: _only_newswatch_models(  # noqa: E731
        Import("x", line, "", got[line]), [m for m in got[line] if _within(m, "newswatch")])
    assert ok(2) and ok(3) and not ok(4) and not ok(9)
