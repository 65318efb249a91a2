#!/usr/bin/env python3
"""Open every page of a built Jupyter Book in headless Chromium, as a reader would, and name
every fault a reader would meet.

Used by tests/test_site.py (inside `make test`); also a command, for a person:

    .venv/bin/python tests/site_check.py _build/html --repo . --shots /tmp/shots

Per page it fails on:
- a JavaScript error (console errors that every Jupyter Book 1 site shows are listed, each with
  why it is harmless, in HARMLESS_CONSOLE_ERRORS: the one place for them);
- a request that leaves the machine (a CDN: the site must read offline; the browser is kept off
  the network, so such a request also breaks the page here), and a file of the site that does
  not load (404: a script, a stylesheet, a font, an image);
- a broken internal link or anchor, an image that does not load;
- a traceback or error output, stderr a reader sees, a Sphinx error message left on the page;
- an "Open in Colab" link that does not point at a notebook of the repository (the owner,
  name and branch configured in _config.yml, and a file that exists in the checkout);
- math that MathJax reports as an error, shows an undefined macro for (red text), or leaves
  untypeset (MathJax did not load, or did not reach it);
- an image of the page's content without alt text (or with its file name as alt text, which
  is what docutils writes when there is none);
- what a chapter promises: each animation is there with more than one distinct frame; each
  audio player has a source that loads; each widget snapshot renders, and has its static
  fallback (a figure with alt text) earlier on the same page.

It also reports what it saw on each page: figures, animations (and their frames), audio
players, widgets rendered, math expressions typeset.

Needs the selenium package and Chromium (or Chrome) with its driver: on Debian,
`apt-get install -y chromium chromium-driver`; GitHub's hosted runners have Chrome. Nothing is
downloaded at run time.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import os
import pathlib
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

INSTALL_HINT = "apt-get update && apt-get install -y chromium chromium-driver (Debian, as root)"

# Console errors that every Jupyter Book 1 site shows, whatever the book does. Each is matched
# by a substring of the console message, with why it does not matter to a reader. Nothing else
# may be added here without such a reason.
HARMLESS_CONSOLE_ERRORS = {
    "/favicon.ico":
        "the browser asks every site for /favicon.ico; Jupyter Book 1 sets none, so the test "
        "server answers 404 (GitHub Pages does the same): no reader sees it.",
    "Identifier 'THEBE_JS_URL' has already been declared":
        "Jupyter Book 1 sets sphinx-thebe up twice, so every page has the same inline script "
        "(const THEBE_JS_URL = ...; const thebe_selector = ...) twice; the second copy stops at "
        "its first line, and the first copy has already defined the same values.",
    "Got invalid theme mode: . Resetting to auto.":
        "pydata-sphinx-theme says so on a reader's first visit (no light/dark choice stored "
        "yet; the test starts from a fresh browser profile) and uses its default, auto.",
}


def harmless(message: str) -> bool:
    return any(known in message for known in HARMLESS_CONSOLE_ERRORS)


# Run in the page (asynchronously): wait for what renders late, then collect what a reader sees.
PAGE_JS = r"""
const done = arguments[arguments.length - 1];
// The content: the article, without the theme's header, sidebars and launch buttons.
const content = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
const sleep = (ms) => new Promise(r => setTimeout(r, ms));
const until = async (test, ms) => { const t0 = Date.now(); while (!test() && Date.now() - t0 < ms) await sleep(100); return test(); };
(async () => {
  // MathJax typesets after the page has loaded: wait for it, when the page loads it.
  const mathjaxTag = !!document.querySelector('script[src*="mathjax"], script[src*="MathJax"]');
  let mathjax = false;
  if (mathjaxTag) {
    await until(() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise, 15000);
    if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
      try { await window.MathJax.startup.promise; mathjax = true; } catch (e) { mathjax = false; }
    }
  }
  // Widgets render asynchronously: each view script gets a .widget-subarea just before it.
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  const rendered = (s) => { const p = s.previousElementSibling; return !!(p && p.classList.contains('widget-subarea') && p.querySelector('.jupyter-widgets') && p.getBoundingClientRect().height > 0); };
  if (views.length) await until(() => views.every(rendered), 20000);
  // Audio: wait until each player knows its duration, or gave up.
  const audios = [...document.querySelectorAll('audio')];
  audios.forEach(a => { if (a.preload === 'none') a.preload = 'metadata'; try { a.load(); } catch (e) {} });
  if (audios.length) await until(() => audios.every(a => a.readyState >= 1 || a.error || a.networkState === 3), 10000);
  await document.fonts.ready;
  await sleep(300);  // let late requests (fonts, lazy modules) show in the network log

  const firstLine = (e) => ((e.querySelector('pre') || e).textContent.trim().split('\n')[0] || '').slice(0, 100);
  const before = (a, b) => !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
  const imgs = [...content.querySelectorAll('img')];
  const inWidget = (el) => !!el.closest('.widget-subarea, .jupyter-widgets');
  const altOf = (i) => (i.getAttribute('alt') || '').trim();
  // docutils writes an image's file name as its alt text when it has none: that is no description
  const described = (i) => { const name = (i.getAttribute('src') || '').split(/[?#]/)[0].split('/').pop(); return !!altOf(i) && !(name && altOf(i).endsWith(name)); };
  const figures = imgs.filter(i => !inWidget(i) && !i.id.startsWith('_anim_img') && described(i));
  // MathJax's own record of what it typeset: parse errors are merror nodes, undefined macros
  // are red mtext (the noundefined extension), both named with their TeX source.
  const mathItems = [], mathErrors = [];
  if (mathjax && window.MathJax.startup.document) {
    for (const item of window.MathJax.startup.document.math) {
      mathItems.push(item);
      let bad = null;
      item.root.walkTree((node) => {
        if (bad) return;
        if (node.isKind('merror')) bad = 'MathJax error "' + (node.attributes.get('data-mjx-error') || node.childNodes.map(String).join('')) + '"';
        else if (node.isKind('mtext') && node.attributes.get('mathcolor') === 'red') bad = 'undefined macro ' + (node.childNodes[0] && node.childNodes[0].text || '?');
      });
      if (bad) mathErrors.push(bad + ' in $' + item.math.slice(0, 80) + '$');
    }
  }
  const mathSource = [...content.querySelectorAll('.math')];
  const untypeset = mathSource.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.trim().slice(0, 80));
  const anims = [...content.querySelectorAll('img[id^="_anim_img"]')].map(img => {
    const id = img.id.slice('_anim_img'.length);
    const a = window['anim' + id];
    const frames = a && a.frames ? a.frames : [];
    return {id: id, frames: frames.length, distinct: new Set(frames).size, shown: img.complete && img.naturalWidth > 0, alt: altOf(img)};
  });
  done({
    title: document.title,
    links: [...document.querySelectorAll('a[href]')].map(a => ({href: a.getAttribute('href'), resolved: a.href, text: a.textContent.trim().slice(0, 60)})),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id).concat([...document.querySelectorAll('a[name]')].map(e => e.getAttribute('name'))),
    images: imgs.map(i => ({src: i.getAttribute('src') || '', resolved: i.currentSrc || i.src, alt: altOf(i), loaded: i.complete && i.naturalWidth > 0, complete: i.complete, in_widget: inWidget(i), anim: i.id.startsWith('_anim_img')})),
    figures: figures.length,
    animations: anims,
    audio: audios.map(a => ({src: a.currentSrc || a.getAttribute('src') || (a.querySelector('source') || {}).src || '', duration: a.duration, ready: a.readyState, error: a.error ? a.error.code : null})),
    widgets: views.map(s => {
      const fallback = figures.filter(f => before(f, s)).pop();
      return {rendered: rendered(s), fallback: fallback ? altOf(fallback).slice(0, 70) : null};
    }),
    stderr: [...content.querySelectorAll('.output.stderr')].filter(e => e.offsetParent !== null).map(e => firstLine(e)),
    // error outputs, and tracebacks printed into other outputs: named by their error line
    tracebacks: [...content.querySelectorAll('.output.traceback')]
      .concat([...content.querySelectorAll('.cell_output')].filter(e => !e.querySelector('.traceback') && /Traceback \(most recent call last\)/.test(e.textContent)))
      .map(e => { const pre = e.querySelector('pre') || e; const lines = pre.textContent.split('\n').map(l => l.trim()).filter(l => l);
                  return lines.filter(l => /^[A-Za-z_.]*(Error|Exception|Interrupt|Exit)\b/.test(l)).pop() || lines.pop() || 'traceback'; }),
    system_messages: [...content.querySelectorAll('.system-message, .problematic')].map(e => e.textContent.trim().slice(0, 100)),
    mathjax_tag: mathjaxTag,
    mathjax: mathjax,
    math_typeset: mathItems.length,
    math_source: mathSource.length,
    math_errors: mathErrors,
    math_untypeset: untypeset,
    height: document.documentElement.scrollHeight,
  });
})().catch(e => done({error: String(e && e.stack || e)}));
"""

COLAB = re.compile(r"^https?://colab\.research\.google\.com/github/(?P<owner>[^/]+)/(?P<repo>[^/]+)/blob/(?P<branch>[^/]+)/(?P<path>[^?#]+)")
SKIP_DIRS = ("_static", "_sources", "_images", "_downloads")


@dataclass
class Repository:
    """The repository the Colab links must point at: its checkout and its configured URL."""

    root: pathlib.Path
    url: str  # https://github.com/OWNER/NAME
    branch: str = "main"

    @classmethod
    def from_config(cls, root: pathlib.Path, config: dict) -> "Repository":
        repo = config.get("repository", {})
        return cls(root=root, url=repo.get("url", "").rstrip("/"), branch=repo.get("branch", "main"))

    def colab_fault(self, href: str) -> str | None:
        m = COLAB.match(href)
        if not m:
            return f"Colab link {href} does not open a notebook from GitHub"
        owner_name = f"{m['owner']}/{m['repo']}"
        if not self.url.endswith("/" + owner_name):
            return f"Colab link {href} points at {owner_name}, not the configured repository {self.url}"
        if m["branch"] != self.branch:
            return f"Colab link {href} points at branch {m['branch']}, not the configured {self.branch}"
        path = urllib.parse.unquote(m["path"])
        if not (self.root / path).is_file():
            return f"Colab link {href} points at {path}, which is not in the repository"
        return None


@dataclass
class PageReport:
    page: str
    faults: list[str] = field(default_factory=list)
    seen: dict = field(default_factory=dict)

    def summary(self) -> str:
        s = self.seen
        anims = ", ".join(f"{a['frames']} frames" for a in s.get("animations", [])) or "0"
        return (f"{self.page}: figures {s.get('figures', 0)}, animations {anims}, audio {len(s.get('audio', []))}, "
                f"widgets {sum(w['rendered'] for w in s.get('widgets', []))}/{len(s.get('widgets', []))} rendered, "
                f"math {s.get('math_typeset', 0)} typeset"
                + ("" if s.get("mathjax") or not s.get("mathjax_tag") else " (MathJax did not load)")
                + f", Colab links {len(s.get('colab', []))}")


# --- finding and starting the browser -------------------------------------------------------

def find_browser() -> tuple[str, str] | None:
    """(browser binary, driver binary), or None. CHROME_BIN and CHROMEDRIVER override; else
    Debian's chromium and chromedriver, or the Chrome and driver of GitHub's hosted runners."""
    browser = os.environ.get("CHROME_BIN") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")) if p), None)
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not driver and os.environ.get("CHROMEWEBDRIVER"):  # GitHub's hosted runners
        candidate = pathlib.Path(os.environ["CHROMEWEBDRIVER"]) / "chromedriver"
        driver = str(candidate) if candidate.is_file() else None
    if not (browser and driver and os.access(browser, os.X_OK) and os.access(driver, os.X_OK)):
        return None
    return browser, driver


def missing_browser_message() -> str:
    problems = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        problems.append("the selenium package (pip install -c constraints.txt -e '.[test]')")
    if find_browser() is None:
        problems.append("Chromium (or Chrome) and chromedriver on the PATH (or CHROME_BIN and CHROMEDRIVER set)")
    return "the browser test needs " + " and ".join(problems) if problems else ""


@contextlib.contextmanager
def browser():
    """Headless Chromium through Selenium, with a fresh profile, kept off the network."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_browser()
    if found is None:
        raise RuntimeError(missing_browser_message())
    binary, driver = found
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download a browser
    with tempfile.TemporaryDirectory(prefix="site-check-profile-") as profile:
        opts = webdriver.ChromeOptions()
        opts.binary_location = binary
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                    "--mute-audio", "--autoplay-policy=no-user-gesture-required",
                    f"--user-data-dir={profile}", "--window-size=1280,900",
                    # Every host but the loopback test server is unreachable: a page that needs a
                    # CDN breaks here exactly as it does for a reader without network.
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        drv = webdriver.Chrome(service=Service(driver), options=opts)
        try:
            drv.set_page_load_timeout(60)
            drv.set_script_timeout(60)
            yield drv
        finally:
            drv.quit()


# --- serving the site -----------------------------------------------------------------------

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".woff2": "font/woff2", ".woff": "font/woff", ".wasm": "application/wasm"}

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(root: pathlib.Path):
    """The site over HTTP on the loopback interface (pages opened as file:// behave differently)."""
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


# --- checking pages -------------------------------------------------------------------------

def site_pages(root: pathlib.Path) -> list[str]:
    """Every HTML page of the site, except redirect stubs and the files under _static etc."""
    pages = []
    for p in sorted(root.rglob("*.html")):
        rel = p.relative_to(root)
        if rel.parts[0] in SKIP_DIRS:
            continue
        if 'http-equiv="Refresh"' in p.read_text(errors="replace")[:1000]:
            continue
        pages.append(rel.as_posix())
    return pages


def network_events(drv) -> tuple[list[str], list[str]]:
    """(requests that left the machine, local requests that failed), from Chrome's log."""
    urls, external, failed = {}, [], []
    for entry in drv.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            urls[params["requestId"]] = url
            if url.startswith(("http:", "https:", "ws:", "wss:")) and urllib.parse.urlparse(url).hostname != "127.0.0.1":
                external.append(url)
        elif method == "Network.responseReceived":
            r = params["response"]
            if r["status"] >= 400 and urllib.parse.urlparse(r["url"]).hostname == "127.0.0.1":
                failed.append(f"{urllib.parse.urlparse(r['url']).path} ({r['status']})")
        elif method == "Network.loadingFailed":
            url = urls.get(params["requestId"], "?")
            if urllib.parse.urlparse(url).hostname == "127.0.0.1" and not params.get("canceled"):
                failed.append(f"{urllib.parse.urlparse(url).path} ({params.get('errorText')})")
    return sorted(set(external)), sorted(set(failed))


def console_errors(drv) -> list[str]:
    errors = []
    for entry in drv.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        message = entry["message"]
        if harmless(message):
            continue
        if "Failed to load resource" in message:
            continue  # reported, with its path, from the network log
        errors.append(re.sub(r"https?://127\.0\.0\.1:\d+/", "/", message)[:300])
    return errors


def check_page(drv, base: str, root: pathlib.Path, page: str, repo: Repository | None,
               shots: pathlib.Path | None) -> tuple[PageReport, dict]:
    drv.get_log("browser"), drv.get_log("performance")  # drop what earlier pages left
    drv.get(base + page)
    info = drv.execute_async_script(PAGE_JS)
    if "error" in info:
        return PageReport(page, [f"the checker's script failed on the page: {info['error']}"]), {}
    external, failed = network_events(drv)
    report = PageReport(page)
    f = report.faults

    f += [f"JavaScript error: {m}" for m in console_errors(drv)]
    f += [f"loads {u} from the network (the site must work offline)" for u in external]
    f += [f"a file of the site does not load: {u}" for u in failed if not harmless(u)]

    colab = []
    for link in info["links"]:
        href = link["href"]
        if "colab.research.google.com" in href:
            colab.append(href)
            fault = repo.colab_fault(href) if repo else None
            if fault:
                f.append(fault)
    for img in info["images"]:
        if not img["loaded"] and img["complete"]:
            f.append(f"image does not load: {img['src'][:100]}")
        if img["in_widget"]:
            continue  # drawn by a widget from its state; its static fallback carries the description
        name = pathlib.PurePosixPath(urllib.parse.urlparse(img["src"]).path).name
        if img["anim"] and not img["alt"]:
            f.append("animation without alt text (nothing tells a screen reader what it shows)")
        elif not img["anim"] and (not img["alt"] or (name and img["alt"].endswith(name))):
            f.append(f"image without alt text: {img['src'][:80]}")
    f += [f"traceback in an output: {t[:120]}" for t in info["tracebacks"]]
    f += [f"stderr shown to the reader: {s}" for s in info["stderr"]]
    f += [f"Sphinx error message on the page: {s}" for s in info["system_messages"]]
    f += [f"math: {e}" for e in info["math_errors"]]
    if info["math_untypeset"]:
        why = "MathJax did not load" if not info["mathjax"] else "MathJax did not typeset it"
        n, total = len(info["math_untypeset"]), info["math_source"]
        f.append(f"math left untypeset ({why}): {n} of {total} expressions, e.g. "
                 + ", ".join(info["math_untypeset"][:3]))
    for a in info["animations"]:
        if a["distinct"] < 2:
            f.append(f"animation {a['id'][:8]} has {a['distinct']} distinct frame(s): it does not move")
        elif not a["shown"]:
            f.append(f"animation {a['id'][:8]} shows no frame")
    for a in info["audio"]:
        if not a["src"]:
            f.append("audio player without a source")
        elif a["error"] is not None or not (a["duration"] and a["duration"] > 0):
            f.append(f"audio player does not play its source {a['src'][:80]} (error {a['error']}, ready state {a['ready']})")
    for i, w in enumerate(info["widgets"], 1):
        if not w["rendered"]:
            f.append(f"widget {i} does not render (its snapshot shows nothing)")
        if not w["fallback"]:
            f.append(f"widget {i} has no static fallback (a figure with alt text) before it on the page")

    report.seen = {k: info[k] for k in ("title", "figures", "animations", "audio", "widgets", "mathjax", "mathjax_tag", "math_typeset", "math_source")}
    report.seen["colab"] = colab
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
        drv.set_window_size(1280, min(max(900, info["height"]), 16000))
        drv.save_screenshot(str(shots / (page.replace("/", "__") + ".png")))
        drv.set_window_size(1280, 900)
    return report, info


def check_links(root: pathlib.Path, reports: dict[str, PageReport], infos: dict[str, dict]) -> None:
    """Internal links: the file exists and, for page#anchor, the page has that anchor."""
    ids = {page: set(info["ids"]) for page, info in infos.items()}
    for page, info in infos.items():
        for link in info["links"]:
            href = link["href"]
            parsed = urllib.parse.urlparse(href)
            if parsed.scheme or href.startswith(("//", "mailto:", "javascript:")):
                continue
            target_path, _, anchor = href.partition("#")
            target = page if not target_path else (pathlib.PurePosixPath(page).parent / urllib.parse.unquote(target_path)).as_posix()
            target = os.path.normpath(target)
            if target_path and not (root / target).exists():
                reports[page].faults.append(f"broken link: {href} (no {target})")
                continue
            if anchor and target.endswith(".html"):
                known = ids.get(target)
                if known is None:  # a page that was not opened: read its ids from the file
                    text = (root / target).read_text(errors="replace")
                    known = ids[target] = set(re.findall(r'\b(?:id|name)="([^"]+)"', text))
                if urllib.parse.unquote(anchor) not in known:
                    reports[page].faults.append(f"broken anchor: {href} (no id {anchor!r} in {target})")


def check_site(html_dir, repo: Repository | None = None, shots=None, pages: list[str] | None = None) -> dict[str, PageReport]:
    """Open every page (or ``pages``) of the built site; return a report per page."""
    root = pathlib.Path(html_dir).resolve()
    shots = pathlib.Path(shots) if shots else None
    pages = site_pages(root) if pages is None else pages
    reports, infos = {}, {}
    with serve(root) as base, browser() as drv:
        for page in pages:
            reports[page], info = check_page(drv, base, root, page, repo, shots)
            if info:
                infos[page] = info
    check_links(root, reports, infos)
    return reports


def search(html_dir, query: str) -> list[str]:
    """The pages Sphinx's own search (search.html, in the browser) finds for ``query``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    root = pathlib.Path(html_dir).resolve()
    with serve(root) as base, browser() as drv:
        drv.get(base + "search.html?q=" + urllib.parse.quote(query))
        WebDriverWait(drv, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results .search-summary")
                                     and "Searching" not in d.find_element(By.CSS_SELECTOR, "#search-results h2").text)
        links = drv.find_elements(By.CSS_SELECTOR, "#search-results ul.search li a")
        return [urllib.parse.urlparse(a.get_attribute("href")).path.lstrip("/") for a in links]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html_dir", help="the built site, e.g. _build/html")
    ap.add_argument("--repo", help="the repository checkout (its _config.yml gives the URL Colab links must use)")
    ap.add_argument("--shots", help="save a full-page screenshot of each page in this folder")
    ap.add_argument("--json", help="write the per-page reports to this file")
    args = ap.parse_args(argv)
    repo = None
    if args.repo:
        import yaml
        root = pathlib.Path(args.repo).resolve()
        repo = Repository.from_config(root, yaml.safe_load((root / "_config.yml").read_text()))
    t0 = time.time()
    reports = check_site(args.html_dir, repo, args.shots)
    for r in reports.values():
        print(("FAIL " if r.faults else "ok   ") + r.summary())
        for fault in r.faults:
            print("     - " + fault)
    bad = sum(bool(r.faults) for r in reports.values())
    print(f"{len(reports)} pages in {time.time() - t0:.0f} s, {bad} with faults")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({p: {"faults": r.faults, "seen": r.seen} for p, r in reports.items()}, indent=1))
    return 1 if bad or not reports else 0


if __name__ == "__main__":
    sys.exit(main())
