"""The shape of a report, independent of its format.

weekly.py and quarterly.py build a `Report` from the warehouse; render.py turns the same
`Report` into Markdown and into a self-contained HTML page, so the two files always say the
same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Paragraph:
    text: str  # may use **bold** and `code`


@dataclass
class Bullets:
    items: list[str]
    empty: str = "None."


@dataclass
class Table:
    columns: list[str]
    rows: list[list]
    empty: str = "None."


@dataclass
class BarChart:
    """Bars for a time series (vertical) or a ranking (horizontal). Embedded as inline SVG in
    HTML and drawn with block characters in Markdown."""

    title: str
    labels: list[str]
    values: list[float]
    highlight: set[int] = field(default_factory=set)  # indexes drawn in the accent colour
    horizontal: bool = False
    unit: str = ""


Block = Paragraph | Bullets | Table | BarChart


@dataclass
class Section:
    title: str
    blocks: list[Block]
    # One line for chat delivery: what this section says in a sentence.
    headline: str | None = None


@dataclass
class Report:
    kind: str  # weekly | quarterly
    period: str  # 2026-W14 | 2026-Q2
    title: str
    subtitle: str
    highlights: list[str]
    sections: list[Section]

    @property
    def file_stem(self) -> str:
        return f"{self.kind}-{self.period}"
