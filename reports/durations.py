"""How a review delay reads: minutes under an hour ("25 min", not "0.4"), hours to a tenth above."""

from __future__ import annotations

__all__ = ["duration_text", "hours_cell"]


def duration_text(hours: float) -> str:
    """"25 min" under an hour, else "16.0 h" (charts, alt text, headline)."""
    if hours < 1:
        return f"{round(hours * 60)} min"
    return f"{hours:.1f} h"


def hours_cell(hours: float) -> str:
    """A cell of an hours column: "25 min" under an hour, else the hours ("16.0") its heading names."""
    return duration_text(hours) if hours < 1 else f"{hours:.1f}"
