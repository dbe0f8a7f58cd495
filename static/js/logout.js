// Logging out on a shared tablet: unsynced changes stay (with a warning) and
// sync when that inspector logs in again; with nothing waiting, what the
// user stored leaves the tablet with them.
import * as outbox from "/sync/static/outbox.js";
import * as offline from "/static/js/offline.js";
import * as worker from "/static/js/worker.js";

export function bind(form) {
  if (form.dataset.bound) return;
  form.dataset.bound = "1";
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const userId = document.body.dataset.userId;
    const waiting = await outbox.pendingCount();
    if (waiting && !confirm(`${waiting} change${waiting === 1 ? " is" : "s are"} not synced yet. They stay on this tablet and sync when you log in again. Log out?`)) return;
    // Log out on the server first: offline, nothing is cleared and the
    // inspector stays logged in, so the next person cannot act as them later.
    // The sync header, not the form's token, guards it: a page cached this
    // morning carries a token of an earlier session.
    let response;
    try {
      response = await fetch(form.action, { method: "POST", credentials: "same-origin",
                                            headers: { "X-Inspector-Sync": "1" } });
    } catch {
      alert("Logging out needs the network. Your work is safe on this tablet; log out once you are back online.");
      return;
    }
    if (!response.ok) { alert(`Could not log out (${response.status}). Try again.`); return; }
    if (worker.available) await worker.ask({ type: "logout", userId, forgetPages: !waiting }).catch(() => {});
    if (!waiting) {
      offline.forget(userId);
      await outbox.forget(userId);
    }
    location.assign(response.url || "/login");
  });
}
