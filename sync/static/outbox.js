// The device side of the sync protocol (docs/sync-protocol.md).
//
// Every edit is written here first, in one IndexedDB transaction: the op in
// the outbox and the value in `values` (what this device knows is latest for
// each field, used to overlay cached pages). The sync loop then uploads photo
// blobs, pushes ops and pulls changes. Online and offline run this same code.
// Each user has their own database, so a shared tablet never mixes outboxes.
import { openDB } from "/static/vendor/idb-8.0.3.js";

const SYNC_HEADERS = { "X-Inspector-Sync": "1", "Content-Type": "application/json" };
const BATCH = 200;
const MAX_BACKOFF = 60_000;

let dbPromise = null;
let userId = null;
let timer = null;
let running = false;
let again = false;
let backoff = 0;
let problem = null;      // {kind, message} needing the inspector
let syncing = false;
let transientPhotoFailure = false;
const listeners = new Set();
const channel = "BroadcastChannel" in self ? new BroadcastChannel("inspector-outbox") : null;

function randomId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function deviceId() {
  let id = localStorage.getItem("inspector-device-id");
  if (!id) {
    id = "d" + randomId().replace(/-/g, "").slice(0, 20);
    localStorage.setItem("inspector-device-id", id);
  }
  return id;
}

export function fieldKey(inspectionId, standard, field, sha256) {
  const f = field === "photo" || field === "caption" ? `${field}:${sha256}` : field;
  return `${inspectionId}|${standard}|${f}`;
}

/** Open this user's database; call once per page before anything else. */
export function open(uid) {
  userId = String(uid);
  dbPromise = openDB(`inspector-u${userId}`, 1, {
    upgrade(db) {
      const outbox = db.createObjectStore("outbox", { keyPath: "op_id" });
      outbox.createIndex("by_key", "key");
      outbox.createIndex("by_seq", "seq");
      db.createObjectStore("values", { keyPath: "key" });
      db.createObjectStore("photos", { keyPath: "sha256" });
      db.createObjectStore("meta");
    },
  });
  channel?.addEventListener("message", () => notify(false));
  dbPromise.then(async (db) => {
    clockOffset = (await db.get("meta", "clockOffset")) || 0;
    hlcWall = ((await db.get("meta", "hlc")) || { wall: 0 }).wall;
  });
  return dbPromise;
}

/** Close this user's database (before deleting it). */
export async function close() {
  if (!dbPromise) return;
  (await dbPromise).close();
  dbPromise = null;
}

/** Remove everything this user stored on the device: only called on a
 * logout with nothing waiting, so no change is ever lost by it. */
export async function forget(uid) {
  await close();
  await new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(`inspector-u${uid}`);
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  });
}

const pulledListeners = new Set();
/** Called after a pull brought changes, so pages can show them. */
export function onPulled(fn) { pulledListeners.add(fn); }

export function onChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }

async function notify(broadcast = true) {
  const s = await status();
  listeners.forEach((fn) => fn(s));
  if (broadcast) channel?.postMessage("changed");
}

// Hybrid logical clock: wall time in ms, a counter, the device id. Stamps
// sort as strings and never go backwards on this device, even if its clock
// does. The wall time is the device clock corrected by the offset to the
// server's clock last seen, so tablets whose clocks are wrong still order
// edits roughly as they happened.
const pad = (n, w) => String(n).padStart(w, "0");
const MAX_COUNTER = 99999;  // five digits in the stamp
let clockOffset = 0;        // server time minus device time, ms; kept in meta

let hlcWall = 0;            // the clock's wall part, mirrored here to read synchronously

/** Now on the corrected clock (ms). */
export function clockNow() { return Date.now() + clockOffset; }

/** The wall time the next stamp will have at least: a synchronous bound for
 * drafts to compare against stamps (the clock may run ahead of clockNow). */
export function stampFloor() { return Math.max(clockNow(), hlcWall); }

async function tick(meta) {
  const state = (await meta.get("hlc")) || { wall: 0, counter: 0 };
  const now = clockNow();
  let next = now > state.wall ? { wall: now, counter: 0 } : { wall: state.wall, counter: state.counter + 1 };
  if (next.counter > MAX_COUNTER) next = { wall: next.wall + 1, counter: 0 };  // carry, never overflow
  await meta.put(next, "hlc");
  hlcWall = next.wall;
  return `${pad(next.wall, 15)}:${pad(next.counter, 5)}:${deviceId()}`;
}

/** Move our clock past stamps seen (from the server, or rendered in a page),
 * so an edit made after seeing another device's value wins over it. */
export async function observe(...stamps) {
  const seen = stamps.map((s) => /^(\d{15}):(\d{5})/.exec(s || "")).filter(Boolean)
    .map((m) => ({ wall: Number(m[1]), counter: Number(m[2]) }));
  if (!seen.length) return;
  const db = await dbPromise;
  const tx = db.transaction("meta", "readwrite");
  let state = (await tx.store.get("hlc")) || { wall: 0, counter: 0 };
  for (const s of seen) {
    if (s.wall > state.wall || (s.wall === state.wall && s.counter > state.counter)) state = s;
  }
  await tx.store.put(state, "hlc");
  await tx.done;
  hlcWall = state.wall;
}

async function learnServerTime(serverTime) {
  if (typeof serverTime !== "number") return;
  clockOffset = serverTime - Date.now();
  const db = await dbPromise;
  await db.put("meta", clockOffset, "clockOffset");
}

async function resetClock(serverTime) {
  // Our stamps ran ahead of the server (a clock that was wrong): start again
  // from the server's time. Nothing with the bad stamps was accepted.
  const db = await dbPromise;
  await db.put("meta", { wall: serverTime, counter: 0 }, "hlc");
  hlcWall = serverTime;
}

/** Record one edit: the op goes to the outbox and the value to `values`. */
export async function record({ inspectionId, standard, section, field, value, syncDelay = 0 }) {
  const db = await dbPromise;
  const tx = db.transaction(["outbox", "values", "meta"], "readwrite");
  const meta = tx.objectStore("meta");
  const seq = ((await meta.get("seq")) || 0) + 1;
  await meta.put(seq, "seq");
  const hlc = await tick(meta);
  const op = { op_id: randomId(), device_id: deviceId(), seq, hlc, inspection_id: Number(inspectionId),
               standard, field, value };
  const key = fieldKey(inspectionId, standard, field, value && value.sha256);
  const outbox = tx.objectStore("outbox");
  // An unsent op for the same field, waiting or refused, is replaced: the new
  // one has a later stamp, so the server would supersede the old one anyway.
  for (const old of await outbox.index("by_key").getAll(key)) await outbox.delete(old.op_id);
  await outbox.put({ ...op, key, section, state: "pending" });
  await tx.objectStore("values").put({ key, inspection_id: op.inspection_id, standard, section, field, value,
                                       stamp: `${hlc} ${op.op_id}` });
  const inspections = new Set((await meta.get("inspections")) || []);
  inspections.add(op.inspection_id);
  await meta.put([...inspections], "inspections");
  await tx.done;
  notify();
  schedule(syncDelay);  // typing pushes once it pauses, not on every key
  return op;
}

/** Keep a photo blob (already downscaled and hashed) until the server has it. */
export async function keepPhoto({ sha256, blob, width, height }) {
  const db = await dbPromise;
  const existing = await db.get("photos", sha256);
  if (!existing) await db.put("photos", { sha256, blob, width, height, uploaded: false, error: null });
}

export async function photoBlob(sha256) {
  const db = await dbPromise;
  return (await db.get("photos", sha256))?.blob || null;
}

/** Every value this device knows for fields of one standard, or of one inspection. */
export async function values(inspectionId, standard = null) {
  const db = await dbPromise;
  const prefix = standard === null ? `${inspectionId}|` : `${inspectionId}|${standard}|`;
  return db.getAll("values", IDBKeyRange.bound(prefix, prefix + "\uffff"));
}

export async function rejected() {
  const db = await dbPromise;
  return (await db.getAll("outbox")).filter((op) => op.state === "rejected");
}

/** Ops of one standard still in the outbox (waiting or rejected). */
export async function opsFor(inspectionId, standard) {
  const db = await dbPromise;
  const prefix = `${inspectionId}|${standard}|`;
  return (await db.getAll("outbox")).filter((op) => op.key.startsWith(prefix));
}

/** Throw away one refused op, on the inspector's explicit request; the
 * value it set on this device goes too, so pages show the server's again. */
export async function discard(opId) {
  const db = await dbPromise;
  const tx = db.transaction(["outbox", "values"], "readwrite");
  const op = await tx.objectStore("outbox").get(opId);
  if (op && op.state === "rejected") {
    await tx.objectStore("outbox").delete(opId);
    const value = await tx.objectStore("values").get(op.key);
    if (value && value.stamp === `${op.hlc} ${op.op_id}`) await tx.objectStore("values").delete(op.key);
  }
  await tx.done;
  notify();
}

export async function pendingCount() {
  const db = await dbPromise;
  return db.count("outbox");
}

export async function status() {
  if (!dbPromise) return { state: "unknown", text: "" };
  const db = await dbPromise;
  const ops = await db.getAll("outbox");
  const waiting = ops.filter((o) => o.state === "pending").length;
  const bad = ops.length - waiting;
  const changes = (n) => `${n} change${n === 1 ? "" : "s"}`;
  if (problem) return { state: "problem", waiting, rejected: bad, text: `${problem.message} (${changes(waiting + bad)} kept on this device)` };
  if (bad) return { state: "problem", waiting, rejected: bad, text: `${changes(bad)} could not be saved: see the page` };
  if (syncing && waiting) return { state: "syncing", waiting, rejected: 0, text: `Syncing ${changes(waiting)}…` };
  if (waiting) return { state: "waiting", waiting, rejected: 0, text: `${changes(waiting)} waiting` };
  return { state: "synced", waiting: 0, rejected: 0, text: "All synced" };
}

export function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(syncNow, ms);
}

export async function trackInspection(inspectionId) {
  const db = await dbPromise;
  const tx = db.transaction("meta", "readwrite");
  const set = new Set((await tx.store.get("inspections")) || []);
  set.add(Number(inspectionId));
  await tx.store.put([...set], "inspections");
  await tx.done;
}

class HttpError extends Error {
  constructor(status, body) { super(body?.message || `HTTP ${status}`); this.status = status; this.body = body; }
}

async function call(url, options = {}) {
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store", ...options,
                                      headers: { ...SYNC_HEADERS, "X-Inspector-User": userId,
                                                 ...(options.headers || {}) } });
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  if (!response.ok) throw new HttpError(response.status, body);
  return body;
}

/** One round: upload photos, push ops, pull changes. Safe to call any time. */
export async function syncNow() {
  if (!dbPromise) return;
  if (running) { again = true; return; }
  running = true;
  syncing = true;
  transientPhotoFailure = false;
  await notify(false);
  try {
    await uploadPhotos();
    await pushOps();
    await pullChanges();
    problem = null;
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
    await notify();
  }
  if (again) { again = false; schedule(0); return; }
  if (!dbPromise) return;  // logged out meanwhile
  const db = await dbPromise;
  const waiting = (await db.getAll("outbox")).some((o) => o.state === "pending");
  if (backoff) schedule(backoff);
  else if (waiting) schedule(1000);
}

// The server will never take these bytes (docs/sync-protocol.md); anything
// else (a proxy's error page, a 5xx) is tried again later.
const PERMANENT_PHOTO_ERRORS = new Set(["not_an_image", "too_large", "too_many_pixels", "damaged_image", "bad_hash"]);

async function uploadPhotos() {
  const db = await dbPromise;
  for (const photo of await db.getAll("photos")) {
    if (photo.uploaded || photo.error) continue;
    try {
      await call(`/sync/photos/${photo.sha256}`, { method: "PUT", body: photo.blob,
                                                     headers: { "Content-Type": "image/jpeg" } });
      await db.put("photos", { ...photo, uploaded: true });
    } catch (err) {
      if (!(err instanceof HttpError) || err.status === 401 || err.status === 409) throw err;  // offline or logged out
      if (PERMANENT_PHOTO_ERRORS.has(err.body?.error)) {
        await db.put("photos", { ...photo, error: err.message });  // keep the blob, say why
      } else {
        // Try again next round, with backoff; ops that need it wait, the rest go ahead.
        transientPhotoFailure = true;
      }
    }
  }
}

async function pushOps() {
  const db = await dbPromise;
  for (;;) {
    const all = await db.getAllFromIndex("outbox", "by_seq");
    const pending = all.filter((o) => o.state === "pending");
    if (!pending.length) return;
    // Ops attaching a photo the server refused can never apply: mark them.
    const photos = new Map((await db.getAll("photos")).map((p) => [p.sha256, p]));
    const batch = [];
    for (const op of pending) {
      const photo = op.field === "photo" && op.value.attached ? photos.get(op.value.sha256) : null;
      if (photo && photo.error) await markRejected(op, `The photo was refused: ${photo.error}`);
      else if (photo && !photo.uploaded) continue;  // waits for its blob
      else if (batch.length < BATCH) batch.push(op);
    }
    if (!batch.length) return;
    const send = batch.map(({ key, section, state, reason, restamped, ...op }) => op);
    let result;
    try {
      result = await call("/sync/push", { method: "POST", body: JSON.stringify({ ops: send }) });
    } catch (err) {
      if (err instanceof HttpError && err.status === 403 && err.body?.op_ids) {
        for (const op of batch) if (err.body.op_ids.includes(op.op_id)) await markRejected(op, err.body.message);
        continue;
      }
      throw err;
    }
    await learnServerTime(result.server_time);
    const clockAhead = result.results.some((r) => r.code === "clock_ahead");
    if (clockAhead) await resetClock(result.server_time);
    await observe(result.hlc);
    const byId = new Map(batch.map((op) => [op.op_id, op]));
    const tx = db.transaction(["outbox", "photos", "values", "meta"], "readwrite");
    const outbox = tx.objectStore("outbox");
    for (const r of result.results) {
      const op = byId.get(r.op_id);
      // Replaced by a newer edit while it was on its way: nothing to update.
      if (!op || !(await outbox.get(op.op_id))) continue;
      if (["applied", "duplicate", "superseded"].includes(r.status)) {
        await outbox.delete(op.op_id);
      } else if (r.code === "missing_photo") {
        // The blob is not on the server (yet): upload it again next round.
        const photo = await tx.objectStore("photos").get(op.value.sha256);
        if (photo) await tx.objectStore("photos").put({ ...photo, uploaded: false });
        else await outbox.put({ ...op, state: "rejected", reason: r.reason });
      } else if (r.code === "clock_ahead" && !op.restamped) {
        // Same op, same id, a stamp from the corrected clock (it was never stored).
        const hlc = await tick(tx.objectStore("meta"));
        await outbox.put({ ...op, hlc, restamped: true });
        const value = await tx.objectStore("values").get(op.key);
        if (value && value.stamp === `${op.hlc} ${op.op_id}`) {
          await tx.objectStore("values").put({ ...value, stamp: `${hlc} ${op.op_id}` });
        }
      } else {
        await outbox.put({ ...op, state: "rejected", reason: r.reason });
      }
    }
    await tx.done;
    if (result.results.some((r) => r.code === "missing_photo")) { await uploadPhotos(); return; }
  }
}

async function markRejected(op, reason) {
  const db = await dbPromise;
  await db.put("outbox", { ...op, state: "rejected", reason });
}

async function pullChanges() {
  const db = await dbPromise;
  const inspections = (await db.get("meta", "inspections")) || [];
  const pulled = new Set();
  for (const inspectionId of inspections) {
    const cursor = (await db.get("meta", `cursor:${inspectionId}`)) || 0;
    let body;
    try {
      body = await call(`/sync/pull?inspection=${inspectionId}&cursor=${cursor}`);
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) continue; // no longer on that team
      throw err;
    }
    await learnServerTime(body.server_time);
    await observe(body.hlc);
    if (body.findings.length || body.photos.length) pulled.add(inspectionId);
    const tx = db.transaction(["values", "meta"], "readwrite");
    const store = tx.objectStore("values");
    const take = async (standard, field, sha, value, stamp) => {
      if (!stamp) return;
      const key = fieldKey(inspectionId, standard, field, sha);
      const local = await store.get(key);
      if (!local || local.stamp < stamp) {
        await store.put({ key, inspection_id: inspectionId, standard, section: local?.section, field, value, stamp });
      }
    };
    for (const f of body.findings) {
      if (String(f.inspector_id) !== userId) continue;
      await take(f.standard, "verdict", null, f.verdict, f.verdict_hlc);
      await take(f.standard, "note", null, f.note, f.note_hlc);
    }
    for (const p of body.photos) {
      if (String(p.inspector_id) !== userId) continue;
      await take(p.standard, "photo", p.sha256, { sha256: p.sha256, attached: !!p.attached }, p.attached_hlc);
      await take(p.standard, "caption", p.sha256, { sha256: p.sha256, text: p.caption }, p.caption_hlc);
    }
    await tx.objectStore("meta").put(body.cursor, `cursor:${inspectionId}`);
    await tx.done;
  }
  if (pulled.size) pulledListeners.forEach((fn) => fn(pulled));
}

/** Start the loop: now, whenever the browser says it is online, and on a timer. */
export function start() {
  addEventListener("online", () => { backoff = 0; schedule(0); });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") schedule(0); });
  schedule(0);
  setInterval(() => { if (!running) syncNow(); }, 30_000);
}
