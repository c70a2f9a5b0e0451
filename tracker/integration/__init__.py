"""wandb's framework callbacks by wandb's module and class names, for scripts written for
wandb: ``from wandb.integration.keras import WandbMetricsLogger`` becomes
``from tracker.integration.keras import WandbMetricsLogger``. Each module imports its framework,
so import the one you use: ``.keras``, ``.lightning`` (``WandbLogger``) or ``.transformers``
(``WandbCallback``). The classes live in :mod:`tracker.integrations`."""
