"""The recommender's manage.py commands."""
