"""Every request has an id: in its response's X-Request-ID and in each log line written while it runs."""

import logging

import pytest

from tests.deploy.logs import captured_lines

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.deploy.urls_logging")]


def test_a_request_gets_a_new_id_in_its_response_and_its_log_lines(client):
    with captured_lines() as lines:
        first = client.get("/log-twice/")
        second = client.get("/log-twice/")
    ids = [first["X-Request-ID"], second["X-Request-ID"]]
    assert len(ids[0]) == 32 and ids[0] != ids[1]
    view_lines = [line for line in lines if "line of the view" in line]
    assert len(view_lines) == 4
    assert all(f"[req={ids[0]}]" in line for line in view_lines[:2]), view_lines
    assert all(f"[req={ids[1]}]" in line for line in view_lines[2:]), view_lines


def test_the_callers_request_id_is_kept(client):
    with captured_lines() as lines:
        response = client.get("/log-twice/", HTTP_X_REQUEST_ID="lb-7f3a.42")
    assert response["X-Request-ID"] == "lb-7f3a.42"
    view_lines = [line for line in lines if "line of the view" in line]
    assert len(view_lines) == 2 and all("[req=lb-7f3a.42]" in line for line in view_lines), view_lines


def test_an_id_that_could_break_a_log_line_is_replaced(client):
    response = client.get("/log-twice/", HTTP_X_REQUEST_ID="x\n2026-01-01 ERROR forged")
    assert response["X-Request-ID"].isalnum() and len(response["X-Request-ID"]) == 32


def test_djangos_own_lines_after_the_view_carry_the_id(client):
    """Django logs "Not Found" after the middleware has returned; the id is still there."""
    with captured_lines() as lines:
        response = client.get("/no-such-page/")
    assert response.status_code == 404
    not_found = [line for line in lines if "Not Found: /no-such-page/" in line]
    assert not_found and f"[req={response['X-Request-ID']}]" in not_found[0]


def test_lines_outside_a_request_carry_no_id(client):
    client.get("/log-twice/")
    with captured_lines() as lines:
        logging.getLogger("tests.deploy").info("between requests")
    assert len(lines) == 1 and lines[0].endswith(" INFO tests.deploy [-] between requests"), lines
