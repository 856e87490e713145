# dashboard_bench.py -- the browser half of bench/dashboard.sh: time to the first frame of the
# fleet view and to redraw after each kind of filter, medians of 5 runs.
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration", "lib"))
from cdp import Browser  # noqa: E402

HUB, N = os.environ["GF_HUB"], int(os.environ["GF_N"])

# A change, then the next frame: what a person waits for after a keystroke or a click.
MEASURE = """(async () => {
  const t0 = performance.now();
  %s;
  await new Promise(r => requestAnimationFrame(() => setTimeout(r)));
  return performance.now() - t0;
})()"""


def set_input(name, value):
    return (f"(i => {{ i.value = {value!r}; i.dispatchEvent(new Event('input', {{bubbles: true}})); }})"
            f"(document.querySelector('[name={name}]'))")


def main():
    b = Browser()
    try:
        loads = []
        for _ in range(5):
            b.open("about:blank")
            b.open(HUB + "/ui/fleet")
            b.wait(f"window.gitfleetTimings?.firstPaintMs && window.gitfleetTimings.shown === {N}",
                   60, "the fleet drawn")
            loads.append(b.eval("window.gitfleetTimings"))
        med = lambda k: statistics.median(x[k] for x in loads)  # noqa: E731
        print(f"first paint of the fleet view ({N} clusters): median {med('firstPaintMs'):.0f} ms "
              f"(fetch {med('fetchMs'):.0f} ms, draw {med('drawMs'):.0f} ms; runs: "
              + ", ".join(f"{x['firstPaintMs']:.0f}" for x in loads) + ")")
        cases = [
            ("name filter 'c12' (one keystroke)", set_input("name", "c12"), set_input("name", "")),
            ("health filter Degraded (count click)",
             "document.querySelector('button.count[data-value=\"Degraded\"]').click()",
             "document.querySelector('button.count[data-value=\"Degraded\"]').click()"),
            ("label selector 'env=prod,shard in (s1,s2)'", set_input("selector", "env=prod,shard in (s1,s2)"),
             set_input("selector", "")),
            ("clear every filter (all cells again)", set_input("name", "c1"), set_input("name", "")),
        ]
        for label, do, undo in cases:
            times = []
            for _ in range(5):
                if label.startswith("clear"):
                    b.eval(MEASURE % do)
                    times.append(b.eval(MEASURE % undo))
                else:
                    times.append(b.eval(MEASURE % do))
                    b.eval(MEASURE % undo)
            shown = b.eval("window.gitfleetTimings.shown")
            print(f"{label}: median {statistics.median(times):.0f} ms (max {max(times):.0f} ms)")
        b.eval("document.querySelector('#heatwrap:not([hidden]) #heat, #grid a.cell').focus()")
        times = []
        for _ in range(20):
            times.append(b.eval(MEASURE % "document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight', bubbles: true}))"))
        print(f"arrow key in the grid: median {statistics.median(times):.1f} ms (max {max(times):.1f} ms)")
        mem = b.eval("performance.memory ? Math.round(performance.memory.usedJSHeapSize / 1048576) : -1")
        print(f"JS heap after the runs: {mem} MiB; clusters shown at the end: {shown}")
        b.eval("document.activeElement.blur(); scrollTo(0, 0)")
        b.screenshot(os.environ.get("GF_SHOT", "/tmp/dashboard-10k.png"), full=False)
    finally:
        b.close()


main()
