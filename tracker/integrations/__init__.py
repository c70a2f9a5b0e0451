"""Drop-in loggers for training frameworks. Each module imports its framework, so import the one
you use: ``tracker.integrations.transformers``, ``.lightning`` or ``.keras``."""
