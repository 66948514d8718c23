"""Altair chart builders. Data in, chart out: no queries, no Streamlit calls.

Colours: marks use Vega colour schemes and the axes, labels and gridlines are left to
Streamlit's chart theme (st.altair_chart(theme="streamlit")), which follows the app's light
or dark theme. Nothing here sets a text or background colour, so nothing vanishes on dark.

Sizes: under Streamlit's theme a chart's height includes its axes and legend, so legends sit
on the right (a legend below eats the plot) and quarter labels stay horizontal.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from pipelines.postmortems.policy import POSTMORTEM_DEADLINE_HOURS

LINE_HEIGHT = 320


def _quarter_x() -> alt.X:
    return alt.X("quarter:O", title=None, axis=alt.Axis(labelAngle=0))


def _theme_name_tooltip() -> alt.Tooltip:
    return alt.Tooltip("name:N", title="theme")


def burn_ranking_bars(ranking: pl.DataFrame, top: int = 12) -> alt.Chart:
    """Horizontal bars: the themes that burned us most, worst on top."""
    data = ranking.head(top).with_columns(
        label=pl.col("theme_id") + " · " + pl.col("name").str.slice(0, 60))
    # Shade by SEV1/SEV2 count only when there is one: a legend over [0, 0] reads "0.000000".
    severe = data.height and (data["sev1_sev2"].max() or 0) > 0
    shade = (alt.Color("sev1_sev2:Q", title="SEV1/SEV2", scale=alt.Scale(scheme="orangered"),
                       legend=alt.Legend(format="d", tickMinStep=1))
             if severe else alt.value("#e4572e"))
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("burn_score:Q", title="burn score (severity × customers × duration)"),
        y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=420)),
        color=shade,
        tooltip=[alt.Tooltip("theme_id:N", title="theme id"), _theme_name_tooltip(),
                 alt.Tooltip("burn_score:Q", title="burn score"), alt.Tooltip("incidents:Q"),
                 alt.Tooltip("sev1_sev2:Q", title="SEV1/SEV2"),
                 alt.Tooltip("quarters_present:Q", title="quarters present")],
    ).properties(height=alt.Step(26))


def quarter_theme_heatmap(counts: pl.DataFrame) -> alt.Chart:
    """Quarter × theme: how often each theme recurred, quarter by quarter."""
    data = counts.with_columns(label=pl.col("theme_id") + " · " + pl.col("name").str.slice(0, 50))
    order = data.unique("label", maintain_order=True)["label"].to_list()
    return alt.Chart(data).mark_rect().encode(
        x=_quarter_x(),
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=380)),
        color=alt.Color("incidents:Q", title="incidents", scale=alt.Scale(scheme="oranges")),
        tooltip=[alt.Tooltip("theme_id:N", title="theme id"), _theme_name_tooltip(), "quarter:O", "incidents:Q"],
    ).properties(height=alt.Step(24), width="container")


def theme_trend_lines(counts: pl.DataFrame, top: int = 5) -> alt.Chart:
    """Incidents per quarter for the top themes: are they going away?"""
    keep = counts.unique("theme_id", maintain_order=True)["theme_id"].head(top).to_list()
    data = counts.filter(pl.col("theme_id").is_in(keep)).with_columns(
        label=pl.col("theme_id") + " · " + pl.col("name").str.slice(0, 40))
    return alt.Chart(data).mark_line(point=True).encode(
        x=_quarter_x(),
        y=alt.Y("incidents:Q", title="incidents", axis=alt.Axis(tickMinStep=1)),
        color=alt.Color("label:N", title=None, scale=alt.Scale(scheme="category10"),
                        legend=alt.Legend(labelLimit=320)),
        tooltip=[alt.Tooltip("theme_id:N", title="theme id"), _theme_name_tooltip(), "quarter:O", "incidents:Q"],
    ).properties(height=LINE_HEIGHT)


def detection_resolution_lines(by_quarter: pl.DataFrame) -> alt.Chart:
    """Median hours to detect and to resolve, per quarter."""
    data = by_quarter.unpivot(index="quarter", on=["median_hours_to_detect", "median_hours_to_resolve"],
                              variable_name="measure", value_name="hours").with_columns(
        pl.col("measure").replace({"median_hours_to_detect": "median time to detect",
                                   "median_hours_to_resolve": "median time to resolve"}))
    return alt.Chart(data).mark_line(point=True).encode(
        x=_quarter_x(),
        y=alt.Y("hours:Q", title="hours"),
        color=alt.Color("measure:N", title=None, scale=alt.Scale(scheme="set2")),
        tooltip=["quarter:O", "measure:N", alt.Tooltip("hours:Q", format=".1f")],
    ).properties(height=LINE_HEIGHT)


def response_time_boxplots(by_incident: pl.DataFrame) -> alt.Chart:
    """Hours to detect and to resolve per quarter as box plots (quartiles, whiskers to 1.5 IQR,
    outliers as points): the spread a median hides, one panel per measure. Log scale, because
    one incident can take a hundred times longer than the next."""
    return alt.Chart(by_incident.with_columns(pl.col("hours").clip(lower_bound=0.01))).mark_boxplot(
        extent=1.5, size=24).encode(
        x=_quarter_x(),
        y=alt.Y("hours:Q", title="hours (log scale)", scale=alt.Scale(type="log")),
        color=alt.Color("measure:N", title=None, legend=None, scale=alt.Scale(scheme="set2")),
        tooltip=["quarter:O", "measure:N", "incident_id:N", alt.Tooltip("hours:Q", format=".1f")],
    ).properties(height=LINE_HEIGHT // 2).facet(row=alt.Row("measure:N", title=None))


def category_mix_bars(mix: pl.DataFrame) -> alt.Chart:
    """Share of a theme's items per root-cause category."""
    return alt.Chart(mix).mark_bar().encode(
        x=alt.X("share:Q", title="share of items", axis=alt.Axis(format="%")),
        y=alt.Y("category:N", sort="-x", title=None),
        color=alt.Color("category:N", legend=None, scale=alt.Scale(scheme="tableau10")),
        tooltip=["category:N", alt.Tooltip("share:Q", format=".0%")],
    ).properties(height=alt.Step(28))


def quarterly_bars(by_quarter: pl.DataFrame, value: str = "incidents", title: str = "incidents") -> alt.Chart:
    return alt.Chart(by_quarter).mark_bar().encode(
        x=_quarter_x(),
        y=alt.Y(f"{value}:Q", title=title, axis=alt.Axis(tickMinStep=1)),
        tooltip=["quarter:O", f"{value}:Q"],
    ).properties(height=240)


def categories_by_quarter(counts: pl.DataFrame) -> alt.Chart:
    """Stacked incidents per quarter by root-cause category."""
    return alt.Chart(counts).mark_bar().encode(
        x=_quarter_x(),
        y=alt.Y("incidents:Q", title="incidents with a cause of this category"),
        color=alt.Color("category:N", title=None, scale=alt.Scale(scheme="tableau10")),
        tooltip=["quarter:O", "category:N", "incidents:Q"],
    ).properties(height=LINE_HEIGHT)


def health_lines(health: pl.DataFrame) -> alt.Chart:
    """Average completeness and 72-hour compliance per quarter, both as shares."""
    data = health.unpivot(index="quarter", on=["avg_completeness", "share_within_72h"],
                          variable_name="measure", value_name="share").with_columns(
        pl.col("measure").replace({"avg_completeness": "average completeness",
                                   "share_within_72h": f"published within {POSTMORTEM_DEADLINE_HOURS} h"}))
    return alt.Chart(data).mark_line(point=True).encode(
        x=_quarter_x(),
        y=alt.Y("share:Q", title=None, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("measure:N", title=None, scale=alt.Scale(scheme="set2")),
        tooltip=["quarter:O", "measure:N", alt.Tooltip("share:Q", format=".0%")],
    ).properties(height=LINE_HEIGHT)


def missing_section_bars(missing: pl.DataFrame) -> alt.Chart:
    return alt.Chart(missing).mark_bar().encode(
        x=alt.X("postmortems:Q", title="post-mortems missing it", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("section:N", sort="-x", title=None),
        tooltip=["section:N", "postmortems:Q"],
    ).properties(height=alt.Step(26))
