"""Refused calls, a store that is down (503), a failing service: a clear message, nothing
half-done."""

import json

from playwright.sync_api import expect

from conftest import row, shot, sign_in, top_message, uniq

PROBLEM = "application/problem+json"


def problem(status, title, detail, **more):
    return json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail,
                       "requestId": "req-test", **more})


def test_a_store_that_is_down_says_so_and_keeps_the_edit(page, server, api):
    k = api.project_key(uniq("down"), name="steady")
    sign_in(page, server.admin_key, heading="Keys")
    page.goto(f"/#/keys/{k['prefix']}")
    page.get_by_label("Name", exact=True).fill("unsaved name")
    page.route(f"**/keys/{k['prefix']}", lambda route: route.fulfill(
        status=503, headers={"Content-Type": PROBLEM, "Retry-After": "7"},
        body=problem(503, "Service Unavailable", "The key store is unavailable.")) if route.request.method == "PATCH" else route.fallback())
    page.get_by_role("button", name="Save").click()
    expect(top_message(page)).to_contain_text("unavailable right now, so nothing was changed")
    expect(top_message(page)).to_contain_text("7 seconds")
    expect(page.get_by_label("Name", exact=True)).to_have_value("unsaved name")
    shot(page, server, "store-down")
    assert api.get(k["prefix"])["name"] == "steady"
    page.unroute(f"**/keys/{k['prefix']}")
    page.get_by_role("button", name="Save").click()
    expect(top_message(page)).to_contain_text("The API key has been updated.")
    assert api.get(k["prefix"])["name"] == "unsaved name"


def test_a_failing_list_and_an_unreachable_service(page, server, api):
    sign_in(page, server.admin_key, heading="Keys")
    page.route("**/keys?*", lambda route: route.fulfill(
        status=500, headers={"Content-Type": PROBLEM}, body=problem(500, "Internal Server Error", "boom")))
    page.get_by_role("searchbox", name="Search").fill("x")
    expect(top_message(page)).to_contain_text("failed to answer (HTTP 500)")
    page.unroute("**/keys?*")
    page.route("**/keys?*", lambda route: route.abort("connectionrefused"))
    page.get_by_role("searchbox", name="Search").fill("y")
    expect(top_message(page)).to_contain_text("could not be reached")
    page.unroute("**/keys?*")


def test_a_refused_action_says_not_allowed(page, server, api):
    project = uniq("deny")
    k = api.project_key(project, name="guarded", roles=["secret-role"])
    pa = api.team_key(roles=[f"project-admin:{project}"])
    sign_in(page, pa["key"], heading="API keys")
    # The console hides Replace (the key holds a role the project admin does not); the API agrees.
    row(page, "guarded").get_by_role("link", name="Detail").click()
    expect(page.get_by_role("button", name="Replace Key")).to_have_count(0)
    status, body, _ = api.call("POST", f"/keys/{k['prefix']}/replace", {}, key=pa["key"])
    assert status == 403
    # A 403 problem from the API itself is a refusal of the action, not of the session.
    page.route(f"**/keys/{k['prefix']}", lambda route: route.fulfill(
        status=403, headers={"Content-Type": PROBLEM},
        body=problem(403, "Forbidden", "This key may not update key x.")) if route.request.method == "PATCH" else route.fallback())
    page.get_by_label("Name", exact=True).fill("renamed")
    page.get_by_role("button", name="Save").click()
    expect(top_message(page)).to_contain_text("Not allowed: This key may not update key x.")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert api.get(k["prefix"])["name"] == "guarded"
