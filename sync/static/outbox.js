// The device side of the sync protocol (docs/sync-protocol.md), as pages use
// it: record an edit, read back what this device holds, keep drafts of text.
//
// Every edit is written here first, in one IndexedDB transaction: the op in
// the outbox and the value in `values` (what this device knows is latest for
// each field, used to overlay cached pages). The sync loop (sync.js) then
// sends it. Online and offline run this same code.
import * as clock from "/sync/static/clock.js";
import * as store from "/sync/static/store.js";

const listeners = new Set();
const channel = "BroadcastChannel" in self ? new BroadcastChannel("inspector-outbox") : null;
channel?.addEventListener("message", () => changed({}, false));

function hexUuid(b) {
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function randomId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  return hexUuid(b);
}

/** A UUIDv7 (RFC 9562): 48-bit ms timestamp, version 7, 74 random bits.
 * Ids made later sort later, so the server's op_id index grows at its end
 * rather than being rewritten all over for every batch. */
export function timeOrderedId(ms = Date.now()) {
  const b = crypto.getRandomValues(new Uint8Array(16));
  for (let i = 5; i >= 0; i--) { b[i] = ms % 256; ms = Math.floor(ms / 256); }
  b[6] = (b[6] & 0x0f) | 0x70; b[8] = (b[8] & 0x3f) | 0x80;
  return hexUuid(b);
}

export function deviceId() {
  let id = localStorage.getItem("inspector-device-id");
  if (!id) {
    id = "d" + randomId().replace(/-/g, "").slice(0, 20);
    localStorage.setItem("inspector-device-id", id);
  }
  return id;
}

/** The key of one field's register: `inspection|standard|field[:about]`
 * (a field about one photo, such as its caption or its release, names its
 * hash; a request for information, its id). */
export function fieldKey(inspectionId, standard, field, about) {
  const f = about ? `${field}:${about}` : field;
  return `${inspectionId}|${standard}|${f}`;
}

/** What a value is about, for its key: a photo's hash or a request's id. */
const aboutOf = (value) => (value && typeof value === "object" ? value.sha256 || value.id : undefined);

/** Open this user's outbox; call once per page before anything else. */
export async function open(uid) {
  const db = await store.open(uid);
  clockOffset = (await db.get("meta", "clockOffset")) || 0;
  hlcWall = ((await db.get("meta", "hlc")) || clock.ZERO).wall;
  return db;
}

/** Remove everything this user stored on the device: only called on a
 * logout with nothing waiting, so no change is ever lost by it. */
export async function forget(uid) {
  for (const key of Object.keys(localStorage).filter((k) => k.startsWith(draftPrefix(uid)))) {
    localStorage.removeItem(key);
  }
  await store.remove(uid);
}

/** Call `fn(detail)` after every change to the outbox (here, in another tab,
 * or in the sync loop's state); `detail.syncIn` asks for a sync in that many ms. */
export function onChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }

export function changed(detail = {}, broadcast = true) {
  listeners.forEach((fn) => fn(detail));
  if (broadcast) channel?.postMessage("changed");
}

// --- the clock: state kept in meta, rules in clock.js ------------------------
// The wall time is the device clock corrected by the offset to the server's
// clock last seen, so tablets whose clocks are wrong still order edits
// roughly as they happened.
let clockOffset = 0;  // server time minus device time, ms
let hlcWall = 0;      // the clock's wall part, mirrored here to read synchronously

/** Now on the corrected clock (ms). */
export function clockNow() { return Date.now() + clockOffset; }

/** The wall time the next stamp will have at least: a synchronous bound for
 * drafts to compare against stamps (the clock may run ahead of clockNow). */
export function stampFloor() { return Math.max(clockNow(), hlcWall); }

/** The next stamp, inside a transaction holding `meta`. */
export async function nextStamp(meta) {
  const state = clock.tick((await meta.get("hlc")) || clock.ZERO, clockNow());
  await meta.put(state, "hlc");
  hlcWall = state.wall;
  return clock.format(state, deviceId());
}

/** Move our clock past stamps seen (from the server, or rendered in a page),
 * so an edit made after seeing another device's value wins over it. */
export async function observe(...stamps) {
  if (!stamps.some(clock.parse)) return;
  const tx = (await store.db()).transaction("meta", "readwrite");
  const state = clock.observe((await tx.store.get("hlc")) || clock.ZERO, ...stamps);
  await tx.store.put(state, "hlc");
  await tx.done;
  hlcWall = state.wall;
}

/** Learn the offset to the server's clock from an answer's `server_time`. */
export async function learnServerTime(serverTime) {
  if (typeof serverTime !== "number") return;
  clockOffset = serverTime - Date.now();
  await (await store.db()).put("meta", clockOffset, "clockOffset");
}

/** Our stamps ran ahead of the server (a clock that was wrong): start again
 * from the server's time. Nothing with the bad stamps was accepted. */
export async function resetClock(serverTime) {
  await (await store.db()).put("meta", { wall: serverTime, counter: 0 }, "hlc");
  hlcWall = serverTime;
}

// --- recording ---------------------------------------------------------------

// Text typed fast asks for a write per key: queued one after another, the
// last keys would still wait their turn when the browser dies. So per field
// at most one write runs and one waits, and the one waiting takes the latest
// text: the last key is on disk a transaction or two after it is typed.
const textWrites = new Map();  // field key -> {latest: the edit to write next, done: Promise}

/** Record one edit: the op goes to the outbox and the value to `values`.
 * With `draft`, the text is first kept synchronously (see drafts below),
 * and edits of the same field coalesce as above. */
export function record(edit) {
  if (!edit.draft) return write(edit);
  const key = fieldKey(edit.inspectionId, edit.standard, edit.field, aboutOf(edit.value));
  writeDraft(key, edit.field, edit.value);  // synchronous, before any write
  const running = textWrites.get(key);
  if (running) { running.latest = edit; return running.done; }
  const slot = { latest: edit };
  textWrites.set(key, slot);
  slot.done = (async () => {
    try {
      let op;
      while (slot.latest) {
        const next = slot.latest;
        slot.latest = null;
        op = await write(next);
      }
      return op;
    } finally {
      textWrites.delete(key);
    }
  })();
  return slot.done;
}

async function write({ inspectionId, standard, section, field, value, syncDelay = 0 }) {
  const key = fieldKey(inspectionId, standard, field, aboutOf(value));
  const db = await store.db();
  // Strict: the commit reaches the disk (fsync) before it completes, so an
  // edit the page called saved survives the browser or the tablet dying;
  // Chromium's default lets the OS hold it a while. Edits come at the pace
  // of a person (and text coalesces), so the cost is not felt.
  const tx = db.transaction(["outbox", "values", "meta"], "readwrite", { durability: "strict" });
  const meta = tx.objectStore("meta");
  const seq = ((await meta.get("seq")) || 0) + 1;
  await meta.put(seq, "seq");
  const hlc = await nextStamp(meta);
  const op = { op_id: timeOrderedId(), device_id: deviceId(), seq, hlc, inspection_id: Number(inspectionId),
               standard, field, value };
  const outbox = tx.objectStore("outbox");
  // An unsent op for the same field, waiting or refused, is replaced: the new
  // one has a later stamp, so the server would supersede the old one anyway.
  for (const old of await outbox.index("by_key").getAllKeys(key)) await outbox.delete(old);
  await outbox.put({ ...op, key, section, state: "pending" });
  await tx.objectStore("values").put({ key, inspection_id: op.inspection_id, standard, section, field, value,
                                       stamp: `${hlc} ${op.op_id}` });
  const inspections = new Set((await meta.get("inspections")) || []);
  inspections.add(op.inspection_id);
  await meta.put([...inspections], "inspections");
  await tx.done;
  clearDraft(key, value);
  changed({ syncIn: syncDelay });  // typing pushes once it pauses, not on every key
  return op;
}

/** Keep a photo blob (already downscaled and hashed) until the server has it. */
export async function keepPhoto({ sha256, blob, width, height }) {
  const db = await store.db();
  if (!(await db.getKey("photos", sha256))) {
    await db.put("photos", { sha256, blob, width, height, state: "waiting", error: null });
  }
}

export async function photoBlob(sha256) {
  return (await (await store.db()).get("photos", sha256))?.blob || null;
}

/** Throw away one refused op, on the inspector's explicit request; the
 * value it set on this device goes too, so pages show the server's again. */
export async function discard(opId) {
  const tx = (await store.db()).transaction(["outbox", "values"], "readwrite");
  const op = await tx.objectStore("outbox").get(opId);
  if (op && op.state === "rejected") {
    await tx.objectStore("outbox").delete(opId);
    const value = await tx.objectStore("values").get(op.key);
    if (value && value.stamp === `${op.hlc} ${op.op_id}`) await tx.objectStore("values").delete(op.key);
  }
  await tx.done;
  changed();
}

/** Remember an inspection whose changes the sync loop pulls. */
export async function trackInspection(inspectionId) {
  const tx = (await store.db()).transaction("meta", "readwrite");
  const set = new Set((await tx.store.get("inspections")) || []);
  set.add(Number(inspectionId));
  await tx.store.put([...set], "inspections");
  await tx.done;
}

// --- the receipt: what the server answered to each op sent -------------------
// Kept so an inspector can show what they submitted and what became of it,
// offline too. Bounded: answers older than `days`, and the oldest past
// `entries`, are dropped at each answer. The server sets both (the page's
// body carries INSPECTOR_SENT_KEEP_DAYS and _ENTRIES); these are the defaults.
export const SENT_KEEP = { days: 90, entries: 5000 };

export function sentKeep() {
  const data = globalThis.document?.body?.dataset || {};
  return { days: Number(data.sentKeepDays) || SENT_KEEP.days, entries: Number(data.sentKeepEntries) || SENT_KEEP.entries };
}

/** Keep the server's answer to `op` (`answer`: applied, duplicate,
 * superseded or refused, with `reason`), inside a transaction holding `sent`. */
export async function keepAnswer(sent, op, answer, reason = null, at = Date.now()) {
  const { op_id, inspection_id, standard, section, field, value, hlc, seq } = op;
  await sent.put({ op_id, inspection_id, standard, section: section || null, field, value, hlc, seq,
                   made_at: clock.parse(hlc)?.wall || null, answered_at: at, answer, reason: reason || null });
}

/** Drop answers past the retention, inside a transaction holding `sent`. */
export async function pruneAnswers(sent, keep = sentKeep(), now = Date.now()) {
  const index = sent.index("by_answered");
  for (const key of await index.getAllKeys(IDBKeyRange.upperBound(now - keep.days * 86_400_000, true))) {
    await sent.delete(key);
  }
  let extra = (await sent.count()) - keep.entries;
  for (let cursor = await index.openKeyCursor(); cursor && extra > 0; cursor = await cursor.continue(), extra--) {
    await sent.delete(cursor.primaryKey);
  }
}

/** Every answer kept on this device, the latest first. */
export async function sentLog() {
  return (await (await store.db()).getAllFromIndex("sent", "by_answered")).reverse();
}

// --- reads -------------------------------------------------------------------

/** Every value this device knows for fields of one standard, or of one inspection. */
export async function values(inspectionId, standard = null) {
  const prefix = standard === null ? `${inspectionId}|` : `${inspectionId}|${standard}|`;
  return (await store.db()).getAll("values", store.startingWith(prefix));
}

/** Ops the server refused, kept until the inspector discards them. */
export async function rejected() {
  return (await store.db()).getAllFromIndex("outbox", "by_state", store.inState("rejected"));
}

/** Ops of one standard still in the outbox (waiting or refused). */
export async function opsFor(inspectionId, standard) {
  return (await store.db()).getAllFromIndex("outbox", "by_key", store.startingWith(`${inspectionId}|${standard}|`));
}

/** How many ops wait to be sent, and how many the server refused. */
export async function counts() {
  const db = await store.db();
  const [waiting, refused] = await Promise.all([db.countFromIndex("outbox", "by_state", store.inState("pending")),
                                               db.countFromIndex("outbox", "by_state", store.inState("rejected"))]);
  return { waiting, rejected: refused };
}

export async function pendingCount() {
  return (await store.db()).count("outbox");
}

// --- drafts of text ----------------------------------------------------------
// Notes and captions also go to a synchronous localStorage draft on every
// keystroke: an IndexedDB write still in flight when the tab is reloaded or
// closed is aborted, and the page replays the draft on the next load.

const draftPrefix = (uid = store.user()) => `inspector-draft-u${uid}|`;

function writeDraft(key, field, value) {
  // `at` bounds from below the stamp this edit gets: a saved value stamped
  // later than it is newer than the draft.
  const draft = { field, value, at: stampFloor() };
  try { localStorage.setItem(draftPrefix() + key, JSON.stringify(draft)); } catch { /* full: IndexedDB still has it */ }
}

function clearDraft(key, value) {
  const draft = localStorage.getItem(draftPrefix() + key);
  if (draft && JSON.stringify(JSON.parse(draft).value) === JSON.stringify(value)) localStorage.removeItem(draftPrefix() + key);
}

/** The drafts of one standard that never reached the outbox, as `{field,
 * value}` for the page to show and record again; drafts already saved, or
 * overtaken by another device, are dropped. `renderedStamp(field, sha256)`
 * is the stamp of the value the page was rendered with. */
export async function drafts(inspectionId, standard, renderedStamp) {
  const prefix = `${draftPrefix()}${inspectionId}|${standard}|`;
  const known = new Map((await values(inspectionId, standard)).map((v) => [v.key, v]));
  const me = deviceId();
  // A draft is this device's latest text for its field (every keystroke
  // rewrites it), so only a value from another device, stamped after the
  // draft was written, is newer than it.
  const newerElsewhere = (stamp, at) => {
    const seen = clock.parse(stamp);
    return Boolean(seen?.device) && seen.device !== me && seen.wall > at;
  };
  const replay = [];
  for (const key of Object.keys(localStorage).filter((k) => k.startsWith(prefix))) {
    const { field, value, at = 0 } = JSON.parse(localStorage.getItem(key));
    const saved = known.get(key.slice(draftPrefix().length));
    if ((saved && JSON.stringify(saved.value) === JSON.stringify(value))
        || newerElsewhere(saved?.stamp, at) || newerElsewhere(renderedStamp(field, value?.sha256), at)) {
      localStorage.removeItem(key);  // already saved, or overtaken by another tablet
    } else {
      replay.push({ field, value });
    }
  }
  return replay;
}
