import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tools.demo_api import DATA_PATH, app, create_app

SAMPLE = {
    "orders": {
        "A1001": {
            "status": "shipped",
            "items": [{"sku": "NW-ARM-200", "qty": 1}],
            "carrier": "UPS",
            "eta": "2026-02-06",
        }
    },
    "inventory": {"NW-ARM-200": {"name": "Osprey", "in_stock": 12, "warehouse": "Reno"}},
    "services": {"billing": {"status": "operational", "uptime_30d": 99.95}},
}


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    data = tmp_path / "demo_api.json"
    data.write_text(json.dumps(SAMPLE), encoding="utf-8")
    return TestClient(create_app(data))


def test_index_lists_endpoints(client: TestClient) -> None:
    body = client.get("/").json()
    assert set(body["endpoints"]) == {"/orders/{order_id}", "/inventory/{sku}", "/status/{service}"}


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/orders/A1001", "status", "shipped"),
        ("/orders/a1001", "id", "A1001"),
        ("/inventory/NW-ARM-200", "in_stock", 12),
        ("/status/billing", "uptime_30d", 99.95),
        ("/status/BILLING", "status", "operational"),
    ],
)
def test_lookups(client: TestClient, path: str, field: str, value: object) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.json()[field] == value


@pytest.mark.parametrize("path", ["/orders/NOPE", "/inventory/NW-NOPE", "/status/nope", "/unknown/route"])
def test_unknown_ids_are_json_404s(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"] == "not found"


def test_shipped_data_file_matches_schema() -> None:
    data = json.loads(DATA_PATH.read_text(encoding="utf-8"))
    assert {"orders", "inventory", "services"} <= set(data)
    for order in data["orders"].values():
        assert {"status", "items", "carrier", "eta"} <= set(order)
    for item in data["inventory"].values():
        assert {"name", "in_stock", "warehouse"} <= set(item)
    for service in data["services"].values():
        assert {"status", "uptime_30d"} <= set(service)
    assert TestClient(app).get("/orders/A1001").status_code == 200
