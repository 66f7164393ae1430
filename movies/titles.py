"""Titles as people write them, and the text measures title search uses (pure Python, no Django).

MovieLens stores "Matrix, The" (the article moved to the end, as library catalogues do, so an
order by title ignores it). Pages show "The Matrix"; search ignores a leading article and
compares trigrams like PostgreSQL's pg_trgm, so "godfathr" still finds "Godfather, The".
"""

import re
from functools import lru_cache

# Leading articles MovieLens moves behind the title, in the languages of its catalogue.
ARTICLES = frozenset(
    {"the", "a", "an", "les", "la", "le", "l'", "il", "el", "die", "der", "das", "den", "det", "de"}
    | {"los", "las", "lo", "gli", "i", "une", "un", "o", "os", "ett", "en"}
)
# "Matrix, The" or "Auberge espagnole, L'" at the end of the title or before a parenthesis (an aka).
_TRAILING_ARTICLE = re.compile(r"^(?P<body>.+?), (?P<article>[A-Za-z']{1,4})(?P<rest>(?: \(.*)?)$")
_AKA = re.compile(r"^(?P<body>[^(]+?) \((?P<aka>[^()]+)\)$")
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=65_536)
def natural_title(title: str) -> str:
    """ "Matrix, The" -> "The Matrix"; "Auberge espagnole, L'" -> "L'Auberge espagnole";
    "City of Lost Children, The (Cité des enfants perdus, La)" -> "The City of Lost Children
    (La Cité des enfants perdus)". Anything else comes back unchanged."""
    match = _TRAILING_ARTICLE.match(title)
    if match is None or match["article"].lower() not in ARTICLES:
        aka = _AKA.match(title)  # "Amelie (Fabuleux destin d'Amélie Poulain, Le)"
        return f"{aka['body']} ({natural_title(aka['aka'])})" if aka else title
    article, rest = match["article"], match["rest"]
    front = f"{article}{match['body']}" if article.endswith("'") else f"{article} {match['body']}"
    if rest.startswith(" (") and rest.endswith(")"):
        rest = f" ({natural_title(rest[2:-1])})"
    return front + rest


def search_text(query: str) -> str:
    """The words of a title search, lower case, without a leading article: "The Godfather" -> "godfather".

    A query that is only an article ("The") is kept as it is.
    """
    words = _WORD.findall(query.lower())
    if len(words) > 1 and words[0] in ARTICLES:
        words = words[1:]
    return " ".join(words)


@lru_cache(maxsize=4096)
def _trigrams(word: str) -> frozenset[str]:
    padded = f"  {word} "  # pg_trgm pads each word with two spaces in front and one behind
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def word_similarity(query: str, title: str) -> float:
    """How much of the query is in the title, 0 to 1: the share of the query's word trigrams
    that occur among the title's (what PostgreSQL's word_similarity measures, near enough to
    stand in for it where pg_trgm is not there).
    """
    wanted = frozenset().union(*(_trigrams(word) for word in _WORD.findall(query.lower())))
    if not wanted:
        return 0.0
    found = frozenset().union(*(_trigrams(word) for word in _WORD.findall(title.lower())))
    return len(wanted & found) / len(wanted)
