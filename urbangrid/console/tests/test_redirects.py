"""Pages that send the user back where they came from follow the Referer only within this site."""

import pytest
from django.contrib.auth import get_user_model


@pytest.fixture
def client_in(client, db):
    client.force_login(get_user_model().objects.create_user(username="op9", password="x-long-pass-9"))
    return client


@pytest.mark.parametrize(
    "referer",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
    ],
)
def test_case_search_miss_never_redirects_off_site(client_in, referer):
    resp = client_in.get("/case/", {"n": "NO-SUCH-CASE"}, HTTP_REFERER=referer)
    assert resp.status_code == 302
    assert resp["Location"] == "/"


def test_case_search_miss_returns_to_the_page_on_this_site(client_in):
    resp = client_in.get("/case/", {"n": "NO-SUCH-CASE"}, HTTP_REFERER="http://testserver/queues/?page=2")
    assert resp["Location"] == "http://testserver/queues/?page=2"


def test_evaluation_publish_error_never_redirects_off_site(client_in):
    resp = client_in.post("/evaluation/publish/", {"period": "bad"}, HTTP_REFERER="https://evil.example/")
    assert resp.status_code == 302
    assert resp["Location"] == "/evaluation/"
