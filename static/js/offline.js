// The inspection page's offline panel: take the inspection offline (the
// service worker stores its pages) and say how much this device holds.
import * as outbox from "/sync/static/outbox.js";
import * as worker from "/static/js/worker.js";

const userId = () => document.body.dataset.userId;
const savedKey = (inspectionId) => `inspector-offline-u${userId()}-i${inspectionId}`;

export function bind(panel) {
  const state = panel.querySelector("[data-offline-state]");
  const saved = JSON.parse(localStorage.getItem(savedKey(panel.dataset.inspection)) || "null");
  if (saved) {
    state.textContent = `Available offline: ${saved.pages} pages, ${kb(saved.bytes)}, stored ${new Date(saved.when).toLocaleString()}.`;
    showStorage(panel);
  }
  // Say at once when this browser cannot work offline, rather than after a click.
  worker.offlineProblem().then((why) => { if (why) state.textContent = why; });
  const button = panel.querySelector("[data-make-offline]");
  if (button.dataset.bound) return;
  button.dataset.bound = "1";
  button.addEventListener("click", () => makeOffline(panel));
  bindDocuments(panel);
}

// --- the program's documents, section by section ----------------------------------

const urlsOf = (row) => row.dataset.urls.split(" ").filter(Boolean);

function bindDocuments(panel) {
  const rows = [...panel.querySelectorAll("[data-section-documents]")];
  if (!rows.length) return;
  panel.addEventListener("click", (e) => {
    const row = e.target.closest("[data-section-documents]");
    if (e.target.closest("[data-store-documents]")) storeDocuments(panel, row);
    else if (e.target.closest("[data-remove-documents]")) removeDocuments(panel, row);
  });
  showDocuments(panel);
}

/** Say per section whether its documents are on this device (the worker's cache answers). */
async function showDocuments(panel) {
  const rows = [...panel.querySelectorAll("[data-section-documents]")];
  let held;
  try {
    held = new Set(await worker.ask({ type: "documents-held", userId: userId(), urls: rows.flatMap(urlsOf) }));
  } catch {
    return;  // no worker: the buttons say what they would do
  }
  for (const row of rows) {
    const urls = urlsOf(row);
    const have = urls.filter((url) => held.has(url)).length;
    row.querySelector("[data-remove-documents]").hidden = !have;
    row.querySelector("[data-documents-state]").textContent = have === urls.length ? "Stored on this device."
      : have ? `${have} of ${urls.length} stored on this device.` : "";
  }
}

async function storeDocuments(panel, row) {
  const state = row.querySelector("[data-documents-state]");
  const button = row.querySelector("[data-store-documents]");
  const why = await worker.offlineProblem({ wait: true });
  if (why) { state.textContent = why; return; }
  button.disabled = true;
  try {
    const { failed } = await worker.ask({ type: "store-documents", userId: userId(), urls: urlsOf(row) },
      ({ stored, total }) => { state.textContent = `Storing documents: ${stored} of ${total}…`; });
    await showDocuments(panel);
    if (failed) state.textContent = `${failed} documents could not be stored; try again while online.`;
  } catch (err) {
    state.textContent = `Could not store the documents (${err.message}).`;
  } finally {
    button.disabled = false;
  }
}

/** Remove a section's documents from the device. A document is stored once
 * however many sections it supports: the other sections' rows then say
 * what they still hold. */
async function removeDocuments(panel, row) {
  await worker.ask({ type: "remove-documents", userId: userId(), urls: urlsOf(row) });
  await showDocuments(panel);
  row.querySelector("[data-documents-state]").textContent ||= "Removed from this device.";
  row.querySelector("[data-store-documents]").focus();
}

/** Forget what this panel noted about a user's offline pages (at logout). */
export function forget(uid) {
  Object.keys(localStorage).filter((k) => k.startsWith(`inspector-offline-u${uid}-`))
    .forEach((k) => localStorage.removeItem(k));
}

const kb = (bytes) => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB`
  : bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MB` : `${Math.round(bytes / 1024)} KB`);

async function makeOffline(panel) {
  const state = panel.querySelector("[data-offline-state]");
  const button = panel.querySelector("[data-make-offline]");
  button.disabled = true;
  state.textContent = "Preparing…";
  const why = await worker.offlineProblem({ wait: true });
  if (why) {
    state.textContent = why;
    button.disabled = false;
    return;
  }
  try {
    const { pages, bytes, failed, missing, wire } = await worker.ask(
      { type: "take-offline", userId: userId(), bundle: panel.dataset.bundle },
      (progress) => { state.textContent = progressText(progress); });
    await outbox.trackInspection(panel.dataset.inspection);
    const persisted = navigator.storage?.persist ? await navigator.storage.persist() : false;
    // Ready only when a worker controls this page and every page is in its cache.
    const problem = await worker.offlineProblem();
    if (problem) {
      state.textContent = problem;
    } else if (failed || missing) {
      state.textContent = `${failed || missing} pages could not be stored; try again while online.`;
    } else {
      localStorage.setItem(savedKey(panel.dataset.inspection), JSON.stringify({ when: Date.now(), pages, bytes }));
      const download = wire ? ` (a ${kb(wire)} download)` : "";
      state.textContent = `Ready to use offline: ${pages} pages, ${kb(bytes)} stored on this device${download}.`;
    }
    showStorage(panel, persisted);
  } catch (err) {
    state.textContent = `Could not prepare offline use (${err.message}). Try again while online.`;
  } finally {
    button.disabled = false;
  }
}

/** What the worker reports on the way: the one download (the bytes arrive
 * decompressed, counted against the bundle's whole size), then the pages
 * going into its cache. */
function progressText({ received, total, wire, stored }) {
  if (stored !== undefined) return `Storing pages: ${stored} of ${total}…`;
  if (!total) return `Downloading: ${kb(received)}…`;
  const share = Math.min(received / total, 1);
  return wire ? `Downloading: ${kb(share * wire)} of ${kb(wire)}…` : `Downloading: ${Math.round(share * 100)}%…`;
}

async function showStorage(panel, persisted) {
  const el = panel.querySelector("[data-storage-state]");
  if (!navigator.storage?.estimate) return;
  const persistent = persisted ?? (navigator.storage.persisted ? await navigator.storage.persisted() : false);
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  el.textContent = `${persistent ? "Storage is persistent: the browser will not clear it." :
    "Storage is not persistent: the browser may clear it if space runs low."} Using ${kb(usage)} of ${kb(quota)}.`;
}
