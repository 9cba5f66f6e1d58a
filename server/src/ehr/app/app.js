// Tutti clinician app: plain modern JavaScript, no framework, no build step.
// Launched from a CDS card's link with ?tutti_launch=<token>: the token is
// exchanged once for a session (kept in memory only) and removed from the
// address bar; then the view is drawn and the buttons post clinician feedback.
// Every text is set with textContent, and charts are SVG built with DOM calls.

const SVG = "http://www.w3.org/2000/svg";
const REASONS = [
  ["", "Reason (optional)"],
  ["not-a-fit-now", "Not a fit right now"],
  ["patient-declined", "Patient declined"],
  ["already-in-plan", "Already part of the plan"],
  ["other-priority", "Another priority first"],
];
let session = null;

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function status(text) {
  $("status").textContent = text;
}

const fmt = (x, d = 1) => (x >= 0 ? "+" : "") + x.toFixed(d);
const pct = (x) => `${Math.round(Math.max(0, Math.min(1, x)) * 100)}%`;
const label = (id) => id.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());

async function start() {
  const launch = new URLSearchParams(location.search).get("tutti_launch");
  // The token must not stay in the address bar, history or a bookmark.
  history.replaceState(null, "", location.pathname);
  if (!launch) {
    status("Open this app from a Tutti card in the patient's record.");
    return;
  }
  const r = await fetch("/ehr/app/session", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ launch }),
  });
  if (!r.ok) {
    status("This link has expired or was already used: open the card again.");
    return;
  }
  session = (await r.json()).session;
  await load();
}

async function api(path, init = {}) {
  const r = await fetch(path, {
    ...init,
    headers: { ...(init.headers || {}), authorization: `Bearer ${session}` },
  });
  if (r.status === 401) throw new Error("The session has ended: open the card again.");
  if (!r.ok) throw new Error(`The request failed (${r.status}).`);
  return r.json();
}

async function load() {
  try {
    const view = await api("/ehr/app/api/view");
    render(view);
    status(`Based on ${view.assessments} assessments.`);
  } catch (e) {
    status(e.message);
  }
}

function render(v) {
  const alerts = $("alerts");
  alerts.replaceChildren();
  if (v.safetyMode || v.riskActive) {
    alerts.append(el("p", { class: "alert critical", role: "alert" },
      "Risk signal in the latest measures (for example PHQ-9 item 9 above 0): review safety first. Suggestions are on the safety path."));
  }
  if (v.track.status === "not_on_track") {
    alerts.append(el("p", { class: "alert warning", role: "alert" },
      `Not on track: well-being ${v.track.observed.toFixed(0)} where about ${v.track.expected.toFixed(0)} was expected after ${v.track.weeks.toFixed(0)} weeks.`));
  }
  renderSuggestions(v);
  renderMap(v.processes);
  renderCurve(v.curve, v.track);
  renderNetwork(v.edges);
  const f = v.followThrough;
  $("follow").textContent =
    `${f.reported} reported: ${f.done} done, ${f.partly} partly. Likely to follow through on a typical step now: ${pct(f.probability.mean)} (90% interval ${pct(f.probability.lower)} to ${pct(f.probability.upper)}).`;
  $("summary").textContent = v.summary;
  $("content").hidden = false;
}

function renderSuggestions(v) {
  const list = $("suggestions");
  list.replaceChildren();
  v.recommendations.forEach((r, i) => {
    const li = el("li", { class: i === 0 ? "suggestion first" : "suggestion" });
    const h = el("h3", { id: `s-${i}` }, `${r.rank}. ${r.name}`);
    li.append(h);
    li.append(el("p", { class: "meta" },
      `${r.minutes} min · likely done ${pct(r.followThrough.mean)} · gain ${fmt(r.benefit.mean)} (${fmt(r.benefit.lower)} to ${fmt(r.benefit.upper)}) well-being points`));
    li.append(el("p", { class: "why" }, r.summary));
    const chips = el("ul", { class: "chips", "aria-label": "Processes it targets" });
    for (const p of r.processes) chips.append(el("li", {}, label(p)));
    li.append(chips);
    if (r.review) li.append(el("p", { class: "review" }, "Clinician-led or review needed"));
    const actions = el("div", { class: "actions" });
    const accept = el("button", { type: "button", "aria-describedby": `s-${i}` }, "Accept");
    const reason = el("select", { "aria-label": `Override reason for ${r.name}` });
    for (const [value, text] of REASONS) reason.append(el("option", { value }, text));
    const override = el("button", { type: "button", class: "secondary", "aria-describedby": `s-${i}` }, "Override");
    const send = async (decision) => {
      accept.disabled = true;
      override.disabled = true;
      reason.disabled = true;
      try {
        await api("/ehr/app/api/feedback", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ recommendationId: r.id, decision, reason: reason.value }),
        });
        const done = el("p", { class: "done", role: "status" },
          decision === "accepted" ? `Accepted: ${r.name}. Recorded.` : `Overridden: ${r.name}. Recorded.`);
        actions.replaceChildren(done);
        status(done.textContent);
      } catch (e) {
        accept.disabled = false;
        override.disabled = false;
        reason.disabled = false;
        status(e.message);
      }
    };
    accept.addEventListener("click", () => send("accepted"));
    override.addEventListener("click", () => send("overridden"));
    actions.append(accept, reason, override);
    li.append(actions);
    list.append(li);
  });
  if (v.indistinguishable) {
    list.after(el("p", { class: "hint" }, "The top suggestions cannot be told apart on the data so far: treat them as equal options."));
  }
}

function renderMap(processes) {
  const rows = processes.slice(0, 12);
  const W = 560, row = 26, left = 130, right = 130, top = 20;
  const H = top + rows.length * row + 10;
  const max = Math.max(1, ...rows.flatMap((p) => [Math.abs(p.drive.lower), Math.abs(p.drive.upper)]));
  const mid = left + (W - left - right) / 2;
  const scale = (W - left - right) / 2 / max;
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "map-title" });
  s.append(svg("title", { id: "map-title" }, "Process map: how strongly each process goes with this patient's well-being"));
  s.append(svg("line", { x1: mid, x2: mid, y1: top - 6, y2: H - 6, stroke: "#8895a3" }));
  s.append(svg("text", { x: mid, y: 12, "text-anchor": "middle" }, "0"));
  rows.forEach((p, i) => {
    const y = top + i * row + row / 2;
    const m = p.drive.mean * scale;
    s.append(svg("text", { x: left - 8, y: y + 4, "text-anchor": "end" }, label(p.id)));
    s.append(svg("rect", {
      x: Math.min(mid, mid + m), y: y - 8, width: Math.max(1, Math.abs(m)), height: 16, rx: 3,
      fill: p.drive.mean >= 0 ? "#2e8b57" : "#c0392b", "fill-opacity": 0.35 + 0.65 * p.ownDataWeight,
    }));
    s.append(svg("line", { x1: mid + p.drive.lower * scale, x2: mid + p.drive.upper * scale, y1: y, y2: y, stroke: "#1b2430", "stroke-width": 1.5 }));
    s.append(svg("text", { x: W - right + 8, y: y + 4 },
      `${fmt(p.drive.mean)} · r ${p.correlation.toFixed(2)} · n ${p.observations}`));
  });
  $("map").replaceChildren(s);
}

function renderCurve(curve, track) {
  const W = 560, H = 240, l = 40, r = 12, t = 12, b = 34;
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "curve-title" });
  s.append(svg("title", { id: "curve-title" }, "Observed well-being against the expected recovery curve"));
  const maxWeeks = Math.max(1, ...curve.map((p) => p.weeks));
  const x = (w) => l + (w / maxWeeks) * (W - l - r);
  const y = (v) => t + (1 - v / 100) * (H - t - b);
  for (const v of [0, 25, 50, 75, 100]) {
    s.append(svg("line", { x1: l, x2: W - r, y1: y(v), y2: y(v), stroke: "#e3e8ee" }));
    s.append(svg("text", { x: l - 6, y: y(v) + 4, "text-anchor": "end" }, String(v)));
  }
  s.append(svg("text", { x: (l + W - r) / 2, y: H - 6, "text-anchor": "middle" }, "weeks in care"));
  if (curve.length > 0) {
    const path = (key) => curve.map((p, i) => `${i ? "L" : "M"}${x(p.weeks).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ");
    s.append(svg("path", { d: path("expected"), fill: "none", stroke: "#4d5b6a", "stroke-width": 2, "stroke-dasharray": "6 4" }));
    s.append(svg("path", { d: path("observed"), fill: "none", stroke: "#1d5fa8", "stroke-width": 2.5 }));
    for (const p of curve) s.append(svg("circle", { cx: x(p.weeks), cy: y(p.observed), r: 3.5, fill: "#1d5fa8" }));
    s.append(svg("text", { x: W - r, y: t + 12, "text-anchor": "end" }, "— observed   - - expected"));
  }
  $("curve").replaceChildren(s);
  const words = {
    on_track: "On track against the expected recovery curve.",
    not_on_track: "Not on track: below the expected recovery curve.",
    insufficient_data: "Too few outcome measures to tell whether the patient is on track.",
  };
  const p = $("track");
  p.className = `track ${track.status}`;
  p.textContent = words[track.status] + (track.steps.length ? " Review:" : "");
  // One step per line: the steps are whole sentences (some with a semicolon
  // of their own), so running them together in one paragraph misreads.
  const steps = $("track-steps");
  steps.replaceChildren(...track.steps.map((step) => el("li", {}, step)));
  steps.hidden = track.steps.length === 0;
}

function renderNetwork(edges) {
  const W = 560, H = 300, cx = W / 2, cy = H / 2, R = 110;
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "net-title" });
  s.append(svg("title", { id: "net-title" }, "Network of week-to-week influences between processes and well-being"));
  const defs = svg("defs");
  for (const [id, color] of [["pos", "#2e8b57"], ["neg", "#c0392b"]]) {
    const m = svg("marker", { id: `arrow-${id}`, viewBox: "0 0 10 10", refX: 18, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
    m.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: color }));
    defs.append(m);
  }
  s.append(defs);
  const shown = edges.slice(0, 8);
  const nodes = [...new Set(shown.flatMap((e) => [e.source, e.target]))];
  if (nodes.length === 0) {
    s.append(svg("text", { x: cx, y: cy, "text-anchor": "middle" }, "Not enough data for a network yet."));
    $("network").replaceChildren(s);
    return;
  }
  const pos = new Map(nodes.map((n, i) => {
    const a = (2 * Math.PI * i) / nodes.length - Math.PI / 2;
    return [n, [cx + R * Math.cos(a), cy + R * Math.sin(a)]];
  }));
  const max = Math.max(0.05, ...shown.map((e) => Math.abs(e.weight.mean)));
  for (const e of shown) {
    const [x1, y1] = pos.get(e.source);
    const [x2, y2] = pos.get(e.target);
    const positive = e.weight.mean >= 0;
    s.append(svg("line", {
      x1, y1, x2, y2, stroke: positive ? "#2e8b57" : "#c0392b",
      "stroke-width": 1 + 4 * Math.abs(e.weight.mean) / max, "marker-end": `url(#arrow-${positive ? "pos" : "neg"})`,
    }));
  }
  for (const [n, [x, y]] of pos) {
    s.append(svg("circle", { cx: x, cy: y, r: 8, fill: n === "outcome" ? "#13324f" : "#fff", stroke: "#13324f", "stroke-width": 2 }));
    const name = n === "outcome" ? "Well-being" : n.split(".").map(label).join(" ");
    const anchor = x < cx - 10 ? "end" : x > cx + 10 ? "start" : "middle";
    const dx = anchor === "end" ? -12 : anchor === "start" ? 12 : 0;
    s.append(svg("text", { x: x + dx, y: y + (anchor === "middle" ? (y < cy ? -14 : 22) : 4), "text-anchor": anchor }, name));
  }
  $("network").replaceChildren(s);
}

start().catch((e) => status(`Something went wrong: ${e.message}`));
