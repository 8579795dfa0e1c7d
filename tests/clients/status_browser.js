// tests/clients/status_browser.js: the status page in a real browser.
//
// Drives Debian's chromium (headless, through puppeteer-core) against the
// running test stack: a failure cools an endpoint down and the page shows it
// cooling; once its cooldown is over a successful trial restores it and the
// page shows it healthy again. Also: the page loads nothing but itself,
// reads the same without JavaScript, and shows hostile names as text.
//
// usage: node tests/clients/status_browser.js URL GROUP ENDPOINT XSS_GROUP SHOTS_DIR
// Exits 0 when every check holds; prints the first one that failed.
'use strict';
const puppeteer = require('puppeteer-core');
const fs = require('fs');
const path = require('path');

const [url, group, endpoint, xssGroup, shots] = process.argv.slice(2);
const statusUrl = url + '/v1/status';

function fail(msg) {
	throw new Error(msg);
}

async function chat(model) {
	const r = await fetch(url + '/v1/chat/completions', {
		method: 'POST',
		headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
	});
	await r.text();
	if (r.status !== 200)
		fail(`chat ${model}: status ${r.status}`);
}

// The row of the endpoint, as a person reads it.
async function row(page, g, e) {
	return page.evaluate((g, e) => {
		for (const tr of document.querySelectorAll('tr.endpoint')) {
			if (tr.dataset.group !== g || tr.dataset.endpoint !== e)
				continue;
			const cells = [...tr.cells].map((c) => c.innerText.trim());
			return { state: tr.dataset.state, cells, text: tr.innerText };
		}
		return null;
	}, g, e);
}

async function load(page) {
	const r = await page.goto(statusUrl, { waitUntil: 'load' });
	if (r.status() !== 200)
		fail(`status page: HTTP ${r.status()}`);
}

// Two pictures: the whole page (every group of the test stack), and the
// page as it looks with only the groups of this test (the others hidden).
async function shot(page, name) {
	await page.screenshot({ path: path.join(shots, name + '-full.png'), fullPage: true });
	await page.evaluate((keep) => {
		let show = false;
		for (const tr of document.querySelectorAll('tbody tr')) {
			if (tr.classList.contains('group'))
				show = keep.includes(tr.cells[0].firstChild.textContent.trim());
			if (!show)
				tr.style.display = 'none';
		}
	}, [group, xssGroup]);
	await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
}

// Reloads until the endpoint's state is `want` (the state changes with
// time, not with any event the page could wait for).
async function waitState(page, want, seconds) {
	const deadline = Date.now() + seconds * 1000;
	for (;;) {
		await load(page);
		const r = await row(page, group, endpoint);
		if (r && r.state === want)
			return r;
		if (Date.now() > deadline)
			fail(`state never became ${want}: ${JSON.stringify(r)}`);
		await new Promise((res) => setTimeout(res, 200));
	}
}

async function checkSelfContained(browser) {
	const page = await browser.newPage();
	const others = [];
	page.on('request', (req) => {
		if (req.url() !== statusUrl)
			others.push(req.url());
	});
	await load(page);
	if (others.length)
		fail(`the page loads other resources: ${others.join(' ')}`);
	await page.close();
}

async function checkWithoutScript(browser) {
	const page = await browser.newPage();
	await page.setJavaScriptEnabled(false);
	await load(page);
	const r = await row(page, group, endpoint);
	if (!r || !/healthy|cooling|half_open|trial/.test(r.text))
		fail(`without JavaScript the row reads: ${JSON.stringify(r)}`);
	await page.close();
}

// The inline script reloads the page by itself.
async function checkRefreshes(browser) {
	const page = await browser.newPage();
	await load(page);
	await page.waitForNavigation({ waitUntil: 'load', timeout: 60000 });
	await page.close();
}

async function checkEscaping(page) {
	const found = await page.evaluate((g) => {
		const tr = [...document.querySelectorAll('tr.endpoint')].find((t) => t.dataset.group === g);
		return {
			name: tr ? tr.cells[1].innerText : null,
			imgs: document.querySelectorAll('img').length,
			pwned: window.pwned === true,
		};
	}, xssGroup);
	if (found.name !== '<img src=x onerror="window.pwned=true">')
		fail(`a hostile endpoint name is not shown as text: ${JSON.stringify(found)}`);
	if (found.imgs !== 0 || found.pwned)
		fail('a hostile endpoint name became markup');
}

async function main() {
	const browser = await puppeteer.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		protocolTimeout: 60000,
		userDataDir: fs.mkdtempSync(path.join(shots, 'chromium-')),
		args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
		       '--disable-background-networking', '--disable-component-update', '--disable-sync',
		       '--disable-dev-shm-usage'],
	});
	try {
		await checkRefreshes(browser);
		// This page is read by the test: the script's reloads would race
		// with it (checkRefreshes and checkWithoutScript cover the script).
		const page = await browser.newPage();
		await page.setJavaScriptEnabled(false);
		await page.setViewport({ width: 1400, height: 700 });
		await load(page);  // the browser is warm before the cooldown starts
		await chat(group);
		const cooling = await waitState(page, 'cooling', 0);
		if (!/server/.test(cooling.cells[6]))
			fail(`last failure after a 500: ${cooling.cells[6]}`);
		if (!/^\d+\.\d s$/.test(cooling.cells[4]))
			fail(`cooldown left: ${cooling.cells[4]}`);
		await shot(page, 'status-cooling');
		await waitState(page, 'half_open', 30);
		await chat(group);  // the half-open trial, which succeeds
		const back = await waitState(page, 'healthy', 1);
		if (back.cells[7] !== '2' || back.cells[8] !== '1')
			fail(`attempts and failures after recovery: ${back.cells[7]}, ${back.cells[8]}`);
		if (!/server/.test(back.cells[6]))
			fail(`the last failure is forgotten after recovery: ${back.cells[6]}`);
		if (!/ms|s$/.test(back.cells[9]))
			fail(`p50 first token: ${back.cells[9]}`);
		await checkEscaping(page);
		await shot(page, 'status-recovered');
		await checkSelfContained(browser);
		await checkWithoutScript(browser);
	} finally {
		await browser.close();
	}
}

main().then(() => process.exit(0), (e) => {
	console.log(`    FAIL: ${e.message}`);
	process.exit(1);
});
