"""The Streamlit feature explorer (`streamlit run splat_ui/app.py`); views: the UI issue."""

import streamlit as st

st.title("splat feature explorer")
st.write("Nothing to explore yet: run `splat materialize` first.")
