"""A moment (a UTC timestamp) as each language writes a date and time in a message.

Written with the catalogs' month names and their "date.moment" pattern rather than with a
locale (`strftime` follows the process's one locale, and Babel's CLDR data costs megabytes per
process): the messages need one format, day month year and a 24-hour time, always in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

from server.language.catalogs import template


def moment(timestamp: float, lang: str) -> str:
    """`timestamp` as `lang` writes it: in English "5 Dec 2026, 14:30 UTC"."""
    at = datetime.fromtimestamp(timestamp, UTC)
    return template("date.moment", lang).format_map(
        {
            "day": str(at.day),
            "month": template(f"month.{at.month}", lang),
            "year": str(at.year),
            "time": f"{at:%H:%M}",
        }
    )
