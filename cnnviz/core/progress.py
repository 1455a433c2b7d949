"""Keras-style progress lines for the command line (the metrics by their keys, as
Keras writes them, in every language)."""

from __future__ import annotations

from cnnviz.core.i18n import tr

BAR_WIDTH = 30


def progress_bar(done: int, total: int) -> str:
    """[=========>....................] like Keras' Progbar."""
    if total <= 0:
        return "[" + "=" * BAR_WIDTH + "]"
    filled = int(BAR_WIDTH * done / total)
    if done >= total:
        return "[" + "=" * BAR_WIDTH + "]"
    return "[" + "=" * filled + ">" + "." * (BAR_WIDTH - filled - 1) + "]"


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if seconds >= 60:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds}s"


def epoch_line(done: int, total: int, seconds: float, metrics: dict[str, float | None],
               eta: float | None = None) -> str:
    """'140/140 [=====] - 3s 21ms/step - loss: 0.4120 - accuracy: 0.8531 - ...'."""
    width = len(str(total))
    parts = [f"{done:>{width}}/{total} {progress_bar(done, total)}"]
    if eta is not None and done < total:
        parts.append(tr("ETA: {time}", time=format_duration(eta)))
    else:
        per_step = seconds / done * 1000 if done else 0.0
        parts.append(f"{format_duration(seconds)} {per_step:.0f}ms/step")
    parts += [f"{name}: {value:.4f}" for name, value in metrics.items() if value is not None]
    return " - ".join(parts)
