"""dashboard_page.py -- what the dashboard's browser tests share: progress lines, checks, the
token and confirmation dialogs, result messages, and a main() that saves a screenshot on failure.
"""
import json
import sys
import time

from cdp import Browser, CdpError

T0 = time.time()


def ok(what):
    print(f"ok   {what} [{time.time() - T0:.1f}s]", flush=True)


def check(cond, what):
    if not cond:
        raise CdpError(what)


def js(s):
    return json.dumps(s)


def hide_toast(b):
    b.eval("document.getElementById('toast').hidden = true")


def toast(b, timeout=30):
    return b.wait("(t => !t.hidden && t.textContent)(document.getElementById('toast'))", timeout,
                  "a result message")


def enter_token(b, value):
    b.eval("document.getElementById('token-button').click()")
    b.wait("document.getElementById('token-dialog').open")
    b.eval("document.getElementById('token-input').focus()")
    b.type(value)
    b.eval("document.getElementById('token-save').click()")
    b.wait("!document.getElementById('token-dialog').open")
    b.wait("document.getElementById('toast').textContent === 'Token kept for this tab'")
    hide_toast(b)


def confirm(b, *expect):
    """Wait for the confirmation, check it says each of EXPECT, accept it; its text."""
    b.wait("document.getElementById('confirm-dialog').open", what="the confirmation")
    text = b.eval("document.getElementById('confirm-text').textContent")
    for e in expect:
        check(e in text, f"the confirmation does not say {e!r}: {text!r}")
    b.eval("document.getElementById('confirm-ok').click()")
    return text


def no_script_errors(b):
    errors = [c for c in b.console if c.startswith("EXCEPTION")]
    check(not errors, f"script errors: {errors}")


def main(run, failure_png):
    """Run RUN(browser); on a failed check, save FAILURE_PNG and exit 1."""
    b = Browser()
    try:
        run(b)
    except CdpError as e:
        try:
            b.screenshot(failure_png)
        except Exception:
            pass
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        b.close()
    return 0
