"""What is still open before an irreversible step of the cycle: the lead is
shown it and asked to confirm before sending the draft citations to the
site, sending them to the committee or closing the inspection."""
from . import bodies, committee, merge, review


def still_open(db, inspection):
    """Sentences, one per kind of thing still open, for the step out of the
    inspection's state (empty when nothing is)."""
    words = bodies.words(inspection)
    state, out = inspection["state"], []
    if state == "merging":
        rows = merge.board(db, inspection, only="disagreements")
        undecided = [r["code"] for r in rows if not (r["decision"] and r["decision"]["verdict"])]
        if undecided:
            out.append(f"{len(undecided)} disagreement{'s' if len(undecided) > 1 else ''} not decided: "
                       f"{', '.join(undecided)}.")
        cited, _ = review.citations(db, inspection)
        blank = [c["code"] for c in cited if not (c["citation"] or "").strip()]
        if blank:
            out.append(f"{len(blank)} {words['citation' if len(blank) == 1 else 'citations']} with no text: "
                       f"{', '.join(blank)}.")
        changed = [r["code"] for r in merge.board(db, inspection) if r["changed"]]
        if changed:
            out.append(f"Findings changed since you decided: {', '.join(changed)}.")
    elif state == "factual_accuracy":
        left = review.unanswered(db, inspection)
        if left:
            out.append(f"The site has sent no factual accuracy comment on {len(left)} "
                       f"{words['citation' if len(left) == 1 else 'citations']}: {', '.join(left)}.")
    elif state == "corrections":
        due = committee.corrections(db, inspection)
        waiting = [code for code, c in due.items() if not c["accepted"]]
        if waiting:
            out.append(f"{len(waiting)} correction{'s' if len(waiting) > 1 else ''} not accepted: "
                       f"{', '.join(sorted(waiting))}.")
        unreviewed = review.unreviewed(db, inspection["id"])
        if unreviewed:
            out.append(f"Submitted responses not reviewed: {', '.join(unreviewed)}.")
    return out

