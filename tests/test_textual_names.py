"""Our widgets, screens and app set no attribute that Textual's own classes already have.

An attribute of the same name replaces Textual's silently, or worse, sets its reactive: a plot
kept "a series is on its way" as ``self.loading``, which is ``Widget.loading``; setting it
covered every waiting plot with an animated indicator refreshing 16 times a second (a run of
300 metrics took twice as long to open).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from textual.app import App
from textual.screen import Screen
from textual.widget import Widget

from .helpers import ROOT

TEXTUAL_BASES: tuple[type, ...] = (App, Screen, Widget)  # most specific first
# Replaced on purpose, each with a subclass of what Textual puts there.
REPLACED = {"LiveScreen._compositor"}  # BandedCompositor: renders only the rows that changed


def _textual_names(base: type) -> set[str]:
    """What ``base`` has: its class attributes and what its ``__init__`` sets (``_size``...)."""
    return set(dir(base)) | set(vars(base()))


def _assigned_on_self(node: ast.ClassDef) -> set[str]:
    names: set[str] = set()
    for statement in ast.walk(node):
        targets: list[ast.expr] = []
        if isinstance(statement, ast.Assign):
            targets = list(statement.targets)
        elif isinstance(statement, ast.AnnAssign | ast.AugAssign):
            targets = [statement.target]
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            ):
                names.add(target.attr)
    return names


def clashes(source: str, namespace: dict[str, object]) -> list[str]:
    """``class.attribute`` for each attribute a Textual class of ``namespace`` sets on ``self``
    that its Textual base already has."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        cls = namespace.get(node.name)
        if not isinstance(cls, type):
            continue
        base = next((b for b in TEXTUAL_BASES if issubclass(cls, b)), None)
        if base is None:
            continue
        taken = _textual_names(base)
        found += [
            f"{node.name}.{name}" for name in sorted(_assigned_on_self(node)) if name in taken
        ]
    return found


def test_no_widget_screen_or_app_reuses_a_textual_attribute_name() -> None:
    found: list[str] = []
    for path in sorted((ROOT / "tui").rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        module = importlib.import_module(".".join(relative.parts).removesuffix(".__init__"))
        found += [
            f"{relative}: {name}"
            for name in clashes(path.read_text(), vars(module))
            if name not in REPLACED
        ]
    assert found == []


def test_the_check_sees_a_reused_name(tmp_path: Path) -> None:
    source = (
        "class Plot(Widget):\n"
        "    def __init__(self):\n"
        "        self.loading = False\n"
        "        self.waiting: bool = False\n"
        "        self._size = 0\n"
    )
    namespace: dict[str, object] = {"Widget": Widget}
    exec(compile(source, str(tmp_path / "plot.py"), "exec"), namespace)
    assert clashes(source, namespace) == ["Plot._size", "Plot.loading"]
