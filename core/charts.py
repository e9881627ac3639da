"""Small server-rendered SVG charts (no JavaScript or CDN needed), accessible with a title and a table."""

from dataclasses import dataclass
from html import escape

LEGEND_LINE = 16
PALETTE = ("#2d5bd1", "#d1462d", "#1f9d55", "#9b51e0", "#d19b2d", "#2db3d1", "#555")


@dataclass(frozen=True)
class Series:
    label: str
    points: list[tuple[float, float]]


def line_chart_svg(
    *, title: str, series: list[Series], x_label: str, y_label: str, width: int = 640, height: int = 280
) -> str:
    """A multi-series line chart; returns an <svg> string (empty-state text when there is no data). The legend
    sits under the plot, one line per series, so that many series never cover the lines."""
    points = [point for item in series for point in item.points]
    if not points:
        return f'<p class="empty">{escape(title)}: no data yet.</p>'
    left, right, top, bottom = 64, 16, 28, 40
    plot_bottom = height - bottom
    height += LEGEND_LINE * len(series) + 8
    xs, ys = [x for x, _ in points], [y for _, y in points]
    x_min, x_max = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y_min, y_max = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1

    def sx(x: float) -> float:
        return left + (x - x_min) / (x_max - x_min) * (width - left - right)

    def sy(y: float) -> float:
        return plot_bottom - (y - y_min) / (y_max - y_min) * (plot_bottom - top)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="18" font-weight="600">{escape(title)}</text>',
        f'<line x1="{left}" y1="{plot_bottom}" x2="{width - right}" y2="{plot_bottom}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{plot_bottom}" stroke="#999"/>',
        f'<text x="{(width + left) / 2}" y="{plot_bottom + 34}" text-anchor="middle" font-size="12">'
        f"{escape(x_label)}</text>",
        f'<text x="12" y="{plot_bottom / 2}" font-size="12" transform="rotate(-90 12 {plot_bottom / 2})" '
        f'text-anchor="middle">{escape(y_label)}</text>',
    ]
    for value in (y_min, (y_min + y_max) / 2, y_max):
        parts.append(
            f'<text x="{left - 6}" y="{sy(value) + 4:.1f}" text-anchor="end" font-size="11">'
            f"{value:.3g}</text>"
        )
    for value in (x_min, x_max):
        parts.append(
            f'<text x="{sx(value):.1f}" y="{plot_bottom + 14}" text-anchor="middle" '
            f'font-size="11">{value:g}</text>'
        )
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in item.points)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>')
        if len(item.points) == 1:  # a line needs two points; one is drawn as a dot
            ((x, y),) = item.points
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"/>')
        legend_y = plot_bottom + 34 + LEGEND_LINE * (index + 1)
        parts.append(
            f'<rect x="{left}" y="{legend_y - 9}" width="12" height="3" fill="{colour}"/>'
            f'<text x="{left + 18}" y="{legend_y}" font-size="12" fill="{colour}">{escape(item.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
