"""``tracktui import mlflow URI``: runs of an MLflow tracking store, read through MLflow's own
client (``mlflow.tracking.MlflowClient(tracking_uri)``).

URI is what MLflow takes (``sqlite:///mlflow.db``, ``file:///path/mlruns``, a server's
``http://``) or simply a path: a SQLite file, or an ``mlruns`` folder. Each experiment's name is
the project; each run keeps MLflow's run id, its name, status and start/end times; params go
into the config (numbers as numbers, so ``cfg.lr<1e-3`` filters), the user's tags into the run's
tags as ``key=value``, and every metric's full history (steps, values, timestamps) into series.

MLflow's own ``mlflow.*`` tags: a nested run's parent (``mlflow.parentRunId``) becomes the tag
``parent=<parent's name>`` (what ``tracktui ls`` shows and ``tag="parent=NAME"`` filters; a
parent's name is not unique across experiments, the project is) and the config keys
``mlflow.parent_run_id`` and ``mlflow.parent_run_name``; the note goes to the summary as
``mlflow.note``; the other meaningful ones (user, source name and type, git commit, ...) into
the config under their own ``mlflow.`` names (``cfg.mlflow.source.git.commit=...``). Left out
as noise: the run name (it is the run's name) and the bookkeeping of logged models, artifacts
and datasets (:data:`NOISE`).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import ImportSourceError, MissingReader, RunSource
from .target import SourceRun, Tick, clean_name

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|nan)", re.I)
_STATUS = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "failed"}
PAGE = 1000
PARENT = "mlflow.parentRunId"
NOISE = frozenset(
    {"mlflow.runName", "mlflow.log-model.history", "mlflow.loggedArtifacts",
     "mlflow.note.content", PARENT}
)  # fmt: skip
NOISE_PREFIXES = ("mlflow.autologging", "mlflow.datasets", "mlflow.loggedModels")
MAX_TAG_TEXT = 1000  # an mlflow.* tag's text kept in the config, at most


def coerce_param(text: str) -> Any:
    """An MLflow param (always text) as the value it spells: an int, a float, a bool, None, or
    the text itself. Only text that is exactly a number becomes one (``"1e-3"`` but not
    ``"1e-3 "`` or ``"0x10"``); ints beyond 64 bits stay text."""
    if _NUMBER.fullmatch(text):
        try:
            number = int(text)
        except ValueError:
            return float(text)
        return number if -(2**63) <= number < 2**63 else text
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    return text


def tracking_uri(source: str) -> str:
    """``source`` as a tracking URI; a path must exist (MLflow would create an empty store)."""
    if "://" in source:
        if source.startswith("sqlite:///"):
            path = Path(source.removeprefix("sqlite:///"))
            if not path.is_file():
                raise ImportSourceError(f"{source}: no such SQLite file ({path})")
        elif source.startswith("file://") and not Path(source[7:]).is_dir():
            raise ImportSourceError(f"{source}: no such folder")
        return source
    path = Path(source).expanduser()
    if not path.exists():
        raise ImportSourceError(f"{source}: no such file or directory")
    if path.is_dir():
        return path.resolve().as_uri()
    return f"sqlite:///{path.resolve()}"


def read_mlflow(source: str, project: str | None = None, on_read: Tick = None) -> RunSource:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise MissingReader("mlflow", "mlflow") from None
    uri = tracking_uri(source)
    if uri.startswith("file:"):
        # MLflow 3 refuses its own folder store unless asked: reading one is what we are here for
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        client = MlflowClient(tracking_uri=uri)
        experiments = client.search_experiments()
    except Exception as exc:  # MLflow raises its own and its backends' errors
        raise ImportSourceError(f"{source}: not an MLflow tracking store MLflow can read: "
                                f"{type(exc).__name__}: {exc}") from None  # fmt: skip
    runs = [(experiment, run) for experiment in experiments for run in _search(client, experiment)]
    if not runs:
        raise ImportSourceError(f"{source}: the MLflow store holds no runs")
    return _runs(client, runs, project, on_read)


def _search(client: Any, experiment: Any) -> Iterator[Any]:
    token = None
    while True:
        page = client.search_runs(
            [experiment.experiment_id], max_results=PAGE, page_token=token, order_by=None
        )
        yield from page
        token = page.token
        if not token:
            return


def _runs(
    client: Any, runs: list[tuple[Any, Any]], project: str | None, on_read: Tick
) -> RunSource:
    names = {run.info.run_id: run.info.run_name or run.info.run_id for _e, run in runs}
    for experiment, run in reversed(runs):  # oldest first, as they were made
        try:
            yield read_run(client, run, project or experiment.name, on_read, names)
        except Exception as exc:  # one run MLflow cannot read costs only that run
            yield ImportSourceError(
                f"run {run.info.run_id}: cannot be read: {type(exc).__name__}: {exc}"
            )


def read_run(
    client: Any,
    run: Any,
    project: str,
    on_read: Tick = None,
    names: dict[str, str] | None = None,
) -> SourceRun:
    """One MLflow run; ``names``: run id -> name of the runs read, for a nested run's parent."""
    info, data = run.info, run.data
    status = _STATUS.get(str(info.status), "crashed")
    out = SourceRun(
        id=info.run_id,
        name=clean_name(info.run_name or info.run_id, info.run_id),
        project=clean_name(project, "mlflow"),
        created_at=(info.start_time or 0) / 1000.0,
        status=status,
        finished_at=info.end_time / 1000.0 if info.end_time else None,
        host="mlflow",
        config={key: coerce_param(str(value)) for key, value in sorted(data.params.items())},
        tags=[
            f"{key}={value}" if value else key
            for key, value in sorted(data.tags.items())
            if not key.startswith("mlflow.")
        ],
    )
    if str(info.status) == "KILLED":
        out.error = "killed (MLflow status KILLED)"
    elif status == "crashed":
        out.error = f"MLflow status {info.status} when imported (its process died, or still runs)"
    note = data.tags.get("mlflow.note.content")
    if note:
        out.summary["mlflow.note"] = note
    _mlflow_tags(out, dict(data.tags), names or {})
    for key in sorted(data.metrics):
        history = client.get_metric_history(info.run_id, key)
        if on_read is not None:
            on_read(len(history))
        # MLflow keeps no order of its own among equal timestamps: sort so that every import
        # sees one order, the one the points were logged in as far as the store says.
        ordered = sorted(history, key=lambda m: (m.timestamp, m.step, _order(m.value)))
        for metric in ordered:
            out.point(key, int(metric.step), float(metric.value), metric.timestamp / 1000.0)
    if not out.created_at:
        out.created_at = min((s.walls[0] for s in out.series.values() if s.walls), default=0.0)
    return out


def _mlflow_tags(out: SourceRun, tags: dict[str, str], names: dict[str, str]) -> None:
    """MLflow's own tags: the parent of a nested run as a tag and config, the meaningful rest
    into the config under their ``mlflow.`` names."""
    parent = tags.get(PARENT)
    if parent:
        name = clean_name(names.get(parent, parent), parent)
        out.config["mlflow.parent_run_id"] = parent
        out.config["mlflow.parent_run_name"] = name
        out.tags.append(f"parent={name}")
    for key, value in sorted(tags.items()):
        if key.startswith("mlflow.") and key not in NOISE and not key.startswith(NOISE_PREFIXES):
            out.config[key] = str(value)[:MAX_TAG_TEXT]


def _order(value: float) -> float:
    return -math.inf if math.isnan(value) else value
