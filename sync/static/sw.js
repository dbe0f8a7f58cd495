// Service worker. The server fills in VERSION (a hash of the shell files)
// and SHELL, so any change to the shell installs a new worker and the old
// shell cache is deleted on activation.
//
// It owns every cache and its name: the shell, `meta` (who is logged in),
// and each user's pages. Pages ask it by message to take an inspection
// offline or to forget a user's pages; they never open a cache themselves.
const VERSION = "__VERSION__";
const SHELL = __SHELL__;
// Shell files are listed under their versioned URLs (/static/js/app.js?v=hash),
// as pages ask for them; modules import each other by plain path. Either finds
// the stored copy: the shell cache is itself versioned, so the query adds nothing.
const SHELL_PATHS = new Set(SHELL.map((url) => new URL(url, self.location.origin).pathname));
const SHELL_CACHE = `shell-${VERSION}`;
const META_CACHE = "meta";
const pagesCache = (userId) => `pages-u${userId}`;
// The program's documents an inspector stored, section by section: a cache
// of their own, so removing them never touches the pages.
const documentsCache = (userId) => `documents-u${userId}`;
const isDocument = (url) => /^\/inspections\/\d+\/program-documents\/[0-9a-f]{64}$/.test(url.pathname);
const JUMP_KEY = __JUMP_KEY__;  // the server's rule for the jump box's codes (catalog.JUMP_KEY)
const JUMP_MAPS = "/__jump";  // in a user's page cache: {jump URL: {key: page URL}} per inspection taken offline
// How long a page waits for the server's first byte before the stored copy
// answers. The browser may believe it is online where requests hang (a
// captive portal, a dead uplink): without a bound, the page would wait for
// the system's TCP timeout, minutes. 4 s: a slow but working hospital
// Wi-Fi answers a page well within it.
const NETWORK_TIMEOUT_MS = 4000;
// Downloads the inspector asked for (the offline bundle, a section's
// documents): the server renders the bundle first, so the first byte may take
// longer; past this, the panel says it could not, rather than "Preparing…" for ever.
const DOWNLOAD_TIMEOUT_MS = 30_000;
// Pages of the device rather than of an inspection ("Sent from this device"):
// stored in the user's cache whenever they are fetched, so they open offline
// even before any inspection was taken offline.
const DEVICE_PAGES = new Set(["/sent"]);
let currentUser = null;   // whose cached pages may be served: told by the page, learned from X-Inspector-User

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// Messages from pages. `user`: who is logged in (every page response says so
// too); kept in a cache entry so it survives the worker being stopped and
// restarted while offline. The others answer on the MessageChannel port
// they bring: `take-offline` reports progress, then the result.
self.addEventListener("message", (event) => {
  const { type, userId } = event.data || {};
  const port = event.ports[0];
  const uid = userId ? String(userId) : null;
  let work;
  if (type === "user") work = setUser(uid);
  // A page rendered before a deploy still names the page list, not the bundle.
  else if (type === "take-offline") {
    work = takeOffline(uid, event.data.bundle || event.data.manifest?.replace(/offline-manifest$/, "offline-bundle"), port);
  }
  else if (type === "logout") work = logOut(uid, event.data.forgetPages);
  else if (type === "store-documents") work = storeDocuments(uid, event.data.urls, port);
  else if (type === "documents-held") work = documentsHeld(uid, event.data.urls);
  else if (type === "remove-documents") work = removeDocuments(uid, event.data.urls);
  else return;
  event.waitUntil(work.then((result) => port?.postMessage({ result }),
                            (err) => port?.postMessage({ error: err.message || String(err) })));
});

/** Take an inspection offline: one request for the server's bundle of every
 * page and photo this user may open in it (inspector/app/offline.py), rendered
 * by the server as it renders each page, unpacked into this user's cache
 * under the pages' own URLs; and the jump box's map (keys made by the
 * server's rule) for finding them offline. Progress goes to the page. */
async function takeOffline(userId, bundleUrl, port) {
  if (!userId) throw new Error("nobody is logged in");
  const response = await withTimeout(fetch(bundleUrl, { credentials: "same-origin", cache: "no-store" }),
                                     DOWNLOAD_TIMEOUT_MS, "the server did not answer");
  if (!response.ok || response.redirected) throw new Error(`the offline bundle: ${response.status}`);
  // Only pages rendered for this inspector go in this inspector's cache.
  if (response.headers.get("X-Inspector-User") !== userId) throw new Error("another user is logged in");
  const data = await download(response, port);
  const { manifest, entries } = unpack(data);
  if (String(manifest.user_id) !== userId) throw new Error("another user is logged in");
  const cache = await caches.open(pagesCache(userId));
  const wanted = [...manifest.pages, ...manifest.photos];
  let done = 0, bytes = 0, failed = 0;
  for (const entry of entries) {
    try {
      await cache.put(entry.url, new Response(entry.body, { status: entry.status, headers: entry.headers }));
      bytes += entry.body.byteLength;
      done += 1;
    } catch { failed += 1; }  // e.g. the storage quota
    port?.postMessage({ progress: { stored: done + failed, total: entries.length } });
  }
  const maps = await jumpMaps(cache);
  maps[manifest.jump_url] = manifest.jump;
  await cache.put(JUMP_MAPS, new Response(JSON.stringify(maps), { headers: { "Content-Type": "application/json" } }));
  // What the page may claim is what the cache holds now, not what was sent
  // (the server leaves out a page it could not render).
  const held = new Set((await cache.keys()).map((r) => { const u = new URL(r.url); return u.pathname + u.search; }));
  const missing = wanted.filter((url) => !held.has(url)).length;
  return { pages: done, bytes, failed, missing, wire: Number(response.headers.get("Content-Length")) || null };
}

/** The bundle's bytes, read as they arrive, telling the page how far it got.
 * The browser hands over the bytes decompressed: they are counted against
 * the uncompressed size the server states (Content-Length is the
 * compressed size, what the download costs). */
async function download(response, port) {
  const total = Number(response.headers.get("X-Inspector-Bundle-Size")) || 0;
  const wire = Number(response.headers.get("Content-Length")) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.byteLength;
    port?.postMessage({ progress: { received, total, wire } });
  }
  const data = new Uint8Array(received);
  let at = 0;
  for (const chunk of chunks) { data.set(chunk, at); at += chunk.byteLength; }
  return data;
}

const BUNDLE_MAGIC = "INSPECTOR-OFFLINE-BUNDLE 1";

/** The package and its entries ({url, status, headers, body}) from a
 * bundle: a line of JSON before each body says its length (the framing is
 * described in inspector/app/offline.py). */
function unpack(data) {
  const text = new TextDecoder();
  let at = 0;
  const line = () => {
    const end = data.indexOf(10, at);  // "\n": JSON on one line never holds one
    if (end < 0) throw new Error("the offline bundle is cut short");
    const value = text.decode(data.subarray(at, end));
    at = end + 1;
    return value;
  };
  if (line() !== BUNDLE_MAGIC) throw new Error("not an offline bundle");
  const manifest = JSON.parse(line());
  const entries = [];
  while (at < data.length) {
    const head = JSON.parse(line());
    const body = data.slice(at, at + head.length);
    if (body.byteLength !== head.length) throw new Error("the offline bundle is cut short");
    at += head.length;
    entries.push({ ...head, body });
  }
  return { manifest, entries };
}

// The same function as static/js/search.js's jumpKey (a classic worker
// imports no module), applying the same rule shipped by the server.
function jumpKey(typed) {
  const key = typed.replace(new RegExp(JUMP_KEY.drop, "gu"), "");
  return JUMP_KEY.upper ? key.toUpperCase() : key;
}

async function jumpMaps(cache) {
  const stored = await cache.match(JUMP_MAPS);
  return stored ? stored.json() : {};
}

/** After the server logged the user out: nobody's pages are served any more,
 * and theirs (their stored documents too) are deleted when nothing of
 * theirs waits to sync. */
async function logOut(userId, forgetPages) {
  if (forgetPages && userId) {
    await caches.delete(pagesCache(userId));
    await caches.delete(documentsCache(userId));
  }
  await setUser(null);
}

/** Store documents (their same-origin URLs) in this user's documents cache,
 * one by one, reporting progress; a document the server does not give this
 * user is left out and counted. */
async function storeDocuments(userId, urls, port) {
  if (!userId) throw new Error("nobody is logged in");
  const cache = await caches.open(documentsCache(userId));
  let stored = 0, bytes = 0, failed = 0;
  for (const url of urls) {
    try {
      const response = await withTimeout(fetch(url, { credentials: "same-origin", cache: "no-store" }),
                                         DOWNLOAD_TIMEOUT_MS);
      if (!response.ok || response.redirected) throw new Error(String(response.status));
      const body = await response.arrayBuffer();
      await cache.put(url, new Response(body, { status: 200, headers: response.headers }));
      stored += 1;
      bytes += body.byteLength;
    } catch { failed += 1; }  // offline, refused, or the storage quota
    port?.postMessage({ progress: { stored: stored + failed, total: urls.length } });
  }
  return { stored, bytes, failed };
}

/** Which of `urls` this user's documents cache holds. */
async function documentsHeld(userId, urls) {
  if (!userId || !(await caches.has(documentsCache(userId)))) return [];
  const cache = await caches.open(documentsCache(userId));
  const held = [];
  for (const url of urls) if (await cache.match(url)) held.push(url);
  return held;
}

async function removeDocuments(userId, urls) {
  if (!userId) return 0;
  const cache = await caches.open(documentsCache(userId));
  let removed = 0;
  for (const url of urls) removed += (await cache.delete(url)) ? 1 : 0;
  return removed;
}

/** A document: the stored copy when this user stored it (a document is
 * named by its hash, so the copy never goes stale), else the network. */
async function documentFromCacheOrNetwork(request) {
  const url = new URL(request.url);
  if (currentUser === null) await userCache();  // learn who is logged in after a restart
  if (currentUser && await caches.has(documentsCache(currentUser))) {
    const hit = await (await caches.open(documentsCache(currentUser))).match(url.pathname);
    if (hit) return hit;
  }
  try {
    return await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
  } catch {
    return offlinePage("This document is not stored on this device. Store its section's documents on the " +
                       "inspection page while online to read it offline.");
  }
}

async function userCache() {
  if (currentUser === null) {
    const stored = await (await caches.open(META_CACHE)).match("/__user");
    currentUser = stored ? await stored.json() : null;
  }
  return currentUser ? caches.open(pagesCache(currentUser)) : null;
}

function withTimeout(promise, ms, message = "timeout") {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    promise.then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}

const offlinePage = (text) => new Response(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Offline · inspector</title>
<link rel="stylesheet" href="/static/css/app.css"></head><body><main id="main"><h1>You are offline</h1>
<p>${text}</p>
<p><a class="button primary" href="/">My inspections</a></p></main></body></html>`,
  { status: 200, headers: { "Content-Type": "text/html; charset=utf-8" } });
const NOT_STORED = "This page is not stored on this device. Pages of inspections you made available offline still open.";
const LOGIN_OFFLINE = "Logging in needs the network. If you are logged in on this tablet already, the inspections " +
                      "you made available offline still open.";

async function fromCacheOrOffline(request) {
  const cache = await userCache();
  const url = new URL(request.url);
  if (cache) {
    const hit = await cache.match(url.pathname + url.search, { ignoreVary: true }) ||
                await cache.match(url.pathname, { ignoreVary: true });
    if (hit) return hit;
    // The jump box offline: the server's map for this inspection, looked up
    // by the typed text keyed by the server's own rule.
    const map = (await jumpMaps(cache))[url.pathname];
    const page = map?.[jumpKey(url.searchParams.get("code") || "")];
    if (page) return Response.redirect(page, 303);
  }
  if (request.destination === "image") return new Response("", { status: 404 });
  return offlinePage(NOT_STORED);
}

async function setUser(userId) {
  currentUser = userId;
  await (await caches.open(META_CACHE)).put("/__user", new Response(JSON.stringify(currentUser)));
}

async function networkFirst(request) {
  let response;
  try {
    response = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
  } catch {
    return fromCacheOrOffline(request);
  }
  // The server says whom each page was rendered for: that is who is logged
  // in now (a boosted swap to the login page included), and a page is only
  // ever stored in that user's cache.
  const owner = response.headers.get("X-Inspector-User");
  if (owner !== null && (owner || null) !== currentUser) await setUser(owner || null);
  // A fragment (an htmx answer holding part of a page) never replaces the
  // stored whole page at its address.
  const whole = response.headers.get("X-Inspector-Fragment") === null;
  const url = new URL(request.url);
  const devicePage = DEVICE_PAGES.has(url.pathname);
  if (response.ok && !response.redirected && whole && owner && (devicePage || await caches.has(pagesCache(owner)))) {
    // The cache of the user this page was rendered for, named from this very
    // response: not `currentUser`, which another answer arriving meanwhile
    // (the previous user's, on a shared tablet) may change while this one
    // waits on the cache, and put one user's page in another's cache.
    const cache = await caches.open(pagesCache(owner));
    // Refresh a copy only of what the inspector chose to take offline.
    if (devicePage || await cache.match(url.pathname + url.search)) {
      await cache.put(url.pathname + url.search, response.clone());
    }
  }
  return response;
}

// Data the pages read offline (the search index: offline.package), stored
// with the pages and served like them.
const isOfflineData = (url) => url.pathname.endsWith("/search-index");

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (SHELL_PATHS.has(url.pathname)) {
    event.respondWith(caches.match(url.pathname, { cacheName: SHELL_CACHE, ignoreSearch: true })
      .then((hit) => hit || fetch(request)));
    return;
  }
  if (url.pathname.startsWith("/photos/")) { event.respondWith(networkFirst(request)); return; }
  if (isDocument(url)) { event.respondWith(documentFromCacheOrNetwork(request)); return; }
  // The login page is never stored (it carries a form token), but offline it
  // answers with our page rather than the browser's error.
  if (url.pathname === "/login") {
    if (request.mode === "navigate") {
      event.respondWith(withTimeout(fetch(request), NETWORK_TIMEOUT_MS).catch(() => offlinePage(LOGIN_OFFLINE)));
    }
    return;
  }
  if (url.pathname.startsWith("/sync/") || url.pathname === "/sw.js") return;
  const wantsHtml = request.mode === "navigate" || request.headers.get("HX-Request") ||
                    (request.headers.get("Accept") || "").includes("text/html");
  if (wantsHtml || isOfflineData(url)) event.respondWith(networkFirst(request));
});
