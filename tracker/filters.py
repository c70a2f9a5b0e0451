"""The filter and sort language shared by ``tracktui ls`` and the TUI.

    status=finished cfg.lr<1e-3 metrics.eval/loss<2.1 NOT tag=debug
    (name~^lora OR tag=sweep) AND step>=1000

Whitespace or ``AND`` joins terms, ``OR`` and ``NOT`` (any case) and parentheses work; a bare
word matches name, id, project or tags (case-insensitive substring). Fields: ``name id project
status tag host step duration created_at updated_at pid``, ``config.KEY`` (alias ``cfg.``;
nested by dots), ``metrics.KEY`` (last value; alias ``m.``; ``metrics.KEY.min`` / ``.max`` /
``.count`` for the run's best values), ``summary.KEY``. Operators: ``= != < <= > >= ~`` (``~`` is
a case-insensitive regex search, linear-time: RE2). A run that lacks the field matches only
``!=``. Nothing typed here is ever evaluated as code.

A filter can never hang or crash: expressions are at most :data:`MAX_LENGTH` characters and
:data:`MAX_DEPTH` levels of parentheses and ``NOT`` deep (past either, a :class:`FilterError`
pointing there); chains of ``AND``/``OR`` are flat lists, so their length costs no stack; terms
are in :mod:`tracker.filter_terms`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import FilterError
from .filter_terms import (
    MISSING,
    NUMERIC_FIELDS,
    PLAIN_FIELDS,
    Predicate,
    as_number,
    as_text,
    bare,
    comparison,
    field_getter,
    filter_error,
)
from .models import RunRecord

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "NUMERIC_FIELDS",
    "PLAIN_FIELDS",
    "Predicate",
    "Token",
    "compile_filter",
    "field_getter",
    "filter_runs",
    "sort_key_getter",
    "sort_runs",
    "sort_runs_by",
    "tokenize",
]

MAX_LENGTH = 100_000  # characters: 10,000 terms joined by OR fit; parsing stays well under 1 s
MAX_DEPTH = 100  # levels of parentheses and NOT
OPERATORS = ("<=", ">=", "!=", "==", "=", "<", ">", "~")
_KEYWORDS = {"and": "AND", "or": "OR", "not": "NOT"}
_WORD_END = frozenset(" \t\r\n()<>=!~\"'")
_OPERATOR_START = frozenset(op[0] for op in OPERATORS)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # WORD STRING OP LPAREN RPAREN AND OR NOT END
    text: str
    pos: int


def tokenize(expression: str) -> list[Token]:
    if len(expression) > MAX_LENGTH:
        raise filter_error(
            f"expression too long: {len(expression):,} characters (at most {MAX_LENGTH:,})",
            expression,
            MAX_LENGTH,
        )
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
                if expression[i] == "\\" and i + 1 < n and expression[i + 1] in (ch, "\\"):
                    i += 1  # \' and \\ are escapes; any other backslash stays (regex: \d)
                out.append(expression[i])
                i += 1
            if i >= n:
                raise filter_error("unterminated quoted string", expression, start)
            tokens.append(Token("STRING", "".join(out), start))
            i += 1
        elif ch in _OPERATOR_START and any(expression.startswith(op, i) for op in OPERATORS):
            op = next(op for op in OPERATORS if expression.startswith(op, i))
            tokens.append(Token("OP", "=" if op == "==" else op, i))
            i += len(op)
        elif ch == "!":
            raise filter_error(
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


def _always(run: RunRecord) -> bool:
    return True


def _any_of(parts: list[Predicate]) -> Predicate:
    return lambda run: any(p(run) for p in parts)


def _all_of(parts: list[Predicate]) -> Predicate:
    return lambda run: all(p(run) for p in parts)


def _negation(inner: Predicate) -> Predicate:
    return lambda run: not inner(run)


class _Parser:
    """Recursive descent, one level of Python recursion per parenthesis (at most
    :data:`MAX_DEPTH`); ``NOT`` chains and ``AND``/``OR`` chains are loops."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = tokenize(expression)
        self.i = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def error(self, message: str, token: Token) -> FilterError:
        return filter_error(message, self.expression, token.pos)

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                f"nested too deeply: more than {MAX_DEPTH} levels of parentheses and NOT", token
            )

    def parse(self) -> Predicate:
        if self.peek().kind == "END":
            return _always
        predicate = self.parse_or()
        token = self.peek()
        if token.kind != "END":
            raise self.error(f"unexpected {token.text[:80]!r}", token)
        return predicate

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.peek().kind == "OR":
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else _any_of(parts)

    def parse_and(self) -> Predicate:
        parts = [self.parse_not()]
        while self.peek().kind not in ("OR", "RPAREN", "END"):
            if self.peek().kind == "AND":
                self.take()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else _all_of(parts)

    def parse_not(self) -> Predicate:
        negations = 0
        while self.peek().kind == "NOT":
            self.enter(self.take())
            negations += 1
        predicate = self.parse_atom()
        self.depth -= negations
        return _negation(predicate) if negations % 2 else predicate

    def parse_atom(self) -> Predicate:
        token = self.take()
        if token.kind == "LPAREN":
            self.enter(token)
            inner = self.parse_or()
            closing = self.take()
            if closing.kind != "RPAREN":
                raise self.error("missing ')'", closing)
            self.depth -= 1
            return inner
        if token.kind == "STRING":
            return bare(token.text)
        if token.kind != "WORD":
            what = "end of expression" if token.kind == "END" else repr(token.text[:80])
            raise self.error(f"expected a term, found {what}", token)
        if self.peek().kind != "OP":
            return bare(token.text)
        op = self.take()
        value = self.take()
        if value.kind not in ("WORD", "STRING"):
            raise self.error(
                f"expected a value after {op.text!r} (quote values with spaces or parentheses)",
                value,
            )
        getter = field_getter(token.text, self.expression, token.pos)
        return comparison(getter, op.text, value.text, self.expression, value.pos)


def compile_filter(expression: str) -> Predicate:
    """Parse ``expression`` once; raise :class:`FilterError` pointing at any mistake.

    Parsing is linear in the expression's length, and so is evaluating the predicate on a run
    (times the size of the values it reads); neither ever raises anything else."""
    return _Parser(expression or "").parse()


def filter_runs(runs: Iterable[RunRecord], expression: str) -> list[RunRecord]:
    predicate = compile_filter(expression)
    return [run for run in runs if predicate(run)]


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
            value = MISSING
        if isinstance(value, list):
            value = ",".join(value) if value else MISSING
        number = as_number(value) if value is not MISSING else None
        if value is MISSING or (number is not None and math.isnan(number)):
            missing.append(run)
        elif number is not None:
            present.append(((0, number, ""), run))
        else:
            present.append(((1, 0.0, as_text(value).lower()), run))
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [run for _, run in present] + missing
