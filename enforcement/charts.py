"""The standing chart: per month, the share supported and the share reversed by counter-notice, for each
reason code and overall, with IPP's thresholds drawn. Matplotlib draws it as SVG text that the report embeds,
so the page needs no network and no script.
"""

from __future__ import annotations

import io

from contract import Reason
from enforcement.standing import MAX_COUNTER, MIN_SUCCESS, OVERALL, Standing

COLOURS = {Reason.COUNTERFEIT: "#c0392b", Reason.TRADEMARK_MISUSE: "#2e86c1", Reason.STOLEN_IMAGE: "#8e44ad",
           OVERALL: "#222222"}


def standing_chart_svg(standing: Standing) -> str:
    """An SVG document (a string), or "" when there is no decided complaint to draw."""
    points = [p for p in standing.months if p["success_rate"] is not None]
    if not points:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    months = sorted({p["month"] for p in points})
    reasons = sorted({p["reason"] for p in points}, key=lambda r: (r == OVERALL, r))
    figure, (supported, reversed_) = plt.subplots(1, 2, figsize=(9, 3.2), dpi=100)
    for reason in reasons:
        series = {p["month"]: p for p in points if p["reason"] == reason}
        xs = [m for m in months if m in series]
        style = {"color": COLOURS.get(reason, "#7f8c8d"), "marker": "o", "label": reason.replace("_", " "),
                 "linewidth": 2.5 if reason == OVERALL else 1.5}
        supported.plot(xs, [series[m]["success_rate"] * 100 for m in xs], **style)
        reversed_.plot(xs, [(series[m]["counter_notice_rate"] or 0) * 100 for m in xs], **style)
    supported.axhline(MIN_SUCCESS * 100, color="#e67e22", linestyle="--", linewidth=1.2,
                      label=f"IPP minimum {MIN_SUCCESS * 100:.0f} %")
    reversed_.axhline(MAX_COUNTER * 100, color="#e67e22", linestyle="--", linewidth=1.2,
                      label=f"IPP maximum {MAX_COUNTER * 100:.0f} %")
    supported.set_title("complaints supported (%)", fontsize=10)
    reversed_.set_title("takedowns reversed by counter-notice (%)", fontsize=10)
    supported.set_ylim(min(50.0, min(p["success_rate"] * 100 for p in points) - 5), 101)
    reversed_.set_ylim(0, max(10.0, max((p["counter_notice_rate"] or 0) * 100 for p in points) + 2))
    for axes in (supported, reversed_):
        axes.grid(alpha=0.3)
        axes.tick_params(labelsize=8)
        axes.legend(fontsize=7, loc="lower left" if axes is supported else "upper left")
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]  # drop the XML prolog and doctype: it is embedded in a page
