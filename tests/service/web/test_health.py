"""Liveness, readiness and the service's own OpenAPI document and docs page."""

from service import create_app


def test_healthz_answers(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_pings_the_database(client) -> None:
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_problem_when_the_database_is_down(tmp_path) -> None:
    app = create_app(
        {
            "database_url": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1",
            "data_dir": str(tmp_path),
        }
    )
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"]
    # The API says the same instead of failing with a 500.
    api = client.get("/api/v1/claims", headers={"Authorization": "Bearer fdk_whatever"})
    assert api.status_code == 503
    assert api.mimetype == "application/problem+json"


def test_openapi_document_is_3_1_and_lists_the_claims_api(client) -> None:
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    assert {
        "/api/v1/claims",
        "/api/v1/claims/{claim_id}",
        "/api/v1/claims/{claim_id}/history",
        "/api/v1/claims/{claim_id}/appearances",
    } <= set(spec["paths"])
    post = spec["paths"]["/api/v1/claims"]["post"]
    assert {"201", "200", "422"} <= set(post["responses"])
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    public = {
        "/badges/{claim_id}.svg",
        "/badges/{claim_id}.json",
        "/c/{claim_id}",
        "/oembed",
        "/claimreview.json",
    }
    assert public <= set(spec["paths"])
    assert {"200", "304", "404", "422"} <= set(spec["paths"]["/badges/{claim_id}.svg"]["get"]["responses"])
    transitions = spec["paths"]["/api/v1/claims/{claim_id}/transitions"]["post"]["responses"]
    assert {"200", "403", "409", "412", "422", "428"} <= set(transitions)


def test_docs_page_uses_only_assets_served_here(client) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "//cdn" not in html
    assert "unpkg" not in html
    assert "jsdelivr" not in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        assert f"/api/docs/assets/{asset}" in html
        served = client.get(f"/api/docs/assets/{asset}")
        assert served.status_code == 200
        assert len(served.data) > 1000
        served.close()
