// wattcast dashboard: one FleetTrainingJob. Progress (meters finished of the total), counts,
// the MAE / best-baseline aggregates, the failure table and the histogram of MAE / baseline
// across meters, all from GET /v1/fleettrainingjobs/{name}, kept live by its event stream.
// The histogram is the status' own (a fixed set of buckets, small at any fleet size).
"use strict";

(function () {
  const w = window.wattcast;
  const { el, $ } = w;
  const name = document.body.dataset.fleet;
  const fleetPath = `/v1/fleettrainingjobs/${encodeURIComponent(name)}`;
  // Okabe-Ito: bars that beat the baseline (ratio <= 1) blue, the others orange.
  const BEATS = "#0072B2";
  const LOSES = "#E69F00";

  let fleet = null;
  let chart = null;
  let drawnHistogram = null;

  const specOf = (f) => f.spec || {};
  const statusOf = (f) => f.status || {};

  function fact(dl, term, value) {
    dl.append(el("dt", { text: term }), el("dd", {}, value === null || value === undefined || value === "" ? "–" : value));
  }

  function metersText(f) {
    return f.metersTotal === undefined || f.metersTotal === null
      ? `${f.metersFinished || 0} meters finished`
      : `${f.metersFinished || 0} of ${f.metersTotal} meters`;
  }

  function selection(spec) {
    const meters = spec.meters || {};
    if (Array.isArray(meters.ids)) return `${meters.ids.length} listed`;
    const pattern = meters.discover && meters.discover.pattern;
    return pattern ? `discovered, ids matching ${pattern}` : "discovered (every meter of the measurement)";
  }

  // --- status -----------------------------------------------------------------------------

  function renderStatus() {
    const spec = specOf(fleet);
    const status = statusOf(fleet);
    const shards = status.shards;
    $("phase").replaceChildren(w.phaseBadge(fleet.stage));
    $("progress").replaceChildren(w.progressBar(fleet, "Meters finished", metersText(fleet)));
    $("message").textContent = fleet.message || "";
    const facts = $("facts");
    facts.replaceChildren();
    fact(facts, "Meters", selection(spec));
    fact(facts, "Type", spec.meterType);
    fact(facts, "Data range", spec.start ? `${w.dateTime(spec.start)} → ${w.dateTime(spec.end)}` : null);
    fact(facts, "Model", (spec.model && spec.model.type) || "seasonal-residual (default)");
    fact(facts, "Source", (spec.source && spec.source.name) || "default");
    fact(facts, "Shard pods at once", spec.parallelism ? String(spec.parallelism) : "default");
    fact(facts, "Meters per pod", spec.metersPerPod ? String(spec.metersPerPod) : "default");
    if (shards) {
      fact(facts, "Shards", `${shards.total} in all: ${shards.succeeded || 0} done, ${shards.failed || 0} failed, ${shards.active || 0} running`);
    }
    fact(facts, "Kubernetes Job", status.jobName);
    fact(facts, "Created", w.dateTime(fleet.createdAt));
    fact(facts, "Started", status.startTime ? w.dateTime(status.startTime) : null);
    fact(facts, "Finished", status.completionTime ? w.dateTime(status.completionTime) : null);
    fact(facts, "Duration", status.startTime ? w.duration(w.secondsSince(status.startTime, status.completionTime)) : null);
    fact(facts, "Namespace", fleet.namespace);

    const failure = $("failure");
    failure.hidden = !fleet.failureReason;
    $("failure-reason").textContent = fleet.failureReason || "";
    $("failure-message").textContent = fleet.failureMessage || "";
    renderActions();
    renderCounts(status);
    renderFailures(status);
    renderHistogram((status.metrics && status.metrics.histogram) || []);
  }

  function renderActions() {
    const running = !fleet.finished;
    const suspended = !!specOf(fleet).suspend;
    const allowed = { suspend: running && !suspended, resume: running && suspended, cancel: running };
    for (const button of document.querySelectorAll("[data-action]")) {
      button.disabled = !allowed[button.dataset.action];
    }
  }

  function renderCounts(status) {
    const counts = status.counts;
    const dl = $("counts");
    dl.replaceChildren();
    if (!counts) {
      fact(dl, "Meters", "Not known yet.");
    } else {
      fact(dl, "Meters", w.number(counts.total, 0));
      fact(dl, "Succeeded", w.number(counts.succeeded || 0, 0));
      fact(dl, "Failed", w.number(counts.failed || 0, 0));
      fact(dl, "Promoted to current", w.number(counts.promoted || 0, 0));
      fact(dl, "Beat the baseline", w.number(counts.beatBaseline || 0, 0));
    }
    const ratio = status.metrics && status.metrics.maeOverBestBaseline;
    const rdl = $("ratio");
    rdl.replaceChildren();
    fact(rdl, "Median", ratio ? w.number(ratio.median, 3) : null);
    fact(rdl, "90th percentile", ratio ? w.number(ratio.p90, 3) : null);
    fact(rdl, "Meters measured", ratio ? w.number(ratio.meters, 0) : null);
  }

  function renderFailures(status) {
    const failures = status.failures || [];
    const failed = (status.counts && status.counts.failed) || failures.length;
    const tbody = $("failures").tBodies[0];
    if (!failures.length) {
      tbody.replaceChildren(el("tr", {}, el("td", { colspan: 3, text: failed ? "None listed." : "No meter has failed." })));
    } else {
      tbody.replaceChildren(...failures.map((f) => el("tr", { "data-meter": f.meter },
        el("th", { scope: "row" }, el("code", { text: f.meter })),
        el("td", {}, el("span", { class: "reason", text: f.reason })),
        el("td", { text: f.message || "" }))));
    }
    $("failures-note").textContent = failed > failures.length
      ? `Showing the first ${failures.length} of ${w.number(failed, 0)} failed meters (the status keeps a bounded list).`
      : "";
  }

  // --- the histogram ----------------------------------------------------------------------

  // Buckets [{le, count}] -> rows {from, to, count}; the last bucket has no `le` (open).
  function buckets(histogram) {
    let from = 0;
    return histogram.map((b) => {
      const row = { from, to: b.le === undefined || b.le === null ? null : b.le, count: b.count || 0 };
      if (row.to !== null) from = row.to;
      return row;
    });
  }

  function label(row) {
    return row.to === null ? `> ${w.number(row.from, 2)}` : `${w.number(row.from, 2)}–${w.number(row.to, 2)}`;
  }

  function renderHistogram(histogram) {
    const key = JSON.stringify(histogram);
    if (key === drawnHistogram) return;
    drawnHistogram = key;
    const rows = buckets(histogram);
    const measured = rows.reduce((sum, r) => sum + r.count, 0);
    const container = $("histogram-chart");
    if (!measured) {
      $("histogram-caption").textContent = fleet.finished
        ? "No meter has a MAE / baseline ratio: none succeeded with a baseline to compare."
        : "Shown once meters have finished.";
      return;
    }
    const beat = rows.filter((r) => r.to !== null && r.to <= 1).reduce((sum, r) => sum + r.count, 0);
    $("histogram-caption").textContent = `${w.number(measured, 0)} meters; ${w.number(beat, 0)} at or below 1 (blue bars: the model beats the best baseline), the rest above (orange). The last bar holds every ratio above ${w.number(rows[rows.length - 1].from, 2)}.`;
    $("histogram-data").hidden = false;
    $("histogram-table").replaceChildren(el("table", { class: "small-table" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "MAE / baseline" }), el("th", { scope: "col", class: "num", text: "Meters" }))),
      el("tbody", {}, rows.filter((r) => r.count).map((r) => el("tr", {},
        el("td", { text: label(r) }), el("td", { class: "num", text: w.number(r.count, 0) }))))));
    if (!window.uPlot) {
      $("histogram-caption").textContent += " (Charts are unavailable: the API was installed without its charting library; the table below has the numbers.)";
      return;
    }
    // One bar per bucket, at its middle; the open bucket one width past the last edge.
    const width = rows.length > 1 && rows[0].to !== null ? rows[0].to - rows[0].from : 0.05;
    const x = rows.map((r) => (r.to === null ? r.from + width / 2 : (r.from + r.to) / 2));
    // Empty buckets are gaps, not flat bars.
    const beats = rows.map((r) => (r.count && r.to !== null && r.to <= 1 ? r.count : null));
    const loses = rows.map((r) => (r.count && !(r.to !== null && r.to <= 1) ? r.count : null));
    const bars = window.uPlot.paths.bars({ size: [0.9, Infinity], align: 0 });
    const options = {
      width: Math.max(260, container.clientWidth),
      height: window.innerWidth < 640 ? 220 : 300,
      scales: { x: { time: false, range: [0, x[x.length - 1] + width] }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
      axes: [{ label: "MAE / best baseline MAE" }, { label: "Meters", size: 60 }],
      legend: { show: true },
      series: [
        { label: "Ratio" },
        { label: "Beat the baseline", fill: BEATS, stroke: BEATS, paths: bars, points: { show: false } },
        { label: "Did not", fill: LOSES, stroke: LOSES, paths: bars, points: { show: false } },
      ],
    };
    if (chart) chart.destroy();
    container.replaceChildren();
    chart = new window.uPlot(options, [x, beats, loses], container);
    container.dataset.points = String(rows.filter((r) => r.count).length);
    container.dataset.meters = String(measured);
  }

  // --- updates ----------------------------------------------------------------------------

  function update(next) {
    const before = fleet ? fleet.stage : null;
    fleet = next;
    if (before !== null && fleet.stage !== before) w.announce(`Fleet ${name} is now ${fleet.stage}.`);
    renderStatus();
  }

  async function act(action) {
    const texts = {
      suspend: ["Suspend this fleet?", "Its shard pods stop; every meter finished so far stays, and Resume continues with the rest.", "Suspend", false],
      resume: ["Resume this fleet?", "Its shard pods start again with the meters left.", "Resume", false],
      cancel: ["Cancel this fleet for good?", "Its shard pods stop and it can never be resumed. Models already saved stay.", "Cancel the fleet", true],
    };
    const [title, text, confirmLabel, danger] = texts[action];
    if (!(await w.confirmDialog({ title, text, confirmLabel, danger }))) return;
    const result = $("action-result");
    result.textContent = "Working…";
    try {
      update(await w.api("POST", `${fleetPath}/${action}`));
      result.textContent = { suspend: "Suspended.", resume: "Resumed.", cancel: "Cancelled." }[action];
    } catch (error) {
      if (!(error instanceof w.AuthError)) result.textContent = `Could not ${action}: ${error.message}`;
    }
  }

  async function start() {
    for (const button of document.querySelectorAll("[data-action]")) {
      button.addEventListener("click", () => act(button.dataset.action));
    }
    $("back-link").setAttribute("href", w.pageUrl("/"));
    try {
      update(await w.api("GET", fleetPath));
    } catch (error) {
      if (error instanceof w.AuthError) return;
      const node = $("load-error");
      node.textContent = error.status === 404 ? `No FleetTrainingJob named ${name} here: ${error.message}` : `Could not load the fleet: ${error.message}`;
      node.hidden = false;
      w.setConnection("error", "Not loaded.");
      return;
    }
    w.follow(fleetPath, {
      kind: "FleetTrainingJob",
      current: () => fleet,
      onUpdate: update,
      onDeleted() {
        for (const button of document.querySelectorAll("[data-action]")) button.disabled = true;
      },
    });
    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        if (chart) chart.setSize({ width: Math.max(260, $("histogram-chart").clientWidth), height: window.innerWidth < 640 ? 220 : 300 });
      }, 150);
    });
  }

  w.boot(start);
})();
