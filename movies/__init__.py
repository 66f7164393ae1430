"""The catalogue: movies, genres, ratings, tags, their importers and pages."""
