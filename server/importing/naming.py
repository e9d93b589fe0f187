"""Which of our threads a source's thread goes into.

In order: the `--map` file's entry for the source thread's id or its URL; our own id (an export
of ours); the last segment of the URL's path (a CMS's slug: `https://news.example/2024/05/
nato-visit/` gives `nato-visit`); the source's own id. Characters a thread id may not hold
(anything but `A-Z a-z 0-9 . _ : -`) become `-`. A `--map` file is CSV (`source,thread` a line,
`#` comments) or a JSON object `{"source id or URL": "thread id"}`.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from server.importing.ports import BadInput, SourceThread
from server.validation import ID_MAX, RequestError, validate_ids

_NOT_ID = re.compile(r"[^A-Za-z0-9._:\-]+")


def cleaned(raw: str) -> str:
    return _NOT_ID.sub("-", raw).strip("-.")[:ID_MAX]


def slug(url: str) -> str:
    """The last non-empty segment of a URL's (or a bare path's) path, as a thread id."""
    path = urlsplit(url.strip()).path if url.strip() else ""
    segments = [s for s in path.split("/") if s]
    return cleaned(segments[-1]) if segments else ""


def read_map(path: Path) -> dict[str, str]:
    """The `--map` file: source thread id or URL -> our thread id."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read the map: {exc}") from None
    if text.lstrip().startswith("{"):
        try:
            return msgspec.json.decode(text, type=dict[str, str])
        except msgspec.DecodeError as exc:
            raise BadInput(f"{path}: not a JSON object of strings: {exc}") from None
    found: dict[str, str] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) != 2:
            raise BadInput(f"{path}: line {number}: want `source,thread`, got {len(row)} fields")
        found[row[0].strip()] = row[1].strip()
    return found


def thread_id(site: str, thread: SourceThread, mapping: dict[str, str]) -> str | None:
    """Our id for the source thread (see the module's docstring); None if none is valid."""
    mapped = mapping.get(thread.id) or (mapping.get(thread.url) if thread.url else None)
    for candidate in (mapped, thread.ours, slug(thread.url), cleaned(thread.id)):
        if not candidate:
            continue
        try:
            return validate_ids(site, candidate).thread
        except RequestError:
            if candidate is mapped:
                return None  # a bad --map entry is not silently replaced by a guess
    return None
