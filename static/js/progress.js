// Lists that show verdicts, overlaid with this device's unsynced ones: a
// section's standards (with the server's labels, rendered in base.html) and
// "assessed by me" on the inspection page.
import * as outbox from "/sync/static/outbox.js";

function verdictLabel(verdict) {
  const data = document.getElementById("verdict-labels");
  return JSON.parse(data.textContent)[verdict] || data.dataset.none;
}

/** A section's list of standards (`ul.standards[data-inspection]`). */
export async function overlaySection(list) {
  for (const v of await outbox.values(list.dataset.inspection)) {
    if (v.field !== "verdict") continue;
    const row = list.querySelector(`[data-standard="${CSS.escape(v.standard)}"]`);
    if (!row || v.stamp <= (row.dataset.verdictHlc || "")) continue;
    const badge = row.querySelector(".verdict-badge");
    badge.dataset.verdict = v.value || "";
    badge.textContent = verdictLabel(v.value);
  }
}

/** The inspection page's progress, from its `#my-verdicts` data. */
export async function overlayProgress(data) {
  const panel = document.querySelector("[data-offline-panel]");
  const mine = JSON.parse(data.textContent);  // code -> [section, verdict, stamp]
  for (const v of await outbox.values(panel.dataset.inspection)) {
    if (v.field !== "verdict") continue;
    const known = mine[v.standard];
    const section = known ? known[0] : v.section;
    if (section && v.stamp > (known ? known[2] : "")) mine[v.standard] = [section, v.value, v.stamp];
  }
  const counts = {};
  for (const [section, verdict] of Object.values(mine)) if (verdict) counts[section] = (counts[section] || 0) + 1;
  document.querySelectorAll(".section-row[data-section]").forEach((row) => {
    const n = counts[row.dataset.section] || 0;
    row.querySelector("[data-mine]").textContent = n;
    row.querySelector("progress").value = n;
  });
}
