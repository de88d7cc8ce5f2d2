"""Accessibility and layout: every control labelled, no inline style or script, usable at
360 px wide."""

from playwright.sync_api import expect

from conftest import shot, sign_in, uniq

UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea, button'))
  .filter(el => el.type !== 'hidden' && el.getClientRects().length)
  .filter(el => {
    const name = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
      || (el.tagName === 'BUTTON' && el.textContent.trim());
    return !name;
  }).map(el => el.outerHTML.slice(0, 80))"""

INLINE = """() => Array.from(document.querySelectorAll('*')).filter(el =>
  el.hasAttribute('style') || Array.from(el.attributes).some(a => a.name.startsWith('on'))).map(el => el.outerHTML.slice(0, 80))
  .concat(Array.from(document.scripts).filter(s => !s.src).map(s => 'inline script'))"""


def check_page(page):
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate(INLINE) == []


def test_every_page_labels_its_controls_and_inlines_nothing(page, server, api):
    project = uniq("a11y")
    k = api.project_key(project, name="labelled")
    page.goto("/")
    check_page(page)
    sign_in(page, server.admin_key, heading="Keys")
    check_page(page)
    page.get_by_role("button", name="Create API Key").click()
    expect(page.get_by_role("dialog", name="New API Key")).to_be_visible()
    check_page(page)
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    for hash_ in (f"#/keys/{k['prefix']}", "#/approvals", "#/profile"):
        page.goto("/" + hash_)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        check_page(page)


def test_usable_at_360_px(open_page, server, api):
    project = uniq("phone")
    k = api.project_key(project, name="on a phone")
    api.patch(k["prefix"], status="Disabled")
    page = open_page(width=360, height=740)
    sign_in(page, server.admin_key, heading="Keys")
    with page.expect_response(lambda r: f"projectId={project}" in r.url):
        page.get_by_label("Project", exact=True).fill(project)
    expect(page.locator("#keys-rows tr")).to_have_count(1)
    expect(page.get_by_role("img", name="Blocked")).to_be_visible()
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 360, f"the page scrolls sideways at 360 px: {wide}"
    shot(page, server, "keys-360px")
    page.get_by_role("link", name="Detail").click()
    expect(page.get_by_role("heading", name="API key details")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name="Replace Key").scroll_into_view_if_needed()
    shot(page, server, "detail-360px")
