"""The jump box's word search on the server: the shared table of cases
(tests/search_cases.json, which static/js/search.js passes in Chromium too,
tests/browser/test_browser_search.py), the search fragment and page, the
jump box falling back to words, and the search index stored for offline use."""
import json
import re
from pathlib import Path

import pytest

from inspector.domain import catalog, search

CASES = json.loads((Path(__file__).parent / "search_cases.json").read_text())


@pytest.mark.parametrize("case", CASES["words"], ids=lambda c: repr(c["text"]))
def test_words_as_the_shared_table_says(case):
    assert search.words(case["text"]) == case["words"]


@pytest.mark.parametrize("case", CASES["jump_keys"], ids=lambda c: repr(c["typed"]))
def test_jump_keys_as_the_shared_table_says(case):
    assert catalog.jump_key(case["typed"]) == case["key"]


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: repr(c["query"]))
def test_rank_as_the_shared_table_says(case):
    assert [e["code"] for e in search.rank(case["query"], CASES["entries"])] == case["codes"]


def test_the_demo_catalog_holds_the_words_of_the_issue(as_user, demo_inspection):
    """ICU and tocilizumab, the issue's own examples, find real standards."""
    client = as_user("inspector1")
    for query, codes in [("ICU", {"B2.3", "B7.3.7"}), ("tocilizumab", {"B7.3.4", "B7.2.11"})]:
        html = client.get(f"/inspections/{demo_inspection}/search", query_string={"q": query}).get_data(as_text=True)
        assert codes <= set(re.findall(r'<span class="code">([^<]+)</span>', html)), query


def codes_in(html):
    return re.findall(r'<a href="[^"]+/(?:standards|sections)/([^"]+)"><span class="code">', html)


def test_an_htmx_search_answers_with_a_fragment_ranked_by_the_rule(as_user, demo_inspection):
    response = as_user("inspector1").get(f"/inspections/{demo_inspection}/search", query_string={"q": "tocilizumab"},
                                         headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.headers["X-Inspector-Fragment"] == "1"  # the worker never stores it as a page
    assert "<html" not in html
    assert codes_in(html)[0] == "B7.3.4"  # its title holds the word: before the standards whose text does
    assert f'href="/inspections/{demo_inspection}/standards/B7.3.4"' in html
    assert re.search(r"\d+ standards found", html)


def test_the_search_page_works_without_javascript(as_user, demo_inspection):
    response = as_user("inspector1").get(f"/inspections/{demo_inspection}/search", query_string={"q": "icu"})
    html = response.get_data(as_text=True)
    assert "X-Inspector-Fragment" not in response.headers
    assert "<h1>Standards holding “icu”</h1>" in html
    assert {"B2.3", "B7.3.7"} <= set(codes_in(html))


def test_the_search_shows_at_most_the_limit_and_says_how_many_there_are(as_user, demo_inspection):
    html = as_user("inspector1").get(f"/inspections/{demo_inspection}/search", query_string={"q": "the"},
                                     headers={"HX-Request": "true"}).get_data(as_text=True)
    total = int(re.search(r"(\d+) standards found; the first 20 are shown", html).group(1))
    assert total > search.LIMIT
    assert len(codes_in(html)) == search.LIMIT


def test_nothing_found_says_so(as_user, demo_inspection):
    html = as_user("inspector1").get(f"/inspections/{demo_inspection}/search", query_string={"q": "zzqx"},
                                     headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "No standard holds the words “zzqx”." in html
    assert "<ul" not in html


def test_the_jump_box_takes_words_to_the_search_page(as_user, demo_inspection):
    response = as_user("inspector1").get(f"/inspections/{demo_inspection}/jump", query_string={"code": "ICU"})
    assert response.status_code == 302
    assert response.location == f"/inspections/{demo_inspection}/search?q=ICU"


def test_the_search_index_holds_what_the_inspector_takes_offline(as_user, demo_inspection):
    """inspector1 is assigned B1, B2, B3, B6, B7, B8: the index holds those
    sections and their standards, as the pages stored offline do."""
    client = as_user("inspector1")
    index = client.get(f"/inspections/{demo_inspection}/search-index").get_json()
    manifest = client.get(f"/inspections/{demo_inspection}/offline-manifest").get_json()
    codes = [code for code, _, _, _ in index["entries"]]
    assert {c.split(".")[0] for c in codes} == {"B1", "B2", "B3", "B6", "B7", "B8"}
    assert "B7" in codes and "B7.3.4" in codes and "C1" not in codes
    urls = {url for _, _, _, url in index["entries"]}
    assert urls <= set(manifest["pages"])  # every match offline opens a stored page
    assert f"/inspections/{demo_inspection}/search-index" in manifest["pages"]  # stored with them
    b94 = next(e for e in index["entries"] if e[0] == "B7.3.4")
    assert b94[1] == "Tocilizumab available without delay" and "tocilizumab" in b94[2].lower()
    # Same answer as the server gives online, over the same entries.
    offline = [e["code"] for e in search.rank("ICU", [dict(zip(("code", "title", "text"), e)) for e in index["entries"]])]
    assert offline[:2] == ["B2.3", "B7.3.7"]


def test_an_inspector_with_no_section_gets_every_standard_in_the_index(as_user, db, demo_inspection):
    index = as_user("lead").get(f"/inspections/{demo_inspection}/search-index").get_json()
    total = db.conn.execute("SELECT count(*) FROM standards s JOIN inspections i ON i.catalog_id = s.catalog_id "
                            "WHERE i.id = ?", [demo_inspection]).fetchone()[0]
    assert len(index["entries"]) == total


def test_the_jump_box_carries_the_search_wording_for_offline_use(as_user, demo_inspection):
    html = as_user("inspector1").get(f"/inspections/{demo_inspection}/sections/B1").get_data(as_text=True)
    assert f'data-search-index="/inspections/{demo_inspection}/search-index"' in html
    assert f'data-limit="{search.LIMIT}"' in html
    for text in search.COUNT_TEXT.values():
        assert f'="{text}"' in html
