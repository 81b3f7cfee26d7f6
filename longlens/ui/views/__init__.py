"""The explorer's page parts (Streamlit): sidebar, player, search, ask, batch results."""
