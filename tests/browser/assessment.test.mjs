// The assessment form in headless Chromium: a nurse makes a one-time link for a client's case
// from the staff page, the client fills the form in on a phone-sized screen (keyboard and screen
// reader labels, axe-core, nothing loaded from elsewhere), the nurse goes through the answers,
// sees the proposed segment, overrides it with a reason, and the status follows the new
// segment. The answers leave nothing behind: not in the database files (the WAL included), not
// in the server's output, and the link works only once.
//
// Run with scripts/browser-test (POLKU_BIN names the polku binary). Screenshots go to
// tests/browser/artifacts/form-*.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { axe, clientWithOpenCheck, launchBrowser, memoryHolding, shot as keep, startServer, tearDown } from './support.mjs';

const CLIENTS = 300;
// A free-text answer that must not survive the confirmation anywhere.
const SECRET = 'Kotona riidellään paljon tunnistettava-lause-7319';

let server;
let browser;
let work;

const shot = (page, name) => keep(page, `form-${name}`);

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'polku-form-'));
  server = await startServer(work, CLIENTS);
  browser = await launchBrowser();
});

after(() => tearDown(browser, server, work));

test('a nurse makes a link, the client answers on a phone, the nurse overrides the proposal with a reason and no answer remains', { timeout: 240_000 }, async () => {
  const { code, caseId } = clientWithOpenCheck(work, CLIENTS);
  const staff = await browser.newContext({ locale: 'fi-FI', viewport: { width: 1280, height: 900 } });
  const nurse = await staff.newPage();
  await nurse.goto(`${server.origin}/staff`);
  await nurse.fill('#token', server.token('staff'));
  await nurse.click('#sign-in button[type=submit]');
  await nurse.waitForSelector('#look-up');
  await nurse.fill('#client', code);
  await nurse.fill('#purpose', 'laaja terveystarkastus');
  await nurse.click('#look-up button[type=submit]');
  const article = nurse.locator(`article[id="case-${caseId}"]`);
  await article.waitFor();
  await article.locator('section.assessment-form button[type=submit]').click();
  await nurse.waitForSelector('p.notice');
  const notice = await nurse.textContent('p.notice');
  const link = notice.match(/https?:\/\/\S+\/lomake\/\S+/)?.[0];
  assert.ok(link, `the notice gives the link: ${notice}`);
  assert.match(await nurse.locator(`article[id="case-${caseId}"] section.assessment-form`).textContent(), /odottaa asiakkaan vastauksia/);

  // The client, on a phone.
  const phone = await browser.newContext({ locale: 'fi-FI', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  const client = await phone.newPage();
  const requests = [];
  client.on('request', (r) => requests.push(r.url()));
  await client.goto(link);
  await client.waitForSelector('form.assessment');
  const width = await client.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `the form fits a 360 px screen (${width} px)`);
  await axe(client, 'the client form');
  // A forwarded link opens for no one else once the client has opened it.
  const other = await browser.newContext({ locale: 'fi-FI' });
  const elsewhere = await (await other.newPage()).goto(link);
  assert.equal(elsewhere.status(), 404, 'the link is bound to the browser that opened it');
  await other.close();
  await shot(client, 'client');
  // Answers chosen by their labels, as a screen reader or a finger would.
  const question = (name) => client.locator('fieldset.question', { has: client.locator(`input[name="${name}"]`) });
  await question('viihtyminen').getByLabel('2', { exact: true }).check();
  await question('kaverit').getByLabel('Kyllä').check();
  await question('kiusaaminen').getByLabel('Kyllä').check();
  await question('uni').getByLabel('Ei').check();
  await question('huoltajan_huoli').getByLabel('vähän').check();
  await question('tuki_kotona').getByLabel('Kyllä').check();
  await client.getByLabel('Mitä harrastat?').fill(SECRET);
  // Keyboard only: the send button is reached with Tab and pressed with Enter.
  await client.locator('form.assessment button[type=submit]').focus();
  await client.keyboard.press('Enter');
  await client.waitForSelector('p[role=status]');
  assert.match(await client.textContent('main'), /Kiitos/);
  await shot(client, 'sent');
  assert.ok(requests.every((u) => u.startsWith(server.origin)), `nothing loaded from elsewhere: ${requests.filter((u) => !u.startsWith(server.origin))}`);
  // Used up.
  const again = await client.goto(link);
  assert.equal(again.status(), 404, 'the link works once');
  await phone.close();

  // The nurse goes through the answers.
  await nurse.fill('#client', code).catch(() => {});
  await nurse.goto(`${server.origin}/staff`);
  await nurse.fill('#client', code);
  await nurse.fill('#purpose', 'laaja terveystarkastus');
  await nurse.click('#look-up button[type=submit]');
  await article.waitFor();
  await article.locator('section.assessment-form button[type=submit]').click();
  await nurse.waitForSelector('form.confirm');
  const review = await nurse.textContent('main');
  assert.match(review, /Ehdotettu segmentti: ?yhteistyö/, review);
  assert.match(review, /vastauksista: viihtyminen, kiusaaminen/, review);
  assert.ok(review.includes(SECRET), 'the nurse sees the free-text answer');
  assert.ok(!review.includes(code));
  await axe(nurse, 'the review');
  await shot(nurse, 'review');
  // Another segment without a reason is refused.
  await nurse.selectOption('#confirm-segment', 'huolenpito');
  await nurse.click('form.confirm button[type=submit]');
  await nurse.waitForSelector('p.notice.failed');
  assert.match(await nurse.textContent('p.notice.failed'), /perustelun/);
  await nurse.selectOption('#confirm-segment', 'huolenpito');
  await nurse.fill('#confirm-reason', 'Huoltajan kanssa sovittu tiiviimpi tuki');
  await nurse.click('form.confirm button[type=submit]');
  await nurse.waitForSelector('p.notice');
  assert.match(await nurse.textContent('p.notice'), /vastaukset hävitettiin/);
  assert.match(await article.locator('dd.segment').textContent(), /Huolenpito/);
  await shot(nurse, 'confirmed');
  await staff.close();

  // Nothing of the answers remains: not in the database files, not in what the server wrote;
  // the axis values stay with the segment.
  const stored = Buffer.concat(readdirSync(work).filter((f) => f.startsWith('polku.sqlite')).map((f) => readFileSync(join(work, f))));
  assert.ok(stored.includes(Buffer.from('"axes":{"')), 'the assessment keeps its axis values');
  for (const file of readdirSync(work).filter((f) => f.startsWith('polku.sqlite'))) {
    const bytes = readFileSync(join(work, file));
    assert.ok(!bytes.includes(Buffer.from(SECRET)), `${file} holds no answer`);
    assert.ok(!bytes.includes(Buffer.from('tunnistettava-lause')), `${file} holds no part of an answer`);
  }
  assert.ok(!server.output().includes('tunnistettava-lause'), 'the server never writes an answer');
  const metrics = await (await fetch(`${server.origin}/metrics`)).text();
  assert.ok(metrics.includes('polku_'), 'the metrics answer');
  const token = link.split('/lomake/')[1];
  assert.ok(!metrics.includes('tunnistettava-lause') && !metrics.includes(token), 'the metrics hold no answer and no link');
  // Nor in the server's memory, as a dump of the running process would show it: every copy
  // (the request's bytes, the parsed form, the pages that showed the answers) was overwritten
  // when it was freed. A phrase the server never saw is the control: the search works.
  assert.deepEqual(memoryHolding(server.child.pid, 'tunnistettava-lause'), [], 'no answer in the server\'s memory');
  const control = memoryHolding(server.child.pid, caseId);
  assert.ok(control.some((r) => r.startsWith('[heap]') || r.startsWith('anonymous')), `the case id, which the server keeps, is found on its heap: ${control}`);
});
