"""Hugging Face Accelerate: ``Accelerator(log_with=AccelerateTracker())``.

An ``accelerate.tracking.GeneralTracker``::

    accelerator = Accelerator(log_with=AccelerateTracker(run_name="lora-r16"))
    accelerator.init_trackers(
        "llm-twin", config={"lr": 3e-4}, init_kwargs={"tracktui": {"tags": ["lora"]}}
    )
    accelerator.log({"train/loss": loss}, step=step)
    run = accelerator.get_tracker("tracktui", unwrap=True)   # the tracker Run
    accelerator.end_training()                                # finishes the run

``init_trackers``' ``project_name`` is the run's project and ``init_kwargs["tracktui"]`` go to
:func:`tracker.init` (Accelerate passes neither to a tracker object, so the tracker reads them
from that call). ``config`` becomes the run config. Only the main process records
(``main_process_only``). ``log`` is ``run.log`` (numbers, media, nested dicts; text goes to the
summary as in wandb). ``end_training()`` finishes a run the tracker started; the process
ending does too (an exception marks it failed). A run passed as ``run=``, or the active
``tracker.run``, is logged to and never finished by the tracker.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from accelerate.tracking import GeneralTracker, on_main_process  # type: ignore[import-untyped]

from ..media import Image, Table
from ..recorder import Run
from .common import RunSlot

NAME = "tracktui"


class AccelerateTracker(GeneralTracker):  # type: ignore[misc]
    """``run_name`` names the run; ``run``: a run to log to instead of starting one. Other
    keyword arguments go to :func:`tracker.init` (``project``, ``tags``, ``db``), under those
    given as ``init_trackers(init_kwargs={"tracktui": {...}})``.

    ``name="wandb"`` answers to wandb's name, so a script written for wandb that looks its
    tracker up (``accelerator.get_tracker("wandb")``, ``if tracker.name == "wandb"``) and
    passes ``init_kwargs={"wandb": {...}}`` finds this one (with ``import tracker as wandb``
    its ``wandb.Image`` calls are tracktui's)."""

    name = NAME
    requires_logging_directory = False
    main_process_only = True

    def __init__(
        self,
        run_name: str | None = None,
        *,
        run: Run | None = None,
        name: str = NAME,
        **init_kwargs: Any,
    ):
        super().__init__()
        self.name = name
        self.run_name = run_name
        self.init_kwargs = init_kwargs
        self._slot = RunSlot(run, init_kwargs, "AccelerateTracker")

    @property
    def tracker(self) -> Run | None:
        """The run (None before ``init_trackers`` and on the other processes)."""
        return self._slot.run

    @on_main_process  # type: ignore[misc,untyped-decorator]
    def start(self) -> None:
        project, options = _init_trackers_call(self.name)
        defaults: dict[str, Any] = {}
        if project:
            defaults["project"] = project
        if self.run_name:
            defaults["name"] = self.run_name
        self._slot.defaults = defaults
        self._slot.init_kwargs = {**self.init_kwargs, **options}
        self._slot.acquire()

    @on_main_process  # type: ignore[misc,untyped-decorator]
    def store_init_configuration(self, values: Mapping[str, Any]) -> None:
        self._slot.acquire().config.update(dict(values))

    @on_main_process  # type: ignore[misc,untyped-decorator]
    def log(self, values: Mapping[str, Any], step: int | None = None, **kwargs: Any) -> None:
        self._slot.acquire().log(values, step=step, commit=kwargs.get("commit"))

    @on_main_process  # type: ignore[misc,untyped-decorator]
    def log_images(self, values: Mapping[str, Any], step: int | None = None, **kwargs: Any) -> None:
        """``{key: [image, ...]}`` (numpy arrays, tensors, PIL images) as ``tracker.Image``."""
        images = {
            key: [Image(item) for item in (items if isinstance(items, Sequence) else [items])]
            for key, items in values.items()
        }
        self._slot.acquire().log(images, step=step)

    @on_main_process  # type: ignore[misc,untyped-decorator]
    def log_table(
        self,
        table_name: str,
        columns: list[str] | None = None,
        data: list[list[Any]] | None = None,
        dataframe: Any = None,
        step: int | None = None,
        **kwargs: Any,
    ) -> None:
        """A ``tracker.Table`` under ``table_name`` (from ``columns`` and ``data``, or a
        pandas ``dataframe``)."""
        if dataframe is not None:
            table = Table(dataframe=dataframe)
        else:
            table = Table(columns=columns, rows=data)
        self._slot.acquire().log({table_name: table}, step=step)

    @on_main_process  # type: ignore[misc,untyped-decorator]
    def finish(self) -> None:
        """``accelerator.end_training()``: finish the run if this tracker started it."""
        self._slot.finish()


def _init_trackers_call(name: str) -> tuple[str | None, dict[str, Any]]:
    """``project_name`` and ``init_kwargs[name]`` of the ``Accelerator.init_trackers``
    call that is starting this tracker, read from its frame (Accelerate hands a tracker object
    neither); ``(None, {})`` when ``start()`` was called some other way."""
    frame = inspect.currentframe()
    try:
        for _ in range(16):
            if frame is None:
                break
            if frame.f_code.co_name == "init_trackers" and hasattr(
                frame.f_locals.get("self"), "trackers"
            ):
                local = frame.f_locals
                project = local.get("project_name")
                options = (local.get("init_kwargs") or {}).get(name)
                return (
                    str(project) if project else None,
                    dict(options) if isinstance(options, Mapping) else {},
                )
            frame = frame.f_back
    finally:
        del frame
    return None, {}
