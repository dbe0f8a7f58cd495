// Lists that show verdicts, overlaid with this device's unsynced ones: a
// section's standards (with the server's labels, rendered in base.html) and
// "assessed by me" on the inspection page.
import * as outbox from "/sync/static/outbox.js";

function verdictLabel(verdict) {
  const data = document.getElementById("verdict-labels");
  return JSON.parse(data.textContent)[verdict] || data.dataset.none;
}

/** One of this device's values (`v`) onto a standard's data: a row's
 * dataset, or an object of the same keys; photos are gathered per standard
 * in `photos` (see overlayPhotos). Returns whether the verdict changed. */
function overlayValue(data, v, photos) {
  if (v.field === "verdict" && v.stamp > (data.verdictHlc || "")) {
    data.verdict = v.value || "";
    return true;
  }
  if (v.field === "note" && v.stamp > (data.noteHlc || "")) data.note = v.value ? "1" : "";
  else if (v.field === "flag" && v.stamp > (data.flagHlc || "")) data.flagged = v.value ? "1" : "";
  else if (v.field === "photo") photos.set(v.standard, { ...photos.get(v.standard), [v.value.sha256]: v.value.attached });
  return false;
}

/** The server's photo count, corrected by what this device attached or removed. */
function overlayPhotos(data, known) {
  const attached = Object.values(known).filter(Boolean).length;
  if (attached) data.photos = String(Math.max(Number(data.photos) || 0, attached));
  else if (Object.keys(known).length && !attached && !Number(data.photos)) data.photos = "";
}

/** A list of standards (`[data-standards]`: a section's, or the inspection
 * page's grouped by section under a filter): each row shows this device's
 * newer verdict, note, photos and flag, then the filter in the address
 * (`?only=`) is applied. */
export async function overlaySection(list) {
  const photos = new Map();  // standard -> {sha256: attached} from this device
  for (const v of await outbox.values(list.dataset.inspection)) {
    const row = list.querySelector(`[data-standard="${CSS.escape(v.standard)}"]`);
    if (!row || !overlayValue(row.dataset, v, photos)) continue;
    const badge = row.querySelector(".verdict-badge");
    badge.dataset.verdict = row.dataset.verdict;
    badge.textContent = verdictLabel(row.dataset.verdict || null);
  }
  for (const [standard, known] of photos) {
    overlayPhotos(list.querySelector(`[data-standard="${CSS.escape(standard)}"]`).dataset, known);
  }
  for (const row of list.querySelectorAll("[data-standard]")) {
    for (const mark of row.querySelectorAll("[data-mark]")) mark.hidden = !row.dataset[mark.dataset.mark];
  }
  // A cached page (offline) may have been stored without the filter: the address says it.
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
  }
  if ("filteredOnly" in list.dataset) {
    list.hidden = !only;
    document.querySelector("[data-sections-list]").hidden = Boolean(only);
  }
  // Say which filter is on (a page stored without it shows every row).
  for (const link of links) {
    if ((link.dataset.filter || null) === only) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const count = document.querySelector("[data-filter-count]");
  const link = links.find((l) => l.dataset.filter === only);
  if (count) count.textContent = !only ? "" : shown ? `${shown} of ${rows.length} standards shown` : link.dataset.empty;
}


/** A section row's mark counts, from its standards' data (rows' datasets or the same keys). */
function showMarkCounts(section, standards) {
  for (const mark of section.querySelectorAll("[data-mark-count]")) {
    const n = standards.filter((data) => data[mark.dataset.markCount]).length;
    mark.querySelector("[data-n]").textContent = n;
    mark.hidden = !n;
  }
}

/** The inspection page's section rows: how many of my standards I assessed
 * and how many carry each mark, from its `#my-standards` data (the
 * server's), with this device's newer verdicts, notes, flags and photos. */
export async function overlayInspection(data) {
  const panel = document.querySelector("[data-offline-panel]");
  if (!panel) return;
  const standards = new Map();  // code -> {section, verdict, verdictHlc, note, noteHlc, flagged, flagHlc, photos}
  for (const [code, [section, verdict, verdictHlc, note, noteHlc, flagged, flagHlc, photos]]
       of Object.entries(JSON.parse(data.textContent))) {
    standards.set(code, { section, verdict: verdict || "", verdictHlc, note: note ? "1" : "", noteHlc,
                          flagged: flagged ? "1" : "", flagHlc, photos: photos ? String(photos) : "" });
  }
  const photos = new Map();
  for (const v of await outbox.values(panel.dataset.inspection)) {
    if (!standards.has(v.standard)) {
      if (!v.section) continue;
      standards.set(v.standard, { section: v.section });
    }
    overlayValue(standards.get(v.standard), v, photos);
  }
  for (const [standard, known] of photos) overlayPhotos(standards.get(standard), known);
  for (const row of document.querySelectorAll(".section-row[data-section]")) {
    const mine = [...standards.values()].filter((d) => d.section === row.dataset.section);
    const n = mine.filter((d) => d.verdict).length;
    row.querySelector("[data-mine]").textContent = n;
    row.querySelector("progress").value = n;
    showMarkCounts(row, mine);
  }
}
