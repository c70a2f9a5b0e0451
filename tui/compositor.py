"""The live screens' compositor: a partial update renders the rows that changed.

Textual renders a partial update by taking the bounding box of every dirty region, asking
each widget that box touches for *all* its visible lines, and keeping only the dirty rows. A
live frame dirties a few table rows at the top and a plot's tip further down, so most of the
screen was rendered and thrown away each frame: the table's empty rows, the hardware pane,
every container beneath (the table alone rendered 11.5 lines a frame for the 6 that changed,
the containers 50).

:class:`BandedCompositor` splits the dirty regions into bands of rows that overlap or touch,
and asks each widget for its lines inside a band only (whole lines: the cuts the update is
divided at stay where Textual put them). The update sent to the terminal is the same: the
same spans, the same strips in them.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from textual.strip import Strip


def bands(regions: Iterable[Region]) -> list[Region]:
    """The regions grouped into boxes whose row ranges neither overlap nor touch, top first:
    each box the union of the regions in it."""
    out: list[Region] = []
    for region in sorted(regions, key=lambda r: (r.y, r.x)):
        if not region.area:
            continue
        if out and region.y <= out[-1].bottom:
            out[-1] = out[-1].union(region)
        else:
            out.append(region)
    return out


class BandedCompositor(Compositor):
    def render_partial_update(self) -> ChopsUpdate | None:
        regions = list(self._dirty_regions)
        screen = self.size.region
        boxes = [box for box in (b.intersection(screen) for b in bands(regions)) if box.area]
        if len(boxes) < 2:
            return super().render_partial_update()  # one box: Textual's own is the same
        self._dirty_regions.clear()
        spans = list(self._regions_to_spans(regions))
        is_rendered_line = {y for y, _, _ in spans}.__contains__
        chops = list(self._render_chops(boxes[0], is_rendered_line))
        for box in boxes[1:]:
            more = self._render_chops(box, is_rendered_line)
            for y in range(box.y, box.bottom):
                chops[y] = more[y]
        chop_ends = [cut_set[1:] for cut_set in self.cuts]
        return ChopsUpdate(chops, spans, chop_ends)

    def _get_renders(
        self, crop: Region | None = None
    ) -> Iterable[tuple[Region, Region, list[Strip]]]:
        """Textual's, with each widget's lines limited to the rows of ``crop``."""
        if crop is None:
            yield from super()._get_renders(crop)
            return
        top, bottom = crop.y, crop.bottom
        for widget, (region, clip) in self.visible_widgets.items():
            if not crop.overlaps(clip):
                continue
            low, high = max(clip.y, top), min(clip.bottom, bottom)
            clip = Region(clip.x, low, clip.width, high - low)
            x, y, width, height = region.intersection(clip)
            if width and height:
                lines = widget.render_lines(Region(x - region.x, y - region.y, width, height))
                yield region, clip, lines
