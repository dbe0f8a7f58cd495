// Talking to the service worker (sync/static/sw.js), which owns every cache:
// the page tells it who is logged in and asks it to take an inspection
// offline or to forget a user's pages; it never opens a cache itself.

/** Whether this browser can keep pages (service workers need https:// or localhost). */
export const available = "serviceWorker" in navigator;

/** Register the worker and tell it who is logged in (null: nobody). */
export function register(userId) {
  if (!available) return;  // plain http on a LAN address: pages work online only
  navigator.serviceWorker.register("/sw.js", { scope: "/" })
    .then(() => tell({ type: "user", userId }))
    .catch(() => { /* no service worker: pages work online only */ });
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
