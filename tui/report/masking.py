"""Credentials kept out of the report: every string the page shows passes through
:func:`mask_secrets` (the environment's ``finalize`` and the script's JSON block).

A report is made to be shared, and runs store what they were given: a training script that
saves its whole argparse namespace as the config saves ``--db postgresql://user:pw@host/db``
with it. The masking is the project's own (:func:`tracker.db.target.mask_url`, which also masks
libpq's ``password=``), applied to each URL inside a longer text, not only to a text that is
one URL; a ``user:password@host`` without a scheme is masked too.
"""

from __future__ import annotations

import re

from tracker.db.target import MASK, mask_url

# A URL with a scheme up to the next blank or quote: its user:password@ is masked (up to the
# last @ of the token, masking too much rather than too little).
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>]+")
# A secret key=value outside any URL (libpq conninfo, or a query string pasted alone).
_SECRET_PAIR = re.compile(r"\b(password|sslpassword|passfile)(\s*=\s*)", re.I)
# user:password@host written without a scheme (a host setting, say).
_USERINFO = re.compile(r"(?<![\w:/])([A-Za-z0-9_.\-]+):[^\s@/:*]+@(?=[A-Za-z0-9\[])")


def mask_secrets(text: str) -> str:
    """``text`` with every URL's password, every ``user:password@`` and every
    ``password=`` value replaced by ``***``."""
    if "@" in text:
        text = _USERINFO.sub(lambda m: f"{m.group(1)}:{MASK}@", text)
    if "://" in text:
        text = _URL.sub(lambda m: mask_url(m.group(0)), text)
    if _SECRET_PAIR.search(text):
        text = _mask_pairs(text)
    return text


def _mask_pairs(text: str) -> str:
    # mask_url on a text without a scheme masks conninfo's password=; done piece by piece
    # around URLs (already masked), so that a text starting with a URL is not read as one.
    pieces = _URL.split(text)
    urls = _URL.findall(text)
    out = [mask_url(" " + pieces[0])[1:]]
    for url, piece in zip(urls, pieces[1:], strict=True):
        out += [url, mask_url(" " + piece)[1:]]
    return "".join(out)
