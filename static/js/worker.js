// Talking to the service worker (sync/static/sw.js), which owns every cache:
// the page tells it who is logged in and asks it to take an inspection
// offline or to forget a user's pages; it never opens a cache itself.

/** Whether this browser can keep pages (service workers need https:// or localhost). */
export const available = "serviceWorker" in navigator;

let registered = Promise.reject(new Error("not registered"));
registered.catch(() => {});

/** Register the worker and tell it who is logged in (null: nobody). */
export function register(userId) {
  if (!available) return;  // plain http on a LAN address: pages work online only
  registered = navigator.serviceWorker.register("/sw.js", { scope: "/" });
  registered.then(() => tell({ type: "user", userId })).catch(() => { /* said by offlineProblem */ });
}

/** Why this page cannot be used offline, in words for the inspector, or
 * null when it can: a service worker controls the page. With `wait`, give a
 * worker that is still starting (the first visit) time to take the page over. */
export async function offlineProblem({ wait = false } = {}) {
  if (!available) {
    return "Offline use is unavailable: this address is not secure (plain http://), so the browser will not " +
           "store pages. Open the app by its https:// address (ask your IT team), then take the inspection offline.";
  }
  try {
    await registered;
  } catch (err) {
    // Over https with a certificate the tablet does not trust (a warning the
    // user clicked through), Chromium refuses the worker: "An SSL certificate
    // error occurred when fetching the script."
    const certificate = /ssl|certificate/i.test(`${err.name} ${err.message}`);
    return certificate
      ? "Offline use is unavailable: this tablet does not trust the server's certificate (a security warning " +
        "was clicked through), so the browser will not store pages. Ask your IT team to install the " +
        "organisation's certificate on this tablet, then reload this page."
      : `Offline use is unavailable: the browser refused to install the offline helper (${err.message}). ` +
        "Reload the page and try again; if this stays, tell your IT team.";
  }
  if (!navigator.serviceWorker.controller && wait) {
    // The first visit installs the worker, which stores the whole shell
    // before it takes the page: on a slow ward network (or a busy tablet)
    // that takes a while, so wait as long as for the worker to start.
    await new Promise((resolve) => {
      navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true });
      setTimeout(resolve, 30_000);
    });
  }
  if (!navigator.serviceWorker.controller) {
    // A hard reload (Shift+reload) bypasses the worker for that page.
    return wait ? "Offline use is not ready: the offline helper does not control this page yet. Reload the page, " +
                  "then try again." : null;
  }
  return null;
}

/** Send a message and wait for the worker's answer; `onProgress` gets what
 * it reports on the way. */
export async function ask(message, onProgress = () => {}) {
  const reg = await ready();
  return new Promise((resolve, reject) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = ({ data }) => {
      if (data.progress) onProgress(data.progress);
      else if (data.error) reject(new Error(data.error));
      else resolve(data.result);
    };
    reg.active.postMessage(message, [channel.port2]);
  });
}

/** Send a message expecting no answer. */
async function tell(message) {
  (await ready()).active?.postMessage(message);
}

// `ready` waits forever when no worker was registered (or it failed to install).
async function ready() {
  if (!available || !(await navigator.serviceWorker.getRegistration())) throw new Error("no service worker");
  return Promise.race([navigator.serviceWorker.ready, new Promise((_, reject) =>
    setTimeout(() => reject(new Error("the service worker did not start")), 30_000))]);
}
