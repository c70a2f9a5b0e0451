"""What a wandb run folder holds beside its ``.wandb`` log: ``files/config.yaml``,
``files/wandb-summary.json`` and ``files/output.log`` (where wandb wrote them), and the media
files its history rows point to (:mod:`.wandb_offline` reads the log itself)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from ..media.base import MAX_MEDIA_BYTES, Encoded
from .target import SourceRun


def read_files(run: SourceRun, files: Path) -> None:
    """``config.yaml``, ``wandb-summary.json`` and ``output.log`` where wandb wrote them."""
    config = files / "config.yaml"
    if config.is_file():
        yaml: Any = importlib.import_module("yaml")  # wandb's dependency, without types
        try:
            data = yaml.safe_load(config.read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError) as exc:
            run.problems.append(f"config.yaml: cannot be read ({type(exc).__name__})")
            data = None
        if isinstance(data, dict):
            for key, entry in data.items():
                if key != "_wandb" and key not in run.config:
                    run.config[str(key)] = entry.get("value") if isinstance(entry, dict) else entry
    summary = files / "wandb-summary.json"
    if summary.is_file():
        try:
            data = json.loads(summary.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            run.problems.append(f"wandb-summary.json: cannot be read ({type(exc).__name__})")
            data = None
        if isinstance(data, dict):
            run.summary.update({k: v for k, v in data.items() if not str(k).startswith("_")})
    output = files / "output.log"
    if not run.console and output.is_file():
        text = output.read_text(encoding="utf-8", errors="replace")
        wall = output.stat().st_mtime
        for start in range(0, len(text), 64 * 1024):  # chunks the console pane takes
            run.console.append((1, wall, text[start : start + 64 * 1024]))


def histogram(value: dict[str, Any]) -> Encoded | None:
    from ..media.histogram import Histogram

    try:
        return Histogram(counts=value.get("values"), edges=value.get("bins")).encode()
    except (TypeError, ValueError):
        return None


def image_file(files: Path, value: dict[str, Any]) -> Encoded | None:
    from ..media.image import Image

    relative = value.get("path")
    if not isinstance(relative, str):
        return None
    path = (files / relative).resolve()
    if not path.is_relative_to(files.resolve()) or not path.is_file():
        return None  # a path that leaves the run's folder is not followed
    if path.stat().st_size > MAX_MEDIA_BYTES:
        return None
    caption = value.get("caption")
    try:
        return Image(path, caption=caption if isinstance(caption, str) else None).encode()
    except (TypeError, ValueError):
        return None
