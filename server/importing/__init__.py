"""Bringing comments in from other systems and taking a site's out (`livethread import`,
`livethread export`): a reader per source format (disqus.py, wxr.py, isso.py, remark42.py,
ours in livethread.py) into one neutral shape (records.py), the writing of that shape through the
store with its events (writing.py), the export (exporting.py), the ports that remember which
source comment became which of ours and each import's run (ports.py), and the recording of a
run's progress and summary for the admin page (runs.py).
"""

__all__ = ["exporting", "formats", "naming", "ports", "runs", "writing"]
