""" "Best": the rule that ranks top-level comments by likes, the server's copy of the widget's.

client-js/src/order.js has the same rule for the widget's own sorting; the two must agree (a
page fetched in "best" order is shown as is), and tests/test_snapshot_pages.py runs both on the
same cases. Times are whole milliseconds, as Date.parse gives them, so the floats match too.
"""

from __future__ import annotations

HOUR_MS = 3_600_000


def best(likes: int, created_ms: int, now_ms: int) -> float:
    """(likes + 1) / (hours since posted + 2): likes per hour of exposure with a prior, so what
    came early does not win for having had the most hours, and a new comment with no likes
    ranks neither as high nor as low as a proven one."""
    hours = max(0, now_ms - created_ms) / HOUR_MS
    return (likes + 1) / (hours + 2)
