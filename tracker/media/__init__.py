"""Media a run logs beside its scalars: images, text tables, histograms, confusion matrices,
and charts of tables (``tracker.plot``).

Each type validates in the caller's thread and encodes in the writer thread; readers turn
stored rows back into plain data with :mod:`tracker.media.decoded`.
"""

from .base import MAX_MEDIA_BYTES, Encoded, Media
from .chart import Chart
from .confusion import ConfusionMatrix
from .histogram import Histogram
from .image import BoundingBoxes2D, Classes, Image, ImageMask
from .table import Table

__all__ = [
    "MAX_MEDIA_BYTES",
    "BoundingBoxes2D",
    "Chart",
    "Classes",
    "ConfusionMatrix",
    "Encoded",
    "Histogram",
    "Image",
    "ImageMask",
    "Media",
    "Table",
]
