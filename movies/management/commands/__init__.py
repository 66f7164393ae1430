"""The catalogue's manage.py commands: import_movielens, fetch_tmdb."""
