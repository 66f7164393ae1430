"""The site's URLs plus a view that logs twice, for the request-id tests (the 404 page links to the site's pages)."""

import logging

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns

log = logging.getLogger("tests.deploy.view")


def log_twice(request: HttpRequest) -> HttpResponse:
    log.info("first line of the view")
    log.warning("second line of the view")
    return HttpResponse("ok")


urlpatterns = [path("log-twice/", log_twice), *site_urlpatterns]
