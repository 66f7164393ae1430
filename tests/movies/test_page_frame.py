"""The frame kept per person (movies/views/frame.py): home and movie pages in it read as base.html gives them."""

import re

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import caches
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.safestring import mark_safe

from movies.models import Movie
from movies.views.frame import page_response

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture(autouse=True)
def _no_kept_frames():
    caches["fragments"].clear()


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_page_in_the_kept_frame_is_the_page_base_html_renders(bob, rf: RequestFactory):
    def page(query: dict) -> str:
        request = rf.get("/", query)
        request.user = bob
        request.session = SessionStore()
        return page_response(request, title="A <title>", content=mark_safe("<p>the content</p>")).content.decode()

    framed, kept = page({}), page({})
    rendered = page({"q": ""})  # a query: base.html is rendered itself
    assert TOKEN.sub("", framed) == TOKEN.sub("", kept) == TOKEN.sub("", rendered)
    assert "<title>A &lt;title&gt; · Movies</title>" in framed
    assert "csrf-token-of-this-request" not in framed
    assert len(TOKEN.findall(framed)) == 1 and "bob" in framed


def test_the_frame_follows_a_new_username_and_the_logout_form_takes_the_sessions_token(bob, movies):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    toy = movies["Toy Story"]
    assert ">bob</a>" in client.get(reverse("movies:detail", args=[toy.pk])).content.decode()
    bob.username = "robert"
    bob.save()
    html = client.get(reverse("movies:detail", args=[toy.pk])).content.decode()
    assert ">robert</a>" in html and ">bob</a>" not in html
    assert client.post(reverse("logout"), {"csrfmiddlewaretoken": "forged"}).status_code == 403
    logout = client.post(reverse("logout"), {"csrfmiddlewaretoken": TOKEN.search(html).group(0).split('"')[3]})
    assert logout.status_code == 302


def test_a_message_waiting_for_the_person_is_shown_on_the_framed_pages(bob, movies):
    client = _logged_in(bob)
    toy = movies["Toy Story"]
    client.get(reverse("movies:detail", args=[toy.pk]))  # the frame is kept from here on
    response = client.post(reverse("movies:skip", args=[toy.pk]), {"next": reverse("movies:detail", args=[toy.pk])})
    assert response.status_code == 302
    html = client.get(response.url).content.decode()
    assert "Skipped Toy Story" in html and 'class="messages"' in html, "the message, in base.html's place for it"
    assert 'class="messages"' not in client.get(response.url).content.decode()


def test_the_panel_of_the_persons_rating_follows_their_stars(bob, movies):
    client = _logged_in(bob)
    toy = movies["Toy Story"]
    assert "Not rated yet" in client.get(reverse("movies:detail", args=[toy.pk])).content.decode()
    client.post(reverse("movies:rate", args=[toy.pk]), {"value": "4.5", "next": toy.get_absolute_url()})
    html = client.get(reverse("movies:detail", args=[toy.pk])).content.decode()
    assert "Your rating: <strong>4.5 stars</strong>" in html
    assert Movie.objects.get(pk=toy.pk).ratings_count == 1
