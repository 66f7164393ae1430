"""The template filters and tags of movie_tags: stars, labels, lookups."""

import pytest

from movies.templatetags.movie_tags import contains, get_item, star_label, star_radios, stars


@pytest.mark.parametrize(
    ("value", "shown"), [(4.0, "4"), (3.5, "3.5"), (3.4567, "3.5"), (0.5, "0.5"), (5, "5"), (None, ""), ("", "")]
)
def test_stars_shows_at_most_one_decimal_and_no_trailing_zero(value, shown):
    assert stars(value) == shown


def test_star_label_is_singular_for_one_star():
    assert star_label(1.0) == "1 star"
    assert star_label(4.5) == "4.5 stars"
    assert star_label(None) == ""


def test_get_item_reads_a_mapping_and_tolerates_missing_keys():
    assert get_item({3: 4.5}, 3) == 4.5
    assert get_item({3: 4.5}, 4) is None
    assert get_item(None, 4) is None


def test_contains_tells_whether_an_id_is_in_a_set():
    assert contains({1, 2}, 2)
    assert not contains({1, 2}, 3)
    assert not contains(None, 3)


def test_star_radios_lists_ten_half_stars_highest_first_and_checks_the_users_value():
    html = str(star_radios(7, 3.5))
    values = [part.split('"')[0] for part in html.split('value="')[1:]]
    assert values == ["5.0", "4.5", "4.0", "3.5", "3.0", "2.5", "2.0", "1.5", "1.0", "0.5"]
    assert html.count(" checked") == 1
    assert 'value="3.5" id="rate-7-7" checked>' in html
    assert 'for="rate-7-10" class="full" title="5 stars"' in html
    assert 'for="rate-7-1" class="half" title="0.5 stars"' in html


def test_star_radios_checks_nothing_without_a_rating():
    assert " checked" not in str(star_radios(7, None))
