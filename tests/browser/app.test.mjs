// The clinician app in headless Chromium, launched from a real CDS card's
// link: it draws the suggestions, process map, curve and network; it shows
// the follow-through the patient reported; a worsening patient is flagged
// not on track (with review steps) and an improving one is not; it is
// readable at 1280x800 and at a tablet width; Accept works from the
// keyboard; a risk signal shows a critical alert; the launch token leaves
// the address bar. Screenshots (also of the card, as an EHR might show it)
// go to TUTTI_SCREENSHOT_DIR.

import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  SCREENSHOTS, SKIP, cdsCall, item9, launch, reportFollowThrough, serveStatic, weeklyHistory, weeklyPhq9,
} from "./lib.mjs";

function appLink(answer) {
  assert.equal(answer.cards.length, 1, JSON.stringify(answer));
  const link = answer.cards[0].links[0];
  assert.equal(link.type, "smart");
  return link.url;
}

async function shot(page, name) {
  const path = join(SCREENSHOTS, name);
  await page.screenshot({ path, fullPage: true });
  assert.ok(statSync(path).size > 10_000, `${name} is a real picture`);
}

async function openApp(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(url);
  await page.locator("#content").waitFor({ state: "visible", timeout: 20_000 });
  return { page, errors };
}

/** What the app draws and says, read from the page. */
async function rendered(page) {
  return page.evaluate(() => {
    const all = (sel) => [...document.querySelectorAll(sel)];
    return {
      mapBars: all("#map svg rect").length,
      mapLabels: all("#map svg text[text-anchor=end]").map((t) => t.textContent),
      networkEdges: all("#network svg line").length,
      networkNodes: all("#network svg circle").length,
      networkText: document.querySelector("#network svg").textContent,
      curvePoints: all("#curve svg circle").length,
      trackClass: document.querySelector("#track").className,
      trackText: document.querySelector("#track").textContent,
      steps: all("#track-steps:not([hidden]) li").map((li) => li.textContent),
      warnings: all("#alerts .alert.warning[role=alert]").map((a) => a.textContent),
      alerts: all("#alerts .alert").length,
      follow: document.querySelector("#follow").textContent,
    };
  });
}

// Well-being on the common 0-100 scale for a PHQ-9 total (0-27, lower is better).
const phqWellbeing = (phq) => 100 * (1 - phq / 27);

test("the app shows the card's suggestions, map, curve, network and follow-through at desktop width, and Accept works by keyboard", { skip: SKIP }, async () => {
  const history = weeklyHistory("browser-app-1", 8, 17, -1.2);
  // Last visit: the patient then reported on that card's three suggestions.
  const earlier = await cdsCall("browser-app-1", history);
  await reportFollowThrough(earlier.cards[0].suggestions.map((s, i) => [s.uuid, ["done", "partly", "not_done"][i]]));
  // Today's visit.
  const answer = await cdsCall("browser-app-1", history);
  const card = answer.cards[0];
  assert.equal(card.indicator, "info", "an improving patient gets an info card");
  const browser = await launch({ width: 1280, height: 800 });
  try {
    const { page, errors } = await openApp(browser.context, appLink(answer));
    assert.ok(!page.url().includes("tutti_launch"), "the launch token left the address bar");
    const names = await page.locator(".suggestion h3").allTextContents();
    assert.equal(names.length, 3);
    assert.deepEqual(
      names.map((n) => n.replace(/^\d+\. /, "")),
      card.suggestions.map((s) => s.label.replace(/^Plan: /, "")),
      "the app shows the card's decision",
    );
    const view = await rendered(page);
    assert.ok(view.mapBars >= 5, `a bar per process, at least the five rated (${view.mapBars})`);
    assert.equal(view.mapBars, view.mapLabels.length, "every bar is labelled");
    for (const rated of ["Affect", "Social", "Sleep", "Cognition", "Behavior"]) {
      assert.ok(view.mapLabels.includes(rated), `the map shows ${rated}: ${view.mapLabels}`);
    }
    assert.equal(await page.locator("#curve svg path").count(), 2, "observed and expected curves");
    assert.equal(view.curvePoints, 8, "one observed point per weekly PHQ-9");
    assert.ok(view.networkEdges >= 1, "the network draws edges");
    assert.ok(view.networkNodes >= 2, "and the processes they join");
    assert.doesNotMatch(view.networkText, /Not enough data/);
    assert.match(view.networkText, /Well-being/, "well-being is a node of the network");
    assert.equal(view.trackClass, "track on_track");
    assert.equal(view.trackText, "On track against the expected recovery curve.");
    assert.deepEqual(view.steps, [], "no review steps when on track");
    assert.equal(view.alerts, 0, "no alerts for an improving patient without risk");
    assert.match(view.follow, /^3 reported: 1 done, 1 partly\. /, "the follow-through the patient reported");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    assert.equal(overflow, false, "no horizontal scrolling at 1280 px");
    await shot(page, "ehr-app-desktop.png");

    // Keyboard only: Tab to the first Accept button and press Enter.
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press("Tab");
      reached = await page.evaluate(() => document.activeElement?.textContent === "Accept");
    }
    assert.ok(reached, "Accept is reachable with Tab");
    const focusVisible = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(focusVisible, "none", "focus is visible");
    await page.keyboard.press("Enter");
    await page.getByText(/^Accepted: .*Recorded\.$/).first().waitFor({ timeout: 10_000 });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("the app is readable at a tablet width and flags a risk signal as critical", { skip: SKIP }, async () => {
  const answer = await cdsCall("browser-app-2", [...weeklyHistory("browser-app-2", 5, 15, 0), item9("browser-app-2", 2)]);
  assert.equal(answer.cards[0].indicator, "critical");
  const browser = await launch({ width: 820, height: 1180 });
  try {
    const { page, errors } = await openApp(browser.context, appLink(answer));
    await page.locator(".alert.critical").waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    assert.equal(overflow, false, "no horizontal scrolling at 820 px");
    const fontSize = await page.evaluate(() => parseFloat(getComputedStyle(document.querySelector(".why")).fontSize));
    assert.ok(fontSize >= 14, `body text is readable (${fontSize}px)`);
    await shot(page, "ehr-app-tablet.png");
    // Override with a reason, by mouse this time.
    const first = page.locator(".suggestion").first();
    await first.locator("select").selectOption("patient-declined");
    await first.getByRole("button", { name: "Override" }).click();
    await page.getByText(/^Overridden: .*Recorded\.$/).first().waitFor({ timeout: 10_000 });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("a worsening patient is flagged not on track with review steps; an improving one is not", { skip: SKIP }, async () => {
  const weeks = 8;
  const worse = await cdsCall("browser-worse", weeklyHistory("browser-worse", weeks, 8, 2.2));
  const better = await cdsCall("browser-better", weeklyHistory("browser-better", weeks, 18, -1.5));
  assert.equal(worse.cards[0].indicator, "warning", "the card already says not on track");
  assert.equal(better.cards[0].indicator, "info");
  // The verdict compares the mean of the last three measures with the curve.
  const lastThree = [weeks - 3, weeks - 2, weeks - 1].map((w) => phqWellbeing(weeklyPhq9(8, 2.2, w)));
  const observed = Math.round(lastThree.reduce((a, b) => a + b) / 3);
  const browser = await launch({ width: 1280, height: 800 });
  try {
    const { page, errors } = await openApp(browser.context, appLink(worse));
    await page.locator("#track.not_on_track").waitFor();
    const w = await rendered(page);
    assert.equal(w.trackClass, "track not_on_track");
    assert.equal(w.trackText, "Not on track: below the expected recovery curve. Review:");
    assert.equal(w.warnings.length, 1, "one not-on-track alert");
    const m = w.warnings[0].match(/^Not on track: well-being (\d+) where about (\d+) was expected after (\d+) weeks\.$/);
    assert.ok(m, w.warnings[0]);
    assert.equal(Number(m[1]), observed, "observed well-being from the PHQ-9s sent");
    assert.ok(Number(m[2]) > observed + 20, `expected well-being ${m[2]} is well above ${observed}`);
    assert.equal(Number(m[3]), weeks - 1, "weeks since the first measure");
    assert.ok(w.steps.length >= 4, `review steps as a list: ${JSON.stringify(w.steps)}`);
    assert.ok(w.steps.every((s) => /^[A-Z][^]*[.?]$/.test(s) && !/[.?]; /.test(s)), `one whole sentence per step: ${JSON.stringify(w.steps)}`);
    assert.ok(w.steps.some((s) => /risk/.test(s)), "the steps start from risk");
    assert.equal(await page.getByRole("alert").count(), 1, "the warning is announced");
    assert.ok(w.networkEdges >= 1, "the network draws edges");
    assert.match(w.follow, /^0 reported: 0 done, 0 partly\. /, "nothing reported");
    await shot(page, "ehr-app-not-on-track.png");
    assert.deepEqual(errors, []);

    const { page: page2, errors: errors2 } = await openApp(browser.context, appLink(better));
    const b = await rendered(page2);
    assert.equal(b.trackClass, "track on_track");
    assert.equal(b.trackText, "On track against the expected recovery curve.");
    assert.deepEqual(b.warnings, []);
    assert.equal(b.alerts, 0);
    assert.deepEqual(b.steps, []);
    assert.equal(await page2.locator("#track-steps").isVisible(), false);
    assert.equal(await page2.locator(".track.not_on_track").count(), 0);
    assert.deepEqual(errors2, []);
  } finally {
    await browser.close();
  }
});

test("a used or missing launch token opens nothing", { skip: SKIP }, async () => {
  const answer = await cdsCall("browser-app-3", weeklyHistory("browser-app-3", 4, 12, 0));
  const url = appLink(answer);
  const browser = await launch();
  try {
    await openApp(browser.context, url);
    const again = await browser.context.newPage();
    await again.goto(url);
    await again.getByText(/expired or was already used/).waitFor();
    assert.equal(await again.locator("#content").isVisible(), false);
  } finally {
    await browser.close();
  }
});

test("the card renders as an EHR might show it (screenshot for the docs)", { skip: SKIP }, async () => {
  const answer = await cdsCall("browser-card", weeklyHistory("browser-card", 8, 8, 2.2));
  const card = answer.cards[0];
  const esc = (s) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  // A minimal Markdown subset (bold, italics, numbered lines) is enough for the card's detail.
  const md = (s) => esc(s).replace(/\*\*(.+?)\*\*/g, "<b>$1</b>").replace(/\*(.+?)\*/g, "<i>$1</i>").replace(/\n/g, "<br>");
  const color = { info: "#1d5fa8", warning: "#8a5a00", critical: "#b3261e" }[card.indicator];
  const html = `<!doctype html><meta charset="utf-8"><title>card</title>
  <body style="font:15px system-ui,'DejaVu Sans',sans-serif;background:#eef1f4;margin:0;padding:24px">
  <div style="max-width:760px;background:#fff;border-left:6px solid ${color};border-radius:6px;padding:14px 18px;box-shadow:0 1px 3px #0003">
  <div style="font-size:12px;color:#555;text-transform:uppercase">${esc(card.indicator)} · ${esc(card.source.label)}</div>
  <h2 style="margin:4px 0 8px;font-size:18px">${esc(card.summary)}</h2>
  <div style="line-height:1.45">${md(card.detail)}</div>
  <div style="margin-top:12px;display:flex;gap:8px;flex-wrap:wrap">${card.suggestions.map((s) => `<button style="font:inherit;padding:6px 10px">${esc(s.label)}</button>`).join("")}</div>
  <div style="margin-top:10px"><a href="#" style="color:#1d5fa8">${esc(card.links[0].label)}</a>
  <span style="color:#777;margin-left:12px">Dismiss: ${card.overrideReasons.map((r) => esc(r.display)).join(" · ")}</span></div></div>`;
  const site = await serveStatic({ "/": ["text/html", html] });
  const browser = await launch({ width: 860, height: 700 });
  try {
    const page = await browser.context.newPage();
    await page.goto(`${site.url}/`);
    await shot(page, "cds-card.png");
  } finally {
    await browser.close();
    await site.close();
  }
});
