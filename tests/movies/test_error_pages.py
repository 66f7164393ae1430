"""The site's own 404 and 500 pages, and the 404 of a missing movie with DEBUG on as well."""

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import RequestFactory
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [False, True])
def test_a_missing_movie_gets_the_site_s_404_page(client, settings, debug):
    settings.DEBUG = debug
    response = client.get("/movies/987654/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "We could not find that page" in body and "/movies/987654/" in body
    assert 'href="/static/css/site.css"' in body and 'href="/static/favicon.svg"' in body
    assert "Technical details" not in body and "Using the URLconf" not in body


def test_an_unknown_address_without_debug_gets_the_site_s_404_page(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404 and "We could not find that page" in response.content.decode()


def test_a_route_miss_under_debug_still_lists_the_routes_for_the_developer(client, settings):
    settings.DEBUG = True
    assert "Using the URLconf" in client.get("/no/such/page/").content.decode()


def test_the_500_page_stands_alone_in_the_site_s_style():
    response = server_error(RequestFactory().get("/"))
    body = response.content.decode()
    assert response.status_code == 500 and "Something went wrong on our side" in body
    assert "/static/css/site.css" in body and "/static/favicon.svg" in body


def test_every_page_names_the_favicon_and_it_is_a_static_file(client):
    assert b'rel="icon" href="/static/favicon.svg"' in client.get("/").content
    assert "<svg" in Path(finders.find("favicon.svg")).read_text()
