// A standard's finding form: every edit is saved through the outbox, the
// page is overlaid with this device's latest values (it may be a cached
// page, or show values older than another tablet's), and the form says
// whether the edit is saved on the tablet and synced.
import * as outbox from "/sync/static/outbox.js";
import { prepare } from "/static/js/photos.js";
import { isRequestField } from "/static/js/requests.js";

const objectUrls = new Map();

export function bind(form) {
  if (form.dataset.bound) return;
  form.dataset.bound = "1";
  const ids = { inspectionId: form.dataset.inspection, standard: form.dataset.standard, section: form.dataset.section };
  const note = form.querySelector("textarea[name=note]");
  let saving = 0;
  let failed = null;
  // Text is written to IndexedDB on every keystroke (the outbox keeps only
  // the newest unsent op per field), and to a synchronous draft first (a
  // `draft` edit), so a reload, a closed tab or a dead battery a moment
  // after typing loses nothing; only the push waits for typing to pause.
  // "Saved" shows once every edit made so far is stored.
  const save = async (field, value, { syncDelay = 0, draft = false } = {}) => {
    saving += 1;
    setSaveState(form, "Saving…", "typing");
    try {
      await outbox.record({ ...ids, field, value, syncDelay, draft });
      failed = null;
    } catch (err) {
      // Storage full, or private browsing: say so loudly; typed text stays in its draft.
      failed = err;
    } finally {
      saving -= 1;
    }
    if (failed) setSaveState(form, `Not saved on this tablet (${failed.name || failed}): free some storage or leave private browsing, then change it again`, "problem");
    else if (!saving) setSaveState(form, "Saved on this tablet", "saved");
  };
  const saveText = (field, value) => save(field, value, { syncDelay: 1500, draft: true });
  const caption = (input) => ({ sha256: input.closest("[data-sha256]").dataset.sha256, text: input.value });
  form.addEventListener("submit", (e) => e.preventDefault());
  form.addEventListener("change", async (e) => {
    const t = e.target;
    if (t.name === "verdict") save("verdict", t.value);
    else if (t.matches("[data-add-photo]")) await addPhotos(form, t, save);
  });
  form.addEventListener("input", (e) => {
    const t = e.target;
    if (t === note) saveText("note", note.value);
    else if (t.matches("[data-caption]")) saveText("caption", caption(t));
  });
  form.addEventListener("click", (e) => {
    const flag = e.target.closest("[data-flag]");
    if (flag) {
      const on = flag.getAttribute("aria-pressed") !== "true";
      flag.setAttribute("aria-pressed", String(on));
      save("flag", on);
      return;
    }
    if (e.target.closest("[data-clear-verdict]")) {
      form.querySelectorAll("input[name=verdict]").forEach((r) => { r.checked = false; });
      save("verdict", null);
      return;
    }
    const remove = e.target.closest("[data-remove-photo]");
    if (remove) removePhoto(form, remove.closest("[data-sha256]"), save);
    const undo = e.target.closest("[data-undo-remove]");
    if (undo) undoRemove(form, undo.closest("[data-photo-removed]"), save);
  });
  // The page shows values stamped by other devices: our next edit must sort after them.
  outbox.observe(form.dataset.verdictHlc, form.dataset.noteHlc, form.dataset.flagHlc,
                 ...[...form.querySelectorAll("[data-sha256]")].flatMap((li) => [li.dataset.attachedHlc, li.dataset.captionHlc]));
  overlay(form).then(() => replayDrafts(form, ids, save));
}

/** Show values this device received since the page was rendered (a pull). */
export function overlayAll() { document.querySelectorAll("[data-finding]").forEach(overlay); }

/** Say on every finding form whether its edits are synced. */
export function renderSaveStates() { document.querySelectorAll("[data-finding]").forEach(renderSaveState); }

// Drafts the outbox kept of text whose IndexedDB write a closed tab cut short.
async function replayDrafts(form, ids, save) {
  const rendered = (field, sha256) => (field === "note" ? form.dataset.noteHlc
    : form.querySelector(`[data-sha256="${sha256}"]`)?.dataset.captionHlc);
  for (const { field, value } of await outbox.drafts(ids.inspectionId, ids.standard, rendered)) {
    if (field === "note") form.querySelector("textarea[name=note]").value = value;
    if (field === "caption") {
      const input = form.querySelector(`[data-sha256="${value.sha256}"] [data-caption]`);
      if (input) input.value = value.text;
    }
    await save(field, value, { syncDelay: 1500 });
  }
}

async function addPhotos(form, input, save) {
  for (const file of [...input.files]) {
    setSaveState(form, "Preparing photo…", "typing");
    try {
      const photo = await prepare(file);
      await outbox.keepPhoto(photo);
      await addPhotoItem(form, photo.sha256, "");
      await save("photo", { sha256: photo.sha256, attached: true });
    } catch (err) {
      setSaveState(form, `That file could not be read as a photo (${err.message}).`, "problem");
    }
  }
  input.value = "";
}

// A removed photo leaves a notice with an Undo button in its place (cloned
// from <template data-photo-removed>); the photo's element is kept aside so
// Undo puts it back as it was, caption included.
const removed = new WeakMap();

function removePhoto(form, li, save) {
  const notice = form.querySelector("template[data-photo-removed]").content.firstElementChild.cloneNode(true);
  notice.dataset.removedSha256 = li.dataset.sha256;
  removed.set(notice, li);
  save("photo", { sha256: li.dataset.sha256, attached: false });
  li.replaceWith(notice);
  notice.querySelector("[data-undo-remove]").focus();
}

async function undoRemove(form, notice, save) {
  const sha256 = notice.dataset.removedSha256;
  const li = removed.get(notice);
  if (form.querySelector(`[data-sha256="${sha256}"]`)) notice.remove();
  else notice.replaceWith(li);
  await save("photo", { sha256, attached: true });
  li.querySelector("[data-remove-photo]")?.focus();
}

async function photoSrc(sha256) {
  if (objectUrls.has(sha256)) return objectUrls.get(sha256);
  const blob = await outbox.photoBlob(sha256);
  if (!blob) return `/photos/${sha256}?size=thumb`;
  const url = URL.createObjectURL(blob);
  objectUrls.set(sha256, url);
  return url;
}

// The same markup the server renders for its photos: cloned from the
// page's <template data-photo-item> (inspections/_photo.html).
async function addPhotoItem(form, sha256, caption) {
  const src = await photoSrc(sha256);
  const list = form.querySelector("[data-photo-list]");
  if (list.querySelector(`[data-sha256="${sha256}"]`)) return;
  const li = form.querySelector("template[data-photo-item]").content.firstElementChild.cloneNode(true);
  li.dataset.sha256 = sha256;
  const img = li.querySelector("img");
  img.src = src;
  img.alt = img.alt.replace("Photo ", `Photo ${list.querySelectorAll("[data-sha256]").length + 1}`);
  // A photo not yet uploaded opens from this device; one the server holds, full size from it.
  li.querySelector("[data-photo-full]").href = src.startsWith("blob:") ? src : `/photos/${sha256}`;
  const input = li.querySelector("[data-caption]");
  input.id += sha256.slice(0, 12);
  input.value = caption;
  li.querySelector("label").htmlFor = input.id;
  list.append(li);
}

async function overlay(form) {
  const local = await outbox.values(form.dataset.inspection, form.dataset.standard);
  const newer = (v, rendered) => v.stamp > (rendered || "");
  for (const v of local) {
    if (v.field === "verdict" && newer(v, form.dataset.verdictHlc)) {
      form.querySelectorAll("input[name=verdict]").forEach((r) => { r.checked = r.value === v.value; });
    } else if (v.field === "note" && newer(v, form.dataset.noteHlc)) {
      const note = form.querySelector("textarea[name=note]");
      if (document.activeElement !== note) note.value = v.value;
    } else if (v.field === "flag" && newer(v, form.dataset.flagHlc)) {
      form.querySelector("[data-flag]")?.setAttribute("aria-pressed", String(Boolean(v.value)));
    } else if (v.field === "photo") {
      const li = form.querySelector(`[data-sha256="${v.value.sha256}"]`);
      if (li && !newer(v, li.dataset.attachedHlc)) continue;
      if (v.value.attached && !li) await addPhotoItem(form, v.value.sha256, "");
      if (!v.value.attached && li) li.remove();
    }
  }
  for (const v of local) {
    if (v.field !== "caption") continue;
    const li = form.querySelector(`[data-sha256="${v.value.sha256}"]`);
    const input = li?.querySelector("[data-caption]");
    if (input && document.activeElement !== input && newer(v, li.dataset.captionHlc)) input.value = v.value.text;
  }
  renderSaveState(form);
}

function setSaveState(form, text, state) {
  const el = form.querySelector("[data-save-state]");
  el.textContent = text;
  el.dataset.state = state;
}

async function renderSaveState(form) {
  const el = form.querySelector("[data-save-state]");
  if (el.dataset.state === "typing") return;
  // The standard's requests for information say their own state (requests.js).
  const mine = (await outbox.opsFor(form.dataset.inspection, form.dataset.standard))
    .filter((op) => !isRequestField(op.field));
  const bad = mine.filter((o) => o.state === "rejected");
  if (bad.length) setSaveState(form, `Not accepted by the server: ${bad[0].reason}`, "problem");
  else if (mine.length) setSaveState(form, "Saved on this tablet, waiting to sync", "saved");
  else if (el.dataset.state === "saved") setSaveState(form, "Saved and synced", "synced");
}
