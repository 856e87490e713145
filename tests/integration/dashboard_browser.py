# dashboard_browser.py -- the browser half of dashboard_test.sh: headless chromium on the hub's
# dashboard, asserting what a person would see. Environment: GF_HUB, GF_ADMIN_TOKEN,
# GF_VIEWER_TOKEN, GF_REPO, GF_SHOTS, GF_CLI.
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from dashboard_page import (check, confirm, enter_token, hide_toast, js, main,  # noqa: E402
                            no_script_errors, ok, toast)

HUB = os.environ["GF_HUB"]
SHOTS = os.environ["GF_SHOTS"]
REPO = os.environ["GF_REPO"]


def run(b):
    # 1. The fleet view: every cluster with its health, as text too.
    b.open(HUB + "/")
    b.wait("document.querySelectorAll('#grid a.cell').length === 3", what="4 clusters in the grid")
    labels = b.eval("[...document.querySelectorAll('#grid a.cell')].map(a => a.getAttribute('aria-label'))")
    want = {"staging-1": "Degraded", "prod-eu-1": "Unknown", "dev-1": "Healthy"}
    for name, health in want.items():
        check(any(l.startswith(f"{name}: {health}") for l in labels), f"{name} is not {health}: {labels}")
    check(labels[0].startswith("staging-1: Degraded"), f"problems are not first: {labels}")
    b.wait("document.querySelector('#live').textContent === 'live'", what="the live feed")
    b.screenshot(f"{SHOTS}/fleet.png")
    ok("fleet view: 3 clusters, staging-1 Degraded first, prod-eu-1 (never joined) Unknown, dev-1 Healthy")

    # Filters: by health (a count button), by label selector, in the URL.
    b.eval("document.querySelector('button.count[data-value=\"Healthy\"]').click()")
    b.wait("document.querySelectorAll('#grid a.cell').length === 1")
    check("health=Healthy" in b.eval("location.search"), "the filter is not in the URL")
    b.eval("document.getElementById('clear').click()")
    b.eval("""(i => { i.value = 'env in (production,development)'; i.dispatchEvent(new Event('input', {bubbles: true})); })
              (document.querySelector('input[name=selector]'))""")
    b.wait("[...document.querySelectorAll('#grid a.cell')].map(a => a.textContent.trim()).join() === '? prod-eu-1,✓ dev-1'",
           what="the selector to keep prod-eu-1 and dev-1")
    ok("filters: health count button, label selector 'env in (production,development)', kept in the URL")
    # The filtered URL is a link: opened afresh it shows the same.
    b.open(HUB + "/ui/fleet?selector=region%3Deu")
    b.wait("document.querySelectorAll('#grid a.cell').length === 1 && document.querySelector('#grid a.cell').textContent.includes('prod-eu-1')")
    ok("a pasted link /ui/fleet?selector=region=eu shows prod-eu-1 alone")

    # 2. Keyboard: into the grid, arrows move, Enter opens the cluster.
    b.open(HUB + "/ui/fleet")
    b.wait("document.querySelectorAll('#grid a.cell').length === 3")
    b.eval("document.querySelector('#grid a.cell[tabindex=\"0\"]').focus()")
    b.key("ArrowRight")
    focused = b.eval("document.activeElement.getAttribute('aria-label')")
    check(focused.startswith("prod-eu-1"), f"ArrowRight did not move to the second cluster: {focused}")
    b.key("Enter", text="\r")
    b.wait("location.pathname === '/ui/cluster/prod-eu-1'", what="Enter to open prod-eu-1")
    ok("keyboard: ArrowRight moves in the grid, Enter opens the cluster")

    # 3. The cluster view: the canary app Degraded, its Deployment too; read-only without a token.
    b.open(HUB + "/ui/cluster/staging-1")
    b.wait("document.querySelector('[data-app=\"canary\"] .app-health')?.textContent.includes('Degraded')",
           what="canary Degraded in the cluster view")
    b.wait("[...document.querySelectorAll('[data-app=\"canary\"] tr')].some(r => r.textContent.includes('Deployment') && r.textContent.includes('Degraded'))",
           what="the canary Deployment Degraded")
    check(b.eval("document.querySelectorAll('button[data-act]').length") == 0,
          "actions are offered without a token")
    b.screenshot(f"{SHOTS}/cluster.png")
    ok("cluster view: canary Degraded (app and Deployment), no actions without a token")

    # 4. Actions: refused with a viewer token, done with the admin token.
    enter_token(b, os.environ["GF_VIEWER_TOKEN"])
    b.wait("document.querySelector('[data-app=\"canary\"] button[data-act=\"prune\"]')")
    b.eval("document.querySelector('[data-app=\"canary\"] button[data-act=\"prune\"]').click()")
    confirm(b, "deletes the objects of canary")
    t = toast(b)
    check(t.startswith("Refused:") and "admin" in t, f"a viewer's action was not refused: {t!r}")
    hide_toast(b)
    ok(f"allow prunes with a viewer token: {t}")
    b.eval("document.querySelector('[data-app=\"canary\"] button[data-act=\"sync\"]').click()")
    confirm(b, "sync canary")
    t = toast(b)
    check(t.startswith("Refused:"), f"a viewer's sync was not refused: {t!r}")
    hide_toast(b)
    ok(f"sync app with a viewer token: {t}")

    enter_token(b, os.environ["GF_ADMIN_TOKEN"])
    b.wait("document.querySelector('[data-app=\"canary\"] button[data-act=\"prune\"]')")
    b.eval("document.querySelector('[data-app=\"canary\"] button[data-act=\"prune\"]').click()")
    # Cancel does nothing.
    b.wait("document.getElementById('confirm-dialog').open")
    b.eval("document.getElementById('confirm-cancel').click()")
    time.sleep(0.5)
    check(b.eval("document.getElementById('toast').hidden"), "a cancelled action did something")
    b.eval("document.querySelector('[data-app=\"canary\"] button[data-act=\"prune\"]').click()")
    confirm(b, "for 15 minutes")
    t = toast(b)
    check(t.startswith("Prunes of canary allowed on staging-1"), f"allow prunes failed: {t!r}")
    hide_toast(b)
    ok(f"allow prunes with the admin token: {t}")

    b.eval("document.querySelector('[data-app=\"canary\"] button[data-act=\"sync\"]').click()")
    confirm(b, "sync canary")
    t = toast(b)
    check(t.startswith("Sync of canary requested"), f"sync failed: {t!r}")
    hide_toast(b)
    ok(f"sync app with the admin token: {t}")

    # 5. A commit appears without a reload: fleet view's commit, then the cluster view's app revision.
    b.open(HUB + "/ui/fleet")
    b.wait("document.querySelector('#revision').dataset.revision")
    old = b.eval("document.querySelector('#revision').dataset.revision")
    b.eval("window.noReload = 'still here'")
    path = os.path.join(REPO, "apps/canary/deploy.yaml")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("replicas: 1", "replicas: 2"))
    subprocess.run(["git", "-C", REPO, "commit", "-qam", "canary: two replicas"], check=True)
    new = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], check=True,
                         capture_output=True, text=True).stdout.strip()
    check(new != old, "the commit did not change HEAD")
    b.eval("document.querySelector('#refresh').click()")
    confirm(b, "fetches the fleet repository")
    b.wait(f"document.querySelector('#revision').dataset.revision === {js(new)}", 30, "the new commit in the fleet view")
    check(b.eval("window.noReload") == "still here", "the page was reloaded")
    hide_toast(b)
    ok(f"commit {new[:7]} shown in the fleet view without reload (Refresh from Git with the admin token)")
    b.eval("document.querySelector('a.cell[aria-label^=\"staging-1\"]').click()")
    b.wait(f"document.querySelector('[data-app=\"canary\"] code')?.textContent === {js(new[:7])}", 40,
           "the canary app at the new commit in the cluster view")
    check(b.eval("window.noReload") == "still here", "the page was reloaded")
    ok("cluster view: canary moved to the new commit without reload (live events)")

    # 6. App across the fleet, history, a narrow window.
    b.open(HUB + "/ui/app/canary")
    b.wait("document.querySelector('#app table')?.textContent.includes('staging-1')")
    b.screenshot(f"{SHOTS}/app.png")
    ok("app view: canary across the fleet")
    b.open(HUB + "/ui/history")
    b.wait("document.querySelectorAll('#history tbody tr').length > 0")
    b.screenshot(f"{SHOTS}/history.png")
    ok("history view: sync results newest first")
    b.size(390, 844)
    b.open(HUB + "/ui/fleet")
    b.wait("document.querySelectorAll('#grid a.cell').length === 3")
    wide = b.eval("document.documentElement.scrollWidth")
    over = b.eval("""[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 390)
                     .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)""")
    check(wide <= 390, f"the fleet view overflows a narrow window ({wide}px): {over}")
    b.screenshot(f"{SHOTS}/fleet-narrow.png")
    b.open(HUB + "/ui/cluster/staging-1")
    b.wait("document.querySelector('[data-app=\"canary\"]')")
    b.screenshot(f"{SHOTS}/cluster-narrow.png")
    ok("narrow window (390 px): no horizontal overflow")
    no_script_errors(b)


sys.exit(main(run, f"{SHOTS}/failure.png"))
