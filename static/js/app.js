// Page behaviour: save edits through the outbox, overlay this device's latest
// values on (possibly cached) pages, show the sync status, take an inspection
// offline. Loaded once per full page load; with hx-boost, `init` runs again
// after every swap, so everything here is bound per swapped element.
import * as outbox from "/sync/static/outbox.js";
import { prepare } from "/static/js/photos.js";

const userId = document.body.dataset.userId;
const VERDICT_LABELS = { compliant: "Compliant", not_compliant: "Not compliant", not_applicable: "Not applicable" };
const objectUrls = new Map();

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(async () => {
    const reg = await navigator.serviceWorker.ready;
    reg.active?.postMessage({ type: "user", userId: userId || null });
  }).catch(() => { /* no service worker (plain http on a LAN address): pages work online only */ });
}

if (userId) {
  outbox.open(userId);
  outbox.onChange(renderStatus);
  // Values pulled from the server (e.g. from this inspector's other tablet)
  // show on the open page without a reload.
  outbox.onPulled(() => document.querySelectorAll("[data-finding]").forEach(overlayFinding));
  outbox.start();
}

function init(root) {
  if (!userId) return;
  renderStatus();
  root.querySelectorAll("[data-finding]").forEach(initFinding);
  root.querySelectorAll("ul.standards[data-inspection]").forEach(overlaySection);
  root.querySelectorAll("[data-offline-panel]").forEach(initOfflinePanel);
  const verdicts = root.querySelector("#my-verdicts");
  if (verdicts) overlayProgress(verdicts);
  root.querySelectorAll("form.logout").forEach(initLogout);
  const tracked = root.querySelector("[data-inspection]");
  if (tracked) outbox.trackInspection(tracked.dataset.inspection);
}

document.addEventListener("DOMContentLoaded", () => init(document));
document.addEventListener("htmx:afterSettle", (e) => init(e.target === document.body ? document : e.target));

async function renderStatus() {
  const el = document.getElementById("sync-status");
  if (!el || !userId) return;
  const s = await outbox.status();
  el.dataset.state = s.state;
  el.textContent = s.text;
  await renderProblems();
  document.querySelectorAll("[data-finding]").forEach(renderSaveState);
}

async function renderProblems() {
  const bad = await outbox.rejected();
  let box = document.getElementById("sync-problems");
  if (!bad.length) { box?.remove(); return; }
  if (!box) {
    box = document.createElement("section");
    box.id = "sync-problems";
    box.className = "problems";
    box.setAttribute("aria-label", "Changes the server could not accept");
    document.getElementById("main")?.prepend(box);
  }
  box.replaceChildren();
  const h = document.createElement("h2");
  h.textContent = "Changes the server could not accept (kept on this device)";
  const ul = document.createElement("ul");
  for (const op of bad) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `/inspections/${op.inspection_id}/standards/${encodeURIComponent(op.standard)}`;
    a.textContent = `${op.standard} (${op.field})`;
    const discard = document.createElement("button");
    discard.type = "button";
    discard.className = "button secondary";
    discard.textContent = "Discard";
    discard.setAttribute("aria-label", `Discard the refused change to ${op.standard} (${op.field})`);
    discard.addEventListener("click", async () => {
      if (!confirm(`Discard the refused change to ${op.standard} (${op.field})? It cannot be recovered.`)) return;
      await outbox.discard(op.op_id);
      location.reload();  // show the server's value again
    });
    li.append(a, `: ${op.reason} `, discard);
    ul.append(li);
  }
  box.append(h, ul);
}

// --- a standard's finding ---------------------------------------------------

function initFinding(form) {
  if (form.dataset.bound) return;
  form.dataset.bound = "1";
  const ids = { inspectionId: form.dataset.inspection, standard: form.dataset.standard, section: form.dataset.section };
  const note = form.querySelector("textarea[name=note]");
  let saving = 0;
  // Text is written to IndexedDB on every keystroke (the outbox keeps only
  // the newest unsent op per field), so a reload, a closed tab or a dead
  // battery a moment after typing loses nothing; only the push waits.
  // "Saved" shows once every edit made so far is stored.
  let failed = null;
  const save = async (field, value, syncDelay = 0) => {
    saving += 1;
    setSaveState(form, "Saving…", "typing");
    try {
      await outbox.record({ ...ids, field, value, syncDelay });
      clearDraft(ids, field, value);
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
  // Text also goes to a synchronous localStorage draft first: an IndexedDB
  // write still in flight when the tab is reloaded or closed is aborted, and
  // the draft is replayed into the outbox on the next load.
  const saveText = (field, value) => {
    writeDraft(ids, field, value);
    save(field, value, 1500);
  };
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
    if (e.target.closest("[data-clear-verdict]")) {
      form.querySelectorAll("input[name=verdict]").forEach((r) => { r.checked = false; });
      save("verdict", null);
      return;
    }
    const button = e.target.closest("[data-remove-photo]");
    if (!button) return;
    const li = button.closest("[data-sha256]");
    save("photo", { sha256: li.dataset.sha256, attached: false });
    li.remove();
  });
  // The page shows values stamped by other devices: our next edit must sort after them.
  outbox.observe(form.dataset.verdictHlc, form.dataset.noteHlc,
                 ...[...form.querySelectorAll("[data-sha256]")].flatMap((li) => [li.dataset.attachedHlc, li.dataset.captionHlc]));
  overlayFinding(form).then(() => replayDrafts(form, ids, save));
}

const draftKey = (ids, field, value) =>
  `inspector-draft-u${userId}|${outbox.fieldKey(ids.inspectionId, ids.standard, field, value && value.sha256)}`;

function writeDraft(ids, field, value) {
  // `at` bounds from below the stamp this edit gets: a saved value stamped
  // later than it is newer than the draft.
  const draft = { field, value, at: outbox.stampFloor() };
  try { localStorage.setItem(draftKey(ids, field, value), JSON.stringify(draft)); } catch { /* full: IndexedDB still has it */ }
}

function clearDraft(ids, field, value) {
  const key = draftKey(ids, field, value);
  const draft = localStorage.getItem(key);
  if (draft && JSON.stringify(JSON.parse(draft).value) === JSON.stringify(value)) localStorage.removeItem(key);
}

async function replayDrafts(form, ids, save) {
  const prefix = `inspector-draft-u${userId}|${ids.inspectionId}|${ids.standard}|`;
  const known = new Map((await outbox.values(ids.inspectionId, ids.standard)).map((v) => [v.key, v]));
  const me = outbox.deviceId();
  // A draft is this device's latest text for its field (every keystroke
  // rewrites it), so only a value from another device, stamped after the
  // draft was written, is newer than it.
  const newerElsewhere = (stamp, at) => {
    const [wall, , device] = (stamp || "").split(" ")[0].split(":");
    return Boolean(device) && device !== me && Number(wall) > at;
  };
  for (const key of Object.keys(localStorage).filter((k) => k.startsWith(prefix))) {
    const { field, value, at = 0 } = JSON.parse(localStorage.getItem(key));
    const rendered = field === "note" ? form.dataset.noteHlc
      : form.querySelector(`[data-sha256="${value?.sha256}"]`)?.dataset.captionHlc;
    const saved = known.get(outbox.fieldKey(ids.inspectionId, ids.standard, field, value && value.sha256));
    if ((saved && JSON.stringify(saved.value) === JSON.stringify(value))
        || newerElsewhere(saved?.stamp, at) || newerElsewhere(rendered, at)) {
      localStorage.removeItem(key);  // already saved, or overtaken by another tablet
      continue;
    }
    if (field === "note") form.querySelector("textarea[name=note]").value = value;
    if (field === "caption") {
      const input = form.querySelector(`[data-sha256="${value.sha256}"] [data-caption]`);
      if (input) input.value = value.text;
    }
    await save(field, value, 1500);
  }
}

async function addPhotos(form, input, save) {
  for (const file of [...input.files]) {
    setSaveState(form, "Preparing photo…", "typing");
    try {
      const photo = await prepare(file);
      await outbox.keepPhoto(photo);
      addPhotoItem(form, photo.sha256, "");
      await save("photo", { sha256: photo.sha256, attached: true });
    } catch (err) {
      setSaveState(form, `That file could not be read as a photo (${err.message}).`, "problem");
    }
  }
  input.value = "";
}

async function photoSrc(sha256) {
  if (objectUrls.has(sha256)) return objectUrls.get(sha256);
  const blob = await outbox.photoBlob(sha256);
  if (!blob) return `/photos/${sha256}?size=thumb`;
  const url = URL.createObjectURL(blob);
  objectUrls.set(sha256, url);
  return url;
}

async function addPhotoItem(form, sha256, caption) {
  const list = form.querySelector("[data-photo-list]");
  if (list.querySelector(`[data-sha256="${sha256}"]`)) return;
  const li = document.createElement("li");
  li.className = "photo";
  li.dataset.sha256 = sha256;
  const n = list.children.length + 1;
  const img = document.createElement("img");
  img.alt = `Photo ${n}`;
  img.src = await photoSrc(sha256);
  const id = `caption-${sha256.slice(0, 12)}`;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = "Caption";
  const input = document.createElement("input");
  input.id = id; input.className = "caption"; input.maxLength = 500; input.value = caption;
  input.dataset.caption = "";
  const remove = document.createElement("button");
  remove.type = "button"; remove.className = "button secondary"; remove.textContent = "Remove photo";
  remove.dataset.removePhoto = "";
  li.append(img, label, input, remove);
  list.append(li);
}

async function overlayFinding(form) {
  const local = await outbox.values(form.dataset.inspection, form.dataset.standard);
  const newer = (v, rendered) => v.stamp > (rendered || "");
  for (const v of local) {
    if (v.field === "verdict" && newer(v, form.dataset.verdictHlc)) {
      form.querySelectorAll("input[name=verdict]").forEach((r) => { r.checked = r.value === v.value; });
    } else if (v.field === "note" && newer(v, form.dataset.noteHlc)) {
      const note = form.querySelector("textarea[name=note]");
      if (document.activeElement !== note) note.value = v.value;
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
  const mine = (await outbox.opsFor(form.dataset.inspection, form.dataset.standard));
  const bad = mine.filter((o) => o.state === "rejected");
  if (bad.length) setSaveState(form, `Not accepted by the server: ${bad[0].reason}`, "problem");
  else if (mine.length) setSaveState(form, "Saved on this tablet, waiting to sync", "saved");
  else if (el.dataset.state === "saved") setSaveState(form, "Saved and synced", "synced");
}

// --- a section's list of standards -------------------------------------------

async function overlaySection(list) {
  const local = await outbox.values(list.dataset.inspection);
  for (const v of local) {
    if (v.field !== "verdict") continue;
    const row = list.querySelector(`[data-standard="${CSS.escape(v.standard)}"]`);
    if (!row || v.stamp <= (row.dataset.verdictHlc || "")) continue;
    const badge = row.querySelector(".verdict-badge");
    badge.dataset.verdict = v.value || "";
    badge.textContent = VERDICT_LABELS[v.value] || "Not assessed";
  }
}

// --- progress on the inspection page -----------------------------------------

async function overlayProgress(data) {
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

// --- taking an inspection offline --------------------------------------------

function offlineKey(inspectionId) { return `inspector-offline-u${userId}-i${inspectionId}`; }

function initOfflinePanel(panel) {
  const state = panel.querySelector("[data-offline-state]");
  const saved = JSON.parse(localStorage.getItem(offlineKey(panel.dataset.inspection)) || "null");
  if (saved) {
    state.textContent = `Available offline: ${saved.pages} pages, ${kb(saved.bytes)}, stored ${new Date(saved.when).toLocaleString()}.`;
    showStorage(panel);
  }
  const button = panel.querySelector("[data-make-offline]");
  if (button.dataset.bound) return;
  button.dataset.bound = "1";
  button.addEventListener("click", () => makeOffline(panel));
}

const kb = (bytes) => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB`
  : bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MB` : `${Math.round(bytes / 1024)} KB`);

async function makeOffline(panel) {
  const state = panel.querySelector("[data-offline-state]");
  const button = panel.querySelector("[data-make-offline]");
  if (!("caches" in self)) {
    state.textContent = "This browser cannot store pages: open the app over https:// or on localhost.";
    return;
  }
  button.disabled = true;
  try {
    state.textContent = "Preparing…";
    const manifest = await (await fetch(panel.dataset.manifest, { credentials: "same-origin" })).json();
    const cache = await caches.open(`pages-u${userId}`);
    const urls = [...manifest.pages, ...manifest.photos];
    let done = 0, bytes = 0, failed = 0;
    const worker = async () => {
      while (urls.length) {
        const url = urls.shift();
        try {
          const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
          if (!response.ok || response.redirected) throw new Error(String(response.status));
          // Only pages rendered for this inspector go in this inspector's cache.
          const owner = response.headers.get("X-Inspector-User");
          if (owner !== null && owner !== userId) throw new Error("another user is logged in");
          bytes += (await response.clone().arrayBuffer()).byteLength;
          await cache.put(url, response);
          done += 1;
        } catch { failed += 1; }
        state.textContent = `Storing pages: ${done} of ${manifest.pages.length + manifest.photos.length}…`;
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    await outbox.trackInspection(panel.dataset.inspection);
    const persisted = navigator.storage?.persist ? await navigator.storage.persist() : false;
    if (failed) {
      state.textContent = `${failed} pages could not be stored; try again while online.`;
    } else {
      localStorage.setItem(offlineKey(panel.dataset.inspection), JSON.stringify({ when: Date.now(), pages: done, bytes }));
      state.textContent = `Ready to use offline: ${done} pages, ${kb(bytes)} stored on this device.`;
    }
    showStorage(panel, persisted);
  } catch (err) {
    state.textContent = `Could not prepare offline use (${err.message}). Try again while online.`;
  } finally {
    button.disabled = false;
  }
}

async function showStorage(panel, persisted) {
  const el = panel.querySelector("[data-storage-state]");
  if (!navigator.storage?.estimate) return;
  const persistent = persisted ?? (navigator.storage.persisted ? await navigator.storage.persisted() : false);
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  el.textContent = `${persistent ? "Storage is persistent: the browser will not clear it." :
    "Storage is not persistent: the browser may clear it if space runs low."} Using ${kb(usage)} of ${kb(quota)}.`;
}

// --- logging out on a shared tablet -----------------------------------------

function initLogout(form) {
  if (form.dataset.bound) return;
  form.dataset.bound = "1";
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
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
    if (!waiting) {
      // Nothing pending: what this user stored leaves the tablet with them.
      if ("caches" in self) await caches.delete(`pages-u${userId}`);
      Object.keys(localStorage).filter((k) => k.startsWith(`inspector-offline-u${userId}-`) ||
                                              k.startsWith(`inspector-draft-u${userId}|`))
        .forEach((k) => localStorage.removeItem(k));
      await outbox.forget(userId);
    }
    navigator.serviceWorker?.controller?.postMessage({ type: "user", userId: null });
    location.assign(response.url || "/login");
  });
}
