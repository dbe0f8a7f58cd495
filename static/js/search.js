// The jump box: go to a standard by its code, or find standards by words in
// their code, title and text. Online the server answers (an htmx fragment,
// inspector/domain/search.py); offline this module runs the same rule over the
// inspection's search index, which is stored with the pages taken offline.
// The rule is written twice, here and in search.py, and held together by
// one table of cases (tests/search_cases.json) that both must pass.

const foldCase = (s) => s.toLowerCase().replace(/ß/g, "ss").replace(/ς/g, "σ");

/** The words of a text, as the rule compares them (see search.py words). */
export function words(text) {
  const plain = foldCase((text || "").normalize("NFKD").replace(/\p{M}/gu, ""));
  return plain.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

// The index's texts are asked again at every key typed: each is split once.
const split = new Map();
function cachedWords(text) {
  if (!split.has(text)) split.set(text, words(text));
  return split.get(text);
}

/** 0, 1 or 2: how many fields past the code hold every query word; null if none. */
function tier(queryWords, entryWords) {
  const seen = [];
  for (let rank = 0; rank < entryWords.length; rank += 1) {
    seen.push(...entryWords[rank]);
    if (queryWords.every((q) => seen.some((w) => w.startsWith(q)))) return rank;
  }
  return null;
}

/** The entries ({code, title, text}, in catalog order) matching the query, best first. */
export function rank(query, entries) {
  const queryWords = words(query);
  if (!queryWords.length) return [];
  const found = [];
  entries.forEach((entry, position) => {
    const t = tier(queryWords, [cachedWords(entry.code), cachedWords(entry.title), cachedWords(entry.text)]);
    if (t !== null) found.push([t, position, entry]);
  });
  return found.sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((f) => f[2]);
}

/** ``typed`` keyed by the server's rule (catalog.JUMP_KEY, shipped on the
 * jump form as data-jump-key): what the jump box compares codes by. */
export function jumpKey(rule, typed) {
  const key = typed.replace(new RegExp(rule.drop, "gu"), "");
  return rule.upper ? key.toUpperCase() : key;
}
const DELAY_MS = 200;
// How long the server may take to answer a search before the stored index
// answers instead: the browser can believe it is online behind a captive
// portal or a dead uplink, where requests fail or hang (the worker gives up
// on a page after 4 s; a list of matches should come sooner).
const SERVER_WAIT_MS = 2500;
const indexes = new Map();  // index URL -> promise of its entries (null if not to be had)

function loadIndex(url) {
  if (!indexes.has(url)) {
    indexes.set(url, fetch(url, { credentials: "same-origin" })
      .then((r) => (r.ok && (r.headers.get("Content-Type") || "").includes("json") ? r.json() : null))
      .then((data) => data && data.entries.map(([code, title, text, href]) => ({ code, title, text, href })))
      .catch(() => null));
  }
  return indexes.get(url).then((entries) => { if (!entries) indexes.delete(url); return entries; });
}

/** Bind a jump box (`form.jump[data-search]`). */
export function bind(form) {
  if (form.dataset.bound) return;
  form.dataset.bound = "1";
  const input = form.querySelector("input[name=code]");
  const results = form.querySelector("[data-search-results]");
  let timer = null, asked = 0;
  let serverAnswered = null;  // the last query the server answered: it is reachable

  const show = async () => {
    const query = input.value;
    const ticket = ++asked;
    if (!words(query).length) { render(form, results, null); return; }
    const html = navigator.onLine ? await fromServer(form, query) : null;
    if (ticket !== asked) return;  // a newer query was typed meanwhile
    if (html !== null) {
      serverAnswered = query;
      results.innerHTML = html;
      htmx.process(results);
      announce(form, results.firstElementChild?.textContent || "");
      return;
    }
    const entries = await loadIndex(form.dataset.searchIndex);
    if (ticket !== asked) return;
    render(form, results, entries ? rank(query, entries) : undefined, query);
  };
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(show, DELAY_MS); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") { links(results)[0]?.focus(); event.preventDefault(); }
    else if (event.key === "Escape") { input.value = ""; render(form, results, null); }
  });
  results.addEventListener("keydown", (event) => {
    const all = links(results);
    const at = all.indexOf(document.activeElement);
    if (at < 0) return;
    if (event.key === "ArrowDown" && at < all.length - 1) all[at + 1].focus();
    else if (event.key === "ArrowUp") (at > 0 ? all[at - 1] : input).focus();
    else if (event.key === "Escape") input.focus();
    else return;
    event.preventDefault();
  });
  // Enter goes to the server's page (a code's page, or the search page)
  // when the server answers. Otherwise (offline, or unreachable while the
  // browser believes it is online), words (not a code): show the matches
  // here, as the server's search page would.
  form.addEventListener("submit", async (event) => {
    event.preventDefault();  // before any await, or the browser submits meanwhile
    clearTimeout(timer);
    const ticket = ++asked;
    const query = input.value;
    if (navigator.onLine && (serverAnswered === query || (await fromServer(form, query)) !== null)) {
      form.submit();
      return;
    }
    if (ticket !== asked) return;
    const entries = await loadIndex(form.dataset.searchIndex);
    const rule = JSON.parse(form.dataset.jumpKey);
    const exact = entries?.find((e) => jumpKey(rule, e.code) === jumpKey(rule, input.value));
    const found = entries ? rank(input.value, entries) : [];
    // A code, or nothing stored here: the worker's jump map answers, as the
    // server would (or says the page is not stored on this device).
    if (exact || !found.length) { form.submit(); return; }
    render(form, results, found, input.value);
    links(results)[0]?.focus();
  });
}

const links = (results) => [...results.querySelectorAll("a[href]")];

async function fromServer(form, query) {
  try {
    const url = `${form.dataset.search}?${new URLSearchParams({ q: query })}`;
    const response = await fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" },
                                        signal: AbortSignal.timeout(SERVER_WAIT_MS) });
    // Only the server's own fragment; the worker's offline page is not an answer.
    if (!response.ok || response.headers.get("X-Inspector-Fragment") === null) return null;
    return await response.text();
  } catch {
    return null;
  }
}

/** Show matches (null: nothing typed; undefined: no index on this device)
 * with the server's markup, cloned from the page's templates. */
function render(form, results, found, query) {
  results.replaceChildren();
  if (found === null) { announce(form, ""); return; }
  const templates = form.querySelector("[data-search-templates]");
  if (found === undefined) {
    results.append(templates.content.querySelector("[data-search-unavailable]").cloneNode(true));
  } else {
    const limit = Number(templates.dataset.limit);
    const list = templates.content.querySelector("[data-search-list]").cloneNode(true);
    const item = list.querySelector("li");
    item.remove();
    for (const entry of found.slice(0, limit)) {
      const li = item.cloneNode(true);
      li.querySelector("a").href = entry.href;
      li.querySelector(".code").textContent = entry.code;
      li.querySelector(".title").textContent = entry.title;
      list.append(li);
    }
    list.setAttribute("aria-label", list.getAttribute("aria-label").replace("{query}", query.trim()));
    const count = templates.content.querySelector("[data-search-count]").cloneNode(true);
    // Offline the stored index holds only what this user took offline: say so.
    count.textContent = `${countText(templates.dataset, found.length, Math.min(found.length, limit), query.trim())} ` +
      templates.dataset.offlineScope;
    results.append(count);
    if (found.length) results.append(list);
  }
  announce(form, results.firstElementChild.textContent);
}

// The wording of the count is the server's (search.html count), held in the template's data.
function countText(data, total, shown, query) {
  const text = total === 0 ? data.none : total === 1 ? data.one : shown < total ? data.some : data.many;
  return text.replace("{n}", total).replace("{shown}", shown).replace("{query}", query);
}

function announce(form, text) {
  const status = form.querySelector("[data-search-status]");
  if (status) status.textContent = text;
}
