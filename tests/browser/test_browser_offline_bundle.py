"""Taking an inspection offline in one download, in real Chromium: the panel
shows the download's progress, then Ready; every page in the worker's cache
is what the server renders for its URL, and offline the cache serves it."""
import hashlib
import re

from playwright.sync_api import expect

from tests.helpers import demo_inspection_id, log_in_by_cookie, make_available_offline, wait_for_worker

# Every text the offline panel shows, in order, kept by the page for the test
# (a MutationObserver: the download on localhost is over in a blink).
WATCH_PANEL = """() => {
  window.panelStates = [];
  const state = document.querySelector("[data-offline-state]");
  new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach(
    (n) => window.panelStates.push(n.textContent)))).observe(state, { childList: true });
}"""
# The cached copies, as the worker stores them (pages as text, photos by their hash).
CACHED = """async (urls) => {
  const name = (await caches.keys()).find((n) => n.startsWith("pages-u"));
  const cache = await caches.open(name);
  const out = {};
  for (const url of urls) {
    const hit = await cache.match(url);
    if (!hit) continue;
    const body = await hit.arrayBuffer();
    out[url] = { type: hit.headers.get("Content-Type"), user: hit.headers.get("X-Inspector-User"),
                 text: url.startsWith("/photos/") ? null : new TextDecoder().decode(body),
                 sha256: [...new Uint8Array(await crypto.subtle.digest("SHA-256", body))]
                   .map((b) => b.toString(16).padStart(2, "0")).join("") };
  }
  return out;
}"""
# A GET from the page, through the worker (offline: its cache answers).
FETCH = """async (url) => {
  const r = await fetch(url, { headers: { Accept: "text/html" } });
  return { status: r.status, text: await r.text() };
}"""
TOKEN = re.compile(r'(name="csrf_token" value=")([^".]+)\.([^"]+)"')


def masked(html):
    """The page with its form token's signing time and signature cut: the
    server signs the same session secret afresh each second."""
    return TOKEN.sub(r'\1\2.SIGNED"', html)


def test_one_download_fills_the_cache_with_the_servers_own_pages(live_server, tablet):
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    inspection = demo_inspection_id(live_server.data_dir)
    page.goto(f"{live_server.url}/inspections/{inspection}")
    # The worker first (waiting may reload the page once, which would drop
    # the watcher: a clean-clone CI run lost it so), then watch the panel.
    wait_for_worker(page)
    page.evaluate(WATCH_PANEL)
    make_available_offline(page)
    states = page.evaluate("window.panelStates")
    downloading = [i for i, s in enumerate(states) if s.startswith("Downloading:")]
    ready = [i for i, s in enumerate(states) if s.startswith("Ready to use offline")]
    assert downloading and ready and downloading[0] < ready[0], states
    assert not [s for s in states[:ready[0]] if s.startswith("Ready")], states  # Ready only at the end
    wire = re.search(r"\(a (\d+) KB download\)", states[ready[0]])
    assert wire and int(wire.group(1)) <= 40, states[ready[0]]  # one compressed download, not 108 pages

    package = page.request.get(f"{live_server.url}/inspections/{inspection}/offline-manifest").json()
    urls = package["pages"] + package["photos"]
    cached = page.evaluate(CACHED, urls)
    assert sorted(cached) == sorted(urls)  # every page and photo of the package, nothing missing
    server = {url: page.request.get(live_server.url + url) for url in urls}  # as the same user, not the worker
    tokens = set()
    for url in urls:
        ours, theirs = cached[url], server[url]
        assert theirs.status == 200 and ours["type"] == theirs.headers["content-type"], url
        if ours["text"] is None:
            assert ours["sha256"] == hashlib.sha256(theirs.body()).hexdigest(), url
            continue
        assert ours["user"] == theirs.headers.get("x-inspector-user"), url  # pages name their user; the search index is data
        assert ours["text"].encode() == theirs.body() or masked(ours["text"]) == masked(theirs.text()), url
        tokens |= {m.group(0) for m in TOKEN.finditer(ours["text"])}
    assert tokens

    # Offline: the worker answers from its cache, with the same bytes.
    tablet.set_offline(True)
    for url in [f"/inspections/{inspection}", *package["pages"][2:5], package["pages"][-1]]:
        answer = page.evaluate(FETCH, url)
        assert answer["status"] == 200 and masked(answer["text"]) == masked(server[url].text()), url
    section = next(url for url in package["pages"] if "/sections/" in url)
    page.goto(f"{live_server.url}{section}?only=flagged")  # a filter of a stored page, offline
    expect(page.get_by_role("heading", level=1)).to_contain_text(section.rsplit("/", 1)[1])
    tablet.set_offline(False)

    # The forms' tokens in the cached pages are valid for this session: the
    # logout form of a cached page logs out.
    token = re.search(r'value="([^"]+)"', tokens.pop()).group(1)
    page.request.post(f"{live_server.url}/logout", form={"csrf_token": token})
    assert page.request.get(f"{live_server.url}/", max_redirects=0).status == 302


def test_a_page_from_before_the_bundle_still_takes_the_inspection_offline(live_server, tablet):
    """A page rendered by the previous deploy asks the new worker with the
    page list's URL: the worker takes the bundle beside it."""
    page = tablet.new_page()
    log_in_by_cookie(page, live_server, "inspector1")
    inspection = demo_inspection_id(live_server.data_dir)
    page.goto(f"{live_server.url}/inspections/{inspection}")
    wait_for_worker(page)
    result = page.evaluate("""async (manifest) => {
      const reg = await navigator.serviceWorker.ready;
      return new Promise((resolve) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = ({ data }) => { if (!data.progress) resolve(data); };
        reg.active.postMessage({ type: "take-offline", userId: document.body.dataset.userId, manifest },
                               [channel.port2]);
      });
    }""", f"/inspections/{inspection}/offline-manifest")
    assert "result" in result, result
    assert result["result"]["missing"] == 0 and result["result"]["pages"] > 100 and result["result"]["wire"]
