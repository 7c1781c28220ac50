// page_render.mjs: the client of bench/run.sh section "page", part 3: the
// live page (GET /test/) in a real headless browser, Debian's chromium
// driven by playwright-core (executablePath; both installed by
// ci/setup-browser.sh).
//
//   node bench/page_render.mjs --chromium BIN --modules DIR/node_modules \
//     --empty URL --full URL --count N --runs R [--rowreqs K --rowrate Q]
//
// --empty and --full are the pages (http://ADDR/test/) of two running
// servers, one with an empty journal, one holding N entries. One untimed
// load of each first; then R rounds, each loading the empty page and the
// full one (alternating which goes first), each in a fresh browser context
// (no cache). A load's time is from navigation start (performance.timeOrigin)
// to the first animation frame in which the page's feed is open
// (mockapiPage.connected()), mockapiPage.seqs().length is the count and the
// journal table shows a row (#journal-body tr[data-seq]); checked at every
// frame, in the page.
//
// Also printed per load: when the feed's hello and its first and last
// requests frames arrived (an EventSource wrapper of the init script, whose
// listeners run before the page's) and how much data they carried.
//
// Responsiveness, after every full load, once the page has settled (10
// frames in a row less than 50 ms apart; the time that took is reported): the journal (#journal-scroll) jumps
// to the bottom (scrollTop = scrollHeight) and then back to the top, each
// timed until the frame after the one that shows the oldest (newest) row;
// then 20 wheel steps of 1,200 px down over the table and 20 back up
// (page.mouse.wheel, each followed by a frame). Meanwhile a
// PerformanceObserver('longtask') (installed before the page's own script)
// and a requestAnimationFrame loop record the long tasks and the longest
// gap between two frames. Also reported: the long tasks during the load and
// the table rows in the DOM.
//
// With --rowreqs K (> 0), last: K requests GET /v1/nodes/row-I/state to
// the full server at Q per second (one by one, so each is alone in its
// flush), each timed (Date.now(), the clock page and script share) from just
// before it was sent to the moment a MutationObserver in the page sees its
// row in the table (the page shows the newest on top).
//
// Prints one "RESULT render ..." line per load, "RESULT scroll ..." per full
// load and "RESULT row ..." at the end. Everything is bounded: each wait
// has a deadline and the whole run WHOLE_MS; exit 1 on any failure.

import { createRequire } from 'node:module';
import http from 'node:http';
import path from 'node:path';

const WHOLE_MS = 240_000;
const LOAD_MS = 30_000;       // one page load, at most
const STEP_MS = 10_000;       // one scroll step or one row, at most

function parseArgs(argv) {
    const a = { runs: '3', rowreqs: '0', rowrate: '20' };
    for (let i = 0; i < argv.length; i++) {
        const m = /^--([a-z]+)$/.exec(argv[i]);
        if (!m || i + 1 >= argv.length) usage(`bad argument ${JSON.stringify(argv[i])}`);
        a[m[1]] = argv[++i];
    }
    for (const k of ['chromium', 'modules', 'empty', 'full', 'count'])
        if (!a[k]) usage(`--${k} is missing`);
    for (const k of ['count', 'runs', 'rowreqs', 'rowrate'])
        if (!/^[0-9]+$/.test(a[k])) usage(`--${k} must be a whole number`);
    return a;
}
function usage(why) {
    console.error(`page_render.mjs: ${why}\nusage: node page_render.mjs --chromium BIN --modules DIR --empty URL --full URL --count N [--runs R] [--rowreqs K --rowrate Q]`);
    process.exit(2);
}
const args = parseArgs(process.argv.slice(2));
const COUNT = Number(args.count), RUNS = Number(args.runs);
const ROWREQS = Number(args.rowreqs), ROWRATE = Math.max(1, Number(args.rowrate));

const require = createRequire(path.join(path.resolve(args.modules), '..', 'package.json'));
const { chromium } = require('playwright-core');

let browser = null;
const whole = setTimeout(() => {
    console.error(`page_render: not done within ${WHOLE_MS} ms`);
    process.exit(1);
}, WHOLE_MS);

function within(ms, what, promise) {
    let t;
    const timer = new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: not within ${ms} ms`)), ms); });
    return Promise.race([promise, timer]).finally(() => clearTimeout(t));
}

// Before the page's script: long tasks from the start, kept in window.__bench
function initScript() {
    const b = { longtasks: [], hello: -1, firstReq: -1, lastReq: -1, feedChars: 0 };
    Object.defineProperty(window, '__bench', { value: b });
    // the feed's frames as they arrive, before the page's own listeners
    // (registered later, so called later): how much of a load is transport
    const Orig = window.EventSource;
    if (Orig) {
        window.EventSource = class extends Orig {
            constructor(url, init) {
                super(url, init);
                this.addEventListener('hello', () => { if (b.hello < 0) b.hello = performance.now(); });
                this.addEventListener('requests', (e) => {
                    const t = performance.now();
                    if (b.firstReq < 0) b.firstReq = t;
                    b.lastReq = t;
                    b.feedChars += e.data.length;
                });
            }
        };
    }
    try {
        new PerformanceObserver((list) => {
            for (const e of list.getEntries()) b.longtasks.push({ start: e.startTime, dur: e.duration });
        }).observe({ type: 'longtask', buffered: true });
        b.observing = true;
    } catch (e) {
        b.observing = false;
    }
}

// In the page: the time (ms since navigation start) of the first frame that
// shows the page loaded with `count` entries
function loadedAt(count) {
    const p = window.mockapiPage;
    if (p && p.connected() && p.seqs().length === count &&
        (count === 0 || document.querySelector('#journal-body tr[data-seq]')))
        return performance.now();
    return false;
}

async function load(ctxOpts, url, count) {
    const context = await browser.newContext(ctxOpts);
    await context.addInitScript(initScript);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(url, { waitUntil: 'commit', timeout: LOAD_MS });
    const h = await page.waitForFunction(loadedAt, count, { polling: 'raf', timeout: LOAD_MS });
    const ms = await h.jsonValue();
    const info = await page.evaluate(() => ({
        rows: document.querySelectorAll('#journal-body tr[data-seq]').length,
        dcl: performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd ?? -1,
        longest: Math.max(0, ...window.__bench.longtasks.map((t) => t.dur)),
        nlong: window.__bench.longtasks.length,
        observing: window.__bench.observing,
        seqs: ((s) => [s[0] ?? 0, s[s.length - 1] ?? 0])(window.mockapiPage.seqs()),
        hello: window.__bench.hello, firstReq: window.__bench.firstReq, lastReq: window.__bench.lastReq,
        feedChars: window.__bench.feedChars,
    }));
    if (errors.length) throw new Error(`page errors at ${url}: ${errors.slice(0, 3).join(' | ')}`);
    return { context, page, ms, info };
}

// jumps and wheel steps over the journal, timed in the page
async function scroll(page, oldest, newest) {
    // first let the load's work end: 10 frames in a row less than 50 ms
    // apart (at most 10 s), so that the scroll is measured on its own
    const settleMs = await page.evaluate(() => new Promise((resolve, reject) => {
        const t0 = performance.now();
        let last = t0, calm = 0;
        const tick = (t) => {
            calm = t - last < 50 ? calm + 1 : 0;
            last = t;
            if (calm >= 10) resolve(performance.now() - t0);
            else if (t - t0 > 10000) reject(new Error('the page did not settle within 10 s of its load'));
            else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
    }));
    await page.evaluate(() => {
        const b = window.__bench;
        b.mark = performance.now();
        b.maxGap = 0;
        b.frames = 0;
        b.loop = true;
        let last = performance.now();
        const tick = (t) => {
            if (t - last > b.maxGap) b.maxGap = t - last;
            last = t;
            b.frames++;
            if (b.loop) requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
    });
    // jump to a seq's row: time to the frame after the one that shows it
    const jump = (where, seq) => page.evaluate(([where, seq]) => new Promise((resolve, reject) => {
        const sc = document.getElementById('journal-scroll');
        const t0 = performance.now();
        sc.scrollTop = where === 'bottom' ? sc.scrollHeight : 0;
        const limit = t0 + 5000;
        const check = () => {
            if (document.querySelector(`#journal-body tr[data-seq="${seq}"]`))
                requestAnimationFrame(() => resolve(performance.now() - t0));
            else if (performance.now() > limit) reject(new Error(`row ${seq} not shown within 5 s`));
            else requestAnimationFrame(check);
        };
        requestAnimationFrame(check);
    }), [where, seq]);
    const toBottom = await within(STEP_MS, 'jump to the bottom', jump('bottom', oldest));
    const rowsBottom = await page.evaluate(() => document.querySelectorAll('#journal-body tr[data-seq]').length);
    const toTop = await within(STEP_MS, 'jump to the top', jump('top', newest));
    const box = await page.locator('#journal-scroll').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const frame = () => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    const w0 = Date.now();
    for (const dy of [1200, -1200]) {
        for (let i = 0; i < 20; i++) {
            await within(STEP_MS, 'wheel step', page.mouse.wheel(0, dy));
            await within(STEP_MS, 'a frame after a wheel step', frame());
        }
    }
    const wheelMs = Date.now() - w0;
    const r = await page.evaluate(() => {
        const b = window.__bench;
        b.loop = false;
        const during = b.longtasks.filter((t) => t.start >= b.mark);
        return {
            maxGap: b.maxGap, frames: b.frames, nlong: during.length,
            longest: Math.max(0, ...during.map((t) => t.dur)),
            scrollTop: document.getElementById('journal-scroll').scrollTop,
        };
    });
    return { settleMs, toBottom, toTop, rowsBottom, wheelMs, ...r };
}

function get(url) {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { agent: keepAlive }, (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${url}: ${res.statusCode}`))));
        });
        req.setTimeout(STEP_MS, () => req.destroy(new Error(`${url}: no answer within ${STEP_MS} ms`)));
        req.on('error', reject);
    });
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });

// request -> row, in the page: a MutationObserver notes when each path's row appears
async function rowLatency(page, base) {
    await page.evaluate(() => {
        const b = window.__bench;
        b.rowSeen = {};
        new MutationObserver(() => {
            for (const td of document.querySelectorAll('#journal-body td[title^="/v1/nodes/row-"]'))
                if (!(td.title in b.rowSeen)) b.rowSeen[td.title] = Date.now();
        }).observe(document.getElementById('journal-body'), { childList: true, subtree: true });
    });
    const sent = [];
    const t0 = Date.now();
    for (let i = 1; i <= ROWREQS; i++) {
        const due = t0 + ((i - 1) * 1000) / ROWRATE;
        if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
        sent[i] = Date.now();
        await get(`${base}/v1/nodes/row-${i}/state`);
    }
    const last = `/v1/nodes/row-${ROWREQS}/state`;
    await page.waitForFunction((p) => p in window.__bench.rowSeen, last, { polling: 100, timeout: STEP_MS });
    const seen = await page.evaluate(() => window.__bench.rowSeen);
    const lat = [];
    let missing = 0;
    for (let i = 1; i <= ROWREQS; i++) {
        const t = seen[`/v1/nodes/row-${i}/state`];
        if (t === undefined) missing++;
        else lat.push(t - sent[i]);
    }
    lat.sort((a, b) => a - b);
    const pct = (p) => (lat.length ? lat[Math.min(lat.length, Math.max(1, Math.ceil((p / 100) * lat.length))) - 1] : -1);
    return { n: lat.length, missing, p50: pct(50), p99: pct(99), max: lat.length ? lat[lat.length - 1] : -1 };
}

async function main() {
    const t0 = Date.now();
    browser = await within(30_000, 'chromium launch', chromium.launch({
        executablePath: args.chromium,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        timeout: 30_000,
    }));
    console.log(`page_render: chromium ${browser.version()} started in ${Date.now() - t0} ms`);
    const ctxOpts = { viewport: { width: 1400, height: 900 } };
    // untimed warm-up of each
    for (const [url, n] of [[args.empty, 0], [args.full, COUNT]]) {
        const l = await within(LOAD_MS + 5000, `warm-up load of ${url}`, load(ctxOpts, url, n));
        await l.context.close();
    }
    let lastFull = null;
    for (let r = 1; r <= RUNS; r++) {
        const order = r % 2 ? [['empty', args.empty, 0], ['full', args.full, COUNT]]
            : [['full', args.full, COUNT], ['empty', args.empty, 0]];
        for (const [kind, url, n] of order) {
            const l = await within(LOAD_MS + 5000, `load of ${url}`, load(ctxOpts, url, n));
            const i = l.info;
            console.log(`RESULT render kind=${kind} run=${r} entries=${n} ms=${l.ms.toFixed(1)} dcl_ms=${i.dcl.toFixed(1)} ` +
                `rows=${i.rows} longtasks=${i.nlong} longest_ms=${i.longest.toFixed(1)} observing=${i.observing} ` +
                `hello_ms=${i.hello.toFixed(1)} first_frame_ms=${i.firstReq.toFixed(1)} last_frame_ms=${i.lastReq.toFixed(1)} ` +
                `feed_mb=${(i.feedChars / 1e6).toFixed(1)}`);
            if (kind === 'full') {
                const s = await scroll(l.page, i.seqs[0], i.seqs[1]);
                console.log(`RESULT scroll run=${r} settle_ms=${s.settleMs.toFixed(0)} bottom_ms=${s.toBottom.toFixed(1)} top_ms=${s.toTop.toFixed(1)} ` +
                    `rows_in_dom=${s.rowsBottom} wheel_ms=${s.wheelMs} frames=${s.frames} max_frame_gap_ms=${s.maxGap.toFixed(1)} ` +
                    `longtasks=${s.nlong} longest_ms=${s.longest.toFixed(1)}`);
                if (lastFull) await lastFull.context.close();
                lastFull = l;
            } else {
                await l.context.close();
            }
        }
    }
    if (ROWREQS > 0 && lastFull) {
        const base = new URL(args.full).origin;
        const rl = await within(ROWREQS * (1000 / ROWRATE) + 2 * STEP_MS, 'request to row', rowLatency(lastFull.page, base));
        console.log(`RESULT row requests=${ROWREQS} rate=${ROWRATE} seen=${rl.n} missing=${rl.missing} ` +
            `p50_ms=${rl.p50} p99_ms=${rl.p99} max_ms=${rl.max}`);
        if (rl.missing) throw new Error(`${rl.missing} of ${ROWREQS} rows never appeared`);
    }
    if (lastFull) await lastFull.context.close();
}

main().then(async () => {
    await browser.close();
    keepAlive.destroy();
    clearTimeout(whole);
}, async (e) => {
    console.error(`page_render: ${String(e.message || e).split('\n')[0]}`);
    if (browser) await browser.close().catch(() => {});
    process.exit(1);
});
