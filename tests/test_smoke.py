from tests.helpers import push


def test_inspector_records_a_verdict_through_sync_and_sees_it_on_the_page(as_user, demo_inspection, device):
    client = as_user("inspector1")
    op = device.op(demo_inspection, "B2.1", "verdict", "compliant")
    response = push(client, [op])
    assert response.json["results"] == [{"op_id": op["op_id"], "status": "applied"}]
    page = client.get(f"/inspections/{demo_inspection}/standards/B2.1")
    assert page.status_code == 200
    assert b'value="compliant" checked' in page.data
    assert b">Note</label>" in page.data
