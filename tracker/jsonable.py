"""What goes into the database as JSON: config and summary entries (checked when they are
set, so the writer never meets a value it cannot store), the config a script passes in any
form (a dict, ``argparse.Namespace``, dataclass, absl flags, ``to_dict()``), and the JSON text
written and printed (NaN and ±inf kept in the file, spelled as strings in ``--json``)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

from .values import FLOAT_INT_MAX, INT64_MAX, INT64_MIN, element_count


def to_jsonable(value: Any, depth: int = 0, strict: bool = False) -> Any:
    """A JSON-ready copy of a config or summary value (numpy/torch scalars become numbers).

    Objects that are not plain data are stored as their ``str()``, so a config never fails to
    save because one entry is exotic. What cannot be represented at all (a ``__str__`` that
    raises, an int beyond any float) raises with ``strict`` (``check_entry`` does, when the
    value is set) and otherwise becomes a ``<type: unrepresentable>`` placeholder.
    """
    try:
        return _jsonable(value, depth, strict)
    except Exception:
        if strict:
            raise
        return f"<{type(value).__name__}: unrepresentable>"


def _jsonable(value: Any, depth: int, strict: bool) -> Any:
    if depth > 32:
        return str(value)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        value = int(value)
        if INT64_MIN <= value <= INT64_MAX:
            return value
        if -FLOAT_INT_MAX <= value <= FLOAT_INT_MAX:
            return float(value)
        raise OverflowError(f"an int of {value.bit_length()} bits is too large for a float")
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, depth + 1, strict) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [to_jsonable(v, depth + 1, strict) for v in items]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return to_jsonable(fields, depth + 1, strict)
    item = getattr(value, "item", None)
    if callable(item) and element_count(value) == 1:
        return to_jsonable(item(), depth + 1, strict)
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return to_jsonable(tolist(), depth + 1, strict)
    return str(value)


def check_entry(what: str, key: object, value: Any) -> str:
    """The key under which ``value`` goes into ``config``/``summary`` (``what``), after
    checking that it can be stored as JSON; else ``TypeError`` naming the key, the cause
    chained. Called when the value is set, so the writer never meets a value it cannot store."""
    try:
        name = key if type(key) is str else str(key)
    except Exception as exc:
        raise TypeError(f"{what} key of type {type(key).__name__} has no str()") from exc
    try:
        json.dumps(to_jsonable(value, strict=True))
    except Exception as exc:
        raise TypeError(
            f"{what}[{name!r}]: a {type(value).__name__} that cannot be stored as JSON "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    return name


def config_to_dict(config: Any) -> dict[str, Any]:
    """Accept a mapping, an argparse Namespace, a dataclass, absl flags or an object with
    ``to_dict()``; every entry is checked by :func:`check_entry`."""
    return {check_entry("config", k, v): v for k, v in config_items(config).items()}


def config_items(config: Any) -> dict[Any, Any]:
    """The entries of anything a script passes as its config (unchecked)."""
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return dict(config.items())
    flag_values = getattr(config, "flag_values_dict", None)  # absl / tf.compat.v1 flags
    if callable(flag_values):
        result = flag_values()
        if isinstance(result, Mapping):
            return dict(result)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        try:
            return dataclasses.asdict(config)  # nested dataclasses become dicts
        except Exception:  # a field deepcopy refuses (a lock, a file): kept as it is
            return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    to_dict = getattr(config, "to_dict", None)
    if callable(to_dict):
        result = to_dict()
        if isinstance(result, Mapping):
            return dict(result)
    if hasattr(config, "__dict__"):
        return {k: v for k, v in vars(config).items() if not k.startswith("_")}
    raise TypeError(
        f"config must be a mapping, dataclass or namespace, not {type(config).__name__}"
    )


def dumps(value: Any) -> str:
    """JSON text for the database: compact, keys kept in insertion order, NaN written as NaN.

    Never raises for a value (see :func:`to_jsonable`); text SQLite could not store as UTF-8
    (a lone surrogate) is written with JSON escapes instead."""
    plain = to_jsonable(value)
    text = json.dumps(plain, separators=(",", ":"), ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(plain, separators=(",", ":"))
    return text


def json_safe_number(value: float | None) -> float | str | None:
    """NaN and ±inf as the strings "NaN", "Infinity", "-Infinity" so that output is valid JSON."""
    if value is None or math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def to_json_safe(value: Any) -> Any:
    """A copy of decoded JSON with non-finite floats replaced by their string names."""
    if isinstance(value, float):
        return json_safe_number(value)
    if isinstance(value, dict):
        return {k: to_json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json_safe(v) for v in value]
    return value
