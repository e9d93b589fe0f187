"""livethread: self-hosted, real-time comment threads for article pages."""

__version__ = "0.1.0"
