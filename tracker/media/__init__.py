"""Media a run logs beside its scalars: images, text tables, histograms, confusion matrices.

Each type validates in the caller's thread and encodes in the writer thread; readers turn
stored rows back into plain data with :mod:`tracker.media.decoded`.
"""

from .base import MAX_MEDIA_BYTES, Encoded, Media
from .confusion import ConfusionMatrix
from .histogram import Histogram
from .image import Image
from .table import Table

__all__ = [
    "MAX_MEDIA_BYTES",
    "ConfusionMatrix",
    "Encoded",
    "Histogram",
    "Image",
    "Media",
    "Table",
]
