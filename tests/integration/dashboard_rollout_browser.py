# dashboard_rollout_browser.py -- the browser half of dashboard_rollout_test.sh: headless
# chromium on the dashboard's rollouts views, asserting what a person would see and checking
# each action against the hub's own API. Environment: GF_HUB, GF_ADMIN_TOKEN, GF_VIEWER_TOKEN,
# GF_REPO, GF_SHOTS.
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cdp import CdpError  # noqa: E402
from dashboard_page import (check, confirm, enter_token, hide_toast, js, main,  # noqa: E402
                            no_script_errors, ok, toast)

HUB = os.environ["GF_HUB"]
SHOTS = os.environ["GF_SHOTS"]
REPO = os.environ["GF_REPO"]
ADMIN = os.environ["GF_ADMIN_TOKEN"]


def hub(path, method="GET", body=None):
    """The hub's answer to PATH, asked outside the page (the admin token)."""
    data = None if method == "GET" else json.dumps(body).encode() if body is not None else b""
    req = urllib.request.Request(HUB + path, method=method, data=data,
                                 headers={"Authorization": f"Bearer {ADMIN}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as res:
        return json.load(res)


def hub_wait(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = hub("/api/v1/rollouts/web")
        if cond(r):
            return r
        time.sleep(0.3)
    raise CdpError(f"timed out waiting for the hub: {what} (last: {r['phase']} step {r['step']}: {r['waitingFor']})")


def verb(b, name):
    b.wait(f"document.querySelector('button[data-verb=\"{name}\"]')", what=f"the {name} button")
    b.eval(f"document.querySelector('button[data-verb=\"{name}\"]').click()")


def state_of(cluster):
    return f"document.querySelector('tr[data-cluster=\"{cluster}\"]')?.dataset.state"


def step_text(n):
    return f"document.querySelector('[data-step=\"{n}\"]')?.textContent || ''"


def still_same_page(b):
    check(b.eval("window.noReload") == "still here", "the page was reloaded")


def run(b):
    # 1. The list: the rollout of web, Progressing at step 1 of 2; the nav leads there.
    b.open(HUB + "/ui/fleet")
    b.wait("document.querySelector('.top nav a[data-view=\"rollouts\"]')", what="Rollouts in the nav")
    b.eval("document.querySelector('.top nav a[data-view=\"rollouts\"]').click()")
    b.wait("document.querySelector('tr[data-appset=\"web\"]')", what="the rollout of web in the list")
    row = b.eval("document.querySelector('tr[data-appset=\"web\"]').textContent")
    check("Progressing" in row and "1 of 2" in row, f"the list does not show web Progressing at step 1 of 2: {row!r}")
    check(b.eval("document.querySelector('.top nav a[aria-current=\"page\"]').dataset.view") == "rollouts",
          "the nav does not mark Rollouts as the current view")
    b.wait("document.querySelector('#live').textContent === 'live'", what="the live feed")
    b.wait("document.querySelector('tr[data-appset=\"web\"] .timer') && "
           "document.querySelector('tr[data-appset=\"web\"]').textContent.includes('baking')",
           60, "the canary baking in the list")
    b.screenshot(f"{SHOTS}/rollouts.png")
    ok(f"rollouts list: {' '.join(row.split())}")

    # 2. One rollout: step 1 current with the canary healthy and baking (a live countdown),
    # step 2's clusters waiting; read-only without a token.
    b.eval("window.noReload = 'still here'")
    b.eval("document.querySelector('tr[data-appset=\"web\"] a').click()")
    b.wait("location.pathname === '/ui/rollouts/web'")
    b.wait(f"{state_of('c1')} === 'Baking'", 60, "c1 baking in the rollout view")
    check(b.eval("document.querySelector('[data-step=\"1\"]').classList.contains('current')"), "step 1 is not current")
    c1 = b.eval("document.querySelector('tr[data-cluster=\"c1\"]').textContent")
    check("healthy" in c1 and "baking: 59m" in c1, f"c1 is not shown healthy and baking an hour: {c1!r}")
    for c in ("c2", "c3"):
        check(b.eval(state_of(c)) == "Waiting", f"{c} is not waiting")
        check("waiting" in b.eval(f"document.querySelector('tr[data-cluster=\"{c}\"]').textContent"),
              f"{c} does not say waiting")
    s1 = b.eval(step_text(1))
    check("Waits for" in s1 and "to finish the 1h 00m bake" in s1 and "bake: 59m" in s1, f"step 1 says no timer or wait: {s1!r}")
    check(b.eval("document.querySelectorAll('button[data-verb]').length") == 0, "actions are offered without a token")
    check("Read-only" in b.eval("document.getElementById('rollout').textContent"), "no read-only note")
    # The countdown ticks in the page, without asking the hub again (no polling).
    before = b.eval("document.querySelector('[data-step=\"1\"] .timers .timer').textContent")
    asked = len([r for r in b.requests if "/api/v1/ui/rollouts" in r[2]])
    time.sleep(3.2)
    after = b.eval("document.querySelector('[data-step=\"1\"] .timers .timer').textContent")
    check(before != after, f"the bake countdown does not tick: {before!r} then {after!r}")
    again = len([r for r in b.requests if "/api/v1/ui/rollouts" in r[2]])
    check(again == asked, f"the page polled the hub while nothing changed ({again - asked} reads in 3 s)")
    b.screenshot(f"{SHOTS}/rollout.png")
    ok(f"rollout view: step 1 current, c1 healthy baking ({before} -> {after}), c2/c3 waiting; read-only")

    # 3. Pause from the page: refused with a viewer token, done with the admin token.
    enter_token(b, os.environ["GF_VIEWER_TOKEN"])
    verb(b, "pause")
    confirm(b, "releases no more clusters")
    t = toast(b)
    check(t.startswith("Refused:"), f"a viewer's pause was not refused: {t!r}")
    hide_toast(b)
    check(hub("/api/v1/rollouts/web")["phase"] == "Progressing", "a refused pause changed the rollout")
    ok(f"pause with a viewer token: {t}")

    enter_token(b, ADMIN)
    b.wait("[...document.querySelectorAll('button[data-verb]')].map(x => x.dataset.verb).join() === "
           "'pause,promote,abort'", what="a Progressing rollout to offer pause, promote and abort")
    # From the keyboard: Enter on the focused button asks, Escape cancels, and nothing happens.
    b.eval("document.querySelector('button[data-verb=\"pause\"]').focus()")
    b.key("Enter", text="\r")
    b.wait("document.getElementById('confirm-dialog').open", what="Enter on Pause to ask for confirmation")
    check(b.eval("document.activeElement.id") == "confirm-cancel", "the confirmation does not focus Cancel")
    b.key("Escape")
    b.wait("!document.getElementById('confirm-dialog').open", what="Escape to close the confirmation")
    time.sleep(0.5)
    check(b.eval("document.getElementById('toast').hidden"), "a cancelled pause did something")
    check(hub("/api/v1/rollouts/web")["phase"] == "Progressing", "a cancelled pause paused")
    verb(b, "pause")
    text = confirm(b, "Pause the rollout of web", "at step 1 of 2", "releases no more clusters",
                   "1 cluster (c1) already released", "nothing is rolled back")
    t = toast(b)
    check(t == "Rollout of web: Paused, step 1 of 2", f"pause failed: {t!r}")
    hide_toast(b)
    check(hub("/api/v1/rollouts/web")["phase"] == "Paused", "the hub does not say Paused")
    b.wait("document.getElementById('rollout-phase').textContent.includes('Paused')", what="Paused in the view")
    b.wait("document.querySelector('button[data-verb=\"resume\"]')", what="the resume button")
    check("an operator to resume it" in b.eval(step_text(1)), "step 1 does not say it waits for a resume")
    b.screenshot(f"{SHOTS}/rollout-paused.png")
    ok(f"pause with the admin token: the hub says Paused; the confirmation said: {text}")

    verb(b, "resume")
    confirm(b, "Resume the rollout of web at step 1 of 2", "counts on from")
    t = toast(b)
    check(t == "Rollout of web: Progressing, step 1 of 2", f"resume failed: {t!r}")
    hide_toast(b)
    check(hub("/api/v1/rollouts/web")["phase"] == "Progressing", "the hub does not say Progressing")
    b.wait("document.getElementById('rollout-phase').textContent.includes('Progressing')", what="Progressing again")
    ok("resume with the admin token: the hub says Progressing")

    # 4. The step advances without a reload: promoted outside the page, the view follows the
    # hub's rollout events to step 2 and on to Completed.
    b.eval("window.noReload = 'still here'")
    hub("/api/v1/rollouts/web/promote", "POST")
    b.wait("document.getElementById('rollout-step').textContent === '2 of 2'", 30, "step 2 in the view")
    b.wait("document.querySelector('[data-step=\"2\"]').classList.contains('current') || "
           "document.getElementById('rollout-phase').textContent.includes('Completed')", 10, "step 2 current")
    still_same_page(b)
    ok("the view moved to step 2 of 2 without reload when the hub advanced the rollout")
    b.wait("document.getElementById('rollout-phase').textContent.includes('Completed')", 90, "Completed in the view")
    for c in ("c1", "c2", "c3"):
        check(b.eval(state_of(c)) == "Done", f"{c} is not Done")
    check(b.eval("document.querySelectorAll('button[data-verb]').length") == 0, "a Completed rollout offers actions")
    still_same_page(b)
    hub_wait(lambda r: r["phase"] == "Completed", 5, "Completed")
    ok("the view showed the rollout Completed, every cluster done, without reload")

    # 5. A new commit starts a second rollout, shown without reload; promote and abort from the page.
    with open(os.path.join(REPO, "argocd/web.yaml")) as f:
        text = f.read()
    with open(os.path.join(REPO, "argocd/web.yaml"), "w") as f:
        f.write(text.replace('rollout-bake-time: "1h,0s"', 'rollout-bake-time: "1h"'))
    with open(os.path.join(REPO, "apps/web/deploy.yaml")) as f:
        text = f.read()
    with open(os.path.join(REPO, "apps/web/deploy.yaml"), "w") as f:
        f.write(text.replace("example/web:1.0", "example/web:2.0"))
    subprocess.run(["git", "-C", REPO, "commit", "-qam", "web 2.0, every step baked an hour"], check=True)
    new = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], check=True, capture_output=True,
                         text=True).stdout.strip()
    hub("/api/v1/sync", "POST", {})
    b.wait(f"document.getElementById('rollout').textContent.includes({js(new[:7])})", 30, "the new rollout in the view")
    b.wait(f"{state_of('c1')} === 'Baking'", 60, "c1 baking 2.0")
    still_same_page(b)
    ok(f"a new rollout (commit {new[:7]}) shown without reload")

    verb(b, "promote")
    confirm(b, "Promote step 1 of 2 of web", "skip the rest of the 1h 00m bake", "then step 2 (2 clusters (c2, c3)) starts")
    t = toast(b)
    check(t.startswith("Rollout of web: Progressing"), f"promote failed: {t!r}")
    hide_toast(b)
    r = hub_wait(lambda r: r["step"] == 2, 30, "step 2 after promote")
    b.wait("document.getElementById('rollout-step').textContent === '2 of 2'", 30, "step 2 after promote")
    # maxUpdate 1: one of c2, c3 is released, the other waits for the slot.
    b.wait(f"['Updating', 'Baking'].includes({state_of('c2')}) && {state_of('c3')} === 'Pending'", 30,
           "c2 released, c3 waiting for a slot")
    check("a free slot for 1 cluster (c3)" in b.eval(step_text(2)), f"step 2 does not say c3 waits for a slot: {b.eval(step_text(2))!r}")
    ok("promote with the admin token: step 1's bake ended, step 2 released c2, c3 waits for a slot")

    verb(b, "abort")
    text = confirm(b, "Abort the rollout of web", "2 clusters (c1, c2) already released to it are held back",
                   "the 1 other cluster keeps its old state", "cannot be resumed")
    t = toast(b)
    check(t.startswith("Rollout of web: Aborted"), f"abort failed: {t!r}")
    hide_toast(b)
    r = hub("/api/v1/rollouts/web")
    check(r["phase"] == "Aborted", f"the hub says {r['phase']}, not Aborted")
    states = {t["cluster"]: t["state"] for t in r["targets"]}
    check(states["c1"] == "RolledBack" and states["c2"] == "RolledBack", f"the hub did not hold c1, c2 back: {states}")
    b.wait("document.getElementById('rollout-phase').textContent.includes('Aborted')", what="Aborted in the view")
    b.wait(f"{state_of('c1')} === 'RolledBack' && {state_of('c2')} === 'RolledBack'", what="c1, c2 rolled back in the view")
    check("rolled back" in b.eval("document.querySelector('tr[data-cluster=\"c1\"]').textContent"), "c1 does not say rolled back")
    b.screenshot(f"{SHOTS}/rollout-aborted.png")
    ok(f"abort with the admin token: the hub says Aborted, c1 and c2 held back; the confirmation said: {text}")

    # 6. The app view links its rollout; the list shows both rollouts; a narrow window.
    b.open(HUB + "/ui/app/web-c1")
    b.wait("document.querySelector('#app-appset a[href=\"/ui/rollouts/web\"]')", what="the app view's rollout link")
    ok("app view: web-c1 links the rollout of web")
    b.open(HUB + "/ui/rollouts")
    b.wait("document.querySelectorAll('tr[data-appset=\"web\"]').length === 2", what="two rollouts of web")
    phases = b.eval("[...document.querySelectorAll('tr[data-appset=\"web\"]')].map(r => r.children[1].textContent.trim())")
    check(phases == ["■ Aborted", "✓ Completed"], f"the list is not newest first: {phases}")
    check(b.eval("document.querySelectorAll('tr[data-appset=\"web\"] a').length") == 1,
          "the earlier rollout links the newest one's view")
    ok(f"list: {phases}")
    b.size(390, 844)
    for path, shot in (("/ui/rollouts/web", "rollout-narrow.png"), ("/ui/rollouts", "rollouts-narrow.png")):
        b.open(HUB + path)
        b.wait("document.querySelector('#main table')", what=f"{path} at 390 px")
        wide = b.eval("document.documentElement.scrollWidth")
        over = b.eval("""[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 390)
                         .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)""")
        check(wide <= 390, f"{path} overflows a narrow window ({wide}px): {over}")
        b.screenshot(f"{SHOTS}/{shot}")
    ok("narrow window (390 px): no horizontal overflow")
    no_script_errors(b)


sys.exit(main(run, f"{SHOTS}/rollout-failure.png"))
