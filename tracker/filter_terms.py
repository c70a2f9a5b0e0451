"""The terms of the filter language: field values of a run, comparisons, bare words and
regular-expression matches (``~``), for :mod:`tracker.filters`.

Every term runs in time linear in what it reads and never raises on any run: ``~`` uses RE2
(google-re2), which has no backtracking, so ``name~'(a+)+$'`` costs what ``name~a`` costs;
patterns RE2 cannot run in linear time (backreferences, lookaround) are a :class:`FilterError`
at the pattern. Nested config lookups are iterative and bounded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import re2

from .errors import FilterError
from .models import RunRecord

Predicate = Callable[[RunRecord], bool]
Getter = Callable[[RunRecord], Any]

PLAIN_FIELDS = ("name", "id", "project", "status", "tag", "host")
NUMERIC_FIELDS = (
    "step", "duration", "duration_s", "created_at", "updated_at", "pid", "steps_per_s",
)  # fmt: skip
_PREFIXES = {
    "config": "config",
    "cfg": "config",
    "metrics": "metrics",
    "m": "metrics",
    "summary": "summary",
}
_METRIC_STATS = ("last", "min", "max", "count", "step")
MISSING: Any = object()
LOOKUP_BUDGET = 100_000  # dictionary probes for one nested config lookup; past it, "missing"
EXCERPT = 60  # characters of a long expression shown either side of the caret


def filter_error(message: str, expression: str, position: int) -> FilterError:
    """A :class:`FilterError` whose caret line shows at most ~120 characters around
    ``position`` of a long expression; ``.position`` stays the offset in the whole text."""
    start = max(0, position - EXCERPT)
    end = min(len(expression), position + EXCERPT)
    excerpt = "".join(c if c.isprintable() else " " for c in expression[start:end])
    caret = position - start
    if start > 0:
        excerpt, caret = "…" + excerpt, caret + 1
    if end < len(expression):
        excerpt += "…"
    error = FilterError(message, excerpt or " ", caret)
    error.position = position
    return error


# --- field values --------------------------------------------------------------------------------


def lookup(mapping: Any, key: str) -> Any:
    """Exact key first (``"optimizer.lr"`` as one key), then a dotted path into nested dicts,
    shorter heads first. Iterative (no recursion, whatever the nesting); each place is searched
    once, and past :data:`LOOKUP_BUDGET` probes the value counts as missing."""
    stack: list[tuple[Any, int]] = [(mapping, 0)]  # (dict, offset of the rest of the key)
    seen: set[tuple[int, int]] = set()
    probes = 0
    while stack and probes < LOOKUP_BUDGET:
        node, start = stack.pop()
        if not isinstance(node, dict) or (id(node), start) in seen:
            continue
        seen.add((id(node), start))
        rest = key[start:]
        probes += 1
        if rest in node:
            return node[rest]
        heads: list[int] = []  # lengths of this dict's keys that are a dotted head of the rest
        if rest.count(".") <= len(node):
            dot = rest.find(".")
            while dot != -1:
                heads.append(dot)
                dot = rest.find(".", dot + 1)
            probes += len(heads)
            heads = [h for h in heads if rest[:h] in node]
        else:  # fewer keys than dots: ask each key whether it starts the rest
            probes += len(node)
            heads = sorted(
                len(k)
                for k in node
                if isinstance(k, str) and rest.startswith(k) and rest[len(k) : len(k) + 1] == "."
            )
        for head in reversed(heads):  # the shortest head is searched first
            stack.append((node[rest[:head]], start + head + 1))
    return MISSING


def field_getter(name: str, expression: str = "", position: int = 0) -> Getter:
    """A function returning the value of field ``name`` for a run (``MISSING`` when absent)."""
    lowered = name.lower()
    if lowered in ("tag", "tags"):
        return lambda run: run.tags
    if lowered in PLAIN_FIELDS:
        return lambda run: getattr(run, lowered)
    if lowered in NUMERIC_FIELDS:
        attr = "duration_s" if lowered == "duration" else lowered
        return lambda run: present(getattr(run, attr))
    prefix, dot, key = name.partition(".")
    section = _PREFIXES.get(prefix.lower()) if dot else None
    if section is None or not key:
        raise filter_error(
            f"unknown field {name[:80]!r}; fields are "
            f"{', '.join(PLAIN_FIELDS + NUMERIC_FIELDS)}, "
            "config.KEY (cfg.), metrics.KEY (m.), summary.KEY",
            expression,
            position,
        )
    if section == "config":
        return lambda run: lookup(run.config, key)
    if section == "summary":
        return lambda run: lookup(run.summary, key)
    return _metric_getter(key)


def _metric_getter(key: str) -> Getter:
    def get(run: RunRecord) -> Any:
        summary = run.metrics.get(key)
        if summary is not None:
            return present(summary.last)
        base, dot, stat = key.rpartition(".")
        if dot and stat in _METRIC_STATS:
            summary = run.metrics.get(base)
            if summary is not None:
                value = summary.last_step if stat == "step" else getattr(summary, stat)
                return present(value)
        return MISSING

    return get


def present(value: Any) -> Any:
    return MISSING if value is None else value


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # an integer beyond a float's range
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    try:
        return str(value)
    except (RecursionError, ValueError):  # a very deep structure; an int past str()'s limit
        return ""


# --- terms ---------------------------------------------------------------------------------------


def bare(word: str) -> Predicate:
    needle = word.lower()

    def match(run: RunRecord) -> bool:
        return (
            needle in run.name.lower()
            or needle in run.id.lower()
            or needle in run.project.lower()
            or any(needle in tag.lower() for tag in run.tags)
        )

    return match


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def comparison(getter: Getter, op: str, literal: str, expression: str, position: int) -> Predicate:
    if op == "~":
        return _regex_term(getter, literal, expression, position)
    compare = _COMPARE[op]
    number = as_number(literal)
    # a bool field against true/false in any case: Python's `True` is how many people write it
    boolean = literal.lower() if literal.lower() in ("true", "false") else None

    def one(value: Any) -> bool:
        if boolean is not None and isinstance(value, bool):
            return compare(as_text(value), boolean)
        if number is not None:
            field_number = as_number(value)
            if field_number is not None:
                if math.isnan(field_number) or math.isnan(number):
                    return op == "!="
                return compare(field_number, number)
        return compare(as_text(value), literal)

    def test(run: RunRecord) -> bool:
        value = getter(run)
        if value is MISSING:
            return op == "!="
        if isinstance(value, list):  # tags: = any matches, != none matches
            if op == "!=":
                return all(one(v) for v in value)
            return any(one(v) for v in value)
        return one(value)

    return test


# --- regular expressions -------------------------------------------------------------------------

_UNSUPPORTED_HINT = (
    " (regular expressions here run in linear time (RE2): no backreferences or lookaround; "
    "write \\z for Python's \\Z)"
)


def compile_regex(pattern: str, expression: str, position: int) -> Callable[[str], bool]:
    """A case-insensitive, linear-time search for ``pattern`` (RE2 syntax, which is Python's
    without backreferences and lookaround); a pattern RE2 refuses is a :class:`FilterError`
    with the caret at ``position``."""
    try:
        encoded = pattern.encode("utf-8")
    except UnicodeEncodeError:
        raise filter_error(
            "bad regular expression: the pattern is not valid text", expression, position
        ) from None
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # RE2 would otherwise write every refusal to stderr (the TUI's)
    try:
        compiled = re2.compile(encoded, options=options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "not supported"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise filter_error(
            f"bad regular expression: {reason}{_UNSUPPORTED_HINT}", expression, position
        ) from None

    def search(text: str) -> bool:
        return compiled.search(text.encode("utf-8", "replace")) is not None

    return search


def _regex_term(getter: Getter, pattern: str, expression: str, position: int) -> Predicate:
    search = compile_regex(pattern, expression, position)

    def regex(run: RunRecord) -> bool:
        value = getter(run)
        if value is MISSING:
            return False
        values = value if isinstance(value, list) else [value]
        return any(search(as_text(v)) for v in values)

    return regex
