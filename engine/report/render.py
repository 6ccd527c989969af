"""Tables and the accuracy chart, the pieces every report is drawn with (terminal and markdown tables,
a bar chart written as PNG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def text_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A plain aligned table for the terminal (numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(_is_number(r[i]) for r in cells[1:]) for i in range(len(headers))]

    def line(r):
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(r, widths, numeric)).rstrip()

    return "\n".join([line(cells[0]), line(["-" * w for w in widths])] + [line(r) for r in cells[1:]])


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    def esc(c) -> str:
        return str(c).replace("|", "\\|")

    out = ["| " + " | ".join(esc(h) for h in headers) + " |",
           "|" + "|".join("---:" if all(_is_number(r[i]) for r in rows) and rows else "---"
                          for i in range(len(headers))) + "|"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _is_number(text) -> bool:
    try:
        float(str(text).rstrip("%").lstrip("+"))
        return True
    except ValueError:
        return False


def bar_chart(path: str | Path, methods: Sequence[str], p_at_1: Sequence[float], mrr: Sequence[float], *,
              title: str = "Accuracy by prompt selection method", series: Sequence[str] = ("P@1", "MRR")) -> Path:
    """A grouped bar chart (P@1 and MRR, in %) per method, written as PNG with the Agg backend
    (no display needed); written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from promptmine.core.io import atomic_write

    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(methods) + 2), 4.2), dpi=110)
    xs = range(len(methods))
    w = 0.38
    b1 = ax.bar([x - w / 2 for x in xs], [100 * v for v in p_at_1], w, label=series[0], color="#3b6ea5")
    b2 = ax.bar([x + w / 2 for x in xs], [100 * v for v in mrr], w, label=series[1], color="#e39b3a")
    for bars in (b1, b2):
        ax.bar_label(bars, fmt="%.1f", fontsize=8, padding=2)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(methods, rotation=20, ha="right", fontsize=9)
    ax.set_ylabel("%")
    top = max([100 * v for v in list(p_at_1) + list(mrr)] + [1.0])
    ax.set_ylim(0, min(100.0, top * 1.2 + 2))
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return path
