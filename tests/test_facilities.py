"""A room's inventory: items, their condition, and every change of it kept."""
import re

import sqlalchemy as sa

from dorms.core.enums import Role
from dorms.extensions import db
from dorms.facilities.models import ConditionChange, InventoryItem


def test_staff_record_a_rooms_items_and_every_change_of_their_condition(app, client, login, create_user, create_room):
    room = create_room(capacity=4)
    db.session.commit()
    login(create_user(role=Role.STAFF))
    added = client.post(f"/rooms/{room.id}/inventory", data={"kind": "air_conditioner", "asset_label": "GZ-2026-0001",
                                                              "description": "格力 1.5匹", "condition": "good"})
    assert added.status_code == 302
    twice = client.post(f"/rooms/{room.id}/inventory", data={"kind": "desk", "asset_label": "GZ-2026-0001",
                                                              "condition": "good"}, follow_redirects=True)
    assert "Asset label GZ-2026-0001 is already on another item" in twice.get_data(as_text=True)
    item = db.session.scalar(sa.select(InventoryItem))
    no_note = client.post(f"/inventory/{item.id}/condition", data={"condition": "broken"}, follow_redirects=True)
    assert "Say what is broken" in no_note.get_data(as_text=True)
    client.post(f"/inventory/{item.id}/condition", data={"condition": "broken", "note": "不制冷"})
    client.post(f"/inventory/{item.id}/condition", data={"condition": "good", "note": "已修好"})
    db.session.expire_all()
    history = db.session.execute(sa.select(ConditionChange.old, ConditionChange.new, ConditionChange.note)
                                 .order_by(ConditionChange.id)).all()
    assert [(o.value if o else None, n.value, note) for o, n, note in history] == [
        (None, "good", ""), ("good", "broken", "不制冷"), ("broken", "good", "已修好")]
    page = client.get(f"/rooms/{room.id}").get_data(as_text=True)
    assert re.search(r'data-item="\d+".*?data-condition="good"', page, re.DOTALL) and "不制冷" in page
    client.post("/logout")
    login(create_user(role=Role.COUNSELOR, classes=["计科2401"]))
    assert client.post(f"/inventory/{item.id}/condition", data={"condition": "worn"}).status_code == 403
    assert client.post(f"/rooms/{room.id}/inventory", data={"kind": "desk", "condition": "good"}).status_code == 403
