// The sync status badge in the header, and the box listing changes the
// server refused (cloned from base.html's <template>), each with Discard.
import * as outbox from "/sync/static/outbox.js";
import * as sync from "/sync/static/sync.js";

export async function render() {
  const el = document.getElementById("sync-status");
  if (!el) return;
  const s = await sync.status();
  el.dataset.state = s.state;
  el.textContent = s.text;
  // Outside the live region: it would otherwise be read out after every sync.
  const when = document.getElementById("last-synced");
  if (when) when.textContent = s.lastSynced ? `Last synced ${shortTime(s.lastSynced)}` : "Not synced yet on this device";
  await renderProblems();
}

/** `10:42` today, `3 Dec 10:42` on another day: the tablet's own clock and locale. */
function shortTime(ms) {
  const at = new Date(ms);
  const time = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return at.toDateString() === new Date().toDateString() ? time
    : `${at.toLocaleDateString([], { day: "numeric", month: "short" })} ${time}`;
}

async function renderProblems() {
  const bad = await outbox.rejected();
  // Nothing awaited from here on: renders running together cannot stack boxes.
  document.getElementById("sync-problems")?.remove();
  const template = document.getElementById("sync-problems-template");
  if (!bad.length || !template) return;
  const box = template.content.firstElementChild.cloneNode(true);
  const row = box.querySelector("li");
  const list = row.parentElement;
  row.remove();
  for (const op of bad) {
    const li = row.cloneNode(true);
    const name = `${op.standard} (${op.field})`;
    const link = li.querySelector("[data-problem-link]");
    link.href = `/inspections/${op.inspection_id}/standards/${encodeURIComponent(op.standard)}`;
    link.textContent = name;
    li.querySelector("[data-problem-reason]").textContent = op.reason;
    const discard = li.querySelector("[data-discard]");
    discard.setAttribute("aria-label", `Discard the refused change to ${name}`);
    discard.addEventListener("click", async () => {
      if (!confirm(`Discard the refused change to ${name}? It cannot be recovered.`)) return;
      await outbox.discard(op.op_id);
      location.reload();  // show the server's value again
    });
    list.append(li);
  }
  document.getElementById("main")?.prepend(box);
}
