"""The Streamlit explorer."""

__all__: list[str] = []
