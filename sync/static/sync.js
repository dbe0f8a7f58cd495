// The sync loop (docs/sync-protocol.md): upload photo blobs, push ops, pull
// changes. It runs in the page, on load, on `online`, when the tab becomes
// visible, every 30 s and after failures with backoff: iPad Safari has no
// Background Sync, so nothing depends on it.
import * as outbox from "/sync/static/outbox.js";
import * as store from "/sync/static/store.js";

const SYNC_HEADERS = { "X-Inspector-Sync": "1", "Content-Type": "application/json" };
const BATCH = 200;
const MAX_BACKOFF = 60_000;
// Push bodies of at least this many characters go gzip-compressed (about a
// fifth of their size: ids, stamps and field names repeat); below it gzip's
// own header and trailer and the Content-Encoding header eat the gain.
const MIN_GZIP = 1024;
// The server will never take these bytes; anything else (a proxy's error
// page, a 5xx) is tried again later.
const PERMANENT_PHOTO_ERRORS = new Set(["not_an_image", "too_large", "too_many_pixels", "damaged_image", "bad_hash"]);

let timer = null;
let running = false;
let again = false;
let backoff = 0;
let problem = null;      // {kind, message} needing the inspector
let syncing = false;
let transientPhotoFailure = false;
let reachedServer = false;  // this round had an answer from the server
let plainPushes = false;    // the server (or a proxy) refused gzip with 415: send JSON as it is
const pulledListeners = new Set();

/** Called after a pull brought changes, so pages can show them. */
export function onPulled(fn) { pulledListeners.add(fn); }

/** The sync status badge: `{state, waiting, rejected, text, lastSynced}`;
 * `lastSynced` is when a round last reached the server (ms), or null. */
export async function status() {
  if (!store.db()) return { state: "unknown", text: "" };
  const db = await store.db();
  const [{ waiting, rejected }, lastSynced] = await Promise.all([outbox.counts(), db.get("meta", "lastSynced")]);
  const base = { waiting, rejected, lastSynced: lastSynced || null };
  const changes = (n) => `${n} change${n === 1 ? "" : "s"}`;
  if (problem) return { ...base, state: "problem", text: `${problem.message} (${changes(waiting + rejected)} kept on this device)` };
  if (rejected) return { ...base, state: "problem", text: `${changes(rejected)} refused` };
  // The browser knows it has no network: say so rather than "All synced",
  // which an offline tablet cannot know.
  if (!navigator.onLine) return { ...base, state: "offline", text: waiting ? `Offline · ${changes(waiting)} waiting` : "Offline" };
  if (syncing && waiting) return { ...base, state: "syncing", text: `Syncing ${changes(waiting)}…` };
  if (waiting) return { ...base, state: "waiting", text: `${changes(waiting)} waiting` };
  return { ...base, state: "synced", text: "All synced" };
}

export function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(syncNow, ms);
}

/** Start the loop: now, whenever the browser says it is online, and on a timer. */
export function start() {
  outbox.onChange(({ syncIn }) => { if (syncIn !== undefined) schedule(syncIn); });
  addEventListener("online", () => { backoff = 0; schedule(0); outbox.changed({}, false); });
  addEventListener("offline", () => outbox.changed({}, false));
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") schedule(0); });
  schedule(0);
  setInterval(() => { if (!running) syncNow(); }, 30_000);
}

class HttpError extends Error {
  constructor(status, body) { super(body?.message || `HTTP ${status}`); this.status = status; this.body = body; }
}

// A round that hangs (a captive portal, a dead uplink while the browser
// believes it is online) would hold the loop for the system's TCP timeout,
// minutes, showing "Syncing…": give up and retry with backoff instead. A
// photo's upload may take a while on a slow link; the rest are small.
const CALL_TIMEOUT_MS = 30_000;
const UPLOAD_TIMEOUT_MS = 120_000;

async function call(url, options = {}) {
  const timeout = options.method === "PUT" ? UPLOAD_TIMEOUT_MS : CALL_TIMEOUT_MS;
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store",
                                      signal: AbortSignal.timeout(timeout), ...options,
                                      headers: { ...SYNC_HEADERS, "X-Inspector-User": store.user(),
                                                 ...(options.headers || {}) } });
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  if (!response.ok) throw new HttpError(response.status, body);
  reachedServer = true;
  return body;
}

/** One round: upload photos, push ops, pull changes. Safe to call any time. */
export async function syncNow() {
  if (!store.db()) return;
  if (running) { again = true; return; }
  running = true;
  syncing = true;
  transientPhotoFailure = false;
  reachedServer = false;
  outbox.changed({}, false);
  try {
    await uploadPhotos();
    await pushOps();
    await pullChanges();
    problem = null;
    // "Last synced": a whole round that the server answered (a round with
    // nothing to send and nothing to pull proves nothing).
    if (reachedServer) await (await store.db()).put("meta", Date.now(), "lastSynced");
    // A photo the server could not take this time: retry, but back off.
    backoff = transientPhotoFailure ? Math.min(MAX_BACKOFF, backoff ? backoff * 2 : 2000) : 0;
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) {
      problem = { kind: "login", message: "Log in again to sync" };
    } else if (err instanceof HttpError && err.status === 409) {
      problem = { kind: "user", message: "Another user is logged in: log in again as the inspector who made these changes to sync them" };
    } else if (err instanceof HttpError && err.status >= 400 && err.status < 500) {
      problem = { kind: "server", message: `The server refused a sync: ${err.message}` };
    } else {
      problem = null; // offline or server down: just wait and retry
    }
    backoff = Math.min(MAX_BACKOFF, backoff ? backoff * 2 : 2000);
  } finally {
    running = false;
    syncing = false;
    outbox.changed();
  }
  if (again) { again = false; schedule(0); return; }
  if (!store.db()) return;  // logged out meanwhile
  if (backoff) schedule(backoff);
  else if ((await outbox.counts()).waiting) schedule(1000);
}

async function uploadPhotos() {
  const db = await store.db();
  for (const photo of await db.getAllFromIndex("photos", "by_state", "waiting")) {
    try {
      await call(`/sync/photos/${photo.sha256}`, { method: "PUT", body: photo.blob,
                                                     headers: { "Content-Type": "image/jpeg" } });
      await db.put("photos", { ...photo, state: "uploaded" });
    } catch (err) {
      if (!(err instanceof HttpError) || err.status === 401 || err.status === 409) throw err;  // offline or logged out
      if (PERMANENT_PHOTO_ERRORS.has(err.body?.error)) {
        await db.put("photos", { ...photo, state: "refused", error: err.message });  // keep the blob, say why
      } else {
        // Try again next round, with backoff; ops that need it wait, the rest go ahead.
        transientPhotoFailure = true;
      }
    }
  }
}

async function pushOps() {
  const db = await store.db();
  let size = BATCH;
  for (;;) {
    const pending = await db.getAllFromIndex("outbox", "by_state", store.inState("pending"));  // oldest first
    if (!pending.length) return;
    const batch = [];
    for (const op of pending) {
      const photo = op.field === "photo" && op.value.attached ? await db.get("photos", op.value.sha256) : null;
      // Ops attaching a photo the server refused can never apply: mark them.
      if (photo?.state === "refused") await markRejected(op, `The photo was refused: ${photo.error}`);
      else if (photo && photo.state !== "uploaded") continue;  // waits for its blob
      else if (batch.length < size) batch.push(op);
    }
    if (!batch.length) return;
    const send = batch.map(({ key, section, state, reason, restamped, ...op }) => op);
    let result;
    try {
      result = await call("/sync/push", { method: "POST", ...(await pushBody(JSON.stringify({ ops: send }))) });
    } catch (err) {
      if (err instanceof HttpError && err.status === 415 && !plainPushes) {
        plainPushes = true;  // the same batch again, uncompressed
        continue;
      }
      if (err instanceof HttpError && err.status === 413 && batch.length > 1) {
        size = Math.ceil(batch.length / 2);  // long notes: fewer ops a request (one alone over the limit stays, shown)
        continue;
      }
      if (err instanceof HttpError && err.status === 403 && err.body?.op_ids) {
        for (const op of batch) if (err.body.op_ids.includes(op.op_id)) await markRejected(op, err.body.message);
        continue;
      }
      throw err;
    }
    await outbox.learnServerTime(result.server_time);
    if (result.results.some((r) => r.code === "clock_ahead")) await outbox.resetClock(result.server_time);
    await outbox.observe(result.hlc);
    await settle(batch, result.results);
    if (result.results.some((r) => r.code === "missing_photo")) { await uploadPhotos(); return; }
  }
}

/** A push's body and its extra headers: gzip-compressed where the browser has
 * CompressionStream (Safari since 16.4), else the JSON as it is. */
async function pushBody(json) {
  if (plainPushes || json.length < MIN_GZIP || typeof CompressionStream !== "function") return { body: json };
  const gzipped = new Blob([json]).stream().pipeThrough(new CompressionStream("gzip"));
  return { body: await new Response(gzipped).arrayBuffer(), headers: { "Content-Encoding": "gzip" } };
}

/** Apply the server's answer per op: delete the accepted, keep the refused. */
async function settle(batch, results) {
  const byId = new Map(batch.map((op) => [op.op_id, op]));
  const tx = (await store.db()).transaction(["outbox", "photos", "values", "meta", "sent"], "readwrite");
  const ops = tx.objectStore("outbox");
  const sent = tx.objectStore("sent");
  for (const r of results) {
    const op = byId.get(r.op_id);
    // Replaced by a newer edit while it was on its way: nothing to update.
    if (!op || !(await ops.getKey(op.op_id))) continue;
    if (["applied", "duplicate", "superseded"].includes(r.status)) {
      await ops.delete(op.op_id);
      await outbox.keepAnswer(sent, op, r.status);
    } else if (r.code === "missing_photo") {
      // The blob is not on the server (yet): upload it again next round.
      const photo = await tx.objectStore("photos").get(op.value.sha256);
      if (photo) await tx.objectStore("photos").put({ ...photo, state: "waiting" });
      else await refuse(ops, sent, op, r.reason);
    } else if (r.code === "clock_ahead" && !op.restamped) {
      // Same op, same id, a stamp from the corrected clock (it was never stored).
      const hlc = await outbox.nextStamp(tx.objectStore("meta"));
      await ops.put({ ...op, hlc, restamped: true });
      const value = await tx.objectStore("values").get(op.key);
      if (value && value.stamp === `${op.hlc} ${op.op_id}`) {
        await tx.objectStore("values").put({ ...value, stamp: `${hlc} ${op.op_id}` });
      }
    } else {
      await refuse(ops, sent, op, r.reason);
    }
  }
  await outbox.pruneAnswers(sent);
  await tx.done;
}

/** A refused op stays in the outbox (shown, until discarded) and goes in the receipt. */
async function refuse(ops, sent, op, reason) {
  await ops.put({ ...op, state: "rejected", reason });
  await outbox.keepAnswer(sent, op, "refused", reason);
}

async function markRejected(op, reason) {
  const tx = (await store.db()).transaction(["outbox", "sent"], "readwrite");
  await refuse(tx.objectStore("outbox"), tx.objectStore("sent"), op, reason);
  await tx.done;
}

// The field table's client part (sync/fields.py client_table), shipped in
// every page: which pulled columns are which fields. A page cached by an
// older release has none: the pull waits for a page that has it (the cursor
// does not move, so nothing is missed).
function fieldTable() {
  const el = document.getElementById("field-table");
  return el ? JSON.parse(el.textContent) : null;
}

async function pullChanges() {
  const table = fieldTable();
  if (!table) return;
  const db = await store.db();
  const userId = store.user();
  const pulled = new Set();
  for (const inspectionId of (await db.get("meta", "inspections")) || []) {
    const stored = await db.get("meta", `cursor:${inspectionId}`);
    // Once this store has pulled the inspection whole, it holds every value
    // this user wrote from this device since (outbox.record keeps each one):
    // the server then leaves those out. Not on the first pull: a store made
    // again on this tablet (after a logout) lacks what the old one sent.
    const device = stored === undefined ? "" : `&device=${encodeURIComponent(outbox.deviceId())}`;
    let body;
    try {
      body = await call(`/sync/pull?inspection=${inspectionId}&cursor=${stored || 0}${device}`);
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) continue; // no longer on that team
      throw err;
    }
    await outbox.learnServerTime(body.server_time);
    await outbox.observe(body.hlc);
    const sets = Object.entries(table).map(([name, set]) => [set, body[name] || []]);  // the lead's only: decisions
    if (sets.some(([, rows]) => rows.length)) pulled.add(inspectionId);
    const tx = db.transaction(["values", "meta"], "readwrite");
    const values = tx.objectStore("values");
    // Per field, the greater stamp wins: our own unsynced edits stay.
    const take = async (standard, field, sha, value, stamp) => {
      if (!stamp) return;
      const key = outbox.fieldKey(inspectionId, standard, field, sha);
      const local = await values.get(key);
      if (!local || local.stamp < stamp) {
        await values.put({ key, inspection_id: inspectionId, standard, section: local?.section, field, value, stamp });
      }
    };
    // Each column read back as the server's field table says (fields.client_table).
    for (const [set, rows] of sets) {
      for (const row of rows) {
        if (set.owner && String(row[set.owner]) !== userId) continue;  // this user's own rows only
        for (const c of set.columns) {
          const read = c.as === "bool" ? Boolean(row[c.column]) : row[c.column];
          // What the value is about (a photo's hash, a request's id), as the field table says.
          const [idColumn, idName] = c.id || [];
          const value = c.key ? { [idName]: row[idColumn], [c.key]: read } : read;
          await take(row.standard, c.field, c.key ? row[idColumn] : null, value, row[`${c.column}_hlc`]);
        }
      }
    }
    await tx.objectStore("meta").put(body.cursor, `cursor:${inspectionId}`);
    await tx.done;
  }
  if (pulled.size) pulledListeners.forEach((fn) => fn(pulled));
}
