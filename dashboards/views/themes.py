"""Themes: one theme in full, from its name to the incidents in it and its history across runs."""

import json

import polars as pl
import streamlit as st

from dashboards import charts, queries, ui
from pipelines.themes.stability import STABLE_JACCARD, caution, is_unstable

version = queries.pinned_version()

st.title("Themes")
if not queries.has_themes(version):
    ui.no_themes()
    st.stop()

options = queries.theme_options(version, ui.theme_set())
if options.height == 0:
    st.info("The theme build found no themes in this warehouse.")
    st.stop()
labels = {row["theme_id"]: f"{row['theme_id']} · {row['name']} ({row['n_incidents']} incidents)"
          for row in options.iter_rows(named=True)}
theme_id = ui.select_in_url("Theme", list(labels), "theme", format_func=labels.get, keep_default_in_url=True,
                            help="Root-cause themes (RC-) and eval-gap themes (EG-), largest first.")
detail = queries.theme(version, theme_id)

st.header(f"{detail['theme_id']} · {detail['name']}")
ui.permalink("theme", theme_id)
naming = "curated name" if detail["name_source"] == "curated" else "name generated from its own causes"
seen = (f"first seen {detail['first_seen']}, last seen {detail['last_seen']}" if detail["first_seen"]
        else "none of its incidents has a date (see Post-mortem health)")
st.caption(f"{ui.THEME_SETS[detail['theme_set']][:-1]} · {naming} · {seen}")
cols = st.columns(4)
cols[0].metric("Incidents", detail["n_incidents"])
cols[1].metric("Items", detail["n_items"])
cols[2].metric("Top category", detail["top_category"] or "–")
burn = queries.burn_ranking(version, detail["theme_set"], None).filter(pl.col("theme_id") == theme_id)
cols[3].metric("Burn score", burn["burn_score"][0] if burn.height else 0,
               help="Sum over the theme's incidents of severity × customers × duration (see the landing page).")

if detail["stability"] is not None:
    text = (f"Stability {detail['stability']:.2f}: the mean share of this theme that stays together when 80% "
            f"subsamples are clustered again (stable at {STABLE_JACCARD:.2f} and above).")
    if is_unstable(detail["stability"]):
        st.warning(f"Caution: {caution(detail['n_incidents'], detail['stability'])}. {text} Its boundary may move "
                   "between runs; compare it across quarters with care.", icon=":material/warning:")
    else:
        st.caption(text + (f" Caution: {caution(detail['n_incidents'])}." if caution(detail["n_incidents"]) else ""))

if detail["keywords"]:
    st.markdown("**Keywords:** " + " ".join(f":orange-badge[{k}]" for k in detail["keywords"]))

left, right = st.columns([3, 2])
with left:
    st.subheader("Representative causes" if detail["theme_set"] == "root_cause" else "Representative eval gaps")
    for text in detail["representative_texts"] or []:
        st.markdown(f"> {text}")
with right:
    st.subheader("Category mix")
    mix = json.loads(detail["category_mix"]) if detail["category_mix"] else {}
    if mix:
        st.altair_chart(charts.category_mix_bars(
            pl.DataFrame({"category": list(mix), "share": [float(v) for v in mix.values()]})))
    else:
        st.caption("No categories recorded.")

st.subheader("Incidents per quarter")
per_quarter = queries.theme_quarterly(version, theme_id)
if detail["first_seen"] and per_quarter.height:
    st.altair_chart(charts.quarterly_bars(per_quarter))
else:
    st.caption("No incident of this theme has a date, so none can be placed in a quarter: see Post-mortem "
               "health.")

st.subheader("Incidents in this theme")
ui.table(queries.theme_incident_list(version, theme_id), links={"incident_id": "incident", "quarter": "quarter"},
         key="theme_incidents")

left, right = st.columns(2)
with left:
    st.subheader("Related themes")
    st.caption("Themes that occur in the same incidents, then the nearest by meaning (centroid cosine).")
    ui.table(queries.related_themes(version, theme_id), links={"theme_id": "theme"}, empty="No related themes.",
             key="related")
with right:
    st.subheader("Lineage across runs")
    st.caption("new, continued, merged, split or retired, per theme build; merges and splits name the other themes.")
    ui.table(queries.theme_lineage(version, theme_id), empty="No lineage recorded.", key="lineage")
