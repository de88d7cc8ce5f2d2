"""Signing in and out: who you are, what you may do, where the key is (and is not) kept."""

import time
from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from conftest import sign_in, shot, top_message, uniq

REFUSED = "refused"


def test_sign_in_shows_who_and_what_you_may_do_and_keeps_the_key_in_this_tab_only(page, server, api):
    sign_in(page, server.admin_key, heading="Keys")
    who = page.locator(".whoami")
    expect(who).to_contain_text("Signed in as")
    expect(who).to_contain_text("bootstrap admin")
    page.get_by_text("Signed in as").click()
    me = api.ok("GET", "/me")
    for text in (me["prefix"], me["account"]["id"], me["user"]["id"], "admin"):
        expect(who).to_contain_text(text)
    expect(who).to_contain_text("Manage every key of team")
    stored = page.evaluate("JSON.stringify(Object.assign({}, sessionStorage))")
    assert server.admin_key in stored
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []
    assert server.admin_key not in page.url
    shot(page, server, "signed-in-who")


def test_a_project_key_signs_in_to_its_project(page, server, api):
    project = uniq("proj")
    pa = api.project_key(project, roles=[f"project-admin:{project}"], name="deploy bot")
    sign_in(page, pa["key"], heading="API keys")
    expect(page.locator("#keys-scope")).to_have_text(f"Project {project}")
    page.get_by_text("Signed in as").click()
    expect(page.locator(".whoami")).to_contain_text(f"project-admin:{project}")
    expect(page.locator(".whoami")).to_contain_text(f"Project {project}: create")
    # a project key has no "Profile & API Keys"
    expect(page.get_by_role("link", name="Profile & API Keys")).to_have_count(0)


def test_a_refused_key_stays_on_sign_in_saying_so(page, server, api):
    page.goto("/")
    # blank
    page.get_by_role("button", name="Sign in").click()
    expect(top_message(page)).to_contain_text("Paste your API key")
    # malformed, unknown, disabled, replaced
    k = api.project_key(uniq("proj"))
    api.patch(k["prefix"], status="Disabled")
    r = api.project_key(uniq("proj"))
    api.ok("POST", f"/keys/{r['prefix']}/replace", {})
    soon = (datetime.now(timezone.utc) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    e = api.project_key(uniq("proj"), expiresAt=soon)
    time.sleep(max(0.0, (datetime.strptime(soon, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
                         - datetime.now(timezone.utc)).total_seconds() + 1.0))
    for bad in ("not-a-key", "sk-team-AAAAAAAAAAAA_" + "a" * 38, k["key"], r["key"], e["key"]):
        page.get_by_label("API key").fill(bad)
        page.get_by_role("button", name="Sign in").click()
        expect(top_message(page)).to_contain_text(REFUSED)
        expect(top_message(page)).to_contain_text("unknown, disabled, expired or replaced")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    shot(page, server, "sign-in-refused")


def test_sign_out_forgets_the_key(page, server):
    sign_in(page, server.admin_key, heading="Keys")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(top_message(page)).to_contain_text("signed out")
    assert page.evaluate("sessionStorage.length") == 0
    page.goto("/#/keys")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_reload_keeps_the_session_a_new_tab_does_not(page, server, open_page):
    sign_in(page, server.admin_key, heading="Keys")
    page.reload()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    other = open_page()  # another browser context: nothing shared
    other.goto("/")
    expect(other.get_by_role("heading", name="Sign in")).to_be_visible()


def test_an_expired_session_returns_to_sign_in(page, server, api):
    project = uniq("proj")
    pa = api.project_key(project, roles=[f"project-admin:{project}"])
    sign_in(page, pa["key"], heading="API keys")
    api.patch(pa["prefix"], status="Disabled")  # an admin blocks it meanwhile
    page.get_by_role("searchbox", name="Search").fill("anything")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(top_message(page)).to_contain_text("session has ended")
    expect(top_message(page)).to_contain_text(REFUSED)
    assert page.evaluate("sessionStorage.length") == 0
