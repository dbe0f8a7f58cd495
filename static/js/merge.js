// The team leader's merge screen. Each decision (consolidated verdict,
// citation, suggestion, which photos the site may see) is an op through the
// same outbox as an inspector's finding, so the lead consolidates offline on
// the last evening too. With every decision goes its basis: the newest
// finding of that standard the page showed, so a finding that arrives later
// is flagged "Changed since you decided" instead of passing unseen.
import * as outbox from "/sync/static/outbox.js";

/** Bind one standard's row: its decision form and its photos' release boxes. */
export function bind(row) {
  if (row.dataset.bound) return;
  row.dataset.bound = "1";
  const form = row.querySelector("[data-decision]");
  const ids = { inspectionId: form.dataset.inspection, standard: form.dataset.standard, section: form.dataset.section };
  const citation = form.querySelector("[data-field=citation]");
  let saving = 0;
  const save = async (field, value, options = {}) => {
    saving += 1;
    setState(form, "Saving…", "typing");
    try {
      await outbox.record({ ...ids, field, value, ...options });
      if (field !== "release_photo") {
        // What the lead saw when deciding: later findings are flagged, never missed.
        if (field !== "decision_basis") {
          await outbox.record({ ...ids, field: "decision_basis", value: Number(form.dataset.basis) });
        }
        seen(row);
      }
      setState(form, saving > 1 ? "Saving…" : "Saved on this tablet", saving > 1 ? "typing" : "saved");
    } catch (err) {
      setState(form, `Not saved on this tablet (${err.name || err}): free some storage, then change it again`, "problem");
    } finally {
      saving -= 1;
    }
  };
  form.addEventListener("submit", (e) => e.preventDefault());
  form.addEventListener("change", async (e) => {
    if (e.target.type !== "radio") return;
    showContradiction(row, e.target.value);
    await save("decision_verdict", e.target.value);
  });
  // Keep my decision: the lead saw what changed and keeps the decision as it
  // is. Recorded as the decision's basis (an op, so offline too).
  row.querySelector("[data-keep-decision]")?.addEventListener("click", async () => {
    await save("decision_basis", Number(form.dataset.basis));
    setState(form, "Decision kept: saved on this tablet", "saved");
    form.querySelector("input[type=radio]:checked, textarea")?.focus();
  });
  // The inspectors' notes are private: they become the citation only when the
  // lead asks, as text to edit; the edit (an input) is what is saved.
  form.querySelector("[data-start-from-notes]")?.addEventListener("click", () => {
    const notes = form.querySelector("template[data-notes]").content.textContent;
    citation.value = citation.value.trim() ? `${citation.value}\n\n${notes}` : notes;
    citation.dispatchEvent(new Event("input", { bubbles: true }));
    citation.focus();
  });
  form.addEventListener("input", (e) => {
    const field = e.target.dataset.field;
    if (!field) return;
    save(field, e.target.value, { syncDelay: 1500, draft: true });
  });
  row.addEventListener("change", (e) => {
    const box = e.target.closest("[data-release]");
    if (box) save("release_photo", { sha256: box.dataset.release, released: box.checked });
  });
  outbox.observe(form.dataset.verdictHlc, form.dataset.citationHlc, form.dataset.suggestionHlc);
  overlay(row).then(() => replayDrafts(form, ids, save)).then(() => renderSaveState(row));
}

/** Show this device's decisions newer than the page (a cached page, or one
 * rendered before the last edit). */
export async function overlay(row) {
  const form = row.querySelector("[data-decision]");
  const newer = (v, rendered) => v.stamp > (rendered || "");
  for (const v of await outbox.values(form.dataset.inspection, form.dataset.standard)) {
    if (v.field === "decision_verdict" && newer(v, form.dataset.verdictHlc)) {
      form.querySelectorAll("input[type=radio]").forEach((r) => { r.checked = r.value === v.value; });
      showContradiction(row, v.value);
    } else if ((v.field === "citation" || v.field === "suggestion") && newer(v, form.dataset[`${v.field}Hlc`])) {
      const box = form.querySelector(`[data-field=${v.field}]`);
      if (document.activeElement !== box) box.value = v.value;
    } else if (v.field === "release_photo") {
      const box = row.querySelector(`[data-release="${v.value.sha256}"]`);
      if (box) box.checked = v.value.released;
    } else if (v.field === "decision_basis" && v.value >= Number(form.dataset.basis)) {
      seen(row);
    }
  }
}

/** Overlay every row on the page (after a pull brought decisions from another device). */
export function overlayAll() { document.querySelectorAll(".merge-row").forEach(overlay); }

/** Say on every row whether its decisions are synced (after each change of the outbox). */
export function renderSaveStates() { document.querySelectorAll(".merge-row").forEach(renderSaveState); }

// The lead's fields: those of the pulled sets "decisions" and "releases" in
// the field table the page ships (sync/fields.py client_table), not a list
// of our own. A lead who also assesses has finding ops on the same standard.
let decisionFields = null;
function isDecisionField(field) {
  if (!decisionFields) {
    const table = JSON.parse(document.getElementById("field-table")?.textContent || "{}");
    decisionFields = new Set(["decisions", "releases"].flatMap((set) => (table[set]?.columns || []).map((c) => c.field)));
  }
  return decisionFields.has(field);
}

// As finding.js says it of a finding: waiting, refused, or synced once the
// outbox holds none of the row's decisions any more.
async function renderSaveState(row) {
  const form = row.querySelector("[data-decision]");
  const el = form?.querySelector("[data-save-state]");
  if (!el || el.dataset.state === "typing") return;
  const mine = (await outbox.opsFor(form.dataset.inspection, form.dataset.standard))
    .filter((op) => isDecisionField(op.field));
  const bad = mine.filter((o) => o.state === "rejected");
  if (bad.length) setState(form, `Not accepted by the server: ${bad[0].reason}`, "problem");
  else if (mine.length) setState(form, "Saved on this tablet, waiting to sync", "saved");
  else if (el.dataset.state === "saved") setState(form, "Saved and synced", "synced");
}

async function replayDrafts(form, ids, save) {
  const rendered = (field) => form.dataset[`${field}Hlc`];
  for (const { field, value } of await outbox.drafts(ids.inspectionId, ids.standard, rendered)) {
    const box = form.querySelector(`[data-field=${field}]`);
    if (box) box.value = value;
    await save(field, value, { syncDelay: 1500 });
  }
}

// The lead has seen the standard as it is now: the flag and its list of changes go.
function seen(row) {
  row.querySelector(".changed")?.remove();
  row.querySelector("[data-changed-since]")?.remove();
}

// A consolidated verdict none of the inspectors gave is pointed out (the
// server renders it so; this keeps it true as the lead changes the verdict).
function showContradiction(row, verdict) {
  const note = row.querySelector("[data-contradicts]");
  if (note) note.hidden = !verdict || note.dataset.verdicts.split(" ").includes(verdict);
}

function setState(form, text, state) {
  const el = form.querySelector("[data-save-state]");
  el.textContent = text;
  el.dataset.state = state;
}
