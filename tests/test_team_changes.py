"""Team edits save only what changed, one recorded change at a time, so a
later audit trail can say who joined, left or took a section."""
from inspector.domain import team, users


def rowids(db, inspection_id=None):
    """The team's rows, with their rowids (of one inspection, or of all)."""
    where, args = ("WHERE inspection_id = ? ", [inspection_id]) if inspection_id else ("", [])
    return ([tuple(r) for r in db.conn.execute(f"SELECT rowid, * FROM members {where}ORDER BY rowid", args)],
            [tuple(r) for r in db.conn.execute(f"SELECT rowid, * FROM assignments {where}ORDER BY rowid", args)])


def team_form(db, inspection_id):
    """The team page's form as it stands: every member with their sections ticked."""
    form = {}
    for member in team.members(db, inspection_id):
        form[f"member-{member['id']}"] = member["team_role"]
    for section, usernames in team.assignments(db, inspection_id).items():
        for username in usernames:
            form[f"assign-{users.by_username(db, username)['id']}-{section}"] = "1"
    return form


def test_saving_the_team_unchanged_rewrites_nothing(as_user, db, demo_inspection):
    before = rowids(db)
    response = as_user("lead").post(f"/inspections/{demo_inspection}/team", data=team_form(db, demo_inspection))
    assert response.status_code == 302
    assert rowids(db) == before  # no row deleted and inserted again


def test_one_change_touches_one_row_and_is_reported(db, demo_inspection):
    wanted = {m["id"]: (m["team_role"], set(team.sections_of(db, demo_inspection, m["id"])))
              for m in team.members(db, demo_inspection)}
    inspector1 = users.by_username(db, "inspector1")["id"]
    inspector3 = users.by_username(db, "inspector3")["id"]
    members_before, assignments_before = rowids(db, demo_inspection)

    wanted[inspector1][1].add("C1")
    del wanted[inspector3]
    changes = team.save(db, demo_inspection, wanted, users.by_username(db, "admin")["id"])

    assert changes == [("left", inspector3, "inspector"), ("assigned", inspector1, "C1")]
    members_after, assignments_after = rowids(db, demo_inspection)
    assert members_after == [m for m in members_before if m[2] != inspector3]
    kept = [a for a in assignments_before if a[3] != inspector3]
    assert assignments_after[:len(kept)] == kept and assignments_after[-1][1:] == (demo_inspection, "C1", inspector1)
    assert team.save(db, demo_inspection, wanted, users.by_username(db, "admin")["id"]) == []


def test_a_change_whose_record_fails_is_not_kept(db, demo_inspection, monkeypatch):
    """The member is written through sqlite-utils (upsert) inside the team's
    transaction: its write must stay inside it. sqlite-utils before 4.0
    committed the caller's transaction at every insert or upsert, so the
    member stayed without the audit record that says who added them."""
    from inspector.domain import audit
    newcomer = users.create(db, "inspector4", "inspector", "x-long-password", "Olga Outside")
    wanted = {m["id"]: (m["team_role"], set(team.sections_of(db, demo_inspection, m["id"])))
              for m in team.members(db, demo_inspection)}

    def failing(*args, **kwargs):
        raise RuntimeError("the audit trail could not be written")
    monkeypatch.setattr(audit, "record", failing)
    before = rowids(db)
    try:
        team.save(db, demo_inspection, {**wanted, newcomer: ("inspector", {"B1"})}, by=None)
    except RuntimeError:
        pass
    assert not db.conn.in_transaction
    assert rowids(db) == before
