"""Training curves: the loss and the held-out accuracy, drawn as training goes (notebook 06)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

# Steps averaged for the smoothed loss line: one batch's loss is noisy.
SMOOTHING = 20


def smoothed(values: Sequence[float], window: int = SMOOTHING) -> np.ndarray:
    """The running mean of ``values`` over the last ``window`` (fewer at the start)."""
    values = np.asarray(values, np.float64)
    sums = np.cumsum(np.insert(values, 0, 0.0))
    starts = np.maximum(0, np.arange(1, len(values) + 1) - window)
    return (sums[1:] - sums[starts]) / (np.arange(1, len(values) + 1) - starts)


def plot_history(histories: dict | Sequence[dict], axes=None):
    """Draw training runs' loss (left) and held-out accuracy (right), one line per run.

    Parameters
    ----------
    histories : list of history rows (one run), or {label: rows} for several runs
        The rows :func:`train_clip` and its siblings return: ``{'step', 'loss'[,
        'zero_shot' or 'accuracy']}``.
    axes : pair of matplotlib Axes, optional
        Where to draw; default a new figure (not shown by pyplot: display it, or
        use the returned axes' ``figure``).

    Returns
    -------
    (Axes, Axes)
    """
    if axes is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 3.2), layout="constrained")
        axes = fig.subplots(1, 2)
    runs = histories if isinstance(histories, dict) else {"": histories}
    loss_ax, acc_ax = axes
    for ax in axes:
        ax.clear()
    for label, rows in runs.items():
        steps = [r["step"] for r in rows]
        losses = [r["loss"] for r in rows]
        line, = loss_ax.plot(steps, smoothed(losses), label=label or None)
        loss_ax.plot(steps, losses, alpha=0.2, lw=0.8, color=line.get_color())
        key = "zero_shot" if any("zero_shot" in r for r in rows) else "accuracy"
        measured = [(r["step"], r[key]) for r in rows if key in r]
        if measured:
            acc_ax.plot(*zip(*measured), "o-", color=line.get_color(), label=label or None)
    loss_ax.set(xlabel="step", ylabel="loss", title=f"training loss (mean of {SMOOTHING} steps)")
    acc_ax.set(xlabel="step", ylabel="top-1 on fresh scenes", ylim=(0, 1),
               title="held-out accuracy")
    acc_ax.axhline(0.1, ls=":", c="grey")
    acc_ax.annotate("guessing", (0, 0.1), xytext=(2, 3), textcoords="offset points",
                    color="grey", fontsize=8)
    if len(runs) > 1:
        loss_ax.legend(fontsize=8)
        acc_ax.legend(fontsize=8)
    return loss_ax, acc_ax


class TrainingCurves:
    """A progress callback that redraws the curves in the notebook as training goes.

    Pass it as ``progress_callback``: every held-out evaluation (and every
    ``every`` steps) it redraws the loss and the accuracy in one output, which it
    updates in place. ``history`` holds the rows it has seen.

    Parameters
    ----------
    every : int
        Also redraw every so many steps between evaluations.
    echo : bool
        Also print each evaluation as a line (step, loss, accuracy, seconds).
    """

    def __init__(self, every: int = 50, echo: bool = True):
        import time

        self.every, self.echo = every, echo
        self.history: list[dict] = []
        self._handle = None
        self._axes = None
        self._start = time.perf_counter()

    def __call__(self, row: dict) -> None:
        import time

        self.history.append(row)
        evaluated = "zero_shot" in row or "accuracy" in row
        if self.echo and evaluated:
            if len(self.history) == 1 or not any("zero_shot" in r or "accuracy" in r
                                                 for r in self.history[:-1]):
                print(" step    loss  accuracy   time")
            acc = row.get("zero_shot", row.get("accuracy"))
            print(f"{row['step']:>5}  {row['loss']:6.3f}  {acc:8.1%}  "
                  f"{time.perf_counter() - self._start:5.0f} s", flush=True)
        if evaluated or row["step"] % self.every == 0:
            self.draw()

    def draw(self) -> None:
        """Redraw the curves from the rows seen so far."""
        import io

        from IPython.display import Image, display

        self._axes = plot_history(self.history, self._axes)
        # A PNG of our own: a bare Figure displays as text unless pyplot's inline backend
        # happens to be set up, and the update in place must show the same picture type.
        buf = io.BytesIO()
        self._axes[0].figure.savefig(buf, format="png", dpi=80)
        picture = Image(data=buf.getvalue(), format="png")
        if self._handle is None:
            self._handle = display(picture, display_id=True)
        else:
            self._handle.update(picture)
