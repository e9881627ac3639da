"""Geometry for server-rendered SVG bar charts (no JavaScript, no CDN: the template draws the shapes)."""

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
LABEL_WIDTH = 190
VALUE_WIDTH = 120
BAR_HEIGHT = 24
GAP = 10
AXIS_HEIGHT = 24


@dataclass(frozen=True)
class Bar:
    label: str
    text: str
    y: float
    width: float

    @property
    def text_y(self) -> float:
        return round(self.y + BAR_HEIGHT * 0.7, 1)

    @property
    def value_x(self) -> float:
        return round(LABEL_WIDTH + self.width + 6, 1)


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    ticks: list[Tick]
    height: float
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def label_x(self) -> int:
        return LABEL_WIDTH - 8

    @property
    def grid_bottom(self) -> float:
        return self.height - AXIS_HEIGHT

    @property
    def axis_y(self) -> float:
        return self.height - AXIS_HEIGHT + 16


def horizontal_bars(
    *, rows: Sequence[tuple[str, float, str]], max_value: float, ticks: Sequence[float]
) -> BarChart:
    """One bar per (label, value, text shown after the bar), scaled so `max_value` fills the plot."""
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    scale = plot / max_value if max_value > 0 else 0
    bars = [
        Bar(label=label, text=text, y=GAP + index * (BAR_HEIGHT + GAP), width=round(max(value, 0) * scale, 1))
        for index, (label, value, text) in enumerate(rows)
    ]
    height = GAP + len(rows) * (BAR_HEIGHT + GAP) + AXIS_HEIGHT
    tick_marks = [Tick(x=round(LABEL_WIDTH + tick * scale, 1), label=f"{tick:g}") for tick in ticks]
    return BarChart(bars=bars, ticks=tick_marks, height=height)
