"""What a person sees, on the real MovieLens sample: opposite tastes, franchises, readable clusters.

Trains the default preset once on ml-latest-small (tens of seconds), then asks it as the site does.
"""

import numpy as np
import pandas as pd
import pytest

from recommender.engine.foldin import fold_in
from recommender.engine.ranking import order_by_stars, recommend
from recommender.engine.similar import cluster_movies, similar_table
from tests.conftest import ML_LATEST_SMALL, need

pytestmark = pytest.mark.slow

SCI_FI_CLASSICS = [260, 1196, 2571, 1240, 589, 1214, 1200, 541]  # Star Wars, The Matrix, Alien, Blade Runner ...
ROMANTIC_COMEDIES = [597, 2671, 539, 2424, 1307, 357, 4246, 6942]  # Pretty Woman, Notting Hill, Love Actually ...

# Entries of one franchise each, as ml-latest-small holds them.
FRANCHISES = [
    [260, 1196, 1210, 2628, 5378, 33493],  # Star Wars
    [1, 3114, 78499],  # Toy Story
    [2571, 6365, 6934],  # The Matrix
    [4993, 5952, 7153],  # The Lord of the Rings
    [4896, 5816, 8368, 40815, 54001, 69844, 81834, 88125],  # Harry Potter
    [858, 1221, 2023],  # The Godfather
    [1270, 2011, 2012],  # Back to the Future
    [1240, 589, 6537],  # Terminator
    [1214, 1200, 1320, 1690],  # Alien
    [1198, 2115, 1291, 59615],  # Indiana Jones
    [4306, 8360, 53121],  # Shrek
    [6539, 45722, 53125],  # Pirates of the Caribbean
    [33794, 58559, 91529],  # Nolan's Batman
    [480, 1544, 4638],  # Jurassic Park
    [1036, 1370, 165, 53972],  # Die Hard
    [5418, 8665, 54286],  # Bourne
    [6874, 7438],  # Kill Bill
    [5349, 8636, 52722],  # Spider-Man
    [3793, 6333, 45499],  # X-Men
    [2000, 2001, 2002, 1918],  # Lethal Weapon
    [1954, 2409, 2410, 2411, 2412],  # Rocky
    [1517, 2683, 5481],  # Austin Powers
    [4963, 8984, 53322],  # Ocean's
    [1407, 1717, 3273],  # Scream
    [8957, 39446, 48877, 55577],  # Saw
]


@pytest.fixture(scope="module")
def movielens():
    from recommender.engine.training import train

    need((ML_LATEST_SMALL / "ratings.csv").exists(), f"the MovieLens sample at {ML_LATEST_SMALL}")
    ratings = pd.read_csv(ML_LATEST_SMALL / "ratings.csv", usecols=["userId", "movieId", "rating"])
    movies = pd.read_csv(ML_LATEST_SMALL / "movies.csv")
    factors = train(ratings, "default", seed=42).factors
    return factors, movies, ratings


def _picks(factors, liked: list[int], disliked: list[int], n: int = 20) -> list[int]:
    rated = [factors.movie_index(m) for m in liked + disliked]
    person = fold_in(factors, rated, [5.0] * len(liked) + [1.0] * len(disliked))
    picks, _ = recommend(factors, user_vector=person, n=n, exclude=rated)
    stars = factors.predict_ratings(person, picks)
    assert (np.round(stars, 1) >= 3.0).all(), "a pick shown below 3 stars"
    return factors.movie_ids[picks[order_by_stars(stars)]].tolist()


def _share(ids: list[int], movies: pd.DataFrame, genre: str) -> float:
    genres = movies.set_index("movieId").loc[ids, "genres"]
    return float(genres.str.contains(genre).mean())


def test_people_with_opposite_tastes_get_different_picks_that_lean_to_what_they_rated_highly(movielens):
    factors, movies, _ = movielens
    sci_fi_fan = _picks(factors, SCI_FI_CLASSICS, ROMANTIC_COMEDIES)
    romance_fan = _picks(factors, ROMANTIC_COMEDIES, SCI_FI_CLASSICS)
    assert len(set(sci_fi_fan) & set(romance_fan)) <= 2
    # Leaning: at least twice as much of their genre as the other person gets.
    for fan, other, genre in ((sci_fi_fan, romance_fan, "Sci-Fi"), (romance_fan, sci_fi_fan, "Romance")):
        assert _share(fan, movies, genre) >= max(0.1, 2 * _share(other, movies, genre))


def test_a_movies_ten_most_similar_hold_most_of_its_franchise(movielens):
    factors, movies, _ = movielens
    titles = dict(zip(movies["movieId"], movies["title"], strict=True))
    neighbours, _ = similar_table(factors, titles, n=10)
    found = []
    for group in FRANCHISES:
        rows = [factors.movie_index(m) for m in group if factors.movie_index(m) is not None]
        for row in rows:
            others = set(rows) - {row}
            found.append(len(set(neighbours[row].tolist()) & others) / min(10, len(others)))
    assert np.mean(found) >= 0.75


def test_clusters_are_named_by_what_their_movies_are(movielens):
    factors, movies, ratings = movielens
    titles = dict(zip(movies["movieId"], movies["title"], strict=True))
    genres = {int(m): g.split("|") for m, g in zip(movies["movieId"], movies["genres"], strict=True)}
    counts = ratings["movieId"].value_counts().to_dict()
    result = cluster_movies(factors, k=100, genres=genres, titles=titles, counts=counts, min_ratings=10, seed=42)
    by_label = {c.label: c for c in result.clusters}
    matrix = by_label[int(result.labels[factors.movie_index(2571)])]
    assert {"Sci-Fi", "Action", "Thriller"} & {g for g, _ in matrix.genres[:2]}
    toy_story = by_label[int(result.labels[factors.movie_index(1)])]
    assert {"Children", "Animation"} & {g for g, _ in toy_story.genres[:2]}
    catalogue = pd.Series([g for gs in genres.values() for g in gs]).value_counts(normalize=True)
    by_title: dict[str, list[int]] = {}
    for m, t in titles.items():
        by_title.setdefault(t, []).append(m)  # a few titles name two movies
    for cluster in result.clusters:
        assert all(max(counts.get(m, 0) for m in by_title[t]) >= 10 for t in cluster.titles)
        # Its genres are over-represented in it: a larger share than in the catalogue.
        assert all(share > catalogue[g] for g, share in cluster.genres)
