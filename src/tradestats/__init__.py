"""tradestats: a self-hosted trading stats dashboard (trade journal + options earnings screener)."""

__version__ = "0.1.0"
