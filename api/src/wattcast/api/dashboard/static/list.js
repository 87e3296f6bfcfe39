// wattcast dashboard: the job list. Filled and kept live by GET /v1/events (server-sent
// events: every TrainingJob as ADDED, then SYNCED, then MODIFIED/DELETED as they change).
// Filters are applied here, so the counts by phase always cover every job; they are kept in
// the page's URL (no secrets there) so a filtered view can be bookmarked.
"use strict";

(function () {
  const w = window.wattcast;
  const { el, $ } = w;
  const jobs = new Map();
  const rows = new Map();
  let stale = null; // names from before a reconnect, dropped if the new stream lacks them
  let renderQueued = false;

  function filters() {
    const form = $("filters");
    return {
      phase: form.elements.phase.value,
      type: form.elements.type.value,
      meter: form.elements.meter.value.trim().toLowerCase(),
    };
  }

  function matches(job, f) {
    const spec = job.spec || {};
    if (f.phase && job.stage !== f.phase) return false;
    if (f.type && spec.meterType !== f.type) return false;
    if (f.meter && !String(spec.meterId || "").toLowerCase().includes(f.meter)) return false;
    return true;
  }

  function durationOf(job) {
    const status = job.status || {};
    return status.startTime ? w.secondsSince(status.startTime, status.completionTime) : null;
  }

  function newRow(name) {
    const link = el("a", { href: w.pageUrl(`/jobs/${encodeURIComponent(name)}`), class: "job-link" }, name);
    const cells = {
      name: el("td", { "data-label": "Job", class: "cell-name" }, link),
      meter: el("td", { "data-label": "Meter", class: "cell-meter" }),
      type: el("td", { "data-label": "Type", class: "cell-type" }),
      phase: el("td", { "data-label": "Phase", class: "cell-phase" }),
      progress: el("td", { "data-label": "Progress", class: "cell-progress" }),
      attempts: el("td", { "data-label": "Attempts", class: "num cell-attempts" }),
      age: el("td", { "data-label": "Age", class: "num cell-age" }),
      duration: el("td", { "data-label": "Duration", class: "num cell-duration" }),
    };
    const tr = el("tr", { "data-job": name }, Object.values(cells));
    return { tr, cells, shown: null };
  }

  function fillRow(row, job) {
    const spec = job.spec || {};
    const status = job.status || {};
    const phase = job.stage;
    const key = JSON.stringify([phase, job.progress, spec.meterId, spec.meterType, status.attempts]);
    if (row.shown !== key) {
      row.shown = key;
      row.cells.meter.textContent = spec.meterId || "–";
      row.cells.type.textContent = spec.meterType || "–";
      row.cells.phase.replaceChildren(w.phaseBadge(phase));
      row.cells.progress.replaceChildren(w.progressBar(job, `Progress of ${job.name}`));
      row.cells.attempts.textContent = String(status.attempts || 0);
      row.tr.dataset.phase = phase;
    }
    row.cells.age.textContent = w.duration(w.secondsSince(job.createdAt));
    row.cells.duration.textContent = w.duration(durationOf(job));
  }

  function renderCounts() {
    const counts = new Map();
    for (const job of jobs.values()) {
      const phase = job.stage;
      counts.set(phase, (counts.get(phase) || 0) + 1);
    }
    const active = filters().phase;
    const items = [["", jobs.size, "All"]];
    for (const phase of w.PHASE_ORDER) {
      if (counts.get(phase)) items.push([phase, counts.get(phase), phase]);
    }
    $("counts").replaceChildren(...items.map(([phase, count, label]) => {
      const button = el("button", {
        type: "button",
        class: "count",
        "data-phase": phase,
        "aria-pressed": String(active === phase),
        title: phase ? `Show only ${phase} jobs` : "Show all jobs",
      }, phase ? w.phaseBadge(phase) : el("span", { class: "phase-text", text: label }),
      el("span", { class: "count-number", text: String(count) }));
      button.addEventListener("click", () => {
        $("filters").elements.phase.value = phase;
        onFilterChange();
      });
      return el("li", {}, button);
    }));
  }

  function render() {
    renderQueued = false;
    const f = filters();
    const tbody = $("jobs").tBodies[0];
    const ordered = [...jobs.values()].sort((a, b) =>
      String(b.createdAt || "").localeCompare(String(a.createdAt || "")) || a.name.localeCompare(b.name));
    let shown = 0;
    let previous = null;
    for (const job of ordered) {
      let row = rows.get(job.name);
      if (!row) {
        row = newRow(job.name);
        rows.set(job.name, row);
      }
      fillRow(row, job);
      const visible = matches(job, f);
      row.tr.hidden = !visible;
      if (visible) shown += 1;
      // Keep DOM order = sorted order without re-inserting rows that are in place (a focused
      // link keeps its focus while the list updates).
      const expected = previous ? previous.nextSibling : tbody.firstChild;
      if (expected !== row.tr) tbody.insertBefore(row.tr, expected);
      previous = row.tr;
    }
    for (const [name, row] of rows) {
      if (!jobs.has(name)) {
        row.tr.remove();
        rows.delete(name);
      }
    }
    $("empty").hidden = shown > 0;
    $("empty").textContent = jobs.size ? "No TrainingJobs match the filters." : "No TrainingJobs yet.";
    $("shown").textContent = `Showing ${shown} of ${jobs.size} job${jobs.size === 1 ? "" : "s"}.`;
    renderCounts();
  }

  function queueRender() {
    if (!renderQueued) {
      renderQueued = true;
      window.requestAnimationFrame(render);
    }
  }

  function onEvent(message) {
    let data;
    try {
      data = JSON.parse(message.data);
    } catch (_) {
      return;
    }
    if (message.event === "ADDED" || message.event === "MODIFIED") {
      jobs.set(data.name, data);
      if (stale) stale.delete(data.name);
    } else if (message.event === "DELETED") {
      jobs.delete(data.name);
    } else if (message.event === "SYNCED") {
      if (stale) for (const name of stale) jobs.delete(name);
      stale = null;
      w.setConnection("live", "Live");
    } else if (message.event === "ERROR") {
      w.setConnection("error", data.detail || "The stream failed; reconnecting…");
    }
    queueRender();
  }

  function onState(state, error) {
    if (state === "open") {
      stale = new Set(jobs.keys());
      w.setConnection("connecting", "Loading…");
    } else if (state === "error") {
      const why = error && error.message ? error.message : "connection lost";
      w.setConnection("error", `Not live: ${why}. Retrying…`);
    } else if (state === "ended") {
      w.setConnection("connecting", "Reconnecting…");
    }
  }

  function onFilterChange() {
    const f = filters();
    const url = new URL(window.location.href);
    for (const [key, value] of Object.entries({ phase: f.phase, type: f.type, meter: $("filters").elements.meter.value.trim() })) {
      if (value) url.searchParams.set(key, value);
      else url.searchParams.delete(key);
    }
    window.history.replaceState(null, "", url);
    queueRender();
  }

  // Fleets: one page of GET /v1/fleettrainingjobs, read again every few seconds (a fleet's
  // own page follows its stream). The section stays hidden while there is none.
  async function loadFleets() {
    let page;
    try {
      page = await w.api("GET", "/v1/fleettrainingjobs", { params: { limit: 100 } });
    } catch (_) {
      return; // the jobs' connection line already says when the API is away
    }
    const fleets = page.items || [];
    $("fleets-section").hidden = fleets.length === 0;
    $("fleets").tBodies[0].replaceChildren(...fleets.map((f) => {
      const total = f.metersTotal === undefined || f.metersTotal === null ? "?" : f.metersTotal;
      const failed = (f.status && f.status.counts && f.status.counts.failed) || 0;
      return el("tr", { "data-fleet": f.name },
        el("td", { "data-label": "Fleet" }, el("a", { href: w.pageUrl(`/fleets/${encodeURIComponent(f.name)}`), class: "job-link", text: f.name })),
        el("td", { "data-label": "Type", text: (f.spec && f.spec.meterType) || "–" }),
        el("td", { "data-label": "Phase" }, w.phaseBadge(f.stage)),
        el("td", { "data-label": "Meters" }, w.progressBar(f, `Meters of ${f.name}`, `${f.metersFinished || 0} of ${total}`)),
        el("td", { "data-label": "Failed", class: "num", text: String(failed) }));
    }));
  }

  function start() {
    const form = $("filters");
    const params = new URLSearchParams(window.location.search);
    for (const key of ["phase", "type", "meter"]) {
      if (params.get(key)) form.elements[key].value = params.get(key);
    }
    form.addEventListener("input", onFilterChange);
    form.addEventListener("change", onFilterChange);
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("reset", () => setTimeout(onFilterChange, 0));
    w.stream("/v1/events", { onEvent, onState });
    // Ages and durations move with the clock, not only with events.
    setInterval(queueRender, 1000);
    queueRender();
    loadFleets();
    setInterval(loadFleets, 5000);
  }

  w.boot(start);
})();
