// The entry of every page: register the service worker, open this user's
// outbox, start the sync loop, and bind each part of the page as htmx loads
// it (the first page, and every boosted swap after it).
import * as outbox from "/sync/static/outbox.js";
import * as sync from "/sync/static/sync.js";
import * as copy from "/static/js/copy.js";
import * as finding from "/static/js/finding.js";
import * as logout from "/static/js/logout.js";
import * as merge from "/static/js/merge.js";
import * as offline from "/static/js/offline.js";
import * as progress from "/static/js/progress.js";
import * as report from "/static/js/report.js";
import * as requests from "/static/js/requests.js";
import * as search from "/static/js/search.js";
import * as sent from "/static/js/sent.js";
import * as status from "/static/js/status.js";
import * as worker from "/static/js/worker.js";

const userId = document.body.dataset.userId || null;
worker.register(userId);

if (userId) {
  outbox.open(userId);
  outbox.onChange(refresh);
  // Values pulled from the server (e.g. from this inspector's other tablet)
  // show on the open page without a reload.
  sync.onPulled(() => { finding.overlayAll(); merge.overlayAll(); requests.renderAll(); });
  sync.start();
  htmx.onLoad(bind);
}

function bind(root) {
  const all = (selector) => [...(root.matches(selector) ? [root] : []), ...root.querySelectorAll(selector)];
  refresh();
  all("[data-copy]").forEach(copy.bind);
  all("[data-finding]").forEach(finding.bind);
  all(".merge-row").forEach(merge.bind);
  all("[data-standards]").forEach(progress.overlaySection);
  all("#my-standards").forEach(progress.overlayInspection);
  all("[data-offline-panel]").forEach(offline.bind);
  all("[data-requests-panel]").forEach(requests.bind);
  all("[data-snapshot]").forEach(report.bind);
  all("form.jump[data-search]").forEach(search.bind);
  all("[data-sent-log]").forEach(sent.bind);
  all("form.logout").forEach(logout.bind);
  const tracked = all("[data-inspection]")[0];
  if (tracked) outbox.trackInspection(tracked.dataset.inspection);
}

// A swap loads several elements at once: render the status once for them.
let refreshQueued = false;
function refresh() {
  if (refreshQueued) return;
  refreshQueued = true;
  queueMicrotask(() => {
    refreshQueued = false;
    status.render();
    finding.renderSaveStates();
    merge.renderSaveStates();
    requests.renderAll();
  });
}
