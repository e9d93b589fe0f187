"""The source formats by name: each reads its whole file into a `Source` or raises BadInput.

Isso's reader opens a SQLite file, which only an adapter may (server/adapters/isso_file.py): the
composition root hands it in.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from server.importing import disqus, livethread, remark42, wxr
from server.importing.ports import Format, Source

Reader = Callable[[Path], Source]


def read(format: Format, path: Path, isso: Reader) -> Source:
    readers: dict[Format, Reader] = {
        "disqus": disqus.read,
        "wxr": wxr.read,
        "isso": isso,
        "remark42": remark42.read,
        "livethread": livethread.read,
    }
    return readers[format](path)
