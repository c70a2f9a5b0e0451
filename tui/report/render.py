"""The report as one HTML file: Jinja2 templates with autoescape on, the package's CSS and
script inlined, images as ``data:`` URLs, written atomically.

Why Jinja2: it escapes every ``{{ value }}`` by default (``select_autoescape``) in text and in
attribute values alike, so a run name holding ``"><script>`` is text wherever it lands; the
template keeps the page's structure readable; and it is the best-kept templating library in
Python (Pallets; MarkupSafe's escaping is in C). On top of escaping, the environment's
``finalize`` passes every string through :func:`tracker.sanitize.safe_text`, so controls,
bidi overrides and NUL read from the database show as visible escapes, as in the terminal,
and through :func:`.masking.mask_secrets`, so no password stored in a config value, a summary
or a name reaches the shared file.
Only our own files (CSS, script) and the JSON data block (``<``, ``>``, ``&`` escaped) are
marked safe.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..sanitize import safe_text
from .masking import mask_secrets
from .model import Picture, Report

if TYPE_CHECKING:
    from jinja2 import Environment
    from markupsafe import Markup

TABLE_ROWS = 50  # rows of a logged table shown
LEGEND_LIMIT = 24  # a legend of more runs than this is the runs table itself


def script_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: ``<``, ``>`` and ``&`` as
    ``\\u003c`` and friends (no ``</script>`` or ``<!--`` can end the block); non-ASCII and
    U+2028/U+2029 as escapes; NaN and inf (not JSON) as null."""
    from tracker.jsonable import to_json_safe

    text = json.dumps(to_json_safe(value), ensure_ascii=True, allow_nan=False)
    text = mask_secrets(text)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _finalize(value: Any) -> Any:
    from markupsafe import Markup

    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return safe_text(mask_secrets(value), single_line=False)
    return value


def cut(text: str, limit: int) -> str:
    """``text`` at most ``limit`` characters, the last one ``…`` when cut (the whole text
    goes in a ``title`` beside it)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def breakable(text: str) -> Markup:
    """``text`` escaped, with a line-break opportunity (``<wbr>``) after each ``/``, ``.``
    and ``_``: a printed header wraps at ``train/|loss``, never mid-word."""
    import re

    from markupsafe import Markup, escape

    safe = str(escape(_finalize(str(text))))
    return Markup(re.sub(r"([/._])", r"\1<wbr>", safe))


def data_url(picture: Picture) -> str:
    return f"data:{picture.mime};base64," + base64.b64encode(picture.data).decode("ascii")


def _template_text(name: str) -> str:
    return resources.files(__package__).joinpath("templates", name).read_text("utf-8")


@lru_cache(maxsize=1)
def environment() -> Environment:
    from jinja2 import Environment, FunctionLoader, StrictUndefined, select_autoescape

    from ..formatting import format_number
    from .charts import histogram_bars
    from .view import event_title, format_value, utc_time

    env = Environment(
        loader=FunctionLoader(_template_text),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=False,
    )
    env.filters.update(
        number=lambda v: format_number(v) if isinstance(v, (int, float)) else "-",
        value=format_value,
        data_url=data_url,
        bars=histogram_bars,
        utc=utc_time,
        event_title=event_title,
        short_title=lambda t: str(t).split(" (", 1)[0],
        cut=cut,
        breakable=breakable,
    )
    return env


def render(report: Report) -> str:
    """The whole page."""
    from markupsafe import Markup

    from . import view
    from .page_data import script_data

    colors = view.run_colors(report.runs)
    headers, rows = view.runs_table(report)
    summary_keys, summary_rows = view.summary_columns(report.runs)
    hardware = view.hardware_cards(report)
    drawn = view.charts(report, colors)
    by_run: dict[str, list[Any]] = {}
    for entry in report.media:
        by_run.setdefault(entry.run_id, []).append(entry)
    runs_by_id = {run.id: run for run in report.runs}
    made = datetime.fromtimestamp(report.provenance.made_at).astimezone()
    template = environment().get_template("report.html.j2")
    return template.render(
        title=report.title,
        p=report.provenance,
        made=made.strftime("%Y-%m-%d %H:%M:%S %Z").strip(),
        runs=report.runs,
        metrics=report.metrics,
        colors=colors,
        names={run.id: run.name for run in report.runs},
        headers=headers,
        rows=rows,
        name_index=[key for key, *_ in headers].index("name") if headers else -1,
        charts=drawn,
        legend_limit=LEGEND_LIMIT,
        config=view.config_view(report.runs),
        best=view.best_columns(report),
        summary_keys=summary_keys,
        summary_rows=summary_rows,
        hardware=hardware,
        has_hardware=any(gauges for _, gauges, _ in hardware),
        media=[(runs_by_id[run_id], entries) for run_id, entries in by_run.items()],
        table_rows=TABLE_ROWS,
        events=report.events,
        notes=report.notes,
        css=Markup(_template_text("report.css")),
        js=Markup(_template_text("report.js")),
        data=Markup(script_json(script_data(report, colors, drawn))),
    )


def write_atomically(path: Path, text: str) -> int:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename, so
    a reader (or a browser reloading it) never sees half a report; returns the size in bytes."""
    data = text.encode("utf-8")
    folder = path.parent if str(path.parent) else Path(".")
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temp, 0o666 & ~mask)  # as open() would have made it, not mkstemp's 0600
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    return len(data)
