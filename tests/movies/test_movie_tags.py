import pytest

from movies.templatetags.movie_tags import contains, get_item, star_label, stars


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
