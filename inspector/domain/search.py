"""The jump box's word search: one rule, written twice and held together by
one table of cases (tests/search_cases.json) that this module and
static/js/search.js must both pass, so a search answers the same online (the
server, here) and offline (the page, over the inspection's search index).

The rule:
- a text's words: decomposed (NFKD), combining marks dropped (so "é" is
  "e"), case-folded, split on every character that is not a letter or a
  digit;
- an entry (code, title, text) matches when every word of the query is the
  start of some word of its code, title or text;
- the matches come in tiers, then in catalog order: first those whose code
  alone holds every query word, then code and title, then the rest.
"""
import functools
import unicodedata

FIELDS = ("code", "title", "text")
LIMIT = 20  # results shown at once; the count says how many more there are
# How the results are counted, for the server's page and fragment and (held in
# the page's template data) for the page's own offline search.
# Offline the jump box searches the index stored on the device, which holds
# only the sections this user took offline (static/js/search.js says so).
OFFLINE_SCOPE = "Searched in your sections (stored on this device)."
COUNT_TEXT = {"none": "No standard holds the words “{query}”.", "one": "1 standard found.",
              "many": "{n} standards found.", "some": "{n} standards found; the first {shown} are shown, "
                                                  "add a word to narrow them."}


def words(text):
    """The words of a text, as the rule compares them."""
    return list(_words(text or ""))


# The catalog's texts are few and asked again at every search: each is split once.
@functools.lru_cache(maxsize=8192)
def _words(text):
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M")).casefold()
    return tuple("".join(c if c.isalnum() else " " for c in plain).split())


def tier(query_words, entry_words):
    """0, 1 or 2: how many fields past the code it takes to hold every query
    word (``entry_words``: the words of code, title, text); None if no field does."""
    seen = []
    for rank, field in enumerate(entry_words):
        seen.extend(field)
        if all(any(w.startswith(q) for w in seen) for q in query_words):
            return rank
    return None


def rank(query, entries):
    """The entries (mappings with code, title, text, in catalog order) that
    match the query, best first. An empty query matches nothing."""
    query_words = words(query)
    if not query_words:
        return []
    found = []
    for position, entry in enumerate(entries):
        t = tier(query_words, [_words(entry[f] or "") for f in FIELDS])
        if t is not None:
            found.append((t, position, entry))
    return [entry for _, _, entry in sorted(found, key=lambda f: f[:2])]


def count_text(total, shown, query):
    """The results' count in words (COUNT_TEXT)."""
    key = "none" if total == 0 else "one" if total == 1 else "some" if shown < total else "many"
    return COUNT_TEXT[key].format(n=total, shown=shown, query=query.strip())
