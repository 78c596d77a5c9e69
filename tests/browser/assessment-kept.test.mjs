// The configured alternative to discarding an assessment form's answers: with
// `[privacy] keep_answers_days` in polku.toml, the answers are kept encrypted after the nurse
// confirms the segment, shown to staff of the case's unit until they expire, and never written
// in clear: not in the database files (the WAL included) and not in what the server prints.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, clientWithOpenCheck, launchBrowser, shot as keep, startServer, tearDown } from './support.mjs';

const CLIENTS = 200;
const SECRET = 'Sählyä ja partiota säilytettävä-lause-4410';

let server;
let browser;
let work;
let model;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'polku-kept-'));
  model = join(work, 'malli');
  cpSync(join(REPO_ROOT, 'processes', 'keusote'), model, { recursive: true });
  appendFileSync(join(model, 'polku.toml'), '\n[privacy]\nkeep_answers_days = 30\n');
  server = await startServer(work, CLIENTS, model);
  browser = await launchBrowser();
});

after(() => tearDown(browser, server, work));

test('with keep_answers_days the confirmed answers are kept encrypted and shown to the nurse until they expire', { timeout: 240_000 }, async () => {
  const { code, caseId } = clientWithOpenCheck(work, CLIENTS, model);
  const staff = await browser.newContext({ locale: 'fi-FI', viewport: { width: 1280, height: 900 } });
  const nurse = await staff.newPage();
  const lookUp = async () => {
    await nurse.goto(`${server.origin}/staff`);
    await nurse.fill('#client', code);
    await nurse.fill('#purpose', 'laaja terveystarkastus');
    await nurse.click('#look-up button[type=submit]');
  };
  await nurse.goto(`${server.origin}/staff`);
  await nurse.fill('#token', server.token('staff'));
  await nurse.click('#sign-in button[type=submit]');
  await nurse.waitForSelector('#look-up');
  await lookUp();
  const article = nurse.locator(`article[id="case-${caseId}"]`);
  await article.waitFor();
  assert.equal(await article.locator('form.kept-answers').count(), 0, 'nothing kept yet');
  await article.locator('section.assessment-form button[type=submit]').click();
  await nurse.waitForSelector('p.notice');
  const link = (await nurse.textContent('p.notice')).match(/https?:\/\/\S+\/lomake\/\S+/)?.[0];
  assert.ok(link, 'the notice gives the link');

  const phone = await browser.newContext({ locale: 'fi-FI', viewport: { width: 360, height: 740 }, isMobile: true });
  const client = await phone.newPage();
  await client.goto(link);
  await client.waitForSelector('form.assessment');
  await client.getByLabel('Mitä harrastat?').fill(SECRET);
  await client.locator('form.assessment button[type=submit]').click();
  await client.waitForSelector('p[role=status]');
  await phone.close();

  await lookUp();
  await article.waitFor();
  await article.locator('section.assessment-form button[type=submit]').click();
  await nurse.waitForSelector('form.confirm');
  await nurse.click('form.confirm button[type=submit]');
  await nurse.waitForSelector('p.notice');
  const notice = await nurse.textContent('p.notice');
  assert.match(notice, /vastaukset säilytetään salattuina päivään \d{4}-\d\d-\d\d/, notice);
  const until = notice.match(/\d{4}-\d\d-\d\d/)[0];
  const days = (Date.parse(until) - Date.now()) / 86_400_000;
  assert.ok(days > 28 && days < 31, `kept for 30 days: until ${until}`);

  // The client's page offers the kept answers; they open beside the form's questions.
  const kept = article.locator('form.kept-answers button[type=submit]');
  assert.match(await kept.textContent(), new RegExp(`poistetaan ${until}`));
  await kept.click();
  await nurse.waitForSelector('section.kept');
  const page = await nurse.textContent('main');
  assert.ok(page.includes(SECRET), 'the kept free-text answer is shown');
  assert.ok(page.includes('Mitä harrastat?'), 'beside its question');
  await keep(nurse, 'form-kept');
  await nurse.click('main form button[type=submit]');
  await article.waitFor();
  await staff.close();

  // Kept, but never in clear: the database holds only the encrypted set.
  for (const file of readdirSync(work).filter((f) => f.startsWith('polku.sqlite'))) {
    const bytes = readFileSync(join(work, file));
    assert.ok(!bytes.includes(Buffer.from('säilytettävä-lause')), `${file} holds no answer in clear`);
  }
  assert.ok(!server.output().includes('säilytettävä-lause'), 'the server never prints an answer');
  // The auditor sees that the answers were kept and later read, by whom.
  const audit = await (await fetch(`${server.origin}/api/v1/audit?limit=50`, { headers: { authorization: `Bearer ${server.token('auditor')}` } })).json();
  const actions = audit.map((a) => a.action);
  assert.ok(actions.includes('answers_kept') && actions.includes('answers'), `logged: ${actions}`);
});
