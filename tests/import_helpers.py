"""What the importer tests share: ``tracktui import`` run in this process, the runs as the
viewer reads them, and the environment of a wandb offline run that writes nothing to $HOME."""

from __future__ import annotations

import argparse
import os
from contextlib import closing
from pathlib import Path

from tracker.db import open_store
from tracker.models import RunRecord
from tui import import_cli
from tui.cli import build_parser


def run_import(*argv: str) -> int:
    """``tracktui import ARGV`` in this process (its output goes to capsys)."""
    args: argparse.Namespace = build_parser().parse_args(["import", *argv])
    return import_cli.run(args)


def runs_of(db: Path) -> list[RunRecord]:
    """The runs as the viewer reads them (the store closed again)."""
    with closing(open_store(db)) as store:
        return store.read_runs()


def offline_wandb_env(root: Path) -> dict[str, str]:
    """wandb offline, silent, with every folder it writes (and $HOME) under ``root``."""
    return {
        **os.environ,
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_DIR": str(root),
        "WANDB_CACHE_DIR": str(root / "cache"),
        "WANDB_CONFIG_DIR": str(root / "config"),
        "WANDB_DATA_DIR": str(root / "data"),
        "HOME": str(root / "home"),
    }
