"""wandb's ``wandb.util`` helpers that training scripts call (``wandb.util.generate_id()`` to
choose a run id they can resume later)."""

from __future__ import annotations

import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def generate_id(length: int = 8) -> str:
    """A random run id of ``length`` lowercase letters and digits."""
    if not isinstance(length, int) or not 1 <= length <= 128:
        raise ValueError("generate_id(): length must be an int from 1 to 128")
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
