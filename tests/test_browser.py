"""A person in a real browser (headless Chromium): home → article → highlighted quotation,
then a query from the SPARQL page's editor and its results table."""

from __future__ import annotations

import os
import shutil

import pytest

from conftest import EXTRA_SLUG
from webserver import running_app

playwright = pytest.importorskip("playwright.sync_api")
SHOTS = os.environ.get("CLAIMGRAPH_SCREENSHOTS")  # a folder to keep screenshots in, for a person to look at
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def test_reader_follows_an_article_and_runs_a_query(browser, two_article_build, tmp_path):
    with running_app(two_article_build.out_dir) as url:
        page = browser.new_page()
        page.goto(url)
        assert "Latest articles" in page.content()
        page.click(f"ul.articles a[href$='article/{EXTRA_SLUG}']")
        page.wait_for_url(f"**/article/{EXTRA_SLUG}")
        quotation = page.locator("section.body mark.quotation").first
        assert quotation.is_visible()
        color = quotation.evaluate("e => getComputedStyle(e).backgroundColor")
        assert color not in ("rgba(0, 0, 0, 0)", "transparent")  # really highlighted
        assert len(quotation.inner_text()) > 10
        page.screenshot(path=str(tmp_path / "article.png"), full_page=True)
        if SHOTS:
            page.screenshot(path=SHOTS + "/article.png", full_page=False)

        page.click("header.site >> text=SPARQL")
        page.wait_for_url("**/sparql")
        page.select_option("#examples", label="Quotations")
        assert "schema:Quotation" in page.input_value("#query")
        page.click("#run")
        page.wait_for_selector("#results-table")
        rows = page.locator("#results-table tr")
        assert rows.count() == 1 + 4  # header + the four quotations of the two articles
        assert "quotation" in page.locator("#results-table").inner_text()
        page.screenshot(path=str(tmp_path / "sparql.png"), full_page=True)
        if SHOTS:
            page.screenshot(path=SHOTS + "/sparql.png", full_page=False)
        page.close()
