"""The Keys page: columns, search, filters, paging, copy, Block/Unblock (the red dot), Delete."""

from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import expect

from conftest import row, shot, sign_in, top_message, uniq


def admin_on_project(page, server, project, heading="API keys"):
    sign_in(page, server.admin_key, heading="Keys")
    with page.expect_response(lambda r: f"projectId={project}" in r.url):
        page.get_by_label("Project", exact=True).fill(project)
    expect(page.get_by_role("heading", level=1, name=heading, exact=True)).to_be_visible()


def test_the_list_shows_its_columns_and_search_finds_by_name(page, server, api):
    project = uniq("shop")
    for name in ("checkout service", "search indexer", "Checkout cron"):
        api.project_key(project, name=name)
    admin_on_project(page, server, project)
    headers = page.locator("table.keys thead th")
    for col in ("API key", "Status", "Created by", "Created on", "Last active", "Submitted jobs"):
        expect(headers.filter(has_text=col)).to_have_count(1)
    expect(page.locator("#keys-rows tr")).to_have_count(3)
    r = row(page, "search indexer")
    expect(r).to_contain_text("sk-project-...")
    expect(r).to_contain_text("Active")
    expect(r).to_contain_text("admin")  # created by the bootstrap admin's user
    expect(r.get_by_role("link", name="Detail")).to_be_visible()
    page.get_by_role("searchbox", name="Search").fill("checkout")
    expect(page.locator("#keys-rows tr")).to_have_count(2)
    expect(row(page, "search indexer")).to_have_count(0)
    page.get_by_role("searchbox", name="Search").fill("nothing like it")
    expect(page.get_by_text("No API key matches these filters.")).to_be_visible()


def test_filters_by_status_and_type(page, server, api):
    project = uniq("ops")
    a = api.project_key(project, name="alpha")
    b = api.project_key(project, name="bravo")
    api.patch(b["prefix"], status="Disabled")
    admin_on_project(page, server, project)
    page.get_by_label("Status").select_option("Disabled")
    expect(page.locator("#keys-rows tr")).to_have_count(1)
    expect(row(page, "bravo")).to_be_visible()
    page.get_by_label("Status").select_option("")
    expect(page.locator("#keys-rows tr")).to_have_count(2)
    page.get_by_label("Project", exact=True).fill("")
    page.get_by_label("Type").select_option("user")
    expect(row(page, "bootstrap admin")).to_be_visible()
    expect(row(page, "alpha")).to_have_count(0)
    assert a["prefix"]


def test_empty_project_offers_to_create_a_key(page, server, api):
    project = uniq("empty")
    admin_on_project(page, server, project)
    expect(page.get_by_text("No API key has been created on this project.")).to_be_visible()
    expect(page.get_by_role("button", name="Create an API key", exact=True)).to_be_visible()
    shot(page, server, "keys-empty")


def test_block_and_unblock_show_and_remove_the_red_dot(page, server, api):
    project = uniq("pay")
    k = api.project_key(project, name="payments worker")
    admin_on_project(page, server, project)
    r = row(page, "payments worker")
    expect(r.get_by_role("img", name="Blocked")).to_have_count(0)
    r.get_by_role("button", name="Options for payments worker").click()
    page.get_by_role("menuitem", name="Block").click()
    dialog = page.get_by_role("dialog", name="Block API Key")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Block").click()
    expect(dialog).to_have_count(0)
    expect(top_message(page)).to_contain_text("has been blocked")
    expect(r.get_by_role("img", name="Blocked")).to_be_visible()
    expect(r).to_contain_text("Disabled")
    assert api.get(k["prefix"])["status"] == "Disabled"
    assert not api.works(k["key"])
    shot(page, server, "keys-blocked")
    # Unblock, with the keyboard
    r.get_by_role("button", name="Options for payments worker").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem", name="Unblock")).to_be_focused()
    page.keyboard.press("Enter")
    expect(top_message(page)).to_contain_text("has been unblocked")
    expect(r.get_by_role("img", name="Blocked")).to_have_count(0)
    assert api.get(k["prefix"])["status"] == "Active"
    assert api.works(k["key"])


def test_block_can_be_cancelled_with_escape(page, server, api):
    project = uniq("pay")
    k = api.project_key(project, name="cancel me")
    admin_on_project(page, server, project)
    row(page, "cancel me").get_by_role("button", name="Options for cancel me").click()
    page.get_by_role("menuitem", name="Block").click()
    dialog = page.get_by_role("dialog", name="Block API Key")
    expect(dialog).to_be_visible()
    # focus stays inside the dialog
    for _ in range(4):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('dialog') !== null")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert api.get(k["prefix"])["status"] == "Active"


def test_delete_from_the_options_menu(page, server, api):
    project = uniq("tmp")
    k = api.project_key(project, name="short lived")
    api.project_key(project, name="stays")
    admin_on_project(page, server, project)
    row(page, "short lived").get_by_role("button", name="Options for short lived").click()
    page.get_by_role("menuitem", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete API Key")
    dialog.get_by_role("button", name="Delete").click()
    expect(top_message(page)).to_contain_text("has been deleted")
    expect(row(page, "short lived")).to_have_count(0)
    expect(row(page, "stays")).to_have_count(1)
    assert api.status_of(k["prefix"]) == 404
    assert not api.works(k["key"])
    page.reload()
    expect(row(page, "stays")).to_have_count(1)
    expect(row(page, "short lived")).to_have_count(0)


def test_copy_copies_the_prefix_and_says_why_not_the_key(page, server, api):
    project = uniq("cp")
    k = api.project_key(project, name="copy source")
    admin_on_project(page, server, project)
    button = row(page, "copy source").get_by_role("button", name="Copy prefix of copy source")
    assert "Only a hash" in button.get_attribute("title")
    button.click()
    expect(top_message(page)).to_contain_text(f"The prefix {k['prefix']}")
    assert page.evaluate("navigator.clipboard.readText()") == k["prefix"]


def test_member_sees_no_block_or_delete(page, server, api):
    project = uniq("team")
    api.project_key(project, name="someone else's")
    member = api.team_key(roles=[f"project-member:{project}"])
    sign_in(page, member["key"], heading="API keys")
    r = row(page, "someone else's")
    expect(r).to_be_visible()
    expect(r.get_by_role("button", name="Options for someone else's")).to_have_count(0)
    expect(page.get_by_role("link", name="Approvals")).to_have_count(0)


def test_a_plain_team_key_sees_only_itself(page, server, api):
    plain = api.team_key(name="plain user key")
    sign_in(page, plain["key"], heading="Keys")
    expect(page.locator("#keys-rows tr")).to_have_count(1)
    expect(row(page, "plain user key")).to_be_visible()
    expect(page.get_by_role("button", name="Create API Key")).to_have_count(0)


def test_load_more_pages_through_a_thousand_keys(page, server, api):
    project = uniq("bulk")
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: api.project_key(project, name=f"bulk key {i:04d}"), range(1000)))
    admin_on_project(page, server, project)
    rows = page.locator("#keys-rows tr")
    expect(rows).to_have_count(100)
    # each page of rows goes in at once: one insertion, not one per row
    page.evaluate("""() => { window.__inserts = [];
        new MutationObserver(rs => rs.forEach(r => r.addedNodes.length && window.__inserts.push(
          Array.from(r.addedNodes).filter(n => n.nodeName === 'TR').length)))
        .observe(document.querySelector('#keys-rows'), { childList: true }); }""")
    for n in range(200, 1001, 100):
        page.get_by_role("button", name="Load more").click()
        expect(rows).to_have_count(n, timeout=20_000)
    assert page.evaluate("window.__inserts") == [100] * 9
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    prefixes = page.eval_on_selector_all("#keys-rows tr", "rs => rs.map(r => r.dataset.prefix)")
    assert len(set(prefixes)) == 1000
    # (how fast they render is measured by bench/console.py, not asserted here)
    page.get_by_role("searchbox", name="Search").fill("bulk key 0999")
    expect(rows).to_have_count(1)
