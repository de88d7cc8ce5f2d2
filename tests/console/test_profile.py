"""Profile & API Keys: the user's own team key, and replacing it (this tab goes on with it)."""

from playwright.sync_api import expect

from conftest import confirm_replace, shot, sign_in, top_message, uniq


def test_a_user_replaces_their_own_team_key(page, server, api):
    user = uniq("ada")
    mine = api.team_key(user=user, name="ada's key")
    sign_in(page, mine["key"], heading="Keys")
    page.get_by_role("link", name="Profile & API Keys").click()
    expect(page.get_by_role("heading", name="Profile & API Keys")).to_be_visible()
    expect(page.locator("#profile-key")).to_contain_text(mine["prefix"])
    button = page.get_by_role("button", name="Replace Key")
    expect(button).to_have_class("danger")
    shot(page, server, "profile")
    button.click()
    token = confirm_replace(page, server)
    expect(top_message(page)).to_contain_text("You are now signed in with the new key")
    assert not api.works(mine["key"]) and api.works(token)
    # the session goes on with the new key
    page.get_by_role("link", name="Keys", exact=True).click()
    expect(page.locator("#keys-rows tr")).to_have_count(1)
    assert token in page.evaluate("JSON.stringify(Object.assign({}, sessionStorage))")


def test_a_user_deletes_their_own_key_and_is_signed_out(page, server, api):
    mine = api.team_key(name="leaving soon")
    sign_in(page, mine["key"], heading="Keys")
    page.goto(f"/#/keys/{mine['prefix']}")
    expect(page.get_by_role("button", name="Save")).to_have_count(0)  # never updates itself
    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("dialog", name="Delete API Key").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(top_message(page)).to_contain_text("was deleted")
    assert api.status_of(mine["prefix"]) == 404
