"""The recommender's manage.py commands (train, retrain, evaluate, refresh_lists and others)."""
