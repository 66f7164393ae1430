"""The catalogue's manage.py commands and what they share."""
