// Requests for information on a standard page: raising one writes an `rfi`
// op through the outbox, as a verdict or a note is written, online or
// offline; the request shows at once (cloned from the page's <template>),
// waiting to sync, then sent. Requests this tablet knows and the page does
// not show (raised here after the page was stored, or pulled from the
// team) are added the same way; a closing shows at once too.
import * as outbox from "/sync/static/outbox.js";

const FIELDS = new Set(["rfi", "rfi_closed"]);

export function bind(panel) {
  if (panel.dataset.bound) return;
  panel.dataset.bound = "1";
  const ids = { inspectionId: panel.dataset.inspection, standard: panel.dataset.standard, section: panel.dataset.section };
  const form = panel.querySelector("[data-request-form]");
  form?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const box = form.querySelector("textarea");
    const text = box.value.trim();
    if (!text) return;
    // The request's id is made here, so it names the request offline too.
    await outbox.record({ ...ids, field: "rfi", value: { id: newId(), text } });
    box.value = "";
    render(panel);
  });
  panel.addEventListener("click", async (e) => {
    const close = e.target.closest("[data-close-request]");
    if (!close) return;
    close.hidden = true;
    const id = close.closest("[data-request-id]").dataset.requestId;
    await outbox.record({ ...ids, field: "rfi_closed", value: { id, closed: true } });
    render(panel);
  });
  // A closing made here must sort after one the page shows from elsewhere.
  outbox.observe(...[...panel.querySelectorAll("[data-closed-hlc]")].map((li) => li.dataset.closedHlc));
  render(panel);
}

/** Show this device's requests and their sync state on every panel of the page. */
export function renderAll() { document.querySelectorAll("[data-requests-panel]").forEach(render); }

/** Ops of requests are not the finding's: its save state leaves them out. */
export const isRequestField = (field) => FIELDS.has(field);

function newId() {
  return crypto.randomUUID ? crypto.randomUUID() : outbox.timeOrderedId();
}

async function render(panel) {
  const list = panel.querySelector("[data-request-list]");
  const { inspection, standard } = panel.dataset;
  const [values, ops] = await Promise.all([outbox.values(inspection, standard), outbox.opsFor(inspection, standard)]);
  const item = (id) => list.querySelector(`[data-request-id="${CSS.escape(id)}"]`);
  for (const v of values.filter((v) => v.field === "rfi" && v.value?.text)) {
    if (item(v.value.id)) continue;
    const li = panel.querySelector("template[data-request-item]").content.firstElementChild.cloneNode(true);
    li.dataset.requestId = v.value.id;
    li.querySelector("[data-request-text]").textContent = v.value.text;
    // Raised on this tablet, or pulled from the team's (the stamp names the device).
    if (v.stamp.split(" ")[0].endsWith(`:${outbox.deviceId()}`)) {
      li.dataset.mine = "1";
    } else {
      li.querySelector("[data-request-by]").textContent = "A team member";
      if (!("mayCloseAny" in panel.dataset)) li.querySelector("[data-close-request]").hidden = true;
    }
    list.append(li);
  }
  for (const v of values.filter((v) => v.field === "rfi_closed")) {
    const li = item(v.value.id);
    if (li && v.stamp > (li.dataset.closedHlc || "")) li.dataset.closed = v.value.closed ? "1" : "";
  }
  for (const li of list.querySelectorAll("[data-request-id]")) {
    const closed = Boolean(li.dataset.closed);
    const status = li.querySelector("[data-request-status]");
    if (closed) status.textContent = "Closed";
    else if (status.textContent === "Closed") status.textContent = "Open";
    const button = li.querySelector("[data-close-request]");
    if (closed && button) button.hidden = true;
    const waiting = ops.filter((op) => FIELDS.has(op.field) && op.value?.id === li.dataset.requestId);
    const refused = waiting.find((op) => op.state === "rejected");
    const sync = li.querySelector("[data-request-sync]");
    sync.dataset.state = refused ? "problem" : waiting.length ? "waiting" : li.dataset.mine ? "sent" : "";
    sync.textContent = refused ? `Not accepted by the server: ${refused.reason}`
      : waiting.length ? "· Waiting to sync" : li.dataset.mine ? "· Sent" : "";
  }
  panel.querySelector("[data-no-requests]").hidden = Boolean(list.querySelector("[data-request-id]"));
}
