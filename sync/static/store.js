// This device's storage for one user: the IndexedDB schema, its upgrades, and
// the indexed reads the outbox and the sync loop make. Each user has their
// own database (`inspector-u<id>`), so a shared tablet never mixes outboxes.
//
//   outbox  ops not yet accepted by the server, keyed by op_id; indexes:
//           by_key   the field an op sets (`inspection|standard|field`): a
//                    newer edit replaces it, and a prefix range finds one
//                    standard's ops
//           by_state [state, seq]: pending ops in order, and counts, without
//                    reading every op on each keystroke
//   values  this device's latest value per field, keyed by the same key, with
//           its stamp: what cached pages are overlaid with
//   photos  blobs kept until uploaded, keyed by sha256; state "waiting",
//           "uploaded" or "refused" (with `error`, the server's reason)
//   sent    the server's answer to every op this device sent (the page
//           "Sent from this device"), keyed by op_id: applied, duplicate,
//           superseded or refused with its reason; index by_answered (when
//           the answer came, ms) orders the page and prunes the oldest
//   meta    the clock, seq, sync cursors, inspections held
import { openDB } from "/static/vendor/idb-8.0.3.js";

export const VERSION = 3;
const databaseName = (userId) => `inspector-u${userId}`;

let userId = null;
let dbPromise = null;

/** Open this user's database (creating or upgrading it); once per page. */
export function open(uid) {
  userId = String(uid);
  dbPromise = openDB(databaseName(userId), VERSION, { upgrade });
  return dbPromise;
}

/** The open database, or null when no user is signed in on this page. */
export function db() { return dbPromise; }

export function user() { return userId; }

export async function close() {
  if (!dbPromise) return;
  (await dbPromise).close();
  dbPromise = null;
}

/** Delete one user's database (their outbox is empty: the caller checked). */
export async function remove(uid) {
  if (String(uid) === userId) await close();
  // Not idb's deleteDB: it waits while another tab holds the database open,
  // and logging out must not hang on a forgotten tab.
  await new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(databaseName(uid));
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

// Tablets in the field hold unsynced ops in older versions: an upgrade only
// adds to what is there and rewrites nothing an op needs.
async function upgrade(database, oldVersion, _newVersion, tx) {
  if (oldVersion < 1) {
    const outbox = database.createObjectStore("outbox", { keyPath: "op_id" });
    outbox.createIndex("by_key", "key");
    outbox.createIndex("by_seq", "seq");
    database.createObjectStore("values", { keyPath: "key" });
    database.createObjectStore("photos", { keyPath: "sha256" });
    database.createObjectStore("meta");
  }
  if (oldVersion < 2) {
    const outbox = tx.objectStore("outbox");
    outbox.createIndex("by_state", ["state", "seq"]);
    outbox.deleteIndex("by_seq");  // by_state orders pending ops by seq
    // Version 1 kept `uploaded` and `error` flags; booleans cannot be index keys.
    const photos = tx.objectStore("photos");
    photos.createIndex("by_state", "state");
    for (let cursor = await photos.openCursor(); cursor; cursor = await cursor.continue()) {
      const { uploaded, ...photo } = cursor.value;
      await cursor.update({ ...photo, state: photo.error ? "refused" : uploaded ? "uploaded" : "waiting" });
    }
  }
  if (oldVersion < 3) {
    // Answers before this version were not kept: the receipt starts empty.
    database.createObjectStore("sent", { keyPath: "op_id" }).createIndex("by_answered", "answered_at");
  }
}

/** Key range of the outbox's by_state index for one state, in seq order. */
export const inState = (state) => IDBKeyRange.bound([state, -Infinity], [state, Infinity]);

/** Key range of every key starting with `prefix` (by_key and `values`). */
export const startingWith = (prefix) => IDBKeyRange.bound(prefix, prefix + "\uffff");
