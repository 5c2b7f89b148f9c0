// The TOROS observatory page: renders the view toros-web pushes (server-sent events, "state").
// Every value is set with textContent: nothing a daemon reports is ever parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
let view = null;       // the last view received
let skew = 0;          // server clock minus this browser's, ms
const queueRows = new Map();  // "service/ID" -> its row in the queue table
let lastView = 0;      // when (this browser's clock) the last view arrived
let linkLostAt = null; // when the page's own link to toros-web was lost (ms), or null
//: A value older than FRESH seconds shows its age; older than STALE seconds (Web: Stale After) it is greyed out.
const FRESH = 5;
let STALE = 30;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function facts(id, pairs) {
  const dl = $(id);
  dl.replaceChildren(...pairs.filter(([, v]) => v !== undefined && v !== null && v !== "")
    .flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })]));
}

const fixed = (x, n) => (typeof x === "number" ? x.toFixed(n) : "–");
const clock = (s) => {
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return (h ? `${h}:${String(m).padStart(2, "0")}` : `${m}`) + `:${String(r).padStart(2, "0")}`;
};
const hms = (iso) => (iso ? iso.slice(11, 19) : "");
const nowServer = () => Date.now() + skew;
const ago = (seconds) => (seconds < 90 ? `${Math.round(seconds)} s` : seconds < 5400 ? `${Math.round(seconds / 60)} min`
  : `${(seconds / 3600).toFixed(1)} h`);

// How old a value is, on its card: nothing while fresh, "as of ..." after FRESH s, greyed out after STALE s
// (a lost link, a device server gone: the last known values stay, and say how old they are).
function age(node, stamp, problem) {
  const card = node.closest(".card, .panel");
  let label = card.querySelector(":scope > .age");
  if (!label) { label = el("p", { class: "age" }); card.append(label); }
  const seconds = stamp ? (nowServer() - Date.parse(stamp)) / 1000 : Infinity;
  const old = seconds > FRESH || problem;
  label.hidden = !old;
  label.textContent = !stamp ? "no value yet" : problem ? `${problem} · as of ${hms(stamp)} UTC (${ago(seconds)} ago)`
    : `as of ${hms(stamp)} UTC, ${ago(seconds)} ago`;
  card.classList.toggle("stale", seconds > STALE || Boolean(problem));
}

function renderAges() {
  if (!view) return;
  const sampled = view["Devices Sampled"];
  const kinds = { "dome-shutter": "Dome", "mount-state": "Mount", "camera-state": "Camera", "filter-name": "Filter Wheel" };
  for (const [id, kind] of Object.entries(kinds)) {
    const d = view.Devices[kind] || {};
    // A device its daemon has disconnected (its server gone) is sampled afresh but says nothing: a problem too
    const problem = d.Errors ? d.Errors[0].slice(0, 140) + (d.Errors.length > 1 ? ` (+${d.Errors.length - 1} more)` : "")
      : d.Name && d.Connected === false ? "not connected" : "";
    age($(id), d.Name ? sampled : "", problem);
  }
  age($("sun"), view.Time, "");  // (the supervisor checks on the observatory's clock: a simulator's runs fast)
  // The page's own view: when toros-web itself is gone, everything on it is as old as its last view.
  const viewAge = (Date.now() - lastView) / 1000;
  for (const id of ["queue-panel", "frame-panel", "timeline-panel"]) $(id).classList.toggle("stale", viewAge > STALE);
  const link = $("link");
  if (linkLostAt !== null) {
    link.textContent = `page link lost since ${new Date(linkLostAt).toISOString().slice(11, 19)} UTC (${ago((Date.now() - linkLostAt) / 1000)})`;
    link.className = "badge bad";
  }
}

function setBig(id, text, tone) {
  const node = $(id);
  node.textContent = text;
  node.className = "big" + (tone ? " " + tone : "");
}

function renderDevices(devices, safety) {
  const dome = devices["Dome"] || {};
  if (!dome.Connected) setBig("dome-shutter", dome.Name ? "not connected" : "–", "bad");
  else setBig("dome-shutter", dome.Shutter || "?", dome.Shutter === "Open" ? "good" : dome.Shutter === "Error" ? "bad" : "");
  facts("dome-facts", [["Azimuth", fixed(dome.Azimuth, 1) + "°"], ["Slewing", dome.Slewing ? "yes" : "no"],
    ["Slaved", dome.Slaved ? "yes" : "no"], ["Parked", dome.Parked ? "yes" : "no"]]);
  const mount = devices["Mount"] || {};
  setBig("mount-state", !mount.Connected ? "not connected" : mount.Slewing ? "Slewing" : mount.Parked ? "Parked"
    : mount.Tracking ? "Tracking" : "Stopped", mount.Connected ? (mount.Tracking ? "good" : "") : "bad");
  facts("mount-facts", [["RA", fixed(mount.RA, 4) + "°"], ["Dec", fixed(mount.Dec, 4) + "°"],
    ["Altitude", fixed(mount.Altitude, 1) + "°"], ["Azimuth", fixed(mount.Azimuth, 1) + "°"]]);
  const camera = devices["Camera"] || {};
  let state = camera.Connected ? camera.State || "?" : "not connected";
  if (camera.State === "Exposing") state += ` ${fixed(camera["Percent Completed"], 0)}%`;
  setBig("camera-state", state, camera.Connected ? (camera.State === "Error" ? "bad" : "") : "bad");
  facts("camera-facts", [["Sensor", fixed(camera.Temperature, 1) + " °C"], ["Set point", fixed(camera["Set Point"], 1) + " °C"],
    ["Cooler", fixed(camera["Cooler Power"], 0) + " %"], ["Name", camera.Name]]);
  const wheel = devices["Filter Wheel"] || {};
  setBig("filter-name", wheel.Connected ? wheel.Filter || "?" : "not connected", wheel.Connected ? "" : "bad");
  facts("filter-facts", [["Moving", wheel.Moving ? "yes" : "no"], ["Filters", (wheel.Names || []).join(" ")]]);
  const supervised = safety && safety.Supervised;
  setBig("sun", supervised ? `Sun ${fixed(safety["Sun Altitude"], 1)}°` : "–",
    supervised ? (safety["Sun Altitude"] < -12 ? "good" : "warn") : "");
  const c = (supervised && safety.Conditions) || {};
  facts("weather-facts", [["Rain", c.RainRate !== undefined ? fixed(c.RainRate, 1) + " mm/h" : ""],
    ["Wind", c.WindSpeed !== undefined ? fixed(c.WindSpeed, 1) + " m/s" : ""],
    ["Humidity", c.Humidity !== undefined ? fixed(c.Humidity, 0) + " %" : ""],
    ["Cloud", c.CloudCover !== undefined ? fixed(c.CloudCover, 0) + " %" : ""],
    ["May open", supervised ? hms(safety["Opens At"]) : ""]]);
}

function renderSafety(safety) {
  const badge = $("safety");
  if (!safety || !safety.Supervised) { badge.textContent = "safety: not supervised"; badge.className = "badge unknown"; return; }
  badge.textContent = safety.Safe ? "safe to open" : "NOT safe: " + safety.Reasons.join("; ");
  badge.className = "badge " + (safety.Safe ? "good" : "bad");
}

function stepProgress(step) {
  if (!step || !step.Ends) return null;
  const now = Date.now() + skew, start = Date.parse(step.At), end = Date.parse(step.Ends);
  const fraction = Math.min(1, Math.max(0, (now - start) / Math.max(1, end - start)));
  return { fraction, left: Math.max(0, (end - now) / 1000) };
}

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body) });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.Error || response.statusText);
  return answer;
}

function renderQueues(services, allow) {
  const chips = Object.entries(services).map(([name, s]) => {
    const ok = s.Reachable && s.Health && s.Health.Healthy && s.Health.Ready !== false;
    const text = !s.Reachable ? `${name}: unreachable since ${hms(s.Since)} UTC`
      : !s.Health.Healthy ? `${name}: UNHEALTHY ${s.Health.Problems.join("; ")}`
      : s.Health.Ready === false ? `${name}: not ready: ${s.Health["Not Ready"]}` : `${name}: ${s.Health.Worker}`;
    return el("span", { class: "service " + (ok ? "good" : "bad"), "data-service": name,
      title: s.Error || (s.Health && s.Health.Devices) || "", text });
  });
  const devices = (view && view.Links && view.Links.Devices) || { OK: true };
  chips.push(el("span", { class: "service " + (devices.OK ? "good" : "bad"), "data-service": "devices",
    title: devices.Problem || "every daemon reaches its devices",
    text: devices.OK ? "devices: connected" : `devices: lost since ${hms(devices.Since)} UTC` }));
  $("services").replaceChildren(...chips);
  // Rows are kept and updated in place (keyed by service and ID), never rebuilt: a Cancel button that
  // is being clicked must still be there when the mouse comes up.
  const body = $("queue").tBodies[0];
  const keep = new Set();
  const rows = [];
  for (const [name, s] of Object.entries(services)) {
    for (const o of s.Queue) {
      const key = `${name}/${o.ID}`;
      keep.add(key);
      let row = queueRows.get(key);
      if (!row) {
        row = el("tr", { "data-id": o.ID, "data-service": name });
        const cells = ["service", "id", "type", "state", "priority", "progress", "action"].map((c) => el("td", { class: "col-" + c }));
        row.append(...cells);
        cells[0].textContent = name; cells[1].textContent = o.ID; cells[2].textContent = o.WOType;
        cells[4].classList.add("num");
        if (allow) {
          cells[6].append(el("button", { class: "cancel", text: "Cancel", onclick: (event) => {
            event.target.disabled = true;
            post("/api/cancel", { service: name, id: o.ID }).catch((error) => alert(error.message));
          } }));
        }
        queueRows.set(key, row);
      }
      const cells = row.cells;
      row.classList.toggle("stale", !s.Reachable);  // its daemon's last known queue, not a live one
      cells[3].textContent = o.State; cells[3].className = "col-state state-" + o.State;
      cells[4].textContent = String(o.Priority);
      const progress = [el("div", { text: o.Progress || "" })];
      const p = stepProgress(o.Step);
      if (p) {
        const fill = el("span");
        fill.style.width = `${(p.fraction * 100).toFixed(1)}%`;  // CSSOM: allowed by the page's CSP, unlike style=""
        progress.push(el("div", { class: "bar" }, fill));
        progress.push(el("div", { class: "eta", text: `ETA ${hms(o.Step.Ends)} UTC, in ${clock(p.left)}` }));
      }
      cells[5].replaceChildren(...progress);
      rows.push(row);
    }
  }
  for (const key of [...queueRows.keys()]) if (!keep.has(key)) queueRows.delete(key);
  rows.forEach((row, i) => { if (body.children[i] !== row) body.insertBefore(row, body.children[i] || null); });
  while (body.children.length > rows.length) body.lastChild.remove();
  $("queue-empty").hidden = rows.length > 0;
  const recent = Object.entries(services).flatMap(([name, s]) => s.Recent.filter((o) => o.Finished).map((o) => [name, o]))
    .sort((a, b) => (a[1].Finished < b[1].Finished ? 1 : -1)).slice(0, 12);
  $("recent").tBodies[0].replaceChildren(...recent.map(([name, o]) => el("tr", { "data-id": o.ID },
    el("td", { text: name }), el("td", { text: o.ID }), el("td", { text: o.WOType }),
    el("td", { class: "state-" + o.State, text: o.State }), el("td", { text: hms(o.Finished) }),
    el("td", { class: "num", text: clock(o.Elapsed) }), el("td", { text: (o.Error || o.Result).slice(0, 160) }))));
}

function renderFrame(frame) {
  const img = $("frame");
  if (!frame || !frame.Preview) return;
  if (img.getAttribute("src") !== frame.Preview) {
    img.src = frame.Preview;
    img.alt = `${frame.Type} frame ${frame.Object}`;
    img.hidden = false;
  }
  $("frame-caption").textContent = [frame.Object || "(no object)", frame.Type, `filter ${frame.Filter || "–"}`,
    `${frame.Exposure} s`, `${(frame.Start || "").replace("T", " ").slice(0, 19)} UTC`, `order ${frame.Order}`,
    ...(frame.Check ? [frame.Check === "PASSED" ? "verified" : "REJECTED"] : [])].join(" · ");
  const st = frame.Statistics || {};
  facts("frame-stats", [["Median", st.Median !== undefined ? fixed(st.Median, 0) + " ADU" : ""],
    ["Saturated", st.Saturated !== undefined ? (st.Saturated * 100).toFixed(2) + " %" : ""],
    ["Stars found", st.Stars !== null && st.Stars !== undefined ? String(st.Stars) : ""],
    ["Why rejected", frame.Check === "FAILED" ? st.Why : ""]]);
  const warning = $("frame-warning");
  warning.textContent = st.Warning || "";
  warning.hidden = !st.Warning;
}

function renderOptics(optics) {
  // The telescope daemon's last plate solve, acquisition and autofocus, and its pointing model
  $("card-optics").hidden = !optics;
  if (!optics) return;
  const solve = optics["Last Solve"] || {}, acq = optics["Last Acquisition"] || {}, focus = optics.Focus || {};
  const model = optics.Model || {};
  $("optics-state").textContent = solve.Offset !== undefined ? `solved ${fixed(solve.Offset, 1)}″ off`
    : `acquisition ${optics.Acquisition || "–"}`;
  const terms = Object.entries(model.Terms || {}).map(([k, v]) => `${k} ${v >= 0 ? "+" : ""}${fixed(v, 1)}″`).join(" ");
  facts("optics-facts", [
    ["Last solve", solve.Time ? `${hms(solve.Time)} UTC, RA ${fixed(solve.RA, 4)} Dec ${fixed(solve.Dec, 4)}` : ""],
    ["Acquired", acq.Time ? `${acq.Acquired ? "yes" : "NO"}: ${fixed(acq.Offset, 1)}″ after ${acq.Corrections} `
      + `correction(s), first slew ${fixed(acq["First Offset"], 1)}″ off` : ""],
    ["Pointing model", model.Points ? `${terms} · RMS ${fixed(model.RMS, 1)}″ from ${model.Points} points` : ""],
    ["Focus", focus.Position !== undefined ? `${focus.Position} steps, HFR ${fixed(focus.HFR, 2)} px in `
      + `${focus.Filter || "–"}${focus.Time ? " at " + hms(focus.Time) + " UTC" : ""}` : focus.Reason || ""],
    ["Why focused", focus.Position !== undefined ? focus.Reason : ""],
  ]);
}

function renderAlerts(campaigns) {
  // The alerts daemon's events: the newest first, with the probability its fields hold and have observed
  $("card-alerts").hidden = !campaigns || !campaigns.length;
  if (!campaigns || !campaigns.length) return;
  const latest = campaigns[0];
  $("alerts-state").textContent = `${latest.Superevent} ${latest.Retracted ? "retracted" : latest["Last Alert"]}`;
  facts("alerts-facts", campaigns.slice(0, 4).map((c) => [c.Superevent,
    c.Retracted ? `retracted (${c.Kind})` : `observed ${(c.Observed * 100).toFixed(1)} % of the probability `
      + `(planned ${(c.Planned * 100).toFixed(1)} %), ${c["Observed Fields"]} of ${c.Fields} fields`
      + `${c.Significant ? " · significant" : ""} (${c.Kind})`]));
  const chart = $("alerts-chart");
  if (latest.Chart && chart.getAttribute("src") !== latest.Chart) {
    chart.src = latest.Chart;
    $("alerts-chart-link").href = latest.Chart;
    chart.hidden = false;
  }
}

function renderTimeline(id, entries) {
  $(id).replaceChildren(...entries.map((e) => el("li", {}, el("time", { text: e.At.replace("T", " ") }),
    el("span", { text: `${e.Service}: ${e.Text}` }))));
}

function renderSkyClock(v) {
  // A simulated observatory runs its own night: show its clock when it is not the wall clock.
  const sky = v.Devices.Mount && v.Devices.Mount.Time;
  const apart = sky ? Math.abs(Date.parse(sky) - Date.parse(v.Time)) > 60000 : false;
  $("sky-clock").hidden = !apart;
  if (apart) $("sky-clock").textContent = "sky " + sky.replace("T", " ").slice(0, 19);
  $("safety-clock").textContent = apart ? "(observatory clock)" : "";
}

function renderLog(lines) {
  const pre = $("log");
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
  pre.replaceChildren(...lines.slice(-150).map((l) => {
    const level = (l.Line.split(" ")[1] || "");
    return el("div", { class: level, text: `${l.Service}: ${l.Line}` });
  }));
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

function render(v) {
  view = v;
  lastView = Date.now();
  STALE = v["Stale After"] || STALE;
  skew = Date.parse(v.Time) - Date.now();
  $("site").textContent = v.Site;
  $("clock").textContent = v.Time.replace("T", " ").slice(0, 19) + " UTC";
  renderSafety(v.Safety);
  renderDevices(v.Devices, v.Safety);
  renderQueues(v.Services, v["Allow Orders"]);
  renderFrame(v["Latest Frame"]);
  renderOptics(v.Optics);
  renderAlerts(v.Campaigns);
  renderTimeline("timeline", v.Timeline);
  renderTimeline("safety-events", v["Safety Events"]);
  renderSkyClock(v);
  renderLog(v.Log);
  $("order-panel").hidden = !v["Allow Orders"];
  renderAges();
}

function connect() {
  const link = $("link");
  const events = new EventSource("/events");
  events.addEventListener("state", (event) => {
    linkLostAt = null;
    link.textContent = "live"; link.className = "badge good";
    render(JSON.parse(event.data));
  });
  events.onerror = () => {  // EventSource reconnects by itself; the badge says since when it is lost
    if (linkLostAt === null) linkLostAt = lastView || Date.now();
    renderAges();
  };
}

document.addEventListener("DOMContentLoaded", () => {
  connect();
  setInterval(() => { if (view) { renderQueues(view.Services, view["Allow Orders"]); renderAges(); } }, 1000);  // bars, ages
  $("order-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = $("order-result");
    out.className = ""; out.textContent = "sending…";
    try {
      const receipt = await post("/api/orders", { text: $("order-text").value });
      out.className = "good";
      out.textContent = `accepted ${receipt.ID} (${receipt.WOType}, priority ${receipt.Priority})` +
        (receipt.Duplicate ? " - already known, not run again" : "");
    } catch (error) {  // every bad field, one per line (the daemon names them all, "; also" between)
      out.className = "bad";
      out.replaceChildren(...error.message.split("; also ").map((problem) => el("div", { text: problem })));
    }
  });
});
