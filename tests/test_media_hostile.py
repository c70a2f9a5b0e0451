"""Hostile media rows in a real database: decompression bombs, truncated and foreign images,
JSON media with huge declared sizes, wrong types, deep nesting and NaN, and meta that is not
what the writer writes. The viewer shows a reason in the tile and keeps running; the size of an
image is checked before a single pixel is decoded."""

from __future__ import annotations

import io
import json
import random
import sqlite3
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tracker
from tui.media_decode import Unreadable, decode_for_display
from tui.widgets.media_pane import MediaPane

from .test_media_tui import _view_text, make_app, press_into_media
from .tui_helpers import wait_until


def _chunk(tag: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(tag + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", crc)


def png_claiming(width: int, height: int, rows: int = 4) -> bytes:
    """A PNG whose header claims ``width``×``height`` RGB pixels, with only a few rows of
    (highly compressible) data: a decompression bomb when the claim is large."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = (b"\x00" + b"\x00" * 3 * width) * rows
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def real_image(fmt: str) -> bytes:
    from PIL import Image as PILImage

    pixels = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) is patched to claim ``width``×``height``."""
    data = bytearray(real_image("JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def js(value: Any) -> bytes:
    return json.dumps(value).encode()


BOMB = png_claiming(15_000, 15_000, rows=600)
BROKEN_PNG = real_image("PNG")[:2000]

# media key -> (kind, stored data, substring of the reason shown in its tile)
CASES: dict[str, tuple[str, bytes, str]] = {
    "img/bomb": ("image", BOMB, "claims 15,000x15,000 pixels"),
    "img/jpeg_huge": ("image", jpeg_claiming(60_000, 60_000), "claims 60,000x60,000 pixels"),
    "img/too_wide": ("image", png_claiming(9_000, 10), "claims 9,000x10 pixels"),
    "img/truncated": ("image", BROKEN_PNG, "cannot be decoded"),
    "img/random": ("image", random.Random(7).randbytes(3000), "not a PNG or JPEG"),
    "img/zero": ("image", png_claiming(0, 10), "cannot be decoded"),
    "img/empty": ("image", b"", "not a PNG or JPEG"),
    "tab/deep": ("table", nested(100_000), "nested too deeply"),
    "tab/columns": ("table", js({"columns": ["c"] * 101, "rows": []}), "101 columns"),
    "tab/types": ("table", js({"columns": "abc", "rows": 5}), "lacks columns or rows"),
    "tab/cell": ("table", js({"columns": ["a"], "rows": [[{"x": [1]}]]}), "not text, a number"),
    "tab/bytes": ("table", b"\xff\xfe{", "not valid JSON"),
    "tab/list": ("table", js([1, 2]), "not a JSON object"),
    "hist/nan": ("histogram", b'{"counts": [NaN, 1], "edges": [0, 1, 2]}', "NaN, infinite"),
    "hist/inf": ("histogram", b'{"counts": [1], "edges": [0, 1e999]}', "NaN, infinite"),
    "hist/huge_int": ("histogram", js({"counts": [10**400], "edges": [0, 1]}), "too large"),
    "hist/bins": ("histogram", js({"counts": [1] * 10_000, "edges": [0] * 10_001}), "10,000"),
    "hist/order": ("histogram", js({"counts": [1, 1], "edges": [0, 2, 1]}), "do not increase"),
    "hist/negative": ("histogram", js({"counts": [-1], "edges": [0, 1]}), "negative"),
    "hist/deep": ("histogram", nested(50_000), "nested too deeply"),
    "conf/inf": ("confusion", b'{"labels": ["a"], "matrix": [[Infinity]]}', "NaN, infinite"),
    "conf/neg": ("confusion", js({"labels": ["a"], "matrix": [[-1]]}), "whole numbers"),
    "conf/frac": ("confusion", js({"labels": ["a"], "matrix": [[0.5]]}), "whole numbers"),
    "conf/labels": (
        "confusion",
        js({"labels": [str(i) for i in range(1000)], "matrix": [[0]] * 1000}),
        "from 1 to 256 labels",
    ),
    "conf/types": ("confusion", js({"labels": ["a"], "matrix": "x"}), "lacks labels or counts"),
    "conf/ragged": ("confusion", js({"labels": ["a", "b"], "matrix": [[1, 2], [3]]}), "square"),
}

# media key -> (kind, hostile meta text, something the tile still shows)
HOSTILE_META: dict[str, tuple[str, str, str]] = {
    "meta/deep": ("histogram", "[" * 100_000 + "]" * 100_000, "step 0"),
    "meta/types": (
        "histogram",
        json.dumps({"total": "many", "mean": [1], "nonfinite": {"a": [1]}, "min": 10**400}),
        "step 0",
    ),
    "meta/nan": ("histogram", '{"total": NaN, "max": Infinity}', "step 0"),
    "meta/caption": ("image", json.dumps({"caption": {"a": [1]}, "width": "x"}), "step 0"),
}


def media_object(kind: str) -> Any:
    if kind == "image":
        return tracker.Image(np.zeros((8, 8, 3), np.uint8))
    if kind == "table":
        return tracker.Table(columns=["a"], rows=[["x"]])
    if kind == "histogram":
        return tracker.Histogram(np.arange(100.0))
    return tracker.ConfusionMatrix([0, 1], [0, 1], labels=["a", "b"])


def hostile_database(db: Path) -> None:
    run = tracker.init(db=db, name="hostile", quiet=True, console=False)
    run.log({key: media_object(kind) for key, (kind, _, _) in {**CASES, **HOSTILE_META}.items()})
    run.finish()
    conn = sqlite3.connect(db)
    for key, (_, data, _) in CASES.items():
        conn.execute("UPDATE media SET data = ? WHERE key = ?", (data, key))
    for key, (_, meta, _) in HOSTILE_META.items():
        conn.execute("UPDATE media SET meta = ? WHERE key = ?", (meta, key))
    conn.commit()
    conn.close()


def test_hostile_media_decode_to_a_reason_before_any_pixel_is_decoded() -> None:
    from PIL import Image as PILImage

    assert len(BOMB) < 64_000  # a small file that Pillow's own check refuses outright
    with pytest.raises(PILImage.DecompressionBombError):
        PILImage.open(io.BytesIO(BOMB))
    wrong = {}
    for key, (kind, data, reason) in CASES.items():
        decoded = decode_for_display(kind, data)
        if not isinstance(decoded, Unreadable) or reason not in decoded.reason:
            wrong[key] = decoded
    assert not wrong


async def test_every_hostile_media_row_is_a_message_in_its_tile(tmp_path: Path) -> None:
    db = tmp_path / "hostile.db"
    hostile_database(db)
    expected = {key: reason for key, (_, _, reason) in {**CASES, **HOSTILE_META}.items()}
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: len(app.model.runs) == 1, what="run")
        pane: MediaPane = await press_into_media(pilot, app)
        await wait_until(pilot, lambda: len(pane._keys) == len(expected), what="media keys")
        seen = []
        for index, key in enumerate(pane._keys):

            def selected(key: str = key) -> bool:
                return pane.key == key

            def shown(key: str = key) -> bool:
                return expected[key] in _view_text(pane)

            await wait_until(pilot, selected, what=f"key {key}")
            await wait_until(pilot, shown, what=f"{key}: {expected[key]!r} in its tile")
            assert app.is_running
            seen.append(key)
            if index + 1 < len(pane._keys):
                await pilot.press("down")
        assert sorted(seen) == sorted(expected)
        assert app.is_running
