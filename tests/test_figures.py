"""Figures fit for a paper: with 16 configurations no two text labels overlap and every label
lies inside the figure; ticks read 2.2M; configurations are named by what differs; colour by
backbone, marker by fine-tune strategy; the selected one is drawn apart; the Δ heat-map."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from bakeoff.results import plots

BACKBONES = {"mobilenetv2": 3.4e6, "efficientnet_lite0": 4.7e6, "tiny_a": 2.2e6, "tiny_b": 2.5e6}
STRATEGIES = ("full", "linear_probe")
LRS = ("1e-3", "3e-4")


def sixteen_configs() -> tuple[pd.DataFrame, dict, str]:
    rows, histories = [], {}
    combos = itertools.product(BACKBONES.items(), STRATEGIES, LRS)
    for i, ((model, params), strategy, lr) in enumerate(combos):
        label = f"model={model} finetune={strategy} optim.lr={lr}"
        score = 0.6 + 0.02 * i
        rows.append(
            {
                "config": label,
                "val/acc_mean": score,
                "val/acc_std": 0.01,
                "test/acc_mean": score - 0.01,
                "test/acc_std": 0.012,
                "params_total": params,
                "fit_s": 30.0 + 7 * i,
            }
        )
        histories[label] = [[{"epoch": e, "val/acc": score - 0.1 / (e + 1)} for e in range(3)]]
    table = pd.DataFrame(rows).sort_values("val/acc_mean", ascending=False)
    return table.reset_index(drop=True), histories, table["config"].iloc[0]


def text_boxes(fig) -> list[tuple[str, object]]:
    """Every non-empty text the figure draws (ticks in view, labels, titles, legends, notes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    texts = []
    for ax in fig.axes:
        # A tick outside the view limits keeps a label object, but it is not drawn.
        view = ax.get_window_extent(renderer)
        for axis, lo, hi in ((ax.xaxis, view.x0, view.x1), (ax.yaxis, view.y0, view.y1)):
            for label in axis.get_ticklabels(which="both"):
                box = label.get_window_extent(renderer)
                centre = (box.x0 + box.x1) / 2 if axis is ax.xaxis else (box.y0 + box.y1) / 2
                if lo - 1 <= centre <= hi + 1:
                    texts.append(label)
            texts.append(axis.label)
        texts += [ax.title, *ax.texts]
    for legend in fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
        texts += [*legend.get_texts(), legend.get_title()]
    return [
        (t.get_text(), t.get_window_extent(renderer))
        for t in texts
        if t.get_visible() and t.get_text().strip()
    ]


def assert_readable(fig) -> list[str]:
    boxes = text_boxes(fig)
    frame = fig.bbox
    for text, box in boxes:
        assert frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1, f"{text!r} leaves the figure"
        assert frame.y0 - 1 <= box.y0 and box.y1 <= frame.y1 + 1, f"{text!r} leaves the figure"
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        overlap_x = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        overlap_y = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        assert overlap_x <= 0.5 or overlap_y <= 0.5, f"{a!r} overlaps {b!r}"
    return [text for text, _ in boxes]


def test_sixteen_configurations_draw_without_overlapping_or_spilling_labels():
    table, histories, best = sixteen_configs()
    styles = {c: (c.split()[0][6:], c.split()[1][9:]) for c in table["config"]}
    figures = plots.all_figures(table, histories, "val/acc", best, styles)
    assert set(figures) == {
        "metric_by_config",
        "quality_vs_params",
        "quality_vs_fit_time",
        "learning_curves",
    }
    for name, fig in figures.items():
        texts = assert_readable(fig)
        # short labels: the values of the overrides that differ, the selected one starred
        assert f"★ {plots.short_label(best)}" in texts, name
        assert not any("model=" in t for t in texts), name


def test_parameter_ticks_read_like_2_2M_and_colour_and_marker_follow_backbone_and_strategy():
    table, histories, best = sixteen_configs()
    fig = plots.quality_vs_figure(table, "val/acc", "params_total", "parameters", best, log_x=True)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks and all(t.endswith("M") for t in ticks if t)
    assert fig.axes[0].get_xscale() == "linear"  # 2.2M-4.7M is less than a decade
    legend = [t.get_text() for t in fig.legends[0].texts]
    # each configuration's point: its errorbar container's data line, by its legend label
    style = {c.get_label(): c.lines[0] for c in fig.axes[0].containers}
    assert sorted(style) == sorted(legend) and len(style) == 16
    a, b = "mobilenetv2 · full · 1e-3", "mobilenetv2 · linear_probe · 1e-3"
    c = "tiny_a · full · 1e-3"
    assert style[a].get_color() == style[b].get_color() != style[c].get_color()
    assert style[a].get_marker() == style[c].get_marker() != style[b].get_marker()
    assert style[f"★ {plots.short_label(best)}"].get_markersize() > style[c].get_markersize()


def test_a_wide_parameter_range_gets_a_log_axis_with_si_ticks():
    table, histories, best = sixteen_configs()
    table["params_total"] = [1e6 * 10 ** (i % 4) for i in range(len(table))]
    fig = plots.quality_vs_figure(table, "val/acc", "params_total", "parameters", best, log_x=True)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert_readable(fig)
    assert {t.get_text() for t in ax.get_xticklabels() if t.get_text()} <= {
        "100k",
        "1M",
        "10M",
        "100M",
        "1G",
        "10G",
    }


@pytest.mark.parametrize(("value", "text"), [(2.2e6, "2.2M"), (3.45e9, "3.45G"), (512, "512")])
def test_si_tick_format(value, text):
    assert plots.si(value) == text


def test_delta_heatmap_is_readable():
    columns = [f"{t} acc dev" for t in ("CoLA", "SST-2", "MRPC", "MNLI-mm", "QNLI", "RTE", "QQP")]
    matrix = pd.DataFrame(
        [[(r - 2) * 1.5 + c * 0.3 for c in range(len(columns))] for r in range(4)],
        index=["bert-base-cased", "roberta.base", "BERT-base-uncased", "DistilBERT-base-uncased"],
        columns=columns,
    )
    fig = plots.delta_heatmap_figure(matrix)
    texts = assert_readable(fig)
    assert "-3.0" in texts and "+3.3" in texts  # Δ written in its cell


# -- one comparison, one look: colours, markers, legends, epochs, spread labels ------------------
def strategy_sweep(n: int = 3, epochs: int = 1):
    """minilm full / linear_probe / layer_decay and a tfidf_lr baseline: the labels name only what
    differs (the fine-tune strategy), the records name the backbone."""
    configs = {
        "finetune=full model=minilm": ("minilm", "full", 0.90, 2.2e7),
        "finetune=linear_probe model=minilm": ("minilm", "linear_probe", 0.80, 2.2e7),
        "finetune=layer_decay model=minilm": ("minilm", "layer_decay", 0.88, 2.2e7),
        "model=tfidf_lr": ("tfidf_lr", "", 0.84, None),
    }
    rows, histories, styles = [], {}, {}
    for label, (backbone, strategy, score, params) in configs.items():
        rows.append(
            {
                "config": label,
                "n": n,
                "val/acc_mean": score,
                "val/acc_std": 0.01 if n > 1 else float("nan"),
                "test/acc_mean": score - 0.01,
                "test/acc_std": 0.01 if n > 1 else float("nan"),
                "params_total": params,
                "fit_s": 100 * score,
            }
        )
        # the selected curve equals another one: it must be drawn on top of it
        curve = [{"epoch": e, "val/acc": 0.9} for e in range(epochs)]
        histories[label] = [curve] * n
        styles[label] = (backbone, strategy)
    table = pd.DataFrame(rows).sort_values("val/acc_mean", ascending=False).reset_index(drop=True)
    return table, histories, styles, table["config"].iloc[0]


def drawn_colours(fig) -> dict[str, tuple]:
    """legend text (without ★) -> RGBA of what the figure draws for it."""
    from matplotlib.colors import to_rgba

    ax = fig.axes[0]
    out = {}
    for line in ax.get_lines():
        if not line.get_label().startswith("_"):
            out[line.get_label().lstrip("★ ")] = to_rgba(line.get_color())
    for container in ax.containers:
        label = container.get_label()
        if hasattr(container, "lines") and not label.startswith("_"):
            out[label.lstrip("★ ")] = to_rgba(container.lines[0].get_color())
    return out


def test_a_backbone_has_one_colour_in_every_plot_and_legends_name_backbone_and_strategy():
    table, histories, styles, best = strategy_sweep()
    figures = plots.all_figures(table, histories, "val/acc", best, styles)
    # tfidf_lr has no parameter count: quality_vs_params draws without it, colours do not shift
    seen: dict[str, set] = {}
    for name in ("quality_vs_params", "quality_vs_fit_time", "learning_curves"):
        colours = drawn_colours(figures[name])
        assert "minilm · linear_probe" in colours, (name, colours)  # backbone and strategy
        for label, colour in colours.items():
            seen.setdefault(label.split(" · ")[0], set()).add(colour)
    assert all(len(c) == 1 for c in seen.values()), seen  # one colour per backbone, everywhere
    assert seen["minilm"] != seen["tfidf_lr"]
    # the bars: each configuration's bars in its backbone's colour
    from matplotlib.colors import to_rgba

    bars = figures["metric_by_config"].axes[0].patches
    ticks = [
        t.get_text().lstrip("★ ") for t in figures["metric_by_config"].axes[0].get_yticklabels()
    ]
    for tick, bar in zip(ticks, bars, strict=False):
        assert to_rgba(bar.get_facecolor())[:3] == next(iter(seen[tick.split(" · ")[0]]))[:3]
    # markers follow the strategy
    lines = {
        line.get_label().lstrip("★ "): line
        for line in figures["learning_curves"].axes[0].get_lines()
    }
    assert lines["minilm · full"].get_marker() != lines["minilm · linear_probe"].get_marker()


def test_one_epoch_learning_curves_have_integer_ticks_and_the_selected_curve_on_top():
    table, histories, styles, best = strategy_sweep(epochs=1)
    fig = plots.learning_curves_figure(histories, "val/acc", best, styles)
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    assert low <= -0.4 and high >= 0.4  # not -0.045 .. 0.045
    assert [float(t) for t in ax.get_xticks()] == [0.0]
    selected = next(li for li in ax.get_lines() if li.get_label().startswith("★"))
    assert selected.get_zorder() > max(
        li.get_zorder() for li in ax.get_lines() if li is not selected
    )
    fig = plots.learning_curves_figure(strategy_sweep(epochs=4)[1], "val/acc", best, styles)
    assert [float(t) for t in fig.axes[0].get_xticks()] == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize(("n", "spread"), [(1, False), (3, True)])
def test_mean_std_labels_only_where_there_are_several_runs(n, spread):
    table, histories, styles, best = strategy_sweep(n=n)
    figures = plots.all_figures(table, histories, "val/acc", best, styles)
    labels = [
        t
        for fig in figures.values()
        for ax in fig.axes
        for t in (ax.get_xlabel(), ax.get_ylabel())
        if t
    ]
    assert any("mean" in t for t in labels) == spread, labels
    if spread:
        assert any("mean ± std (n=3)" in t for t in labels), labels
    else:
        assert not any("±" in t for t in labels), labels
