"""The catalogue's template tags and filters."""
