// The report page stored for offline use is a copy made when the inspection
// was made available offline: the page says when (the server's stamp), and
// this lists the decisions this device holds that are newer than the copy
// (made on this tablet since, synced or not, or pulled from another), so the
// lead presenting it without a network knows what it lacks.
import * as clock from "/sync/static/clock.js";
import * as outbox from "/sync/static/outbox.js";

// The fields that change what the report says (a kept decision's basis does not).
const WHAT = { decision_verdict: "verdict", citation: "citation", suggestion: "suggestion", release_photo: "photo released" };

export async function bind(box) {
  const takenAt = Number(box.dataset.takenAt);
  const time = box.querySelector("[data-local-time]");
  if (time) {
    time.textContent = new Date(takenAt).toLocaleString([], { day: "numeric", month: "short", year: "numeric",
                                                               hour: "2-digit", minute: "2-digit" });
  }
  const newer = new Map();  // standard -> Set of what changed
  for (const v of await outbox.values(box.dataset.inspection)) {
    const at = clock.parse(v.stamp);
    if (!(v.field in WHAT) || !at || at.wall <= takenAt) continue;
    if (!newer.has(v.standard)) newer.set(v.standard, new Set());
    newer.get(v.standard).add(WHAT[v.field]);
  }
  const list = box.querySelector("[data-newer-list]");
  list.replaceChildren();
  const item = box.querySelector("template[data-newer-item]").content.firstElementChild;
  for (const [standard, what] of [...newer].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))) {
    const li = item.cloneNode(true);
    const link = li.querySelector("[data-newer-link]");
    link.textContent = standard;
    link.href = `/inspections/${box.dataset.inspection}/merge?only=all#std-${encodeURIComponent(standard)}`;
    li.querySelector("[data-newer-what]").textContent = Object.values(WHAT).filter((w) => what.has(w)).join(", ");
    list.append(li);
  }
  box.querySelector("[data-newer]").hidden = newer.size === 0;
}
