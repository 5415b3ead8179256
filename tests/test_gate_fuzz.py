"""Thousands of random and malformed inputs to the gate: never a server error, always a Vietnamese answer."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkin.codes import ALPHABET, PREFIX

from .conftest import app_config, login

CODE_LIKE = st.builds(lambda body, sep: PREFIX + sep.join(body), st.lists(st.sampled_from(ALPHABET + "aăđưs-/ "),
                                                                           min_size=0, max_size=24),
                      st.sampled_from(["", "-", " "]))
ANY_TEXT = st.text(max_size=120)
WEIRD_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=3), max_leaves=8)


def _gate_client(tmp_path_factory):
    from kiosk import create_app
    app = create_app(app_config(tmp_path_factory.mktemp("fuzz")))
    client = app.test_client()
    login(client, "gate")
    return app, client


def test_random_scans_never_fail(tmp_path_factory):
    app, client = _gate_client(tmp_path_factory)

    @settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
    @given(raw=st.one_of(CODE_LIKE, ANY_TEXT), gate=st.one_of(st.none(), st.text(max_size=80)))
    def scan(raw, gate):
        response = client.post("/api/checkin", json={"code": raw, "gate": gate})
        assert response.status_code == 200
        body = response.get_json()
        assert body["result"] in {"ok", "already_checked_in", "unknown", "revoked", "invalid"}
        assert body["message"]

    scan()
    app.extensions["kiosk.db"].dispose()


def test_malformed_bodies_never_fail(tmp_path_factory):
    app, client = _gate_client(tmp_path_factory)

    @settings(max_examples=800, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=WEIRD_JSON, path=st.sampled_from(["/api/checkin", "/api/checkin/by-id", "/api/walkins"]))
    def post(body, path):
        response = client.post(path, json=body)
        assert response.status_code < 500, (path, body, response.get_data(as_text=True)[:200])
        assert response.get_json()

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(query=st.text(max_size=200))
    def search(query):
        response = client.get("/api/delegates", query_string={"q": query})
        assert response.status_code == 200 and "results" in response.get_json()

    post()
    search()
    app.extensions["kiosk.db"].dispose()
