// Service worker. The server fills in VERSION (a hash of the shell files)
// and SHELL, so any change to the shell installs a new worker and the old
// shell cache is deleted on activation.
const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const SHELL_CACHE = `shell-${VERSION}`;
const NETWORK_TIMEOUT_MS = 4000;
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

// The page (and every page response) says who is logged in; kept in a cache entry so it survives the
// worker being stopped and restarted while offline.
self.addEventListener("message", (event) => {
  if (event.data?.type !== "user") return;
  event.waitUntil(setUser(event.data.userId ? String(event.data.userId) : null));
});

async function userCache() {
  if (currentUser === null) {
    const stored = await (await caches.open("meta")).match("/__user");
    currentUser = stored ? await stored.json() : null;
  }
  return currentUser ? caches.open(`pages-u${currentUser}`) : null;
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}

const OFFLINE_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Offline · inspector</title>
<link rel="stylesheet" href="/static/css/app.css"></head><body><main id="main"><h1>You are offline</h1>
<p>This page is not stored on this device. Pages of inspections you made available offline still open.</p>
<p><a class="button primary" href="/">My inspections</a></p></main></body></html>`;

async function fromCacheOrOffline(request) {
  const cache = await userCache();
  const url = new URL(request.url);
  if (cache) {
    const hit = await cache.match(url.pathname + url.search, { ignoreVary: true }) ||
                await cache.match(url.pathname, { ignoreVary: true });
    if (hit) return hit;
    const jump = /^\/inspections\/(\d+)\/jump$/.exec(url.pathname);
    if (jump) {
      const code = (url.searchParams.get("code") || "").replace(/\s+/g, "").toUpperCase();
      for (const key of await cache.keys()) {
        const path = new URL(key.url).pathname;
        if (decodeURIComponent(path).toUpperCase() === `/INSPECTIONS/${jump[1]}/STANDARDS/${code}`) {
          return Response.redirect(path, 303);
        }
      }
    }
  }
  if (request.destination === "image") return new Response("", { status: 404 });
  return new Response(OFFLINE_PAGE, { status: 200, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

async function setUser(userId) {
  currentUser = userId;
  await (await caches.open("meta")).put("/__user", new Response(JSON.stringify(currentUser)));
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
  if (response.ok && !response.redirected && owner && owner === currentUser) {
    const cache = await userCache();
    const url = new URL(request.url);
    // Refresh a copy only of what the inspector chose to take offline.
    if (cache && await cache.match(url.pathname + url.search)) await cache.put(url.pathname + url.search, response.clone());
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (SHELL.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname, { cacheName: SHELL_CACHE }).then((hit) => hit || fetch(request)));
    return;
  }
  if (url.pathname.startsWith("/photos/")) { event.respondWith(networkFirst(request)); return; }
  if (url.pathname.startsWith("/sync/") || url.pathname === "/login" || url.pathname === "/sw.js") return;
  const wantsHtml = request.mode === "navigate" || request.headers.get("HX-Request") ||
                    (request.headers.get("Accept") || "").includes("text/html");
  if (wantsHtml) event.respondWith(networkFirst(request));
});
