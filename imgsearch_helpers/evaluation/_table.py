"""Private: ScoreTable, named rows of numbers that print as a table and plot with matplotlib."""

from __future__ import annotations

import html
from typing import Iterable, Mapping, Sequence

import numpy as np


class ScoreTable:
    """Named rows of numbers (one row per model) that print as a table and plot with matplotlib.

    Cells may also be text (a source, a note) or None (printed "-").

    Parameters
    ----------
    rows : mapping of row name -> {column: value}
    title : str
    notes : list of str
        Shown under the table.
    """

    def __init__(
        self,
        rows: Mapping[str, Mapping[str, object]] | None = None,
        title: str = "",
        notes: Iterable[str] = (),
    ):
        self.rows: dict[str, dict[str, object]] = {k: dict(v) for k, v in (rows or {}).items()}
        self.title, self.notes = title, list(notes)

    @property
    def columns(self) -> list[str]:
        """Every column of any row, in the order first seen."""
        return list(dict.fromkeys(c for row in self.rows.values() for c in row))

    def __getitem__(self, row: str) -> dict:
        return self.rows[row]

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, name: str, values: Mapping[str, object]) -> "ScoreTable":
        """Add (or extend) the row ``name``; returns the table, so calls can be chained."""
        self.rows.setdefault(name, {}).update(values)
        return self

    def extend(self, other: "ScoreTable") -> "ScoreTable":
        """Add every row of ``other`` (its cells win); keeps this table's title."""
        for name, values in other.rows.items():
            self.add(name, values)
        self.notes += [n for n in other.notes if n not in self.notes]
        self.title = self.title or other.title
        return self

    def column(self, name: str) -> list:
        """One column's values, in row order (None where a row has none)."""
        return [row.get(name) for row in self.rows.values()]

    @staticmethod
    def _cell(value) -> str:
        if value is None:
            return "-"
        if isinstance(value, (bool, np.bool_)):
            return "yes" if value else "no"
        if isinstance(value, (int, np.integer)):
            return f"{value:,}"
        if isinstance(value, (float, np.floating)):
            if not np.isfinite(value):
                return "-"
            if abs(value) >= 1000:
                return f"{value:,.0f}"
            return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
        return str(value)

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        header = [""] + self.columns
        body = [
            [name] + [self._cell(row.get(c)) for c in self.columns]
            for name, row in self.rows.items()
        ]
        return header, body

    def __str__(self) -> str:
        header, body = self._cells()
        widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]

        def line(cells):
            return "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
            )

        out = ([self.title] if self.title else []) + [line(header), line(["-" * w for w in widths])]
        out += [line(r) for r in body] + [f"  note: {n}" for n in self.notes]
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        header, body = self._cells()
        esc = html.escape
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td style='text-align:{'left' if i == 0 else 'right'}'>{esc(c)}</td>"
                for i, c in enumerate(r)
            )
            + "</tr>"
            for r in body
        )
        notes = "".join(f"<br><small>note: {esc(n)}</small>" for n in self.notes)
        caption = (
            f"<caption style='text-align:left'>{esc(self.title)}</caption>" if self.title else ""
        )
        return (
            f"<table>{caption}<thead><tr>{''.join(f'<th>{esc(h)}</th>' for h in header)}</tr>"
            f"</thead><tbody>{rows}</tbody></table>{notes}"
        )

    def _numeric(self, columns) -> list[str]:
        cols = (
            list(columns)
            if columns is not None
            else [
                c
                for c in self.columns
                if all(
                    isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                    for v in self.column(c)
                    if v is not None
                )
            ]
        )
        if not cols:
            raise ValueError("no numeric column to plot")
        return cols

    def plot(self, columns: Sequence[str] | None = None, ax=None):
        """A grouped bar chart: one group per column, one bar per row.

        Parameters
        ----------
        columns : sequence of str, optional
            Default: every column whose values are all numbers.
        ax : matplotlib Axes, optional

        Returns
        -------
        matplotlib Axes
        """
        import matplotlib.pyplot as plt

        cols = self._numeric(columns)
        ax = ax if ax is not None else plt.subplots(figsize=(max(6, 1.2 * len(cols)), 3.5))[1]
        width = 0.8 / max(1, len(self.rows))
        x = np.arange(len(cols))
        for i, (name, row) in enumerate(self.rows.items()):
            values = [np.nan if row.get(c) is None else float(row[c]) for c in cols]
            ax.bar(x + (i - (len(self.rows) - 1) / 2) * width, values, width, label=name)
        ax.set_xticks(x, cols, rotation=30, ha="right")
        ax.set_title(self.title)
        # Beside the bars, not over them: scores near 1.0 fill the whole height.
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.figure.tight_layout()
        return ax

    def scatter(self, x: str, y: str, ax=None, logx: bool | None = None, ylim=None):
        """One labelled point per row: column ``x`` against column ``y`` (e.g. speed and quality).

        Rows without a number in both columns are left out.

        Parameters
        ----------
        x, y : str
            Column names.
        ax : matplotlib Axes, optional
        logx : bool, optional
            A logarithmic x axis; default: when the x values span more than a factor of 10.
        ylim : (low, high), optional
            Default: (0, 1.05) when every y value lies between 0 and 1 (a score), so that
            small differences are not blown up to fill the plot.

        Returns
        -------
        matplotlib Axes
        """
        import matplotlib.pyplot as plt

        ax = ax if ax is not None else plt.subplots(figsize=(6.5, 4))[1]
        points = {
            name: (float(row[x]), float(row[y]))
            for name, row in self.rows.items()
            if all(
                isinstance(row.get(c), (int, float, np.number)) and not isinstance(row.get(c), bool)
                for c in (x, y)
            )
        }
        if not points:
            raise ValueError(f"no row has numbers in both {x!r} and {y!r}")
        for i, (name, (px, py)) in enumerate(sorted(points.items(), key=lambda item: item[1])):
            ax.scatter(px, py, s=40)
            # Alternate above and below, so that the names of close points do not overlap.
            ax.annotate(
                name,
                (px, py),
                textcoords="offset points",
                xytext=(6, 5 if i % 2 else -11),
                fontsize="small",
            )
        xs, ys = [p[0] for p in points.values()], [p[1] for p in points.values()]
        if logx is None:
            logx = min(xs) > 0 and max(xs) / min(xs) > 10
        if logx:
            ax.set_xscale("log")
            ax.set_xlim(min(xs) / 2, max(xs) * 6)  # room for the names right of the points
        elif min(xs) >= 0:
            ax.set_xlim(0, max(xs) * 1.6)  # from zero: 640 and 660 images/s are alike
        if ylim is None and min(ys) >= 0 and max(ys) <= 1:
            ylim = (0, 1.05)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_title(self.title)
        ax.grid(alpha=0.3)
        return ax
