// Real-browser tests of `polku serve`: Debian's headless Chromium, driven by playwright-core,
// walks the maps of the shipped model `processes/keusote`, once with server-side rendering
// (`dot` on the server) and once with `--renderer browser` (Viz.js in the page).
//
// Run with scripts/browser-test, or by hand:
//   POLKU_BIN=/path/to/polku node --test --test-reporter=spec tests/browser/
//
// Environment:
//   POLKU_BIN       the polku binary (required)
//   POLKU_CHROMIUM  the Chromium binary (default /usr/bin/chromium)
//
// Screenshots, server logs and timings.json are written to tests/browser/artifacts/.

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  accessSync,
  chmodSync,
  constants,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '..', '..');
const ARTIFACTS = join(HERE, 'artifacts');
const AXE_PATH = join(HERE, 'node_modules', 'axe-core', 'axe.min.js');
const CHROMIUM = process.env.POLKU_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const STARTUP_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 10_000;
const MAP_TIMEOUT_MS = 20_000;
const NAV_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = 180_000;
const SVG_BUDGET_MS = 2000;
const MAX_TABS = 60;

const MODES = ['server', 'browser'];

// The shipped model (processes/keusote).
const CHAIN = 'lnp';
const CHAIN_TITLE = 'Lasten, nuorten ja perheiden palveluketju';
const SERVICES = ['Neuvola', 'Kouluterveydenhuolto', 'Perheneuvola'];
const SEGMENTATION = 'perhekeskus';
const PROCESS = 'kth_laaja_5lk';
const PHASES = ['Esitiedot', 'Terveystarkastus', 'Tuen suunnittelu', 'Seuranta'];
const STEP = 'Lääkärin tarkastus';
const SEGMENTS = ['pärjääjä', 'tuki', 'yhteistyö', 'huolenpito'];
const ADDED_STEP = 'Monialainen asiantuntijaryhmä';
const WORKFLOW = `${PROCESS}.tarkastus`;
const WORKFLOW_TITLE = 'Tarkastuksen työnjako';
const LANES = ['Terveydenhoitaja', 'Lääkäri'];
const TASK_PREFIX = 'Mittaukset';
const TASK_LABEL = 'Mittaukset, haastattelu ja terveysneuvonta';
const UNKNOWN = 'ei_ole';
const HOME_TEXT = { fi: 'Palvelukartta', en: 'Service map' };

// Every svg_ms measurement of this run, written to artifacts/timings.json.
const timings = [];

// Pictures and logs of an earlier run must not pass for this one's.
rmSync(ARTIFACTS, { recursive: true, force: true });
mkdirSync(ARTIFACTS, { recursive: true });

// ---------------------------------------------------------------------------------------------
// Server

/** Starts `polku serve` and resolves when it has printed its address. */
async function startServer(mode) {
  const bin = process.env.POLKU_BIN;
  assert.ok(bin, 'POLKU_BIN must name the polku binary, e.g. POLKU_BIN=target/debug/polku');
  const binPath = resolve(process.cwd(), bin);
  try {
    accessSync(binPath, constants.X_OK);
  } catch {
    assert.fail(`POLKU_BIN=${bin}: ${binPath} is not an executable file`);
  }

  const workDir = mkdtempSync(join(tmpdir(), `polku-browser-${mode}-`));
  const args = [
    'serve',
    '--model', 'processes/keusote',
    '--database', `sqlite://${workDir}/polku.sqlite`,
    '--demo-clients', '300',
    '--listen', '127.0.0.1:0',
  ];
  const env = { ...process.env };
  // In browser mode the server must never run `dot`: a `dot` first on PATH that only leaves a
  // mark shows if it does (a server that calls dot by absolute path is not caught by this).
  const dotMark = join(workDir, 'dot-was-run');
  if (mode === 'browser') {
    args.push('--renderer', 'browser');
    const guardDir = join(workDir, 'guard-bin');
    mkdirSync(guardDir);
    const guard = join(guardDir, 'dot');
    writeFileSync(guard, `#!/bin/sh\necho "$@" >> '${dotMark}'\necho 'dot must not run in browser mode' >&2\nexit 1\n`);
    chmodSync(guard, 0o755);
    env.PATH = `${guardDir}:${env.PATH ?? '/usr/bin:/bin'}`;
  }

  const log = createWriteStream(join(ARTIFACTS, `server-${mode}.log`));
  log.write(`$ ${binPath} ${args.join(' ')}\n`);
  const child = spawn(binPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stdout = '';
  let stderr = '';
  const keep = (text) => (text.length > 20_000 ? text.slice(-20_000) : text);
  const origin = await new Promise((resolveOrigin, reject) => {
    let settled = false;
    const finish = (error, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolveOrigin(value);
    };
    const describeOutput = () =>
      `\n--- stdout (tail) ---\n${stdout.slice(-3000)}\n--- stderr (tail) ---\n${stderr.slice(-3000)}`;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`polku serve (${mode}) printed no http://127.0.0.1:PORT/ line on stdout ` +
        `within ${STARTUP_TIMEOUT_MS / 1000} s${describeOutput()}`));
    }, STARTUP_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      log.write(chunk);
      stdout = keep(stdout + chunk);
      const match = stdout.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
      if (match && Number(match[1]) > 0) finish(null, `http://127.0.0.1:${match[1]}`);
    });
    child.stderr.on('data', (chunk) => {
      log.write(chunk);
      stderr = keep(stderr + chunk);
    });
    child.once('error', (error) => finish(new Error(`could not start ${binPath}: ${error.message}`)));
    child.once('exit', (code, signal) =>
      finish(new Error(`polku serve (${mode}) exited before printing its address ` +
        `(code ${code}, signal ${signal})${describeOutput()}`)));
  });

  return {
    mode,
    origin,
    child,
    workDir,
    dotMark,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      log.end();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Pages

/** Records what goes wrong on a page: console errors, script errors, failed or foreign requests. */
function watch(page, origin) {
  const w = {
    consoleErrors: [],
    pageErrors: [],
    failedRequests: [],
    foreignRequests: [],
    errorResponses: [],
    requests: [],
    clear() {
      for (const key of ['consoleErrors', 'pageErrors', 'failedRequests', 'foreignRequests',
        'errorResponses', 'requests']) this[key].length = 0;
    },
  };
  page.on('console', (message) => {
    if (message.type() === 'error') {
      const where = message.location()?.url || page.url();
      w.consoleErrors.push(`${message.text()} [${where}]`);
    }
  });
  page.on('pageerror', (error) => w.pageErrors.push(`${error?.stack ?? error} [${page.url()}]`));
  page.on('request', (request) => {
    const url = request.url();
    w.requests.push(url);
    // data: and blob: URLs never leave the browser.
    if (!url.startsWith(`${origin}/`) && !/^(data|blob|about):/.test(url)) w.foreignRequests.push(url);
  });
  page.on('requestfailed', (request) => {
    const reason = request.failure()?.errorText ?? 'failed';
    // A request cut off by navigating away is not a failure of the page.
    if (reason !== 'net::ERR_ABORTED') w.failedRequests.push(`${request.method()} ${request.url()}: ${reason}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) {
      w.errorResponses.push({
        url: response.url(),
        status: response.status(),
        document: response.request().isNavigationRequest(),
      });
    }
  });
  return w;
}

/** Asserts that nothing went wrong since the watcher was last cleared. */
function assertClean(w, label, { documentStatus = 200 } = {}) {
  const problems = [];
  for (const text of w.consoleErrors) {
    // Chromium logs a console error for an error status of the document itself.
    if (documentStatus >= 400 && text.includes(`status of ${documentStatus}`) && !text.includes('/favicon.ico]')) continue;
    // Chromium asks for /favicon.ico by itself; a page without an icon is not broken.
    if (text.endsWith('/favicon.ico]')) continue;
    problems.push(`console error: ${text}`);
  }
  for (const text of w.pageErrors) problems.push(`script error: ${text}`);
  for (const text of w.failedRequests) problems.push(`failed request: ${text}`);
  for (const url of w.foreignRequests) problems.push(`request to another host: ${url}`);
  for (const r of w.errorResponses) {
    if (r.document && r.status === documentStatus) continue;
    if (new URL(r.url).pathname === '/favicon.ico') continue;
    problems.push(`HTTP ${r.status}: ${r.url}`);
  }
  assert.ok(problems.length === 0, `${label}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
}

function slug(text) {
  return text.normalize('NFKD').replace(/[^\w]+/g, '-').replace(/^-|-$/g, '').toLowerCase();
}

async function screenshot(page, name) {
  try {
    await page.screenshot({ path: join(ARTIFACTS, `${slug(name)}.png`), fullPage: true, timeout: 15_000 });
  } catch (error) {
    // A missing screenshot must not hide the real outcome of the test.
    console.error(`screenshot ${name} failed: ${error.message}`);
  }
}

/**
 * Waits for the rendered map: an <svg> inside #map .map-drawing and #map[data-rendered=mode]
 * (a level-4 swimlane is always drawn on the server).
 */
async function waitForMap(page, mode, label) {
  try {
    await page.waitForFunction(
      (wanted) => {
        const map = document.querySelector('#map');
        const svg = map && map.querySelector('.map-drawing svg');
        const rendered = map && map.getAttribute('data-rendered');
        // Level-4 swimlanes are laid out by Polku itself and always arrive as finished SVG.
        return !!svg && (rendered === wanted || (svg.classList.contains('swimlanes') && rendered === 'server'));
      },
      mode,
      { timeout: MAP_TIMEOUT_MS, polling: 50 },
    );
  } catch {
    const state = await page.evaluate(() => {
      const map = document.querySelector('#map');
      return {
        url: location.href,
        map: map ? map.outerHTML.slice(0, 300) : null,
        figureMap: map ? map.matches('figure.map') : false,
        dataRendered: map?.getAttribute('data-rendered') ?? null,
        svgInMap: !!map?.querySelector('svg'),
        svgInDrawing: !!map?.querySelector('.map-drawing svg'),
      };
    }).catch((error) => ({ error: error.message }));
    assert.fail(`${label}: no map rendered by "${mode}" within ${MAP_TIMEOUT_MS} ms ` +
      `(want <figure class="map" id="map" data-rendered="${mode}"> with an <svg> in .map-drawing); ` +
      `found ${JSON.stringify(state)}`);
  }
  const figure = await page.evaluate(() => document.querySelector('#map').matches('figure.map'));
  assert.ok(figure, `${label}: #map is not a <figure class="map">`);
  const hasText = await page.locator('section.map-text').count();
  assert.ok(hasText > 0, `${label}: the map has no text alternative <section class="map-text">`);
}

/** The visible labels of the map's SVG, whitespace collapsed. */
async function svgLabels(page) {
  return page.evaluate(() => {
    const svg = document.querySelector('#map svg');
    if (!svg) return '';
    return [...svg.querySelectorAll('text')].map((t) => t.textContent).join(' ')
      .normalize('NFC').replace(/\s+/g, ' ').trim();
  });
}

const squash = (text) => text.normalize('NFC').replace(/\s+/g, '');

/** Labels may be wrapped over several lines, so compare without any whitespace. */
function assertLabel(labels, wanted, label) {
  assert.ok(squash(labels).includes(squash(wanted)),
    `${label}: the map's SVG has no label "${wanted}"; its labels are: "${labels.slice(0, 800)}"`);
}

/**
 * Finds a visible link (HTML <a> or SVG <a> with href or xlink:href) within `scope` whose path is
 * `path`, marks it and returns a locator for it, or null.
 */
async function findLink(page, path, scope = 'body') {
  const mark = `link-${Math.random().toString(36).slice(2)}`;
  const found = await page.evaluate(({ path, scope, mark }) => {
    const xlink = 'http://www.w3.org/1999/xlink';
    for (const root of document.querySelectorAll(scope)) {
      for (const a of root.querySelectorAll('a')) {
        const raw = a.getAttribute('href') ?? a.getAttributeNS(xlink, 'href');
        if (!raw) continue;
        const url = new URL(raw, location.href);
        if (url.origin !== location.origin) continue;
        let pathname = url.pathname;
        try { pathname = decodeURIComponent(pathname); } catch { /* keep as is */ }
        if (pathname.normalize('NFC') !== path.normalize('NFC')) continue;
        const box = a.getBoundingClientRect();
        if (box.width === 0 && box.height === 0) continue;
        a.setAttribute('data-test-link', mark);
        return true;
      }
    }
    return false;
  }, { path, scope, mark });
  return found ? page.locator(`[data-test-link="${mark}"]`) : null;
}

/** All link paths within `scope` (decoded), in document order, without repeats. */
async function linkPaths(page, scope = 'body') {
  return page.evaluate((scope) => {
    const xlink = 'http://www.w3.org/1999/xlink';
    const paths = [];
    for (const root of document.querySelectorAll(scope)) {
      for (const a of root.querySelectorAll('a')) {
        const raw = a.getAttribute('href') ?? a.getAttributeNS(xlink, 'href');
        if (!raw) continue;
        const url = new URL(raw, location.href);
        if (url.origin !== location.origin) continue;
        let pathname = url.pathname;
        try { pathname = decodeURIComponent(pathname); } catch { /* keep as is */ }
        if (!paths.includes(pathname)) paths.push(pathname);
      }
    }
    return paths;
  }, scope);
}

function pathOf(page) {
  const url = new URL(page.url());
  try { return decodeURIComponent(url.pathname); } catch { return url.pathname; }
}

/**
 * A point where the link itself receives the click. In an SVG a link's label may be partly
 * covered by edges or nodes (a cluster's box is covered by its own nodes), so several points of
 * the link's parts are tried, its label text first.
 */
async function clickablePoint(link) {
  return link.evaluate((a) => {
    a.scrollIntoView({ block: 'center', inline: 'center' });
    const parts = [...a.querySelectorAll('text'), ...a.querySelectorAll('*'), a];
    const fractions = [0.5, 0.3, 0.7, 0.15, 0.85];
    for (const part of parts) {
      const box = part.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) continue;
      for (const fy of fractions) {
        for (const fx of fractions) {
          const x = box.left + box.width * fx;
          const y = box.top + box.height * fy;
          if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) continue;
          const hit = document.elementFromPoint(x, y);
          if (hit && (hit === a || a.contains(hit))) return { x, y };
        }
      }
    }
    return null;
  });
}

/** Clicks a link found by findLink and waits until the page is at `path`. */
async function follow(page, link, path, label) {
  const point = await clickablePoint(link);
  assert.ok(point, `${label}: the link to ${path} is covered by other elements everywhere; it cannot be clicked`);
  try {
    await Promise.all([
      page.waitForURL((url) => {
        let pathname = url.pathname;
        try { pathname = decodeURIComponent(pathname); } catch { /* keep as is */ }
        return pathname === path;
      }, { timeout: NAV_TIMEOUT_MS, waitUntil: 'domcontentloaded' }),
      page.mouse.click(point.x, point.y),
    ]);
  } catch (error) {
    assert.fail(`${label}: clicking the link to ${path} did not lead there (now at ${page.url()}): ${error.message}`);
  }
}

/** Clicks #lang-switch and waits for the new document (the server may redirect to the same URL). */
async function switchLanguage(page, label) {
  try {
    await Promise.all([
      page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame(), timeout: NAV_TIMEOUT_MS }),
      page.locator('#lang-switch').click(),
    ]);
    await page.waitForLoadState('domcontentloaded');
  } catch (error) {
    assert.fail(`${label}: clicking the language switch loaded no new page: ${error.message}`);
  }
}

async function gotoPage(page, origin, path, label, expectedStatus = 200) {
  const response = await page.goto(`${origin}${path}`, { waitUntil: 'domcontentloaded', timeout: NAV_TIMEOUT_MS });
  assert.ok(response, `${label}: no response for ${path}`);
  assert.equal(response.status(), expectedStatus, `${label}: HTTP status of ${path}`);
  return response;
}

/** The page chrome every page has: lang, breadcrumb, language switch and search form. */
async function assertChrome(page, label, lang, { root = false } = {}) {
  const info = await page.evaluate(() => {
    const nav = document.querySelector('nav.breadcrumbs');
    const langSwitch = document.querySelector('#lang-switch');
    const form = document.querySelector('form[role="search"]');
    return {
      lang: document.documentElement.getAttribute('lang'),
      nav: nav && {
        tag: nav.tagName.toLowerCase(),
        ariaLabel: nav.getAttribute('aria-label'),
        links: [...nav.querySelectorAll('a')].map((a) => ({
          path: new URL(a.getAttribute('href') ?? '', location.href).pathname,
          text: a.textContent.replace(/\s+/g, ' ').trim(),
        })),
      },
      langSwitch: langSwitch && { tag: langSwitch.tagName.toLowerCase(), href: langSwitch.getAttribute('href') },
      search: form && {
        action: new URL(form.action, location.href).pathname,
        input: !!form.querySelector('input[name="q"]'),
      },
    };
  });
  assert.equal(info.lang, lang, `${label}: <html lang>`);
  assert.ok(info.nav, `${label}: no breadcrumb <nav class="breadcrumbs">`);
  assert.ok(info.nav.ariaLabel, `${label}: the breadcrumb <nav> has no aria-label`);
  if (!root) {
    assert.ok(info.nav.links.length > 0, `${label}: the breadcrumb has no links`);
    assert.equal(info.nav.links[0].path, '/', `${label}: the breadcrumb's first link should lead to /`);
    assert.equal(info.nav.links[0].text, HOME_TEXT[lang], `${label}: the breadcrumb's first link text`);
  }
  const other = lang === 'fi' ? 'en' : 'fi';
  assert.ok(info.langSwitch, `${label}: no language switch #lang-switch`);
  assert.equal(info.langSwitch.tag, 'a', `${label}: #lang-switch should be a link`);
  assert.match(info.langSwitch.href ?? '', new RegExp(`[?&]lang=${other}(&|$)`),
    `${label}: #lang-switch should lead to ?lang=${other}`);
  assert.ok(info.search, `${label}: no search form <form role="search">`);
  assert.equal(info.search.action, '/search', `${label}: the search form's action`);
  assert.ok(info.search.input, `${label}: the search form has no input named q`);
  return info;
}

// ---------------------------------------------------------------------------------------------
// Suites

for (const mode of MODES) {
  describe(`polku serve, ${mode}-side rendering`, () => {
    let server;
    let context;
    let userDataDir;

    before(async () => {
      assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium)`);
      assert.ok(existsSync(AXE_PATH), `no ${AXE_PATH}: run npm ci in tests/browser`);
      server = await startServer(mode);
      userDataDir = mkdtempSync(join(tmpdir(), 'polku-chromium-'));
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1280, height: 900 },
        // The default language must be Finnish whatever the machine's locale.
        locale: 'fi-FI',
        timeout: 60_000,
      });
    }, { timeout: STARTUP_TIMEOUT_MS + 90_000 });

    after(async () => {
      await context?.close().catch(() => {});
      if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
      await server?.stop();
    }, { timeout: 60_000 });

    // Each test starts without the language cookie of an earlier one.
    beforeEach(async () => {
      await context?.clearCookies();
    });

    /** Runs `body` on a fresh page and always leaves a screenshot named after the test. */
    function pageTest(name, body) {
      test(name, { timeout: TEST_TIMEOUT_MS }, async () => {
        const page = await context.newPage();
        page.setDefaultTimeout(15_000);
        page.setDefaultNavigationTimeout(NAV_TIMEOUT_MS);
        const w = watch(page, server.origin);
        const shot = (step) => screenshot(page, `${mode}-${name}${step ? `-${step}` : ''}`);
        try {
          await body({ page, w, shot, origin: server.origin });
        } finally {
          // Also on failure: the picture shows the state the test failed in.
          await shot();
          await page.close().catch(() => {});
        }
      });
    }

    pageTest('01 level 1 and every page of a walk are clean', async ({ page, w, shot, origin }) => {
      const pages = [
        { path: '/', label: 'level 1', map: true, root: true },
        { path: `/chain/${CHAIN}`, label: 'level 2', map: true },
        { path: `/segmentation/${SEGMENTATION}`, label: 'segmentation', map: false },
        { path: `/process/${PROCESS}`, label: 'level 3', map: true },
        { path: `/process/${PROCESS}?segment=huolenpito`, label: 'level 3 huolenpito', map: true },
        { path: `/workflow/${WORKFLOW}`, label: 'level 4', map: true },
        { path: '/search?q=neuvola', label: 'search', map: false },
      ];
      for (const p of pages) {
        const label = `${p.label} (${p.path}, ${mode})`;
        w.clear();
        await gotoPage(page, origin, p.path, label);
        const hasMap = (await page.locator('#map').count()) > 0;
        assert.ok(hasMap || !p.map, `${label}: no map <figure class="map" id="map">`);
        if (hasMap) await waitForMap(page, mode, label);
        await page.waitForLoadState('networkidle', { timeout: NAV_TIMEOUT_MS });
        await assertChrome(page, label, 'fi', { root: p.root });
        if (mode === 'browser' && hasMap && !p.path.startsWith('/workflow/')) {
          assert.ok(w.requests.some((url) => url.startsWith(`${origin}/assets/viz-global.js`)),
            `${label}: browser rendering did not load /assets/viz-global.js`);
        }

        if (p.path === '/') {
          const labels = await svgLabels(page);
          assertLabel(labels, 'Neuvola', label);
          assertLabel(labels, CHAIN_TITLE, label);
          for (const service of SERVICES) assertLabel(labels, service, label);
          assert.ok(await findLink(page, `/chain/${CHAIN}`, '#map svg'),
            `${label}: the SVG has no <a> linking to /chain/${CHAIN}`);
          assert.ok(await findLink(page, `/chain/${CHAIN}`, 'section.map-text'),
            `${label}: the text alternative has no link to /chain/${CHAIN}`);
          assert.ok((await page.locator('#multi-unit table').count()) > 0,
            `${label}: no #multi-unit element with a table of clients served by several units`);
        }
        if (p.path === '/search?q=neuvola') {
          const texts = await page.evaluate(() =>
            [...document.querySelectorAll('a')]
              .filter((a) => !a.closest('nav.breadcrumbs') && a.id !== 'lang-switch')
              .map((a) => a.textContent.replace(/\s+/g, ' ').trim()));
          assert.ok(texts.some((t) => /neuvola/i.test(t)),
            `${label}: no result link mentioning "neuvola"; links: ${JSON.stringify(texts)}`);
        }
        assertClean(w, label);
        await shot(slug(p.label));
      }
    });

    pageTest('02 walk down by clicking and back up by the breadcrumb', async ({ page, w, shot, origin }) => {
      let label = `level 1 (${mode})`;
      await gotoPage(page, origin, '/', label);
      await waitForMap(page, mode, label);
      const chainLink = await findLink(page, `/chain/${CHAIN}`, '#map svg')
        ?? await findLink(page, `/chain/${CHAIN}`, 'section.map-text');
      assert.ok(chainLink, `${label}: no link to /chain/${CHAIN} in the map or its text alternative`);
      await follow(page, chainLink, `/chain/${CHAIN}`, label);

      label = `level 2 /chain/${CHAIN} (${mode})`;
      await waitForMap(page, mode, label);
      const body2 = (await page.locator('body').innerText()).normalize('NFC');
      assert.ok(squash(body2).includes(squash(CHAIN_TITLE)), `${label}: the page does not name "${CHAIN_TITLE}"`);
      await shot('level2');
      const processLink = await findLink(page, `/process/${PROCESS}`, '#map svg')
        ?? await findLink(page, `/process/${PROCESS}`, 'section.map-text')
        ?? await findLink(page, `/process/${PROCESS}`);
      assert.ok(processLink, `${label}: no link to /process/${PROCESS}`);
      await follow(page, processLink, `/process/${PROCESS}`, label);

      label = `level 3 /process/${PROCESS} (${mode})`;
      await waitForMap(page, mode, label);
      const labels3 = await svgLabels(page);
      for (const phase of PHASES) assertLabel(labels3, phase, label);
      assertLabel(labels3, STEP, label);
      await shot('level3');
      const phaseLink = await findLink(page, `/workflow/${WORKFLOW}`, '#map svg');
      assert.ok(phaseLink, `${label}: the phase "Terveystarkastus" in the SVG does not link to /workflow/${WORKFLOW}`);
      await follow(page, phaseLink, `/workflow/${WORKFLOW}`, label);

      label = `level 4 /workflow/${WORKFLOW} (${mode})`;
      await waitForMap(page, mode, label);
      const swimlane = await page.evaluate(() => ({
        lanes: [...document.querySelectorAll('#map svg g.lane')]
          .map((g) => [...g.querySelectorAll('text')].map((t) => t.textContent).join(' ').replace(/\s+/g, ' ').trim()),
        tasks: document.querySelectorAll('#map svg g.task').length,
        body: document.body.innerText.replace(/\s+/g, ' '),
      }));
      assert.ok(swimlane.lanes.length >= 2, `${label}: want a <g class="lane"> per lane, found ${swimlane.lanes.length}`);
      for (const lane of LANES) {
        assert.ok(swimlane.lanes.some((text) => text.includes(lane)),
          `${label}: no lane titled "${lane}"; lanes: ${JSON.stringify(swimlane.lanes)}`);
      }
      assert.ok(swimlane.tasks > 0, `${label}: no tasks <g class="task">`);
      const labels4 = await svgLabels(page);
      assertLabel(labels4, TASK_PREFIX, label);
      assert.ok(squash(labels4).includes(squash(TASK_LABEL)) || squash(swimlane.body).includes(squash(TASK_LABEL)),
        `${label}: the task "${TASK_LABEL}" is neither in the SVG nor on the page`);
      assert.ok(squash(swimlane.body).includes(squash(WORKFLOW_TITLE)), `${label}: the page does not name "${WORKFLOW_TITLE}"`);
      await shot('level4');
      // The swimlanes are wider than the page: they can be fitted to its width, and back.
      const widths = () => page.evaluate(() => ({
        svg: document.querySelector('#map svg').getBoundingClientRect().width,
        room: document.querySelector('#map .map-drawing').clientWidth,
      }));
      const wide = await widths();
      assert.ok(wide.svg > wide.room, `${label}: the swimlanes (${wide.svg}px) were expected wider than the page (${wide.room}px)`);
      const fit = page.locator('#map button.fit-width');
      await fit.waitFor({ state: 'visible' });
      await fit.click();
      const fitted = await widths();
      assert.ok(fitted.svg <= fitted.room + 1, `${label}: fitted, the map is ${fitted.svg}px in ${fitted.room}px`);
      assert.equal(await fit.getAttribute('aria-pressed'), 'true');
      await shot('level4-fit');
      await fit.click();
      assert.ok((await widths()).svg > wide.room, `${label}: a second press shows the map at full size again`);

      const upToProcess = await findLink(page, `/process/${PROCESS}`, 'nav.breadcrumbs');
      assert.ok(upToProcess, `${label}: the breadcrumb has no link back to /process/${PROCESS}`);
      await follow(page, upToProcess, `/process/${PROCESS}`, label);
      label = `level 3 via breadcrumb (${mode})`;
      await waitForMap(page, mode, label);
      const upToRoot = await findLink(page, '/', 'nav.breadcrumbs');
      assert.ok(upToRoot, `${label}: the breadcrumb has no link to /`);
      await follow(page, upToRoot, '/', label);
      label = `level 1 via breadcrumb (${mode})`;
      await waitForMap(page, mode, label);
      assertLabel(await svgLabels(page), CHAIN_TITLE, label);
      await page.waitForLoadState('networkidle', { timeout: NAV_TIMEOUT_MS });
      assertClean(w, `walk (${mode})`);
    });

    pageTest('03 segment switch marks added steps', async ({ page, w, origin }) => {
      let label = `level 3 /process/${PROCESS} (${mode})`;
      await gotoPage(page, origin, `/process/${PROCESS}`, label);
      await waitForMap(page, mode, label);
      const generic = await svgLabels(page);
      assert.ok(!squash(generic).includes(squash(ADDED_STEP)),
        `${label}: the generic process should not show the huolenpito step "${ADDED_STEP}"`);

      const select = page.locator('#segment-form select[name="segment"]');
      assert.equal(await select.count(), 1, `${label}: no <form id="segment-form"> with a <select name="segment">`);
      const options = (await select.locator('option').evaluateAll((os) => os.map((o) => o.value)))
        .map((v) => v.normalize('NFC'));
      assert.ok(options.includes(''), `${label}: the segment select has no empty (generic) option; options: ${JSON.stringify(options)}`);
      for (const segment of SEGMENTS) {
        assert.ok(options.includes(segment), `${label}: the segment select has no option "${segment}"; options: ${JSON.stringify(options)}`);
      }
      const segmentLinks = await page.locator('a.segment-link').evaluateAll((as) =>
        as.map((a) => new URL(a.getAttribute('href'), location.href).searchParams.get('segment')));
      for (const segment of SEGMENTS) {
        assert.ok(segmentLinks.some((s) => s?.normalize('NFC') === segment),
          `${label}: no a.segment-link for "${segment}"; links lead to segments ${JSON.stringify(segmentLinks)}`);
      }

      const atSegment = (url) => url.searchParams.get('segment') === 'huolenpito';
      await select.selectOption('huolenpito');
      // The form submits itself on change; without script, the submit button does it.
      const submitted = await page.waitForURL(atSegment, { timeout: 5000, waitUntil: 'domcontentloaded' })
        .then(() => true, () => false);
      if (!submitted) {
        const button = page.locator('#segment-form button');
        assert.ok((await button.count()) > 0, `${label}: choosing a segment did not submit the form and there is no #segment-form button`);
        await Promise.all([
          page.waitForURL(atSegment, { timeout: NAV_TIMEOUT_MS, waitUntil: 'domcontentloaded' }),
          button.first().click(),
        ]);
      }

      label = `level 3 /process/${PROCESS}?segment=huolenpito (${mode})`;
      assert.equal(pathOf(page), `/process/${PROCESS}`, `${label}: the segment form left the process page`);
      await waitForMap(page, mode, label);
      const added = await page.locator('#map svg .added').count();
      assert.ok(added > 0, `${label}: no elements with class "added" in the map's SVG`);
      assertLabel(await svgLabels(page), ADDED_STEP, label);
      const responsible = page.locator('#responsible');
      assert.equal(await responsible.count(), 1, `${label}: no #responsible element`);
      const who = (await responsible.innerText()).toLowerCase();
      assert.ok(who.includes('terveydenhoitaja'), `${label}: #responsible should name terveydenhoitaja, says "${who}"`);
      await page.waitForLoadState('networkidle', { timeout: NAV_TIMEOUT_MS });
      assertClean(w, `segment switch (${mode})`);
    });

    pageTest('04 language switch is remembered', async ({ page, w, shot, origin }) => {
      let label = `level 2 in Finnish (${mode})`;
      await gotoPage(page, origin, `/chain/${CHAIN}`, label);
      await waitForMap(page, mode, label);
      await assertChrome(page, label, 'fi');

      await switchLanguage(page, `${label}: #lang-switch`);
      label = `level 2 after switching to English (${mode})`;
      await waitForMap(page, mode, label);
      await assertChrome(page, label, 'en');
      const cookie = (await context.cookies(origin)).find((c) => c.name === 'lang');
      assert.equal(cookie?.value, 'en', `${label}: the cookie "lang" should be "en"`);
      await shot('en');

      label = `level 3 in English by cookie (${mode})`;
      await gotoPage(page, origin, `/process/${PROCESS}`, label);
      await waitForMap(page, mode, label);
      await assertChrome(page, label, 'en');
      await page.reload({ waitUntil: 'domcontentloaded' });
      await waitForMap(page, mode, `${label}, reloaded`);
      await assertChrome(page, `${label}, reloaded`, 'en');

      await switchLanguage(page, `${label}: #lang-switch`);
      label = `level 3 after switching back to Finnish (${mode})`;
      await waitForMap(page, mode, label);
      await assertChrome(page, label, 'fi');
      label = `level 1 in Finnish by cookie (${mode})`;
      await gotoPage(page, origin, '/', label);
      await waitForMap(page, mode, label);
      await assertChrome(page, label, 'fi', { root: true });
      await page.waitForLoadState('networkidle', { timeout: NAV_TIMEOUT_MS });
      assertClean(w, `language switch (${mode})`);
    });

    pageTest('05 overlay shows open cases', async ({ page, w, origin }) => {
      for (const segment of ['', 'huolenpito']) {
        const query = segment ? `?segment=${encodeURIComponent(segment)}` : '';
        const label = `level 3 /process/${PROCESS}${query} overlay (${mode})`;
        w.clear();
        const overlay = page.waitForResponse(
          (r) => new URL(r.url()).pathname === `/overlay/${PROCESS}`, { timeout: NAV_TIMEOUT_MS });
        await gotoPage(page, origin, `/process/${PROCESS}${query}`, label);
        await waitForMap(page, mode, label);
        const response = await overlay.catch(() => null);
        assert.ok(response, `${label}: the page did not fetch /overlay/${PROCESS}`);
        assert.equal(response.status(), 200, `${label}: HTTP status of ${response.url()}`);
        assert.equal(new URL(response.url()).searchParams.get('segment') ?? '', segment,
          `${label}: the overlay request's segment parameter`);
        const data = await response.json();
        assert.equal(data.process, PROCESS, `${label}: overlay JSON "process"`);
        assert.ok(data.phases && typeof data.phases === 'object', `${label}: overlay JSON has no "phases" object`);
        assert.ok(data.steps && typeof data.steps === 'object', `${label}: overlay JSON has no "steps" object`);
        assert.equal(typeof data.total, 'number', `${label}: overlay JSON "total" should be a number`);
        assert.ok(await page.locator('#heat-legend').count() > 0, `${label}: no legend #heat-legend`);
        if (!segment) {
          assert.ok(data.total > 0, `${label}: the demo data should have open cases, overlay total is ${data.total}`);
          try {
            await page.waitForSelector('#map svg text.heat-count', { state: 'attached', timeout: MAP_TIMEOUT_MS });
          } catch {
            assert.fail(`${label}: no <text class="heat-count"> in the map's SVG although the overlay has ${data.total} open cases`);
          }
          const counts = await page.locator('#map svg text.heat-count').allTextContents();
          assert.ok(counts.every((c) => /\d/.test(c)), `${label}: heat counts without a number: ${JSON.stringify(counts)}`);
          assert.ok(await page.locator('#map svg .heat').count() > 0, `${label}: no elements with class "heat" in the SVG`);
        }
        await page.waitForLoadState('networkidle', { timeout: NAV_TIMEOUT_MS });
        assertClean(w, label);
      }
    });

    pageTest('06 keyboard only reaches level 2', async ({ page, w, origin }) => {
      let label = `level 1 keyboard (${mode})`;
      await gotoPage(page, origin, '/', label);
      await waitForMap(page, mode, label);
      const target = `/chain/${CHAIN}`;
      const focused = [];
      let reached = false;
      for (let i = 0; i < MAX_TABS && !reached; i++) {
        await page.keyboard.press('Tab');
        const current = await page.evaluate(() => {
          const el = document.activeElement;
          if (!el || el === document.body) return { what: 'body', path: null };
          const raw = el.getAttribute('href') ?? el.getAttributeNS('http://www.w3.org/1999/xlink', 'href');
          let path = null;
          if (raw) {
            try { path = decodeURIComponent(new URL(raw, location.href).pathname); } catch { path = raw; }
          }
          const name = (el.getAttribute('aria-label') || el.textContent || el.getAttribute('name') || '')
            .replace(/\s+/g, ' ').trim().slice(0, 40);
          return { what: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${name}"`, path };
        });
        focused.push(current.path ? `${current.what} -> ${current.path}` : current.what);
        reached = current.path === target;
      }
      assert.ok(reached, `${label}: ${MAX_TABS} presses of Tab never focused a link to ${target}; ` +
        `focus went to:\n  ${focused.join('\n  ')}`);
      await Promise.all([
        page.waitForURL((url) => url.pathname === target, { timeout: NAV_TIMEOUT_MS, waitUntil: 'domcontentloaded' }),
        page.keyboard.press('Enter'),
      ]);
      label = `level 2 reached by keyboard (${mode})`;
      await waitForMap(page, mode, label);
      await page.waitForLoadState('networkidle', { timeout: NAV_TIMEOUT_MS });
      assertClean(w, label);
    });

    const axePages = [
      { name: 'level 1', path: '/', map: true },
      { name: 'level 2', path: `/chain/${CHAIN}`, map: true },
      { name: 'level 3 huolenpito', path: `/process/${PROCESS}?segment=huolenpito`, map: true },
      { name: 'level 4', path: `/workflow/${WORKFLOW}`, map: true },
      { name: 'search', path: '/search?q=neuvola', map: false },
      { name: 'not found', path: `/process/${UNKNOWN}`, map: false, status: 404 },
    ];
    for (const p of axePages) {
      pageTest(`07 axe ${p.name}`, async ({ page, origin }) => {
        const label = `axe ${p.name} (${p.path}, ${mode})`;
        await gotoPage(page, origin, p.path, label, p.status ?? 200);
        if (p.map) await waitForMap(page, mode, label);
        await page.waitForLoadState('networkidle', { timeout: NAV_TIMEOUT_MS });
        await page.addScriptTag({ path: AXE_PATH });
        if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
          // A Content-Security-Policy without 'unsafe-inline' blocks the injected tag;
          // evaluation through the DevTools protocol is not subject to it.
          await page.evaluate(readFileSync(AXE_PATH, 'utf8'));
        }
        const violations = await page.evaluate(async () => {
          const result = await window.axe.run(document, { resultTypes: ['violations'] });
          return result.violations.map((v) => ({
            id: v.id,
            impact: v.impact,
            help: v.help,
            helpUrl: v.helpUrl,
            nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
          }));
        });
        const report = violations.map((v) =>
          `[${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n` +
          v.nodes.slice(0, 8).map((n) => `      at ${n.target}\n        ${(n.summary ?? '').replace(/\n/g, '\n        ')}`).join('\n') +
          (v.nodes.length > 8 ? `\n      ... and ${v.nodes.length - 8} more` : ''));
        assert.ok(violations.length === 0, `${label}: ${violations.length} accessibility violation(s):\n    ${report.join('\n    ')}`);
      });
    }

    pageTest('08 unknown names give a 404 page', async ({ page, w, origin }) => {
      const label = `404 /process/${UNKNOWN} (${mode})`;
      await gotoPage(page, origin, `/process/${UNKNOWN}`, label, 404);
      const text = await page.locator('body').innerText();
      assert.ok(text.includes(UNKNOWN), `${label}: the page does not name "${UNKNOWN}"`);
      assert.ok(await findLink(page, '/search'), `${label}: the page has no link to /search`);
      await assertChrome(page, label, 'fi');
      await page.waitForLoadState('networkidle', { timeout: NAV_TIMEOUT_MS });
      assertClean(w, label, { documentStatus: 404 });
      for (const path of [`/chain/${UNKNOWN}`, `/segmentation/${UNKNOWN}`, `/workflow/${UNKNOWN}.x`, `/workflow/${PROCESS}.${UNKNOWN}`]) {
        const response = await page.request.get(`${origin}${path}`);
        assert.equal(response.status(), 404, `GET ${path} (${mode}): HTTP status`);
        assert.match(await response.text(), /href=["']\/search/, `GET ${path} (${mode}): the 404 page has no link to /search`);
      }
    });

    pageTest('09 time to rendered SVG of level 3', async ({ page, origin }) => {
      let label = `level 2 /chain/${CHAIN} (${mode})`;
      await gotoPage(page, origin, `/chain/${CHAIN}`, label);
      await waitForMap(page, mode, label);
      const processes = (await linkPaths(page))
        .filter((path) => path.startsWith('/process/'))
        .map((path) => path.slice('/process/'.length));
      assert.ok(processes.includes(PROCESS), `${label}: no link to /process/${PROCESS}; process links: ${JSON.stringify(processes)}`);

      // Once unmeasured, so that the browser has fetched the page's assets (viz-global.js) before.
      await page.goto(`${origin}/process/${PROCESS}`, { waitUntil: 'load' });
      await waitForMap(page, mode, 'warm-up');

      const measured = [];
      for (const name of processes) {
        label = `level 3 /process/${name} (${mode})`;
        const started = performance.now();
        const response = await page.goto(`${origin}/process/${encodeURIComponent(name)}`, { waitUntil: 'commit' });
        await page.waitForSelector('#map svg', { state: 'attached', timeout: MAP_TIMEOUT_MS });
        const ms = Math.round(performance.now() - started);
        assert.equal(response?.status(), 200, `${label}: HTTP status`);
        await waitForMap(page, mode, label);
        const nodes = await page.locator('#map svg g.node').count();
        const line = { metric: 'svg_ms', mode, process: name, ms };
        console.log(JSON.stringify(line));
        measured.push({ ...line, nodes });
        await page.waitForLoadState('load');
      }
      const largest = measured.reduce((a, b) => (b.nodes > a.nodes ? b : a));
      for (const m of measured) m.largest = m === largest;
      timings.push(...measured);
      writeFileSync(join(ARTIFACTS, 'timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
      await screenshot(page, `${mode}-09-largest-${largest.process}`);
      const slow = measured.filter((m) => m.ms >= SVG_BUDGET_MS);
      assert.ok(slow.length === 0, `${mode}: level-3 maps took ${SVG_BUDGET_MS} ms or more to show their SVG ` +
        `(largest is ${largest.process} with ${largest.nodes} nodes, ${largest.ms} ms): ${JSON.stringify(slow)}`);
    });

    if (mode === 'browser') {
      test('10 browser mode never ran dot', () => {
        const runs = existsSync(server.dotMark) ? readFileSync(server.dotMark, 'utf8').trim() : '';
        assert.equal(runs, '', `with --renderer browser the server ran dot: ${runs}`);
      });
    }
  });
}
