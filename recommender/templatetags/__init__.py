"""The recommender's template tags for admin: online figures and training curves."""
