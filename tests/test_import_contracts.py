"""The import rules of DESIGN.md ("Where the house is going"), enforced by the test command too.

- the ``[tool.importlinter]`` contracts in pyproject.toml, run with ``lint-imports`` (CI runs it
  as well): tracker stays headless, widgets below screens and the app, screens independent,
  tui's layers, sqlite3 imported only by the SQLite store's package, reading loads no write side;
- what import-linter cannot say: SQL text only in the backends' packages (tracker/db/sqlite/,
  tracker/db/postgres/); screens import no other
  screen at module level (import-linter counts imports inside functions, so the deliberate lazy
  ones are ignore_imports there, and this test keeps those from hiding a module-level one);
- lazy package roots: ``import tui`` / ``tracker.models`` / ``tracker.db`` for reading load
  no writer, recorder, psutil or NVML and start no thread, while ``import tracker as wandb``
  still finds every public name.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import ROOT, run_python

CONTRACT_NAMES = (
    "tracker never imports textual, rich, plotext, watchdog or tui",
    "reading a database (tracker.models, tracker.db, tui.reader, tui.feed, tui.model) loads no "
    "write side",
    "widgets import neither screens nor the app",
    "screens import no other screen",
    "tui layers: the command, the apps, screens, screen helpers, widgets, the rest",
    "only the SQLite store's modules import sqlite3",
)

# Where SQL text and executed statements may live: every module of a backend's package (its
# schema, writes, reads, media and lifecycle queries, its PRAGMA helpers). SQL anywhere else
# fails here: put it in the backend and call it through the Store interface (tracker.db.base).
# (Which modules may import sqlite3 is the protected contract in pyproject.toml.)
SQL_PACKAGES = ("tracker/db/sqlite/", "tracker/db/postgres/")
_SQL = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT"
    r"|ROLLBACK|SAVEPOINT|RELEASE|WITH|VACUUM|ATTACH|DETACH|REINDEX|ANALYZE)\b"
)  # case-sensitive: the store writes SQL keywords in capitals; English words are not matched
_EXECUTE = {"execute", "executemany", "executescript"}

WRITE_SIDE = ("tracker.writer", "tracker.recorder", "tracker.process_runs", "psutil", "pynvml")


def _sources() -> list[Path]:
    return sorted(p for package in ("tracker", "tui") for p in (ROOT / package).rglob("*.py"))


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _sql_in(tree: ast.AST) -> list[tuple[int, str]]:
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                text = node.value
        elif isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                text = first.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _EXECUTE
        ):
            found.append((node.lineno, f".{node.func.attr}(...)"))
        if text is not None and _SQL.match(text):
            found.append((getattr(node, "lineno", 0), text.strip().splitlines()[0][:60]))
    return found


def test_the_import_contracts_hold() -> None:
    if importlib.util.find_spec("importlinter") is None:
        pytest.skip(
            "import-linter is not installed (pip install -e '.[test]'): contracts unchecked"
        )
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which(
        "lint-imports"
    )
    if command is None:
        pytest.skip("import-linter is installed but its lint-imports command is not on PATH")
    # --no-cache: no .import_linter_cache folder left in the work tree
    result = subprocess.run(
        [command, "--no-cache", "--no-logo"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # this checkout's modules, not an install's
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    flat = " ".join(output.split())  # lint-imports wraps long contract names
    for name in CONTRACT_NAMES:
        assert f"{name} KEPT" in flat, f"contract {name!r} was not checked:\n{output}"


def _in_sql_package(relative: str) -> bool:
    return relative.startswith(SQL_PACKAGES)


def test_sql_is_only_in_the_store_modules() -> None:
    outside = {}
    holding: set[str] = set()
    for path in _sources():
        relative = path.relative_to(ROOT).as_posix()
        found = _sql_in(ast.parse(path.read_text(encoding="utf-8"), filename=relative))
        if _in_sql_package(relative):
            if found:
                holding.update(p for p in SQL_PACKAGES if relative.startswith(p))
            continue
        if found:
            outside[relative] = found
    assert not outside, f"SQL outside the backends' packages ({list(SQL_PACKAGES)}): {outside}"
    for package in SQL_PACKAGES:  # the rule says what is true: each package does hold SQL
        assert package in holding, f"{package} holds no SQL"


def test_the_sql_rule_covers_every_module_of_the_backends() -> None:
    assert _in_sql_package("tracker/db/sqlite/reads.py")
    assert _in_sql_package("tracker/db/postgres/writes.py")
    assert _in_sql_package("tracker/db/sqlite/some_new_module.py")  # a package, not a file list
    assert not _in_sql_package("tracker/db/base.py")  # the interface and shared reads: no SQL
    assert not _in_sql_package("tracker/db/sqlite_helpers.py")
    assert not _in_sql_package("tracker/writer.py")


def _module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: not inside a function (class bodies and
    ``if TYPE_CHECKING:`` blocks count)."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        else:
            pending.extend(ast.iter_child_nodes(node))
    return found


def _imported_modules(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        parts = package.split(".")
        base = ".".join(parts[: len(parts) - node.level + 1])
        module = f"{base}.{node.module}" if node.module else base
    else:
        module = node.module or ""
    return [module] + [f"{module}.{alias.name}" for alias in node.names]  # `from . import x`


def test_screens_import_no_other_screen_at_module_level() -> None:
    screens = {p.stem for p in (ROOT / "tui" / "screens").glob("*.py")} - {"__init__"}
    assert {"runs", "run_detail", "compare"} <= screens
    found: set[str] = set()
    for name in sorted(screens):
        path = ROOT / "tui" / "screens" / f"{name}.py"
        for node in _module_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            for module in _imported_modules(node, "tui.screens"):
                other = module.removeprefix("tui.screens.").split(".")[0]
                if module.startswith("tui.screens.") and other in screens and other != name:
                    found.add(f"tui/screens/{name}.py:{node.lineno} imports tui.screens.{other}")
    assert not found, (
        "screens import other screens at module level (import them in the method that opens "
        f"them): {sorted(found)}"
    )


def test_the_module_level_check_sees_module_level_imports() -> None:
    tree = ast.parse(
        "from .compare import A\n"
        "if TYPE_CHECKING:\n    from . import export\n"
        "class S:\n    from ..screens.help import H\n"
        "    def go(self):\n        from .pick_best import P\n"
    )
    modules = [m for n in _module_level_imports(tree) for m in _imported_modules(n, "tui.screens")]
    assert "tui.screens.compare" in modules and "tui.screens.export" in modules
    assert "tui.screens.help" in modules and "tui.screens.pick_best" not in modules


def test_reading_loads_no_write_side_and_starts_no_thread() -> None:
    result = run_python(
        f"""
        import sys, threading
        import tui
        assert not [m for m in sys.modules if m.startswith("tracker")], "import tui loaded tracker"
        import tui.reader, tui.feed, tui.model, tracker.models, tracker.db
        import tracker.db.sqlite.store, tracker.db.sqlite.schema
        loaded = [m for m in {WRITE_SIDE!r} if m in sys.modules]
        assert not loaded, loaded
        assert threading.active_count() == 1, threading.enumerate()
        print("ok")
        """
    )
    assert result.stdout.strip() == "ok"


def test_the_tracker_root_loads_its_names_on_first_use(tmp_path: Path) -> None:
    result = run_python(
        f"""
        import sys, threading
        import tracker as wandb
        assert [m for m in sys.modules if m.startswith("tracker")] == ["tracker"]
        assert wandb.run is None and "tracker.process_runs" not in sys.modules
        assert threading.active_count() == 1
        missing = [name for name in wandb.__all__ if not hasattr(wandb, name)]
        assert not missing, missing
        assert set(wandb.__all__) <= set(dir(wandb))
        from tracker.current import config, init, log
        assert wandb.init is init and wandb.log is log and wandb.config is config
        assert wandb.save is wandb.save and wandb.plot_table is wandb.plot.plot_table
        assert wandb.recorder.Run is wandb.Run  # submodules, as when everything loaded eagerly
        try:
            wandb.no_such_name
        except AttributeError as exc:
            assert "no_such_name" in str(exc)
        else:
            raise AssertionError("no AttributeError")
        run = wandb.init(db={str(tmp_path / "runs.db")!r}, quiet=True)
        assert wandb.run is run
        wandb.log({{"loss": 1.0}})
        wandb.summary["best"] = 1.0
        wandb.finish()
        assert wandb.run is None
        print("ok")
        """
    )
    assert result.stdout.strip() == "ok"
