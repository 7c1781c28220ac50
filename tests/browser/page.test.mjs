// The live page (GET /test/) in a real headless browser: Debian's chromium
// driven by playwright-core (executablePath), against a real mockapi.
//
// Run it through tests/browser/run.sh MOCKAPI MOCKASSERT, which installs what
// is missing (ci/setup-browser.sh) and passes the paths below. Directly:
//   node tests/browser/page.test.mjs --mockapi build/release/mockapi \
//     --mockassert build/release/mockassert --chromium /usr/bin/chromium \
//     --modules build/browser/node_modules --artefacts build/test-logs/browser
//
// It relies only on the page's DOM contract and the feed protocol of issue 16
// (#status, [data-counter] .value, #journal tr[data-seq], #filter and ?q=,
// #detail, #copy-expect / #detail-expect, #btn-reset, #plain,
// window.mockapiPage, #token= in the fragment). Checks 1-8 are the design's
// list (run in the order 1 2 3 4 6 7 8 5: the reset comes last); 10 is the
// admin token, 11 the gap notice; 9, last, the console over the whole run. Each check is named, prints ok or FAIL with why, and a
// screenshot of the page after it lands in the artefacts folder. Every wait
// has a deadline (no sleep is used to synchronise), and the whole run is
// bounded (WHOLE_MS). Servers listen on 127.0.0.1, port 0.
// Ends with "N passed, M failed"; exits 1 if any check failed.

import { spawn, execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const WHOLE_MS = 80_000;      // the whole run, browser start to last check
const LIVE_MS = 500;          // a request must show as a row within this
const started = Date.now();

function parseArgs(argv) {
    const a = {};
    for (let i = 0; i < argv.length; i++) {
        const m = /^--([a-z]+)$/.exec(argv[i]);
        if (!m || i + 1 >= argv.length) usage(`bad argument ${JSON.stringify(argv[i])}`);
        a[m[1]] = argv[++i];
    }
    for (const k of ['mockapi', 'mockassert', 'chromium', 'modules', 'artefacts'])
        if (!a[k]) usage(`--${k} is missing`);
    return a;
}
function usage(why) {
    console.error(`page.test.mjs: ${why}\nusage: node page.test.mjs --mockapi BIN --mockassert BIN --chromium BIN --modules DIR/node_modules --artefacts DIR`);
    process.exit(2);
}
const args = parseArgs(process.argv.slice(2));
const artefacts = path.resolve(args.artefacts);
mkdirSync(artefacts, { recursive: true });

// playwright-core is installed under build/, not next to this file
const require = createRequire(path.join(path.resolve(args.modules), '..', 'package.json'));
const { chromium } = require('playwright-core');

// ---------------------------------------------------------------- helpers

const children = [];
let browser = null;

// a check's own verdict (printed whole) as opposed to an error thrown by
// playwright or node (printed up to its call log)
class CheckFailure extends Error {}
function fail(msg) { throw new CheckFailure(msg); }
const why = (e) => (e instanceof CheckFailure ? e.message : String(e.message).split('\n')[0]);

// within(ms, what, promise): the promise, or a rejection naming what was
// awaited once ms have passed
function within(ms, what, promise) {
    let t;
    const timer = new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: not within ${ms} ms`)), ms); });
    return Promise.race([promise, timer]).finally(() => clearTimeout(t));
}

// startMock(name, extraArgs): runs mockapi on 127.0.0.1 port 0, reads its
// MOCKAPI_ADDR= line (and MOCKAPI_TLS_ADDR= when TLS is on); stderr to a log
function startMock(name, extra) {
    const withTls = !extra.includes('off');
    const proc = spawn(path.resolve(args.mockapi), ['-addr', '127.0.0.1:0', ...extra],
        { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(proc);
    const log = [];
    proc.stderr.on('data', (d) => log.push(d));
    proc.on('exit', () => writeFileSync(path.join(artefacts, `${name}.stderr.log`), Buffer.concat(log)));
    return within(10_000, `${name}: MOCKAPI_ADDR= line`, new Promise((resolve, reject) => {
        let out = '';
        const got = {};
        proc.stdout.on('data', (d) => {
            out += d;
            for (const line of out.split('\n')) {
                const m = /^(MOCKAPI_ADDR|MOCKAPI_TLS_ADDR)=(\S+)$/.exec(line);
                if (m) got[m[1]] = m[2];
            }
            if (got.MOCKAPI_ADDR && (!withTls || got.MOCKAPI_TLS_ADDR))
                resolve({ proc, addr: got.MOCKAPI_ADDR, tlsAddr: got.MOCKAPI_TLS_ADDR, base: `http://${got.MOCKAPI_ADDR}` });
        });
        proc.on('exit', (code, sig) => reject(new Error(`${name} exited (${code ?? sig}) before printing its address: ${Buffer.concat(log).toString().slice(0, 500)}`)));
    }));
}

// req(base, method, path, body, headers): one HTTP request from node (no
// browser): {status, headers, text}; bounded in time
async function req(base, method, p, body, headers = {}) {
    const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(5000) };
    if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        if (!init.headers['content-type']) init.headers['content-type'] = 'application/json';
    }
    const r = await fetch(base + p, init);
    return { status: r.status, headers: r.headers, text: await r.text() };
}
async function getJSON(base, p) {
    const r = await req(base, 'GET', p, undefined, { accept: 'application/json' });
    if (r.status !== 200) fail(`GET ${p} answered ${r.status}: ${r.text.slice(0, 200)}`);
    try { return JSON.parse(r.text); } catch (e) { fail(`GET ${p} is not JSON: ${r.text.slice(0, 200)}`); }
}
// the server's journal seqs, /test/ requests left out as the feed does by default
async function serverSeqs(base) {
    const j = await getJSON(base, '/test/requests?limit=100000');
    return j.entries.map((e) => e.seq);
}
// rawPost: a request with a Host header of our choosing (fetch cannot set it)
function rawPost(addr, p, headers) {
    const [host, port] = addr.split(':');
    return within(5000, `POST ${p}`, new Promise((resolve, reject) => {
        const r = http.request({ host, port: Number(port), method: 'POST', path: p, headers }, (res) => {
            let t = '';
            res.on('data', (d) => { t += d; });
            res.on('end', () => resolve({ status: res.statusCode, text: t }));
        });
        r.on('error', reject);
        r.end();
    }));
}
function run(bin, argv) {
    return within(15_000, `${path.basename(bin)} ${argv.join(' ')}`, new Promise((resolve) => {
        execFile(bin, argv, { timeout: 14_000 }, (err, stdout, stderr) =>
            resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
    }));
}
function diffSeqs(want, have) {
    const hs = new Set(have), ws = new Set(want);
    const missing = want.filter((s) => !hs.has(s));
    const extra = have.filter((s) => !ws.has(s));
    const dups = have.filter((s, i) => have.indexOf(s) !== i);
    return { missing, extra, dups };
}
const short = (a) => (a.length > 20 ? `${a.slice(0, 20).join(',')},... (${a.length})` : a.join(','));

// What the feed delivered, as the wire says, before the page's model
// (which may well keep rows by seq and so hide a duplicate): every
// EventSource the page opens gets a listener of ours. Cleared where the
// page must clear its rows (a reset, a hello of another epoch).
function instrument(c) {
    return c.addInitScript(() => {
        const Orig = window.EventSource;
        if (!Orig) return;
        const feed = { seqs: [], opens: [], epoch: null, gaps: [] };
        Object.defineProperty(window, '__feed', { value: feed });
        window.EventSource = class extends Orig {
            constructor(url, init) {
                super(url, init);
                feed.opens.push(String(url));
                this.addEventListener('hello', (ev) => {
                    const h = JSON.parse(ev.data);
                    if (feed.epoch !== null && h.epoch !== feed.epoch) feed.seqs.length = 0;
                    feed.epoch = h.epoch;
                });
                this.addEventListener('reset', (ev) => { feed.seqs.length = 0; feed.epoch = JSON.parse(ev.data).epoch; });
                this.addEventListener('requests', (ev) => { for (const e of JSON.parse(ev.data)) feed.seqs.push(e.seq); });
                this.addEventListener('gap', (ev) => feed.gaps.push(JSON.parse(ev.data)));
            }
        };
    });
}

// ---------------------------------------------------------------- checks

const results = [];
// screenshot file of check "N words...": check-N-words.png
const shotPath = (name, suffix = '') => path.join(artefacts,
    `check-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60)}${suffix}.png`);
async function check(name, fn) {
    const t0 = Date.now();
    let err = null;
    try {
        await fn();
    } catch (e) {
        err = e;
    }
    const ms = Date.now() - t0;
    const shot = shotPath(name);
    if (ctx.page && !ctx.page.isClosed())
        await within(5000, 'screenshot', ctx.page.screenshot({ path: shot, fullPage: true })).catch(() => {});
    if (err) {
        console.log(`FAIL  ${name} (${ms} ms): ${why(err)}`);
        results.push(false);
    } else {
        console.log(`ok    ${name} (${ms} ms)`);
        results.push(true);
    }
}
function note(s) { console.log(`      ${s}`); }

const ctx = { page: null };
const consoleErrors = [];   // on the main page, for the whole run
const foreign = [];         // requests the main page made outside its origin
const feedRequests = [];    // the main page's GET /test/events requests

const watchdog = setTimeout(() => {
    console.log(`FAIL  the whole test: not finished within ${WHOLE_MS} ms; stopped`);
    console.log(`${results.filter((x) => x).length} passed, ${results.filter((x) => !x).length + 1} failed`);
    for (const c of children) c.kill('SIGKILL');
    process.exit(1);
}, WHOLE_MS);

async function main() {
    const m1 = await startMock('mockapi', ['-tls-addr', '127.0.0.1:0']);
    // the second server: another origin for check 8, and an admin token for check 10
    const token = `t0k-${process.pid}-${started}`;
    const m2 = await startMock('mockapi-other', ['-tls-addr', 'off', '-admin-token', token]);
    const origin = m1.base;
    note(`mockapi at ${m1.addr} (TLS ${m1.tlsAddr}), a second one (another origin) at ${m2.addr}`);

    const t0 = Date.now();
    browser = await within(20_000, 'chromium launch', chromium.launch({
        executablePath: args.chromium,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        timeout: 20_000,
    }));
    note(`chromium ${browser.version()} started in ${Date.now() - t0} ms`);
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    context.setDefaultTimeout(5000);
    await instrument(context);
    const page = await context.newPage();
    ctx.page = page;
    page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(`console: ${m.text()}${m.location()?.url ? ` (${m.location().url})` : ''}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
    page.on('dialog', (d) => d.accept().catch(() => {}));   // a "really reset?" confirm
    let lastRequestAt = Date.now();
    page.on('request', (r) => {
        lastRequestAt = Date.now();
        const u = new URL(r.url());
        if (/^(https?|wss?):$/.test(u.protocol) && u.origin !== origin) foreign.push(r.url());
        if (u.origin === origin && u.pathname === '/test/events') {
            const f = { url: r.url(), lastEventId: r.headers()['last-event-id'] ?? null };
            feedRequests.push(f);
            r.allHeaders().then((h) => { f.lastEventId = h['last-event-id'] ?? null; }).catch(() => {});
        }
    });

    const live = () => page.waitForFunction(() => window.mockapiPage && window.mockapiPage.connected() &&
        document.querySelector('#status')?.textContent.trim() === 'live', null, { timeout: 5000 });
    // the page's model holds exactly what the server's journal holds
    async function inSync(ms, what) {
        const deadline = Date.now() + ms;
        let want = [], have = [];
        while (Date.now() < deadline) {
            want = await serverSeqs(origin);
            have = await page.evaluate(() => window.mockapiPage.seqs());
            const d = diffSeqs(want, have);
            if (!d.missing.length && !d.extra.length && !d.dups.length) return { want, have };
            // wait for the page's model to change (a frame arriving) or 250 ms
            await page.waitForFunction((n) => window.mockapiPage.seqs().length !== n, have.length,
                { timeout: 250 }).catch(() => {});
        }
        const d = diffSeqs(want, have);
        fail(`${what}: the page's seqs differ from GET /test/requests after ${ms} ms: missing [${short(d.missing)}], ` +
            `not on the server [${short(d.extra)}], duplicated [${short(d.dups)}]`);
    }
    const statusText = () => page.$eval('#status', (e) => e.textContent.trim()).catch(() => '(no #status)');
    const rowSeqs = () => page.$$eval('#journal tbody tr[data-seq]', (rs) => rs.map((r) => Number(r.dataset.seq)));

    // 1 ------------------------------------------------------------------
    await check('1 page loads clean: no console or page error, nothing outside its origin', async () => {
        // something in the journal before the page opens: the first frame must carry it
        const r = await req(origin, 'POST', '/v1/nodes/before/heartbeat', { node_id: 'before', status: 'healthy' });
        if (r.status !== 200) fail(`heartbeat before load answered ${r.status}`);
        const tl = Date.now();
        const resp = await page.goto(origin + '/test/', { waitUntil: 'load', timeout: 10_000 });
        if (!resp || resp.status() !== 200) fail(`GET /test/ answered ${resp ? resp.status() : 'nothing'}`);
        const ct = resp.headers()['content-type'] || '';
        if (!/^text\/html/.test(ct)) fail(`GET /test/ Content-Type is ${JSON.stringify(ct)}, not text/html`);
        await live().catch(async () => fail(`not live 5 s after load: #status ${JSON.stringify(await statusText())}, ` +
            `mockapiPage ${await page.evaluate(() => typeof window.mockapiPage)}`));
        note(`loaded and live in ${Date.now() - tl} ms`);
        await inSync(3000, 'after load');
        const plainShown = await page.$eval('#plain', (e) => e.offsetParent !== null || getComputedStyle(e).display !== 'none')
            .catch(() => false);
        if (plainShown) fail('#plain (the no-JavaScript view) is still shown with JavaScript on');
        const inline = await page.evaluate(() => [...document.querySelectorAll('*')].flatMap((e) =>
            [...e.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `<${e.localName} ${a.name}>`)));
        if (inline.length) fail(`inline event handler attributes: ${inline.slice(0, 5).join(' ')}`);
        if (consoleErrors.length) fail(`console/page errors: ${consoleErrors.join(' | ')}`);
        if (foreign.length) fail(`requests outside ${origin}: ${foreign.join(' ')}`);
    });

    // 2 ------------------------------------------------------------------
    let liveSeq = 0;
    const livePath = `/v1/nodes/live-${process.pid}/heartbeat`;
    await check(`2 a request shows as a row within ${LIVE_MS} ms, without reload`, async () => {
        await page.evaluate((p) => {
            // stamp the moment the row appears (the page clock is the machine's clock too)
            window.__seen = 0;
            const look = () => [...document.querySelectorAll('#journal tbody tr[data-seq]')]
                .some((r) => r.textContent.includes(p));
            new MutationObserver((_, obs) => {
                if (!window.__seen && look()) { window.__seen = Date.now(); obs.disconnect(); }
            }).observe(document.querySelector('#journal'), { childList: true, subtree: true, characterData: true });
        }, livePath);
        const nav0 = await page.evaluate(() => performance.getEntriesByType('navigation').length + ':' + performance.timeOrigin);
        const sent = Date.now();
        const r = await req(origin, 'POST', livePath, { node_id: 'live', status: 'healthy', seq: 42 });
        if (r.status !== 200) fail(`heartbeat answered ${r.status}`);
        await page.waitForFunction(() => window.__seen > 0, null, { timeout: 3000 })
            .catch(() => fail(`no row with ${livePath} within 3000 ms`));
        const latency = (await page.evaluate(() => window.__seen)) - sent;
        note(`latency request -> row: ${latency} ms`);
        const nav1 = await page.evaluate(() => performance.getEntriesByType('navigation').length + ':' + performance.timeOrigin);
        if (nav0 !== nav1) fail('the page reloaded');
        const entries = (await getJSON(origin, '/test/requests?path=' + encodeURIComponent(livePath))).entries;
        if (entries.length !== 1) fail(`GET /test/requests lists ${entries.length} entries for ${livePath}`);
        liveSeq = entries[0].seq;
        const rowText = await page.$eval(`#journal tbody tr[data-seq="${liveSeq}"]`, (r) => r.textContent)
            .catch(() => fail(`no row tr[data-seq="${liveSeq}"] (the server's seq for ${livePath})`));
        for (const want of ['POST', livePath, 'heartbeat', '200'])
            if (!rowText.includes(want)) fail(`row ${liveSeq} does not show ${want}: ${JSON.stringify(rowText)}`);
        if (latency > LIVE_MS) fail(`the row appeared ${latency} ms after the request (limit ${LIVE_MS} ms)`);
    });

    // 3 ------------------------------------------------------------------
    await check('3 the filter narrows the table and is kept in the URL (?q=) across a reload', async () => {
        for (let i = 0; i < 3; i++) {
            const r = await req(origin, 'GET', '/v1/ping');
            if (r.status !== 200) fail(`ping answered ${r.status}`);
        }
        await inSync(3000, 'before filtering');
        // the model has the pings; the table draws them on its next frame
        await page.waitForFunction(() => [...document.querySelectorAll('#journal tbody tr[data-seq]')]
            .filter((r) => r.textContent.includes('/v1/ping')).length >= 3, null, { timeout: 3000 })
            .catch(() => fail("the three pings are in the page's model but not drawn as rows within 3000 ms"));
        const all = await rowSeqs();
        const routeOf = () => page.$$eval('#journal tbody tr[data-seq]', (rs) => rs.map((r) => r.textContent));
        const onlyHeartbeats = () => page.waitForFunction(() => {
            const rs = [...document.querySelectorAll('#journal tbody tr[data-seq]')];
            return rs.length > 0 && rs.every((r) => r.textContent.includes('heartbeat'));
        }, null, { timeout: 3000 });
        await page.fill('#filter', 'route:heartbeat');
        await onlyHeartbeats().catch(async () => fail(`with "route:heartbeat" the rows are ${JSON.stringify((await routeOf()).slice(0, 6))}`));
        const narrowed = await rowSeqs();
        if (!(narrowed.length < all.length)) fail(`the filter did not narrow: ${all.length} rows before, ${narrowed.length} after`);
        const serverHb = (await getJSON(origin, '/test/requests?route=heartbeat')).entries.map((e) => e.seq);
        const d = diffSeqs(serverHb, narrowed);
        if (d.missing.length || d.extra.length) fail(`filtered rows [${short(narrowed)}] are not the server's heartbeats [${short(serverHb)}]`);
        note(`rows: ${all.length} -> ${narrowed.length} with route:heartbeat`);
        const q = await page.evaluate(() => new URL(location.href).searchParams.get('q'));
        if (q !== 'route:heartbeat') fail(`the page URL has q=${JSON.stringify(q)}, not "route:heartbeat"`);
        await page.reload({ waitUntil: 'load', timeout: 10_000 });
        await live().catch(async () => fail(`not live 5 s after the reload: #status ${JSON.stringify(await statusText())}`));
        const v = await page.$eval('#filter', (e) => e.value);
        if (v !== 'route:heartbeat') fail(`after a reload #filter holds ${JSON.stringify(v)}`);
        await onlyHeartbeats().catch(() => fail('after a reload the rows are not filtered'));
        await page.fill('#filter', '');
        await page.waitForFunction((n) => document.querySelectorAll('#journal tbody tr[data-seq]').length === n,
            all.length, { timeout: 3000 }).catch(() => fail(`cleared filter: not back to ${all.length} rows`));
        const q2 = await page.evaluate(() => new URL(location.href).searchParams.get('q'));
        if (q2) fail(`cleared filter still in the URL: q=${q2}`);
    });

    // 4 ------------------------------------------------------------------
    await check('4 the feed killed and restored loses and duplicates no row', async () => {
        await inSync(3000, 'before the disconnect');
        const feedsBefore = feedRequests.length;
        const idBefore = await page.evaluate(() => window.mockapiPage.lastEventId());
        const d = await req(origin, 'POST', '/test/sse/disconnect?feed=1');
        if (d.status !== 200) fail(`POST /test/sse/disconnect?feed=1 answered ${d.status}: ${d.text}`);
        note(`disconnect: ${d.text.trim()}`);
        await page.waitForFunction(() => !window.mockapiPage.connected(), null, { timeout: 3000 })
            .catch(() => fail('the page never saw its feed end (connected() stayed true 3 s)'));
        const status = await statusText();
        const n = 25;
        // while it is down: different routes, one with a gzip-less JSON body
        for (let i = 0; i < n; i++) {
            const r = i % 2 ? await req(origin, 'GET', '/v1/ping')
                : await req(origin, 'POST', `/v1/nodes/down-${i}/heartbeat`, { node_id: `down-${i}` });
            if (r.status !== 200) fail(`request ${i} while down answered ${r.status}`);
        }
        const stillDown = !(await page.evaluate(() => window.mockapiPage.connected()));
        note(`status while down: ${JSON.stringify(status)}; ${n} requests made while down` +
            (stillDown ? ' (still down after the last)' : ' (the feed was back before the last)'));
        await live().catch(async () => fail(`the feed did not come back within 5 s: #status ${JSON.stringify(await statusText())}`));
        const { want } = await inSync(5000, 'after the reconnect');
        const rows = await rowSeqs();
        const dd = diffSeqs(rows, rows);
        if (dd.dups.length) fail(`duplicated rows in the table: ${short(dd.dups)}`);
        if (feedRequests.length <= feedsBefore) fail('no new GET /test/events after the disconnect');
        const resumed = feedRequests.slice(feedsBefore);
        note(`reconnects: ${resumed.map((f) => `Last-Event-ID ${JSON.stringify(f.lastEventId)} ${new URL(f.url).search}`).join('; ')}` +
            ` (last event id before: ${JSON.stringify(idBefore)})`);
        // on the wire: each seq delivered exactly once since the page loaded
        const wire = await page.evaluate(() => window.__feed.seqs.slice());
        const dw = diffSeqs(want, wire);
        note(`the feed delivered ${wire.length} entries over ${await page.evaluate(() => window.__feed.opens.length)} EventSource(s)`);
        if (dw.missing.length || dw.extra.length || dw.dups.length)
            fail(`on the wire (event: requests since the page loaded): missing [${short(dw.missing)}], not on the server [${short(dw.extra)}], ` +
                `delivered twice [${short(dw.dups)}]`);
        const gap = await page.$eval('#gap-notice', (e) => !e.hidden && e.offsetParent !== null).catch(() => false);
        if (gap) fail('#gap-notice is shown though nothing was evicted');
        note(`page and server agree on ${want.length} seqs`);
    });

    // 6 ------------------------------------------------------------------
    const yamlFile = path.join(artefacts, 'copied-expectation.yaml');
    await check('6 "copy as expectation" gives YAML that mockassert passes against this server', async () => {
        // only the rows in view are in the DOM: filter down to the one wanted
        await page.fill('#filter', `path:${livePath}`);
        const row = `#journal tbody tr[data-seq="${liveSeq}"]`;
        await page.click(row, { timeout: 3000 }).catch(async () => fail(`cannot click ${row} (filtered by path:${livePath}; rows [${short(await rowSeqs())}])`));
        await page.waitForSelector('#detail', { state: 'visible', timeout: 3000 })
            .catch(() => fail('#detail is not shown after a click on the row'));
        const body = await page.$eval('#detail-body', (e) => e.textContent).catch(() => '');
        if (!body.includes('"node_id"') || !body.includes('"live"')) fail(`#detail-body does not show the JSON body sent: ${JSON.stringify(body.slice(0, 200))}`);
        await page.click('#copy-expect');
        await page.waitForFunction(() => (document.querySelector('#detail-expect')?.textContent || '').trim().length > 0,
            null, { timeout: 3000 }).catch(() => fail('#detail-expect stays empty after #copy-expect'));
        const yaml = await page.$eval('#detail-expect', (e) => e.textContent);
        writeFileSync(yamlFile, yaml);
        const clip = await page.evaluate(() => navigator.clipboard.readText()).catch((e) => `(clipboard unreadable: ${e.message})`);
        const clipRead = !clip.startsWith('(clipboard unreadable');
        if (!clipRead) note(clip);
        if (!yaml.includes(livePath) && !yaml.includes('heartbeat')) fail(`the YAML names neither ${livePath} nor heartbeat:\n${yaml}`);
        const lint = await run(path.resolve(args.mockassert), ['lint', yamlFile]);
        if (lint.code !== 0) fail(`mockassert lint exit ${lint.code}: ${lint.stderr}${lint.stdout}\n--- YAML:\n${yaml}`);
        const r = await run(path.resolve(args.mockassert), ['--server', origin, yamlFile]);
        note(`mockassert: ${r.stdout.trim().split('\n').join(' / ')}`);
        if (r.code !== 0) fail(`mockassert exit ${r.code}: ${r.stdout}${r.stderr}\n--- YAML:\n${yaml}`);
        if (clipRead && clip !== yaml) fail(`the clipboard holds ${JSON.stringify(clip.slice(0, 120))}, not the text shown in #detail-expect`);
        await page.fill('#filter', '');
    });

    // 7 ------------------------------------------------------------------
    await check('7 without JavaScript /test/ shows the counters and the last requests as text', async () => {
        const plainCtx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1400, height: 900 } });
        try {
            const p = await plainCtx.newPage();
            const resp = await p.goto(origin + '/test/', { waitUntil: 'load', timeout: 10_000 });
            if (!resp || resp.status() !== 200) fail(`GET /test/ answered ${resp ? resp.status() : 'nothing'}`);
            await p.screenshot({ path: shotPath('7 no javascript'), fullPage: true });
            const text = await p.$eval('#plain', (e) => e.innerText).catch(() => fail('no #plain section'));
            const counters = await getJSON(origin, '/test/assertions');
            const hb = counters.heartbeat_count;
            if (!new RegExp(`heartbeat_count\\W{0,5}${hb}\\b`).test(text))
                fail(`#plain does not show heartbeat_count ${hb}: ${JSON.stringify(text.slice(0, 300))}`);
            // each request as its target: the path, "?query" only when there is one
            const words = new Set(text.split(/\s+/));
            const target = (e) => e.path + (e.query ? `?${e.query}` : '');
            const last = (await getJSON(origin, '/test/requests?last=3')).entries;
            for (const e of last) {
                if (!words.has(target(e))) {
                    const near = [...words].filter((w) => w.startsWith(e.path)).slice(0, 3);
                    fail(`#plain does not show the recent request ${e.method} ${target(e)} (seq ${e.seq})` +
                        (near.length ? `; it shows ${near.map((w) => JSON.stringify(w)).join(', ')}` : ''));
                }
            }
            note(`#plain: ${text.length} characters, heartbeat_count ${hb} and the last ${last.length} paths shown`);
        } finally {
            await plainCtx.close();
        }
    });

    // 8 ------------------------------------------------------------------
    await check('8 a state change from another origin is refused (403) and changes nothing', async () => {
        const before = await getJSON(origin, '/test/assertions');
        if (!(before.heartbeat_count > 0)) fail('nothing counted before the attempt');
        const other = await context.newPage();
        const tried = [];
        try {
            // a page of another origin (another port) and a data: page (origin "null")
            await other.goto(m2.base + '/v1/ping', { timeout: 5000 });
            const attempt = (p) => p.evaluate(async (url) => {
                try {
                    // no-cors: a "simple" POST reaches the server (a preflighted one would not)
                    const r = await fetch(url, { method: 'POST', mode: 'no-cors', body: '{}', headers: { 'content-type': 'text/plain' } });
                    return r.type;
                } catch (e) { return 'error: ' + e.message; }
            }, origin + '/test/reset');
            tried.push(`fetch from ${m2.base}: ${await attempt(other)}`);
            // the classic forged form: a top-level POST navigation
            const nav = other.waitForNavigation({ timeout: 5000 }).catch(() => null);
            await other.evaluate((url) => {
                const f = document.createElement('form');
                f.method = 'POST';
                f.action = url;
                document.body.append(f);
                f.submit();
            }, origin + '/test/reset');
            const navResp = await nav;
            tried.push(`form from ${m2.base}: ${navResp ? navResp.status() : 'no navigation'}`);
            await other.goto('data:text/html,<title>elsewhere</title>', { timeout: 5000 });
            tried.push(`fetch from data: ${await attempt(other)}`);
        } finally {
            await other.close();
        }
        const after = await getJSON(origin, '/test/assertions');
        if (after.heartbeat_count !== before.heartbeat_count) fail(`heartbeat_count went ${before.heartbeat_count} -> ${after.heartbeat_count}: the foreign reset was obeyed`);
        const resets = (await getJSON(origin, '/test/requests?include_test=1&route=reset')).entries;
        note(`tried: ${tried.join('; ')}`);
        const origins = {};
        for (const e of resets) {
            const o = (e.headers.find(([k]) => k.toLowerCase() === 'origin') || [])[1];
            if (o) (origins[o] ??= []).push(e.status);
        }
        if ((origins[m2.base] || []).length !== 2)
            fail(`want the fetch and the form POST /test/reset with Origin ${m2.base} in the journal, seen: ${JSON.stringify(origins)}`);
        for (const [o, st] of Object.entries(origins))
            if (st.some((x) => x !== 403)) fail(`POST /test/reset with Origin ${o} answered ${st.join(', ')}, not 403`);
        // a data: page's fetch (Origin null) may be stopped by chromium itself
        // (local network access) before it reaches the server
        if (!('null' in origins)) note('the data: page\'s POST did not reach the server (chromium blocked it)');
        // DNS rebinding: the page's own origin, but under a host name not allowed
        const reb = await rawPost(m1.addr, '/test/reset', { Host: `rebind.example:${m1.addr.split(':')[1]}`, Origin: `http://rebind.example:${m1.addr.split(':')[1]}` });
        if (reb.status !== 403) fail(`POST /test/reset with Host and Origin rebind.example answered ${reb.status}, not 403`);
        const again = await getJSON(origin, '/test/assertions');
        if (again.heartbeat_count !== before.heartbeat_count) fail('the rebinding reset was obeyed');
        note(`refused: Origin ${m2.base} -> ${origins[m2.base].join(', ')}, Origin null -> ${origins.null ?? 'not sent'}, Host rebind.example -> ${reb.status}`);
        // the page still holds its rows: no reset reached it
        const seqs = await page.evaluate(() => window.mockapiPage.seqs());
        if (!seqs.includes(liveSeq)) fail(`the page lost seq ${liveSeq}`);
    });

    // 5 ------------------------------------------------------------------
    await check('5 #btn-reset zeroes the counters (page and GET /test/assertions)', async () => {
        // something to reset, shown on the page first
        const pre = await req(origin, 'POST', '/v1/nodes/pre-reset/heartbeat', { node_id: 'pre-reset' });
        if (pre.status !== 200) fail(`heartbeat before the reset answered ${pre.status}`);
        const server = await getJSON(origin, '/test/assertions');
        if (!(server.heartbeat_count > 0)) fail(`heartbeat_count is ${server.heartbeat_count} on the server before the reset`);
        await page.waitForFunction((n) => document.querySelector('[data-counter="heartbeat_count"] .value')?.textContent.trim() === String(n),
            server.heartbeat_count, { timeout: 2000 }).catch(async () => fail(`the page shows heartbeat_count ` +
            `${await page.$eval('[data-counter="heartbeat_count"] .value', (e) => e.textContent.trim()).catch(() => '(none: no [data-counter="heartbeat_count"] .value)')}, ` +
            `the server ${server.heartbeat_count}`));
        const epoch0 = await page.evaluate(() => window.mockapiPage.epoch());
        const resetResp = page.waitForResponse((r) => new URL(r.url()).pathname === '/test/reset' && r.request().method() === 'POST', { timeout: 5000 });
        await page.click('#btn-reset');
        const rr = await resetResp.catch(() => fail('no POST /test/reset after a click on #btn-reset'));
        if (rr.status() !== 204) fail(`the page's own POST /test/reset answered ${rr.status()}`);
        await page.waitForFunction(() => {
            const vs = [...document.querySelectorAll('[data-counter] .value')];
            return vs.length > 0 && vs.every((v) => v.textContent.trim() === '0');
        }, null, { timeout: 3000 }).catch(async () => fail(`counters not all 0 on the page: ${await page.$$eval('[data-counter]',
            (cs) => cs.map((c) => `${c.dataset.counter}=${c.querySelector('.value')?.textContent}`).filter((s) => !s.endsWith('=0')).join(' '))}`));
        const nShown = await page.$$eval('[data-counter]', (cs) => cs.length);
        const after = await getJSON(origin, '/test/assertions');
        const nonzero = Object.entries(after).filter(([, v]) => v !== 0);
        if (nonzero.length) fail(`GET /test/assertions after the reset: ${JSON.stringify(Object.fromEntries(nonzero))}`);
        if (nShown !== Object.keys(after).length) fail(`the page shows ${nShown} counters, the server has ${Object.keys(after).length}`);
        await page.waitForFunction(() => window.mockapiPage.seqs().length === 0 &&
            document.querySelectorAll('#journal tbody tr[data-seq]').length === 0, null, { timeout: 3000 })
            .catch(() => fail('rows are still held or shown after the reset'));
        await page.waitForFunction((e) => window.mockapiPage.epoch() !== e, epoch0, { timeout: 3000 })
            .catch(() => fail(`mockapiPage.epoch() is still ${epoch0} 3 s after the reset (a reset makes a new epoch)`));
        const epoch1 = await page.evaluate(() => window.mockapiPage.epoch());
        // the expectation copied in check 6 must now fail: it asserted something
        const r = await run(path.resolve(args.mockassert), ['--server', origin, yamlFile]);
        if (r.code !== 1) fail(`mockassert with the copied expectation after the reset: exit ${r.code}, not 1 (FAIL): ${r.stdout}${r.stderr}`);
        // rows restart at seq 1, live
        const x = await req(origin, 'POST', '/v1/nodes/after-reset/heartbeat', { node_id: 'after-reset' });
        if (x.status !== 200) fail(`heartbeat after reset answered ${x.status}`);
        // its seq: after the reset's own entry and mockassert's /test/ requests
        const xs = (await getJSON(origin, '/test/requests')).entries.map((e) => e.seq);
        if (xs.length !== 1) fail(`GET /test/requests after the reset lists seqs [${short(xs)}], not one entry`);
        await page.waitForFunction((n) => {
            const rs = [...document.querySelectorAll('#journal tbody tr[data-seq]')].map((r) => Number(r.dataset.seq));
            return rs.length === 1 && rs[0] === n;
        }, xs[0], { timeout: 2000 })
            .catch(async () => fail(`the first request after the reset (seq ${xs[0]}) is not the only row: rows [${short(await rowSeqs())}]`));
        await page.waitForFunction(() => document.querySelector('[data-counter="heartbeat_count"] .value')?.textContent.trim() === '1',
            null, { timeout: 2000 }).catch(() => fail('heartbeat_count does not show 1 after one heartbeat past the reset'));
        note(`epoch ${epoch0} -> ${epoch1}; ${nShown} counters at 0; the copied expectation now fails (exit 1)`);
    });

    await check('10 with -admin-token the page opened at /test/#token=T is live and keeps the token across a reload', async () => {
        const noTok = await req(m2.base, 'GET', '/test/requests');
        if (noTok.status !== 401) fail(`GET /test/requests without the token answered ${noTok.status}, not 401`);
        const tctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
        const errs = [];
        try {
            const p = await tctx.newPage();
            p.on('console', (m) => { if (m.type() === 'error') errs.push(`console: ${m.text()}${m.location()?.url ? ` (${m.location().url})` : ''}`); });
            p.on('pageerror', (e) => errs.push(`page error: ${e.message}`));
            const isLive = (what) => p.waitForFunction(() => window.mockapiPage && window.mockapiPage.connected() &&
                document.querySelector('#status')?.textContent.trim() === 'live', null, { timeout: 5000 })
                .catch(async () => fail(`${what}: not live within 5 s (#status ${JSON.stringify(await p.$eval('#status', (e) => e.textContent.trim()).catch(() => '(none)'))})`));
            const resp = await p.goto(`${m2.base}/test/#token=${token}`, { waitUntil: 'load', timeout: 10_000 });
            if (!resp || resp.status() !== 200) fail(`GET /test/ (token in the fragment) answered ${resp ? resp.status() : 'nothing'}`);
            await isLive('opened with #token=');
            const hash = await p.evaluate(() => location.hash);
            if (hash.includes(token)) fail(`the token stays in the page URL: ${hash}`);
            const tp = `/v1/nodes/tok-${process.pid}/heartbeat`;
            const r = await req(m2.base, 'POST', tp, { node_id: 'tok' });
            if (r.status !== 200) fail(`heartbeat answered ${r.status}`);
            await p.waitForFunction((t) => [...document.querySelectorAll('#journal tbody tr[data-seq]')].some((e) => e.textContent.includes(t)),
                tp, { timeout: 2000 }).catch(() => fail(`no row for ${tp} on the token-protected server within 2 s`));
            await p.reload({ waitUntil: 'load', timeout: 10_000 });
            await isLive('after a reload (token from sessionStorage)');
            if (errs.length) fail(errs.join(' | '));
        } finally {
            for (const pg of tctx.pages()) await within(5000, 'screenshot', pg.screenshot({ path: shotPath('10 admin token'), fullPage: true })).catch(() => {});
            await tctx.close();
        }
    });

    await check('11 entries evicted while the feed was down show #gap-notice, not a silent hole', async () => {
        // a journal of 20 entries; the browser held offline so the feed stays down
        const m3 = await startMock('mockapi-small', ['-tls-addr', 'off', '-journal-entries', '20']);
        const gctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
        await instrument(gctx);
        try {
            const p = await gctx.newPage();
            const isLive = (what) => p.waitForFunction(() => window.mockapiPage && window.mockapiPage.connected() &&
                document.querySelector('#status')?.textContent.trim() === 'live', null, { timeout: 5000 })
                .catch(async () => fail(`${what}: not live within 5 s (#status ${JSON.stringify(await p.$eval('#status', (e) => e.textContent.trim()).catch(() => '(none)'))})`));
            for (let i = 0; i < 5; i++) await req(m3.base, 'POST', `/v1/nodes/g${i}/heartbeat`, { node_id: `g${i}` });
            await p.goto(m3.base + '/test/', { waitUntil: 'load', timeout: 10_000 });
            await isLive('on load');
            const before = await serverSeqs(m3.base);
            await p.waitForFunction((n) => window.mockapiPage.seqs().length === n, before.length, { timeout: 3000 })
                .catch(() => fail(`the page does not hold the ${before.length} entries of the journal`));
            const held = await p.evaluate(() => window.mockapiPage.seqs());
            await gctx.setOffline(true);
            const d = await req(m3.base, 'POST', '/test/sse/disconnect?feed=1');
            if (d.status !== 200) fail(`disconnect answered ${d.status}`);
            await p.waitForFunction(() => !window.mockapiPage.connected(), null, { timeout: 3000 })
                .catch(() => fail('the feed did not end'));
            for (let i = 0; i < 40; i++) {
                const r = await req(m3.base, 'POST', `/v1/nodes/gap-${i}/heartbeat`, { node_id: `gap-${i}` });
                if (r.status !== 200) fail(`heartbeat ${i} answered ${r.status}`);
            }
            const j = await getJSON(m3.base, '/test/requests?limit=100000');
            if (!(j.evicted > 0) || !(j.oldest_seq > Math.max(...held) + 1)) fail(`nothing the page lacks was evicted (oldest_seq ${j.oldest_seq}, evicted ${j.evicted}): the check cannot work`);
            await gctx.setOffline(false);
            await isLive('back online');
            await p.waitForSelector('#gap-notice', { state: 'visible', timeout: 3000 })
                .catch(() => fail(`#gap-notice not shown after ${j.evicted} entries were evicted (oldest kept ${j.oldest_seq}, the page had up to ${Math.max(...held)})`));
            const gapText = await p.$eval('#gap-notice', (e) => e.textContent.trim());
            if (!gapText) fail('#gap-notice is shown but empty');
            // what the journal keeps now (the page's own /test/ calls evict
            // more of it as it comes back) must all be held, once
            const maxHeld = Math.max(...held);
            const now = await serverSeqs(m3.base);
            await p.waitForFunction((w) => { const h = new Set(window.mockapiPage.seqs()); return w.every((x) => h.has(x)); },
                now, { timeout: 3000 }).catch(() => {});
            const have = await p.evaluate(() => window.mockapiPage.seqs());
            const dd = diffSeqs(now, have);
            const lost = held.filter((x) => !have.includes(x));
            const odd = dd.extra.filter((x) => !held.includes(x) && !(x > maxHeld));
            if (dd.missing.length || dd.dups.length || lost.length || odd.length)
                fail(`after the gap the page holds [${short(have)}]; the journal keeps [${short(now)}]: missing [${short(dd.missing)}], ` +
                    `duplicated [${short(dd.dups)}], rows it had and lost [${short(lost)}], unexplained [${short(odd)}]`);
            // the gap event announced exactly the hole: after the page's cursor, up to what it got next
            const gaps = await p.evaluate(() => window.__feed.gaps.slice());
            const firstNew = Math.min(...have.filter((x) => x > maxHeld));
            if (!gaps.some((g) => g.after >= maxHeld && g.next <= firstNew && g.missed > 0))
                fail(`no gap event covering (${maxHeld}, ${firstNew}): ${JSON.stringify(gaps)}`);
            note(`gap event(s) ${JSON.stringify(gaps)}; the page then holds ${have.length} rows from seq ${firstNew}`);
            note(`gap notice: ${JSON.stringify(gapText)}`);
        } finally {
            for (const pg of gctx.pages()) await within(5000, 'screenshot', pg.screenshot({ path: shotPath('11 gap notice'), fullPage: true })).catch(() => {});
            await gctx.close();
        }
    });

    await check('9 no console or page error and nothing outside the origin during the whole run', async () => {
        // let what the page does on its own settle: its side panels refresh at
        // most once a second, so a quiet 1.5 s means nothing is left in flight
        const deadline = Date.now() + 6000;
        while (Date.now() - lastRequestAt < 1500 && Date.now() < deadline)
            await new Promise((resolve) => setTimeout(resolve, 100));   // polls the condition above
        if (Date.now() - lastRequestAt < 1500) note('the page kept making requests for 6 s; checked as it was');
        if (consoleErrors.length) fail(consoleErrors.join(' | '));
        if (foreign.length) fail(`requests outside ${origin}: ${foreign.join(' ')}`);
    });
}

let crashed = null;
try {
    await main();
} catch (e) {
    crashed = e;
    console.log(`FAIL  setting up: ${why(e)}`);
    results.push(false);
}
clearTimeout(watchdog);
await within(10_000, 'browser close', browser ? browser.close() : Promise.resolve()).catch(() => {});
// stop the servers and wait (bounded) for them to go, so their logs are written
await within(5000, 'servers stop', Promise.all(children.map((c) => new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.on('exit', resolve);
    c.kill('SIGTERM');
})))).catch(() => { for (const c of children) c.kill('SIGKILL'); });
const passed = results.filter((x) => x).length;
const failedN = results.length - passed;
console.log(`      whole run ${Date.now() - started} ms; screenshots in ${artefacts}`);
console.log(`\n${passed} passed, ${failedN} failed`);
process.exit(failedN || crashed ? 1 : 0);
