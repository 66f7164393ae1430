"""Pages whose content is rendered on its own, put into the site's frame (base.html's head, header and footer).

The home page and a movie's page are most of what people ask for, and their content mostly comes from
the section cache already: rendering base.html around it cost as much again. For a logged-in person the
frame depends only on them (their name in the header) and on what page_response checks on each request,
so it is rendered once per person and kept in the process's `fragments` cache, with the CSRF placeholder
of the cached sections in its logout form. Anyone else, and a request that shows a message or carries a
query (the header's search box shows it), gets page.html, base.html rendered as for any other page.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from recommender.services.sections import CSRF_PLACEHOLDER, csrf_token_of

FRAME_SECONDS = 600
_TITLE = "\x00title\x00"
_CONTENT = "\x00content\x00"


def _frame(user: AbstractBaseUser) -> tuple[str, str, str]:
    """(before the title, between title and content, after the content) of base.html for the user."""
    key = f"frame:{user.pk}"
    fragments = caches["fragments"]
    found = fragments.get(key)
    if found is not None and found[0] == user.get_username():
        return found[1]
    context = {"user": user, "csrf_token": CSRF_PLACEHOLDER, "title": _TITLE, "content": mark_safe(_CONTENT)}  # noqa: S308 (a marker)
    html = render_to_string("page.html", context)
    before_title, rest = html.split(_TITLE)
    between, after = rest.split(_CONTENT)
    parts = (before_title, between, after)
    fragments.set(key, (user.get_username(), parts), FRAME_SECONDS)
    return parts


def page_response(request: HttpRequest, *, title: str, content: SafeString | bytes) -> HttpResponse:
    """The page with this title and content (rendered, with this request's CSRF token; text, or UTF-8 as
    the section cache keeps it) in the site's frame."""
    if not request.user.is_authenticated or request.GET or len(get_messages(request)):
        text = content if isinstance(content, str) else mark_safe(content.decode())  # noqa: S308 (rendered by us)
        return render(request, "page.html", {"title": title, "content": text})
    before_title, between, after = _frame(request.user)
    token = csrf_token_of(request)
    head = (before_title + escape(title) + between).replace(CSRF_PLACEHOLDER, token).encode()
    body = content if isinstance(content, bytes) else content.encode()
    return HttpResponse(head + body + after.replace(CSRF_PLACEHOLDER, token).encode())
