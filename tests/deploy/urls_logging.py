"""A view that logs twice, for the request-id tests (the site's own URLs stay as they are)."""

import logging

from django.http import HttpRequest, HttpResponse
from django.urls import path

log = logging.getLogger("tests.deploy.view")


def log_twice(request: HttpRequest) -> HttpResponse:
    log.info("first line of the view")
    log.warning("second line of the view")
    return HttpResponse("ok")


urlpatterns = [path("log-twice/", log_twice)]
