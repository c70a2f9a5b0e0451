"""Drop-in loggers for training frameworks. Each module imports its framework, so import the one
you use: ``tracker.integrations.transformers``, ``.lightning``, ``.keras`` or ``.accelerate``.
``tracker.integrations.common`` says how long the run they log to lives."""
