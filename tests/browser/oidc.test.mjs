// Staff sign-in through the region's identity provider in headless Chromium: the
// authorization-code flow with PKCE against a real OpenID provider (oidc-provider) on loopback.
// A nurse signs in on the provider's own page, comes back signed in, and looks a client up; the
// callback cannot be replayed; an account without the staff role gets no session; the auditor
// sees the nurse's access under the name the provider gave.
//
// Run with scripts/browser-test (POLKU_BIN names the polku binary). Screenshots go to
// tests/browser/artifacts/oidc-*.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startIdp } from './idp.mjs';
import { launchBrowser } from './support.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '..', '..');
const ARTIFACTS = join(HERE, 'artifacts');
const AXE_PATH = join(HERE, 'node_modules', 'axe-core', 'axe.min.js');
const CLIENTS = 200;
const CLIENT_ID = 'polku-perhekeskus';

const accounts = {
  terhi: { name: 'Terhi Terveydenhoitaja', polku_role: 'staff', polku_units: [] },
  kalle: { name: 'Kalle Katselija', polku_role: 'viewer' },
};
let idp;
let server;
let browser;
let work;

async function startServer() {
  const bin = resolve(process.cwd(), process.env.POLKU_BIN ?? '');
  work = mkdtempSync(join(tmpdir(), 'polku-oidc-'));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  idp = await startIdp({ clientId: CLIENT_ID, redirectUri: `${origin}/staff/oidc/callback`, accounts });
  // The shipped model with this region's identity provider added to its polku.toml.
  const model = join(work, 'model');
  cpSync(join(REPO_ROOT, 'processes', 'keusote'), model, { recursive: true });
  appendFileSync(join(model, 'polku.toml'), [
    '', '[oidc]', `issuer = "${idp.issuer}"`, `client_id = "${CLIENT_ID}"`,
    `redirect_uri = "${origin}/staff/oidc/callback"`, '',
  ].join('\n'));
  const child = spawn(bin, [
    'serve', '--model', model, '--database', `sqlite://${work}/polku.sqlite`,
    '--demo-clients', String(CLIENTS), '--listen', `127.0.0.1:${port}`,
  ], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  process.once('exit', () => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  child.stdout.setEncoding('utf8');
  await new Promise((resolveStarted, reject) => {
    const timer = setTimeout(() => reject(new Error(`no address printed:\n${stdout}\n${stderr}`)), 120_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes(`${origin}/`)) { clearTimeout(timer); resolveStarted(); }
    });
    child.once('exit', (code) => reject(new Error(`polku serve exited (${code}):\n${stderr}`)));
  });
  const token = (role) => {
    const line = stderr.split('\n').find((l) => l.trim().startsWith(`${role} `));
    assert.ok(line, `no ${role} token printed:\n${stderr}`);
    return line.trim().split(/\s+/)[1];
  };
  return { child, origin, model, owner: token('process_owner'), auditor: token('auditor'), log: () => stderr };
}

/** The identity code of the first simulated client, as the demo made it. */
function firstClient() {
  const out = join(work, 'events.jsonl');
  execFileSync(resolve(process.cwd(), process.env.POLKU_BIN), [
    'simulate', '--model', 'processes/keusote', '--clients', String(CLIENTS), '--seed', '1', '--out', out,
  ], { cwd: REPO_ROOT, stdio: 'ignore' });
  return JSON.parse(readFileSync(out, 'utf8').split('\n')[0]).client;
}

async function shot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `oidc-${name}.png`), fullPage: true });
}

/** A browser context that reaches only Polku and the identity provider. */
async function newContext() {
  const context = await browser.newContext({ locale: 'fi-FI', viewport: { width: 1280, height: 900 } });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    return url.startsWith(server.origin) || url.startsWith(idp.issuer) ? route.continue() : route.abort();
  });
  return context;
}

/** Signs in on the provider's page as `login`, giving consent when asked. */
async function signInAtProvider(page, login) {
  await page.click('#sign-in-provider');
  await page.waitForURL((url) => url.href.startsWith(idp.issuer));
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'mikä tahansa');
  await page.click('button[type=submit]');
  await page.waitForLoadState('load');
  if (page.url().startsWith(idp.issuer) && await page.locator('button[type=submit]').count() > 0) {
    await page.click('button[type=submit]');
  }
}

before(async () => {
  server = await startServer();
  const model = await (await fetch(`${server.origin}/api/v1/model`, {
    headers: { authorization: `Bearer ${server.owner}` },
  })).json();
  accounts.terhi.polku_units = model.services.map((s) => s.name);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) {
    const exited = once(server.child, 'exit');
    server.child.kill('SIGTERM');
    await exited;
  }
  await idp?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('a nurse signs in through the identity provider with PKCE and looks a client up', { timeout: 180_000 }, async () => {
  const code = firstClient();
  const context = await newContext();
  const page = await context.newPage();
  const navigations = [];
  page.on('request', (r) => { if (r.isNavigationRequest()) navigations.push(r.url()); });

  await page.goto(`${server.origin}/staff`);
  await shot(page, 'sign-in');
  await signInAtProvider(page, 'terhi');
  await page.waitForSelector('#look-up', { timeout: 30_000 });
  assert.equal(new URL(page.url()).pathname, '/staff');
  assert.match(await page.textContent('.signed-in'), /Terhi Terveydenhoitaja/);

  // The authorization request carried a PKCE S256 challenge, a state and a nonce; the
  // verifier itself never went through the browser.
  const authorize = new URL(navigations.find((u) => u.startsWith(idp.issuer) && u.includes('response_type=code')));
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  assert.match(authorize.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  assert.ok(authorize.searchParams.get('state') && authorize.searchParams.get('nonce'));
  assert.ok(navigations.every((u) => !u.includes('code_verifier')));
  assert.ok(idp.calls.some((c) => c.grant === 'pkce'), `the provider saw a PKCE code exchange: ${JSON.stringify(idp.calls)}`);

  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'polku_session');
  assert.ok(session && session.httpOnly && session.sameSite === 'Strict', 'an HttpOnly, SameSite=Strict session');
  assert.ok(!cookies.some((c) => c.name === 'polku_sign_in'), 'the sign-in cookie is cleared once used');
  await shot(page, 'signed-in');

  await page.fill('#client', code);
  await page.fill('#purpose', 'neuvolakäynti');
  await page.click('#look-up button[type=submit]');
  await page.waitForSelector('article.case');
  assert.ok(!(await page.content()).includes(code), 'the page never shows the identity code');
  await shot(page, 'status');

  // The way back from the provider works once: a replayed callback signs nobody in.
  const callback = navigations.find((u) => u.startsWith(`${server.origin}/staff/oidc/callback`));
  assert.ok(callback, 'the provider sent the browser back to the callback');
  const replay = await context.newPage();
  const answer = await replay.goto(callback);
  assert.equal(answer.status(), 400);
  assert.match(await replay.textContent('main'), /jo käytetty/);
  await replay.close();

  // The auditor finds the look-up under the name the provider gave.
  const response = await fetch(`${server.origin}/api/v1/audit`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.auditor}`, 'content-type': 'application/json' },
    body: JSON.stringify({ client: code }),
  });
  assert.equal(response.status, 200);
  const rows = await response.json();
  assert.ok(rows.some((r) => r.actor === 'Terhi Terveydenhoitaja' && r.purpose === 'neuvolakäynti'),
    `the nurse's access is logged: ${JSON.stringify(rows)}`);
  await context.close();
});

test('an account without the staff role gets no session', { timeout: 60_000 }, async () => {
  const context = await newContext();
  const page = await context.newPage();
  await page.goto(`${server.origin}/staff`);
  await signInAtProvider(page, 'kalle');
  await page.waitForSelector('.problem');
  assert.match(await page.textContent('.problem'), /ei ole tämän palvelun työntekijän roolia/);
  assert.ok(!(await context.cookies()).some((c) => c.name === 'polku_session'), 'no session cookie');
  await page.addScriptTag({ path: AXE_PATH });
  const violations = await page.evaluate(async () => (await window.axe.run(document)).violations.map((v) => v.id));
  assert.deepEqual(violations, []);
  await shot(page, 'not-staff');
  await context.close();
});

test('a callback that this browser did not start is refused', { timeout: 60_000 }, async () => {
  const context = await newContext();
  const page = await context.newPage();
  const answer = await page.goto(`${server.origin}/staff/oidc/callback?code=forged&state=forged`);
  assert.equal(answer.status(), 400);
  assert.ok(!(await context.cookies()).some((c) => c.name === 'polku_session'));
  await context.close();
});
