"""`benchbed report RUN… --html` from real tiny sweeps, opened in headless Chromium from disk.

The browser test needs Debian's chromium and the playwright package (the test extra). It is skipped
where they are missing, except when BENCHBED_REQUIRE_BROWSER=1 (.ci/run sets it and installs
chromium), so CI cannot go green without it.
"""

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import TINY_ARGS, run_cli

FAST = ["--quick", "--duration", "0.2", "--iterations", "5", "--max-batch", "2"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """A preset sweep (φ 0, 1) and a compound + resolution-only pair at φ 1, in one store.

    Width and depth are overridden to keep the networks tiny; resolution is left to the scaling so the
    networks differ in FLOPS (a fit needs two sizes, the mode comparison needs two resolutions).
    """
    root = tmp_path_factory.mktemp("report")
    paths = ["--db", str(root / "r" / "bb.sqlite"), "--models", str(root / "models"), "--reports", str(root / "r")]
    ids = []
    for args in (["--phi", "0,1"], ["--phi", "1", "--mode", "compound"], ["--phi", "1", "--mode", "resolution"]):
        result = run_cli("sweep", *args, *TINY_ARGS[:4], *FAST, *paths, "--format", "json")
        assert result.returncode == 0, result.stderr
        ids.append(json.loads(result.stdout)["run_id"])
    docs = [d for i in ids for d in json.loads((root / "r" / i / "results.json").read_text())["results"]]
    networks = sorted({d["cell"]["network"] for d in docs})
    accuracy = root / "acc.csv"  # measured rows for the tiny nets, so the Pareto plots have points
    accuracy.write_text("network,precision,weights,top1,top5\n" + "".join(
        f"\"{n}\",fp32,test,{50 + i * 5},{80 + i}\n" for i, n in enumerate(networks)))  # names hold commas
    prices = root / "prices.yaml"
    prices.write_text('hardware:\n  any-cpu: {hourly: 0.5, power_w: 50, match: ["cores"]}\n')
    return root, paths[:2] + paths[4:], ids, accuracy, prices  # report takes --db and --reports


def _report(two_runs, *extra):
    root, paths, ids, accuracy, prices = two_runs
    out = root / "html"
    result = run_cli("report", *ids, *paths, "--html", "--out", str(out), "--accuracy", str(accuracy),
                     "--prices", str(prices), *extra)
    assert result.returncode == 0, result.stderr
    return out, result


def test_html_report_is_self_contained_with_every_section(two_runs):
    out, result = _report(two_runs)
    html = (out / "report.html").read_text()
    assert "report.html" in result.stderr and (out / "report.md").exists()
    for stem in ("pareto_p50", "pareto_throughput", "pareto_memory", "pareto_cost", "scaling_loglog",
                 "latency_per_phi", "memory_per_phi", "throughput_by_batch", "published_accuracy_vs_flops"):
        assert (out / "plots" / f"{stem}.png").stat().st_size > 1000 and (out / "plots" / f"{stem}.svg").exists()
        assert f"{stem}.png" in html
    assert not re.search(r'(src|href)="(https?:|//|file:)', html)  # nothing fetched from anywhere
    assert html.count('src="data:image/png;base64,') >= 9
    for section in ("Pareto front: top-1 vs p50 latency", "fitted latency ∝ MACs^k", "each step of φ",
                    "one dimension vs compound", "Best VALID cell per network", "Environment", "cores (physical"):
        assert section in html
    # the per-φ tables use the --accuracy rows too (measured, so no `*`)
    results_part = html[html.index('id="results"'):html.index('id="pareto"')]
    assert "measured (acc.csv)" in results_part
    md = result.stdout
    assert "## Analyses (all runs above)" in md and "| resolution |" in md


def test_report_rejects_bad_input(two_runs, tmp_path):
    root, paths, ids, accuracy, prices = two_runs
    missing = run_cli("report", "20990101-000000-abcdef", *paths)
    assert missing.returncode == 2 and "unknown run '20990101-000000-abcdef'" in missing.stderr
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("network,precision,weights,top1,top5\nx,fp32,w,101,102\n")
    bad = run_cli("report", ids[0], *paths, "--accuracy", str(bad_csv))
    assert bad.returncode == 2 and "line 2: top1 101 is not a percentage" in bad.stderr
    source = run_cli("report", ids[0], *paths, "--accuracy-source", "imagenet")
    assert source.returncode == 2 and "unknown --accuracy-source" in source.stderr


def _browser_available() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None if Path(CHROMIUM).exists() else f"no chromium at {CHROMIUM} (apt-get install chromium)"


def test_html_report_renders_in_headless_chromium(two_runs, tmp_path):
    missing = _browser_available()
    if missing:
        if os.environ.get("BENCHBED_REQUIRE_BROWSER") == "1":
            pytest.fail(f"BENCHBED_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    out, _ = _report(two_runs)
    errors: list[str] = []
    with sync_playwright() as p:
        # the browser is the test's tool, not benchbed: its crash reports and dconf cache go to a home of its own,
        # so the suite's empty-home guard still sees anything benchbed writes
        browser_home = tmp_path / "browser-home"
        browser_home.mkdir()
        browser = p.chromium.launch(executable_path=CHROMIUM, env={**os.environ, "HOME": str(browser_home)}, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.goto((out / "report.html").as_uri())
            images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
            assert len(images) >= 9 and all(done and width > 100 for done, width in images), images
            assert page.locator("table.sortable").count() >= 8
            # sorting: click the p50 header of the first table twice -> ascending, then descending
            table = page.locator("table.sortable").first
            header = table.locator("th", has_text="p50 ms")
            column = [h.strip() for h in table.locator("th").all_inner_texts()].index("p50 ms [95% CI]")
            def values() -> list[float]:  # "7.93 [7.81, 8.10]" sorts by its point
                return [float(r.split("\t")[column].split()[0]) for r in table.locator("tbody tr").all_inner_texts()]

            header.click()
            assert values() == sorted(values())
            header.click()
            assert values() == sorted(values(), reverse=True)
            page.screenshot(path=str(out / "screenshot.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert (out / "screenshot.png").stat().st_size > 10_000


@pytest.mark.parametrize("hostile_id", ["../../escaped", "/tmp/benchbed-escaped-abs", "a/b", 7, None])
def test_a_results_file_cannot_steer_where_report_writes(two_runs, tmp_path, hostile_id):
    """A results.json copied from elsewhere is untrusted: its run id names the report folder, so an id
    that is not benchbed's shape is refused (exit 2, one line) and nothing is written outside --reports."""
    root, paths, ids, accuracy, prices = two_runs
    data = json.loads((root / "r" / ids[0] / "results.json").read_text())
    data["run"]["run_id"] = hostile_id
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    copied = work / "results.json"
    copied.write_text(json.dumps(data))
    before = {p for p in tmp_path.rglob("*")}
    result = run_cli("report", str(copied), "--reports", str(work / "reports"), cwd=work)
    assert result.returncode == 2, result.stderr
    assert "run id" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert {p for p in tmp_path.rglob("*")} == before
    assert not Path("/tmp/benchbed-escaped-abs").exists()


def test_path_inside_refuses_escapes(tmp_path):
    from benchbed.core.files import path_inside
    from benchbed.core.errors import BenchbedError

    assert path_inside(tmp_path, "20260101-000000-abcdef", "report.md") == tmp_path / "20260101-000000-abcdef" / "report.md"
    for parts in (("..", "x"), ("/etc",), ("a", "..", "..", "x")):
        with pytest.raises(BenchbedError, match="outside"):
            path_inside(tmp_path, *parts)
