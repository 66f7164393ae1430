"""The pages anyone can read: home, browse and search, the movie page."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from movies.models import Genre, Movie, Tag
from recommender import cache_keys

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(genres) -> list[Movie]:
    found = []
    for i in range(60):
        movie = Movie.objects.create(
            id=100 + i,
            title=f"Film {i}",
            year=1950 + i,
            ratings_count=i * 2,
            ratings_mean=(i % 10) / 2 + 0.5 if i else None,
        )
        movie.genres.set([genres["Drama"] if i % 2 else genres["Comedy"], genres["Sci-Fi"]])
        found.append(movie)
    return found


def test_home_shows_anonymous_users_the_top_rated_and_the_most_popular(
    client, catalogue, django_assert_max_num_queries
):
    cache.delete(cache_keys.catalogue_totals())
    with django_assert_max_num_queries(5):  # the catalogue's totals, then kept for minutes
        client.get(reverse("home"))
    with django_assert_max_num_queries(4):
        response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "movies/home.html" in [t.name for t in response.templates]
    assert [m.title for m in response.context["popular"]][:2] == ["Film 59", "Film 58"]
    top = list(response.context["top_rated"])
    assert all(m.ratings_count >= response.context["min_ratings"] for m in top)
    assert [m.ratings_mean for m in top] == sorted((m.ratings_mean for m in top), reverse=True)


def test_home_says_how_to_import_when_the_catalogue_is_empty(client, db):
    response = client.get(reverse("home"))
    assert b"import_movielens" in response.content


def test_browse_pages_through_the_catalogue_in_bounded_queries(client, catalogue, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        response = client.get(reverse("movies:list"), {"sort": "count", "page": 2})
    assert response.status_code == 200
    assert "movies/movie_list.html" in [t.name for t in response.templates]
    page = response.context["page"]
    assert page.number == 2
    assert page.paginator.count == 60
    assert page.object_list[0].title == "Film 35"
    assert b"page=1" in response.content and b"sort=count" in response.content


def test_browse_searches_titles_case_insensitively(client, catalogue, movies):
    response = client.get(reverse("movies:list"), {"q": "  toy  STORY ", "sort": "title"})
    assert [m.title for m in response.context["page"]] == ["Toy Story"]


def test_browse_filters_by_genre_and_year_range(client, catalogue):
    response = client.get(
        reverse("movies:list"), {"genre": "Drama", "year_from": 1960, "year_to": 1969, "sort": "title"}
    )
    titles = [m.title for m in response.context["page"]]
    assert titles == [f"Film {i}" for i in sorted(range(11, 20, 2), key=lambda i: f"Film {i}")]


def test_sorting_by_average_leaves_out_movies_with_too_few_ratings(client, catalogue):
    response = client.get(reverse("movies:list"), {"sort": "rating", "min_ratings": 100})
    movies = list(response.context["page"])
    assert movies and all(m.ratings_count >= 100 for m in movies)
    assert [m.ratings_mean for m in movies] == sorted((m.ratings_mean for m in movies), reverse=True)


def test_browse_ignores_filters_it_cannot_read(client, catalogue):
    response = client.get(
        reverse("movies:list"), {"genre": "No such genre", "year_from": "soon", "sort": "random", "min_ratings": 7}
    )
    assert response.status_code == 200
    # Sorted by average rating with the default minimum of 50 ratings: Film 25 (50 ratings) and up.
    assert response.context["page"].paginator.count == 35
    assert response.context["form"].errors


def test_an_inverted_year_range_is_reported(client, catalogue):
    response = client.get(reverse("movies:list"), {"year_from": 2000, "year_to": 1990})
    assert "year_to" in response.context["form"].errors
    assert b"before the start year" in response.content


def test_movie_page_shows_title_genres_average_tags_and_links(client, movies, alice, django_assert_max_num_queries):
    toy = movies["Toy Story"]
    Movie.objects.filter(pk=toy.pk).update(ratings_count=2, ratings_mean=4.25)
    for day, text in enumerate(["pixar", "pixar", "toys"], start=1):
        Tag.objects.create(user=alice, movie=toy, text=text, tagged_at=f"2024-01-0{day}T00:00:00Z")
    # 6 on a first view: 2 of them the rating histogram and TMDb details, cached with the page's parts.
    with django_assert_max_num_queries(6):
        response = client.get(reverse("movies:detail", args=[toy.pk]))
    assert response.status_code == 200
    assert "movies/_movie_page.html" in [t.name for t in response.templates]
    html = response.content.decode()
    for text in ["Toy Story", "1995", "Animation", "4.25", "2 ratings", "pixar", "\u00d72", "toys"]:
        assert text in html
    assert "https://www.imdb.com/title/tt0114709/" in html
    assert "https://www.themoviedb.org/movie/862" in html
    assert 'id="model-block"' in html
    assert "Log in</a> or" in html  # anonymous users are invited to rate


def test_unknown_movie_is_404(client, db):
    assert client.get(reverse("movies:detail", args=[999])).status_code == 404


def test_genre_links_lead_to_the_filtered_list(client, movies):
    response = client.get(reverse("movies:detail", args=[movies["Heat"].pk]))
    assert f"{reverse('movies:list')}?genre=Drama".encode() in response.content
    assert Genre.objects.filter(name="Drama").exists()


def test_a_title_search_lists_rarely_rated_matches_best_match_first(client, catalogue, movies):
    response = client.get(reverse("movies:list"), {"q": "heat"})
    assert [m.title for m in response.context["page"]] == ["Heat"]
    assert response.context["form"]["sort"].value() == "relevance"
