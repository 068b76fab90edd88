"""The Streamlit feature explorer (`streamlit run splat_ui/app.py`, `splat serve ui`): one
view per module under `splat_ui.views`, all reading through `splat_core.query.Reader`."""
