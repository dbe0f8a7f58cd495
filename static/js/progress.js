// Lists that show verdicts, overlaid with this device's unsynced ones: a
// section's standards (with the server's labels, rendered in base.html) and
// "assessed by me" on the inspection page.
import * as outbox from "/sync/static/outbox.js";

function verdictLabel(verdict) {
  const data = document.getElementById("verdict-labels");
  return JSON.parse(data.textContent)[verdict] || data.dataset.none;
}

/** A list of standards (`[data-standards]`: a section's, or the inspection
 * page's grouped by section): each row shows this device's newer verdict,
 * note, photos and flag, then the filter in the address (`?only=`) is applied. */
export async function overlaySection(list) {
  const photos = new Map();  // standard -> {sha256: attached} from this device
  for (const v of await outbox.values(list.dataset.inspection)) {
    const row = list.querySelector(`[data-standard="${CSS.escape(v.standard)}"]`);
    if (!row) continue;
    if (v.field === "verdict" && v.stamp > (row.dataset.verdictHlc || "")) {
      row.dataset.verdict = v.value || "";
      const badge = row.querySelector(".verdict-badge");
      badge.dataset.verdict = v.value || "";
      badge.textContent = verdictLabel(v.value);
    } else if (v.field === "note" && v.stamp > (row.dataset.noteHlc || "")) {
      row.dataset.note = v.value ? "1" : "";
    } else if (v.field === "flag" && v.stamp > (row.dataset.flagHlc || "")) {
      row.dataset.flagged = v.value ? "1" : "";
    } else if (v.field === "photo") {
      photos.set(v.standard, { ...photos.get(v.standard), [v.value.sha256]: v.value.attached });
    }
  }
  for (const [standard, known] of photos) {
    // The server's count, corrected by what this device attached or removed.
    const row = list.querySelector(`[data-standard="${CSS.escape(standard)}"]`);
    const attached = Object.values(known).filter(Boolean).length;
    if (attached) row.dataset.photos = String(Math.max(Number(row.dataset.photos) || 0, attached));
    else if (Object.keys(known).length && !attached && !Number(row.dataset.photos)) row.dataset.photos = "";
  }
  for (const row of list.querySelectorAll("[data-standard]")) {
    for (const mark of row.querySelectorAll("[data-mark]")) mark.hidden = !row.dataset[mark.dataset.mark];
  }
  // A cached page (offline) was rendered without the filter: the address says it.
  applyFilter(list, list.dataset.only || new URLSearchParams(location.search).get("only"));
}

/** The one rule of the section filters (inspections.FILTERS names them). */
export function matches(row, only, deficient) {
  const d = row.dataset;
  switch (only) {
    case "not_assessed": return !d.verdict;
    case "not_compliant": return deficient.includes(d.verdict);
    case "evidence": return Boolean(d.note || d.photos);
    case "flagged": return Boolean(d.flagged);
    default: return true;
  }
}

function applyFilter(list, only) {
  // The filters' keys are the server's (inspections.FILTERS), on its links; anything else shows every row.
  const links = [...document.querySelectorAll("nav.filters a")];
  if (!links.some((link) => link.dataset.filter === only)) only = null;
  const deficient = (list.dataset.deficient || "").split(" ").filter(Boolean);
  const rows = [...list.querySelectorAll("[data-standard]")];
  let shown = 0;
  for (const row of rows) {
    row.hidden = !matches(row, only, deficient);
    if (!row.hidden) shown += 1;
  }
  // The inspection page: its sections unfiltered, the matching standards
  // grouped by section under a filter (a group with none shown is hidden).
  for (const group of list.querySelectorAll("[data-group]")) {
    group.hidden = !group.querySelector("[data-standard]:not([hidden])");
    countMarks(group);
  }
  if ("filteredOnly" in list.dataset) {
    list.hidden = !only;
    document.querySelector("[data-sections-list]").hidden = Boolean(only);
  }
  // A cached page was rendered unfiltered: say which filter is on.
  for (const link of links) {
    if ((link.dataset.filter || null) === only) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const count = document.querySelector("[data-filter-count]");
  if (count) count.textContent = only ? `${shown} of ${rows.length} standards shown` : "";
}


/** A section's row on the inspection page: how many of its standards carry each mark. */
function countMarks(group) {
  const rows = [...group.querySelectorAll("[data-standard]")];
  const section = document.querySelector(`.section-row[data-section="${CSS.escape(group.dataset.group)}"]`);
  for (const mark of section?.querySelectorAll("[data-mark-count]") || []) {
    const n = rows.filter((row) => row.dataset[mark.dataset.markCount]).length;
    mark.querySelector("[data-n]").textContent = n;
    mark.hidden = !n;
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
