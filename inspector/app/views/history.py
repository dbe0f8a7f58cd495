"""An inspection's History: its audit trail in plain words, for the team
leader and admins (who see that an inspector's note changed, not its text)."""
from flask import Blueprint, g, render_template

from inspector.domain import access, audit
from inspector.domain.db import get_db
from inspector.app.views import inspection_or_404

bp = Blueprint("history", __name__)


@bp.route("/inspections/<int:inspection_id>/history")
@access.login_required
def history(inspection_id):
    """Every recorded write of the inspection, oldest first, with the chain's head."""
    db = get_db()
    ins = inspection_or_404(inspection_id, access.can_view_history)
    events = audit.history(db, inspection_id, read_private=access.can_read_private_notes(g.user, ins))
    return render_template("history/history.html", inspection=ins, events=events, head=audit.head(db))
