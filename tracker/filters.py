"""The filter and sort language shared by ``tracktui ls`` and the TUI.

    status=finished cfg.lr<1e-3 metrics.eval/loss<2.1 NOT tag=debug
    (name~^lora OR tag=sweep) AND step>=1000

Whitespace or ``AND`` joins terms, ``OR`` and ``NOT`` (any case) and parentheses work; a bare
word matches name, id, project or tags (case-insensitive substring). Fields: ``name id project
status tag host step duration created_at updated_at pid``, ``config.KEY`` (alias ``cfg.``;
nested by dots), ``metrics.KEY`` (last value; alias ``m.``; ``metrics.KEY.min`` / ``.max`` /
``.count`` for the run's best values), ``summary.KEY``. Operators: ``= != < <= > >= ~`` (``~`` is
a case-insensitive regex search). A run that lacks the field matches only ``!=``. Nothing typed
here is ever evaluated as code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import FilterError
from .models import RunRecord

OPERATORS = ("<=", ">=", "!=", "==", "=", "<", ">", "~")
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
_KEYWORDS = {"and": "AND", "or": "OR", "not": "NOT"}
_WORD_END = set(" \t\r\n()<>=!~\"'")
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # WORD STRING OP LPAREN RPAREN AND OR NOT END
    text: str
    pos: int


def tokenize(expression: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(expression)
    while i < n:
        ch = expression[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token("LPAREN" if ch == "(" else "RPAREN", ch, i))
            i += 1
        elif ch in "\"'":
            start, i, out = i, i + 1, []
            while i < n and expression[i] != ch:
                if expression[i] == "\\" and i + 1 < n:
                    i += 1
                out.append(expression[i])
                i += 1
            if i >= n:
                raise FilterError("unterminated quoted string", expression, start)
            tokens.append(Token("STRING", "".join(out), start))
            i += 1
        elif any(expression.startswith(op, i) for op in OPERATORS):
            op = next(op for op in OPERATORS if expression.startswith(op, i))
            tokens.append(Token("OP", "=" if op == "==" else op, i))
            i += len(op)
        elif ch == "!":
            raise FilterError(
                "'!' must be followed by '=' (use NOT to negate a term)", expression, i
            )
        else:
            start = i
            while i < n and expression[i] not in _WORD_END:
                i += 1
            word = expression[start:i]
            keyword = _KEYWORDS.get(word.lower())
            tokens.append(Token(keyword or "WORD", word, start))
    tokens.append(Token("END", "", n))
    return tokens


Predicate = Callable[[RunRecord], bool]


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = tokenize(expression)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def error(self, message: str, token: Token) -> FilterError:
        return FilterError(message, self.expression, token.pos)

    def parse(self) -> Predicate:
        if self.peek().kind == "END":
            return lambda run: True
        predicate = self.parse_or()
        token = self.peek()
        if token.kind != "END":
            raise self.error(f"unexpected {token.text!r}", token)
        return predicate

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.peek().kind == "OR":
            self.take()
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        return lambda run: any(p(run) for p in parts)

    def parse_and(self) -> Predicate:
        parts = [self.parse_not()]
        while self.peek().kind not in ("OR", "RPAREN", "END"):
            if self.peek().kind == "AND":
                self.take()
            parts.append(self.parse_not())
        if len(parts) == 1:
            return parts[0]
        return lambda run: all(p(run) for p in parts)

    def parse_not(self) -> Predicate:
        if self.peek().kind == "NOT":
            self.take()
            inner = self.parse_not()
            return lambda run: not inner(run)
        return self.parse_atom()

    def parse_atom(self) -> Predicate:
        token = self.take()
        if token.kind == "LPAREN":
            inner = self.parse_or()
            closing = self.take()
            if closing.kind != "RPAREN":
                raise self.error("missing ')'", closing)
            return inner
        if token.kind == "STRING":
            return _bare(token.text)
        if token.kind != "WORD":
            what = "end of expression" if token.kind == "END" else repr(token.text)
            raise self.error(f"expected a term, found {what}", token)
        if self.peek().kind != "OP":
            return _bare(token.text)
        op = self.take()
        value = self.take()
        if value.kind not in ("WORD", "STRING"):
            raise self.error(
                f"expected a value after {op.text!r} (quote values with spaces or parentheses)",
                value,
            )
        getter = field_getter(token.text, self.expression, token.pos)
        return _comparison(getter, op.text, value.text, self.expression, value.pos)


def compile_filter(expression: str) -> Predicate:
    """Parse ``expression`` once; raise :class:`FilterError` pointing at any mistake."""
    return _Parser(expression or "").parse()


def filter_runs(runs: Iterable[RunRecord], expression: str) -> list[RunRecord]:
    predicate = compile_filter(expression)
    return [run for run in runs if predicate(run)]


def _bare(word: str) -> Predicate:
    needle = word.lower()

    def match(run: RunRecord) -> bool:
        return (
            needle in run.name.lower()
            or needle in run.id.lower()
            or needle in run.project.lower()
            or any(needle in tag.lower() for tag in run.tags)
        )

    return match


def _lookup(mapping: Any, key: str) -> Any:
    """Exact key first (``"optimizer.lr"`` as one key), then a dotted path into nested dicts."""
    if not isinstance(mapping, dict):
        return _MISSING
    if key in mapping:
        return mapping[key]
    head, dot, rest = key.partition(".")
    while dot:
        if head in mapping:
            found = _lookup(mapping[head], rest)
            if found is not _MISSING:
                return found
        more_head, dot, rest = rest.partition(".")
        head = f"{head}.{more_head}"
    return _MISSING


def field_getter(name: str, expression: str = "", position: int = 0) -> Callable[[RunRecord], Any]:
    """A function returning the value of field ``name`` for a run (``_MISSING`` when absent)."""
    lowered = name.lower()
    if lowered in ("tag", "tags"):
        return lambda run: run.tags
    if lowered in PLAIN_FIELDS:
        return lambda run: getattr(run, lowered)
    if lowered in NUMERIC_FIELDS:
        attr = "duration_s" if lowered == "duration" else lowered
        return lambda run: _present(getattr(run, attr))
    prefix, dot, key = name.partition(".")
    section = _PREFIXES.get(prefix.lower()) if dot else None
    if section is None or not key:
        raise FilterError(
            f"unknown field {name!r}; fields are {', '.join(PLAIN_FIELDS + NUMERIC_FIELDS)}, "
            "config.KEY (cfg.), metrics.KEY (m.), summary.KEY",
            expression,
            position,
        )
    if section == "config":
        return lambda run: _lookup(run.config, key)
    if section == "summary":
        return lambda run: _lookup(run.summary, key)
    return _metric_getter(key)


def _metric_getter(key: str) -> Callable[[RunRecord], Any]:
    def get(run: RunRecord) -> Any:
        summary = run.metrics.get(key)
        if summary is not None:
            return _present(summary.last)
        base, dot, stat = key.rpartition(".")
        if dot and stat in _METRIC_STATS:
            summary = run.metrics.get(base)
            if summary is not None:
                value = summary.last_step if stat == "step" else getattr(summary, stat)
                return _present(value)
        return _MISSING

    return get


def _present(value: Any) -> Any:
    return _MISSING if value is None else value


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _comparison(
    getter: Callable[[RunRecord], Any], op: str, literal: str, expression: str, position: int
) -> Predicate:
    if op == "~":
        try:
            pattern = re.compile(literal, re.IGNORECASE)
        except re.error as exc:
            raise FilterError(f"bad regular expression: {exc}", expression, position) from None

        def regex(run: RunRecord) -> bool:
            value = getter(run)
            if value is _MISSING:
                return False
            values = value if isinstance(value, list) else [value]
            return any(pattern.search(_as_text(v)) for v in values)

        return regex

    compare = _COMPARE[op]
    number = _as_number(literal)

    def one(value: Any) -> bool:
        if number is not None:
            field_number = _as_number(value)
            if field_number is not None:
                if math.isnan(field_number) or math.isnan(number):
                    return op == "!="
                return compare(field_number, number)
        return compare(_as_text(value), literal)

    def test(run: RunRecord) -> bool:
        value = getter(run)
        if value is _MISSING:
            return op == "!="
        if isinstance(value, list):  # tags: = any matches, != none matches
            if op == "!=":
                return all(one(v) for v in value)
            return any(one(v) for v in value)
        return one(value)

    return test


# --- sorting -------------------------------------------------------------------------------------


def sort_key_getter(name: str) -> Callable[[RunRecord], Any]:
    """Validate a sort key (same names as the filter) and return its getter."""
    if name.lower() in ("created", "age"):
        name = "created_at"
    return field_getter(name, name, 0)


def sort_runs(
    runs: Iterable[RunRecord], key: str | None, descending: bool = False
) -> list[RunRecord]:
    """Sort by a field; runs lacking it (or NaN) go last in either direction.

    Without a key: newest first. Numbers sort numerically, everything else as text.
    """
    items = list(runs)
    if not key:
        return sorted(items, key=lambda r: r.created_at, reverse=not descending)
    return sort_runs_by(items, sort_key_getter(key), descending)


def sort_runs_by(
    runs: Iterable[RunRecord], getter: Callable[[RunRecord], Any], descending: bool = False
) -> list[RunRecord]:
    """Sort by any value a getter returns (missing, None and NaN last); the sort is stable."""
    items = list(runs)
    present: list[tuple[tuple[int, float, str], RunRecord]] = []
    missing: list[RunRecord] = []
    for run in items:
        value = getter(run)
        if value is None:
            value = _MISSING
        if isinstance(value, list):
            value = ",".join(value) if value else _MISSING
        number = _as_number(value) if value is not _MISSING else None
        if value is _MISSING or (number is not None and math.isnan(number)):
            missing.append(run)
        elif number is not None:
            present.append(((0, number, ""), run))
        else:
            present.append(((1, 0.0, _as_text(value).lower()), run))
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [run for _, run in present] + missing
