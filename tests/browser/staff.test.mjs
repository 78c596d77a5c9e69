// The staff page in headless Chromium: a staff user signs in with the demo token, looks up a
// simulated client by personal identity code with a purpose, sees the status at a glance,
// records a completed step and sees the status change; the auditor then finds both accesses.
// The identity code never appears in an address, the page, or the history.
//
// Run with scripts/browser-test (POLKU_BIN names the polku binary). Screenshots go to
// tests/browser/artifacts/staff-*.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { axe, launchBrowser, REPO_ROOT, shot as keep, startServer, tearDown } from './support.mjs';

const CLIENTS = 300;

let server;
let browser;
let work;

/** The identity code and process of the first simulated client, as the demo made them. */
function firstClient() {
  const out = join(work, 'events.jsonl');
  execFileSync(resolve(process.cwd(), process.env.POLKU_BIN), [
    'simulate', '--model', 'processes/keusote', '--clients', String(CLIENTS), '--seed', '1', '--out', out,
  ], { cwd: REPO_ROOT, stdio: 'ignore' });
  const first = JSON.parse(readFileSync(out, 'utf8').split('\n')[0]);
  return { code: first.client, process: first.process };
}

// The full page, and what staff see first, without scrolling.
const shot = (page, name) => keep(page, `staff-${name}`, true);

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'polku-staff-'));
  const started = await startServer(work, CLIENTS);
  server = { ...started, staff: started.token('staff'), auditor: started.token('auditor') };
  browser = await launchBrowser();
});

after(() => tearDown(browser, server, work));

test('a staff user signs in, looks a client up, records a step and sees the status change', { timeout: 180_000 }, async () => {
  const { code } = firstClient();
  const context = await browser.newContext({ locale: 'fi-FI', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));

  await page.goto(`${server.origin}/staff`);
  await page.fill('#token', 'polku_wrong');
  await page.click('#sign-in button[type=submit]');
  assert.match(await page.textContent('main'), /Tunniste ei kelpaa/, 'a wrong token is refused');

  await page.fill('#token', server.staff);
  await page.click('#sign-in button[type=submit]');
  await page.waitForSelector('#look-up');
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'polku_session');
  assert.ok(session && session.httpOnly && session.sameSite === 'Strict', 'an HttpOnly, SameSite=Strict session cookie');
  await shot(page, 'signed-in');
  await axe(page, 'look-up form');

  await page.fill('#client', code);
  await page.fill('#purpose', 'neuvolakäynti');
  await page.click('#look-up button[type=submit]');
  await page.waitForSelector('article.case');
  const html = await page.content();
  assert.ok(!html.includes(code), 'the page never shows the identity code');
  assert.ok(!page.url().includes(code), 'the address never holds the identity code');
  assert.ok(requests.every((u) => !u.includes(code)), 'no request address holds the identity code');
  assert.ok(await page.locator('.complete strong').first().isVisible(), 'planned service complete: yes or no');
  assert.ok((await page.locator('table.steps tbody tr').count()) > 0, 'the planned steps are listed');
  await page.waitForSelector('article.case figure.map svg');
  await shot(page, 'status');
  await axe(page, 'client status');

  // Record the first open step of the first open case as done.
  const form = page.locator('form.record').first();
  await form.waitFor();
  const caseId = await form.locator('input[name=case]').getAttribute('value');
  const stepValue = await form.locator('select[name=step] option').first().getAttribute('value');
  const stepTitle = (await form.locator('select[name=step] option').first().textContent()).trim();
  const row = (p) => p.locator(`article[id="case-${caseId}"] table.steps tbody tr`, { hasText: stepTitle }).first();
  const before = (await row(page).locator('td.state').textContent()).trim();
  assert.notEqual(before, 'tehty');
  await form.locator('select[name=kind]').selectOption('step_completed');
  await form.locator('select[name=step]').selectOption(stepValue);
  await form.locator('button[type=submit]').click();
  await page.waitForSelector('p.notice');
  assert.match(await page.textContent('p.notice'), /Kirjattu/, await page.textContent('p.notice'));
  const afterState = (await row(page).locator('td.state').textContent()).trim();
  assert.equal(afterState, 'tehty', `the step ${stepTitle} is now done`);
  assert.ok(!(await page.content()).includes(code));
  await shot(page, 'recorded');

  // Why the plan is what it is: the version, the segment and its decision, each step's reason.
  await page.locator(`article[id="case-${caseId}"] form.explain button[type=submit]`).click();
  await page.waitForSelector('section.explanation table.explain-steps');
  assert.match(await page.textContent('h1'), /Miksi tämä suunnitelma/);
  assert.match(await page.textContent('section.explanation dl'), /Mallin versio/);
  const stepRows = page.locator('table.explain-steps tbody tr');
  assert.ok((await stepRows.count()) > 1, 'every step of the plan has its reason');
  const doneRow = stepRows.filter({ hasText: stepTitle }).first();
  assert.ok(Number((await doneRow.locator('td').last().textContent()).trim()) >= 1, `${stepTitle} counts as done`);
  assert.ok(!(await page.content()).includes(code));
  await shot(page, 'explain');
  await axe(page, 'why this plan');
  // One step on one date.
  await page.locator('form.explain-choice select[name=step]').selectOption(stepValue);
  await page.locator('form.explain-choice button[type=submit]').click();
  await page.waitForSelector('section.explanation table.explain-steps');
  assert.equal(await page.locator('table.explain-steps tbody tr').count(), 1);
  await page.locator('form button', { hasText: 'Takaisin' }).first().click();
  await page.waitForSelector('article.case');

  // The history holds no identity code either.
  const history = await page.evaluate(() => window.history.length);
  assert.ok(history >= 1);

  // The auditor sees both accesses: who, purpose, the client's pseudonym.
  const response = await fetch(`${server.origin}/api/v1/audit`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.auditor}`, 'content-type': 'application/json' },
    body: JSON.stringify({ client: code }),
  });
  assert.equal(response.status, 200);
  const rows = await response.json();
  const staffRows = rows.filter((r) => r.actor === 'demo-terveydenhoitaja' && r.purpose === 'neuvolakäynti');
  assert.ok(staffRows.length >= 4, `the look-up, the re-read after recording and the explanations are logged: ${JSON.stringify(rows)}`);
  assert.ok(!JSON.stringify(rows).includes(code));
  await context.close();
});

test('a form without the session\'s CSRF token is refused', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.origin}/staff`);
  await page.fill('#token', server.staff);
  await page.click('#sign-in button[type=submit]');
  await page.waitForSelector('#look-up');
  const status = await page.evaluate(async () => {
    const r = await fetch('/staff/client', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'csrf=forged&client=010101-123N&purpose=x',
    });
    return r.status;
  });
  assert.equal(status, 403);
  await context.close();
});
