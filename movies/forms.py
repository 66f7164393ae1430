"""Forms validate what comes in; services and selectors do the rest."""

import re
from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError

from movies import services
from movies.models import Genre
from movies.selectors import RATING_SORTS

# Imported MovieLens users are named "movielens-<id>" (see MovieLensAccount); nobody may sign up as one.
RESERVED_USERNAME_PREFIX = "movielens-"

MIN_RATINGS_CHOICES = [(n, f"{n:,}+ ratings") for n in (1, 10, 50, 100, 500, 1000)]
DEFAULT_MIN_RATINGS = 50
YEAR_MIN, YEAR_MAX = 1870, 2100
# What the rating widget sends and a person would type: a digit, then optionally ".0" or ".5".
RATING_TEXT = re.compile(r"[0-5](?:\.[05])?", re.ASCII)
# The sort orders offered, as a person reads them: the catalogue's (selectors.movie_search) and
# those of a person's own ratings (selectors.RATING_SORTS).
MOVIE_SORT_LABELS = {
    "relevance": "Best match",
    "rating": "Average rating",
    "count": "Number of ratings",
    "newest": "Newest",
    "title": "Title",
    "predicted": "Predicted stars for you",
}
RATING_SORT_LABELS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "highest": "Highest first",
    "lowest": "Lowest first",
    "title": "Title",
}


class SignUpForm(UserCreationForm):
    # Optional: without one, a forgotten password cannot be reset.
    email = forms.EmailField(
        required=False,
        label="E-mail (optional)",
        help_text="Only to send you a link if you forget your password.",
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def clean_username(self) -> str:
        username = super().clean_username()
        # None once Django's own check has recorded "already exists" (in any letter case).
        if username is not None and username.lower().startswith(RESERVED_USERNAME_PREFIX):
            raise ValidationError(
                'Usernames starting with "%(prefix)s" are reserved for imported MovieLens users.',
                code="reserved",
                params={"prefix": RESERVED_USERNAME_PREFIX},
            )
        return username


class RatingForm(forms.Form):
    """One rating: the value is checked by the same rule the service applies."""

    # A CharField, not a ChoiceField: "4" and "4.0" are the same rating, so values compare as numbers.
    # Not stripped: what people type is what the widget sends, plain digits such as "4" or "4.5";
    # Decimal() alone would also take "٤", "+4.5", " 3 " and "4e0".
    value = forms.CharField(max_length=8, strip=False)

    def clean_value(self) -> float:
        if not RATING_TEXT.fullmatch(self.cleaned_data["value"]):
            raise ValidationError("A rating is 0.5 to 5 stars, written like 4 or 4.5.", code="invalid")
        try:
            return services.rating_value_clean(self.cleaned_data["value"])
        except ValidationError as error:
            raise ValidationError(error.message_dict["value"], code="invalid") from None


class MovieFilterForm(forms.Form):
    """Browse and search: every field is optional, bad values fall back to no filter."""

    q = forms.CharField(required=False, max_length=200, label="Title")
    genre = forms.ChoiceField(required=False, label="Genre")
    year_from = forms.IntegerField(required=False, min_value=YEAR_MIN, max_value=YEAR_MAX, label="From year")
    year_to = forms.IntegerField(required=False, min_value=YEAR_MIN, max_value=YEAR_MAX, label="To year")
    sort = forms.ChoiceField(required=False, choices=list(MOVIE_SORT_LABELS.items()))
    min_ratings = forms.TypedChoiceField(
        required=False,
        coerce=int,
        choices=MIN_RATINGS_CHOICES,
        empty_value=DEFAULT_MIN_RATINGS,
        label="With at least",
        help_text="Applies when sorting by average rating.",
    )

    def __init__(self, *args: Any, genres: list[Genre], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._genres = {g.name: g for g in genres}
        self.fields["genre"].choices = [("", "All genres")] + [(name, name) for name in self._genres]

    def clean_genre(self) -> Genre | None:
        return self._genres.get(self.cleaned_data.get("genre") or "")

    def clean_sort(self) -> str:
        # A title search lists every match, best match first, unless asked otherwise:
        # ordering by average would leave out the rarely rated ones.
        default = "relevance" if (self.data.get("q") or "").strip() else "rating"
        return self.cleaned_data.get("sort") or default

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        year_from, year_to = cleaned.get("year_from"), cleaned.get("year_to")
        if year_from is not None and year_to is not None and year_from > year_to:
            self.add_error("year_to", "The end year comes before the start year.")
        return cleaned

    def search_kwargs(self) -> dict[str, Any]:
        """The arguments of selectors.movie_search; invalid fields are left out."""
        data: dict[str, Any] = {}
        if self.is_bound:
            self.is_valid()
            data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        return {
            "query": data.get("q") or "",
            "genre": data.get("genre"),
            "year_from": data.get("year_from"),
            "year_to": data.get("year_to"),
            "sort": data.get("sort") or ("relevance" if data.get("q") else "rating"),
            "min_ratings": data.get("min_ratings") or DEFAULT_MIN_RATINGS,
        }


class RatingSortForm(forms.Form):
    sort = forms.ChoiceField(required=False, choices=list(RATING_SORT_LABELS.items()))

    def sort_key(self) -> str:
        if self.is_valid() and self.cleaned_data.get("sort") in RATING_SORTS:
            return self.cleaned_data["sort"]
        return "newest"


class ExploreForm(forms.Form):
    min_ratings = forms.TypedChoiceField(
        required=False, coerce=int, choices=MIN_RATINGS_CHOICES, label="Top rated with at least"
    )

    def min_ratings_value(self) -> int:
        if self.is_bound and self.is_valid() and self.cleaned_data.get("min_ratings"):
            return self.cleaned_data["min_ratings"]
        return DEFAULT_MIN_RATINGS
