// wattcast dashboard: one TrainingJob. Status, timeline, failure and actions from the /v1 API
// (kept live by GET /v1/trainingjobs/{name}/events); loss and holdout plots, metrics and the
// model's lineage from GET /v1/trainingjobs/{name}/model once a model is saved.
"use strict";

(function () {
  const w = window.wattcast;
  const { el, $ } = w;
  const name = document.body.dataset.job;
  const jobPath = `/v1/trainingjobs/${encodeURIComponent(name)}`;
  // Okabe-Ito colours; every line also differs by width or dash, so none relies on colour.
  const STYLE = {
    loss: { stroke: "#0072B2", width: 2.5 },
    valLoss: { stroke: "#D55E00", width: 2, dash: [7, 4] },
    actual: { stroke: "#000000", width: 2.5 },
    forecast: { stroke: "#0072B2", width: 2 },
    naiveDaily: { stroke: "#E69F00", width: 1.75, dash: [9, 5] },
    naiveWeekly: { stroke: "#CC79A7", width: 1.75, dash: [2, 4] },
  };

  let job = null;
  const seenPhases = []; // [{phase, at}]: phase changes seen while this page is open
  let modelShownFor = null;
  const charts = {};

  function specOf(j) { return j.spec || {}; }
  function statusOf(j) { return j.status || {}; }

  // --- status -----------------------------------------------------------------------------

  function fact(dl, term, value) {
    dl.append(el("dt", { text: term }), el("dd", {}, value === null || value === undefined || value === "" ? "–" : value));
  }

  function renderStatus() {
    const spec = specOf(job);
    const status = statusOf(job);
    $("phase").replaceChildren(w.phaseBadge(job.stage));
    $("progress").replaceChildren(w.progressBar(job, "Progress"));
    $("message").textContent = job.message || "";
    const training = status.training;
    const facts = $("facts");
    facts.replaceChildren();
    fact(facts, "Meter", spec.meterId);
    fact(facts, "Type", spec.meterType);
    fact(facts, "Data range", spec.start ? `${w.dateTime(spec.start)} → ${w.dateTime(spec.end)}` : null);
    fact(facts, "Model", (spec.model && spec.model.type) || "seasonal-residual (default)");
    fact(facts, "Source", (spec.source && spec.source.name) || "default");
    if (training) {
      const loss = training.loss !== undefined && training.loss !== null ? `, loss ${w.number(training.loss, 4)}` : "";
      const eta = training.etaSeconds ? `, about ${w.duration(training.etaSeconds)} left` : "";
      fact(facts, "Epochs", `${training.epoch} of ${training.epochs}${loss}${eta}`);
    }
    fact(facts, "Attempts", String(status.attempts || 0) + (spec.backoffLimit !== undefined ? ` (retries allowed: ${spec.backoffLimit})` : ""));
    fact(facts, "Created", w.dateTime(job.createdAt));
    fact(facts, "Started", status.startTime ? w.dateTime(status.startTime) : null);
    fact(facts, "Finished", status.completionTime ? w.dateTime(status.completionTime) : null);
    fact(facts, "Duration", status.startTime ? w.duration(w.secondsSince(status.startTime, status.completionTime)) : null);
    fact(facts, "Kubernetes Job", status.jobName);
    fact(facts, "Namespace", job.namespace);

    const failure = $("failure");
    if (job.failureReason) {
      $("failure-reason").textContent = job.failureReason;
      $("failure-message").textContent = job.failureMessage || "";
      failure.hidden = false;
    } else {
      failure.hidden = true;
    }
    if (!(status.result && status.result.modelPath)) {
      // Say why there is nothing to plot, in the job's own terms.
      const why = job.stage === "Failed" ? "This job failed, so it saved no model."
        : job.stage === "Cancelled" ? "This job was cancelled, so it saved no model."
          : "Shown once the job has saved its model.";
      $("loss-caption").textContent = why;
      $("holdout-caption").textContent = why;
    }
    renderActions();
    renderTimeline();
    renderMetrics(status.result && status.result.metrics);
  }

  function renderActions() {
    const spec = specOf(job);
    const running = !job.finished;
    const allowed = {
      suspend: running && !spec.suspend,
      resume: running && !!spec.suspend,
      cancel: running,
      retrain: !!job.spec,
    };
    for (const button of document.querySelectorAll("[data-action]")) {
      button.disabled = !allowed[button.dataset.action];
    }
  }

  function renderTimeline() {
    const status = statusOf(job);
    const entries = [];
    if (job.createdAt) entries.push({ at: job.createdAt, title: "Created", detail: job.idempotencyKey ? `Idempotency-Key ${job.idempotencyKey}` : "" });
    if (status.startTime) entries.push({ at: status.startTime, title: "Job started", detail: status.jobName ? `Kubernetes Job ${status.jobName}` : "" });
    for (const c of status.conditions || []) {
      entries.push({ at: c.lastTransitionTime, title: `${c.type}: ${c.status}`, reason: c.reason, detail: c.message || "" });
    }
    for (const seen of seenPhases) {
      entries.push({ at: seen.at, title: `Phase ${seen.phase}`, detail: "seen live on this page", phase: seen.phase });
    }
    if (status.completionTime) entries.push({ at: status.completionTime, title: "Finished", detail: "" });
    entries.sort((a, b) => String(a.at).localeCompare(String(b.at)));
    $("timeline").replaceChildren(...entries.map((e) => el("li", { class: "timeline-item" },
      el("time", { datetime: e.at, class: "timeline-time", text: w.dateTime(e.at) }),
      el("span", { class: "timeline-title" }, e.phase ? w.phaseBadge(e.phase) : e.title),
      e.reason ? el("span", { class: "reason", text: e.reason }) : null,
      e.detail ? el("span", { class: "timeline-detail", text: e.detail }) : null)));
  }

  // --- metrics, model, lineage ------------------------------------------------------------

  const LABELS = { model: "This model", naiveDaily: "Naive daily (y at t−24 h)", naiveWeekly: "Naive weekly (y at t−168 h)" };

  function renderMetrics(metrics) {
    const tbody = $("metrics").tBodies[0];
    if (!metrics || !metrics.model) {
      tbody.replaceChildren(el("tr", {}, el("td", { colspan: 4, text: "No metrics yet." })));
      return;
    }
    const rowsData = [["model", metrics.model], ...Object.entries(metrics.baselines || {})];
    const best = Math.min(...rowsData.map(([, m]) => m.smape));
    tbody.replaceChildren(...rowsData.map(([key, m]) => el("tr", { "data-forecast": key },
      el("th", { scope: "row" }, LABELS[key] || key, m.smape === best ? el("span", { class: "best", text: " (best sMAPE)" }) : null),
      el("td", { class: "num", text: w.number(m.mae) }),
      el("td", { class: "num", text: w.number(m.rmse) }),
      el("td", { class: "num", text: w.number(m.smape, 2) }))));
    const h = metrics.holdout;
    $("holdout-range").textContent = h ? `Holdout ${w.dateTime(h.start)} → ${w.dateTime(h.end)}, ${h.points} points. Lower is better.` : "";
  }

  function renderModel(report) {
    const dl = $("model-facts");
    dl.replaceChildren();
    fact(dl, "Model file", el("code", { text: `models/${report.modelPath}` }));
    fact(dl, "Version", `${report.version}${report.current ? " (current)" : ""}`);
    const tj = report.trainingJob;
    fact(dl, "Made by", tj && typeof tj === "object" ? `${tj.name || "–"}${tj.uid ? ` (uid ${tj.uid})` : ""}` : tj);
    const range = report.dataRange;
    if (range && typeof range === "object") {
      fact(dl, "Trained on", Object.entries(range).map(([k, v]) => `${k} ${v}`).join(", "));
    }
    const features = report.features;
    if (features && typeof features === "object" && Array.isArray(features.names)) fact(dl, "Features", features.names.join(", "));
    const promotion = report.promotion;
    if (promotion && typeof promotion === "object" && promotion.reason) fact(dl, "Promotion", promotion.reason);
    const libs = report.libraryVersions;
    if (libs && typeof libs === "object") {
      fact(dl, "Libraries", Object.entries(libs).map(([k, v]) => `${k} ${v}`).join(", "));
    }
    const tbody = $("lineage").tBodies[0];
    if (!report.versions.length) {
      tbody.replaceChildren(el("tr", {}, el("td", { colspan: 4, text: "No versions found." })));
    } else {
      tbody.replaceChildren(...report.versions.map((v) => el("tr", { class: v.version === report.version ? "this-version" : "" },
        el("td", {}, el("code", { text: v.version }), v.version === report.version ? " (this job)" : ""),
        el("td", {}, v.trainingJob && v.trainingJob !== name
          ? el("a", { href: w.pageUrl(`/jobs/${encodeURIComponent(v.trainingJob)}`), text: v.trainingJob })
          : (v.trainingJob || "–")),
        el("td", { class: "num", text: w.number(v.smape, 2) }),
        el("td", { text: v.current ? "yes (current)" : "no" }))));
    }
    $("model-problems").textContent = report.problems.length ? `Not shown: ${report.problems.join("; ")}.` : "";
  }

  // --- charts -----------------------------------------------------------------------------

  function chartSize(container) {
    const width = Math.max(260, container.clientWidth);
    return { width, height: window.innerWidth < 640 ? 220 : 300 };
  }

  function drawChart(key, container, options, data) {
    if (charts[key]) charts[key].destroy();
    container.replaceChildren();
    const plot = new window.uPlot(Object.assign(chartSize(container), options), data, container);
    charts[key] = plot;
    container.dataset.points = String(data[0].length);
    container.dataset.series = String(data.length - 1);
    return plot;
  }

  function series(label, style) {
    return Object.assign({ label, spanGaps: false, points: { show: false } }, style);
  }

  function drawLoss(loss) {
    const container = $("loss-chart");
    if (!loss || !loss.epochs.length) {
      $("loss-caption").textContent = "No loss per epoch was saved with this model.";
      return;
    }
    $("loss-data").hidden = false;
    const data = [loss.epochs, loss.loss];
    const lines = [{ label: "Epoch" }, series("Training loss", STYLE.loss)];
    if (loss.valLoss) {
      data.push(loss.valLoss);
      lines.push(series("Validation loss", STYLE.valLoss));
    }
    drawChart("loss", container, {
      scales: { x: { time: false } },
      axes: [{ label: "Epoch" }, { label: "Loss", size: 70 }],
      series: lines,
    }, data);
    const last = loss.loss[loss.loss.length - 1];
    $("loss-caption").textContent = `${loss.epochs.length} epochs; training loss: solid blue line` +
      (loss.valLoss ? ", validation loss: dashed orange-red line" : "") +
      `. Final training loss ${w.number(last, 4)}.`;
    $("loss-table").replaceChildren(el("table", { class: "small-table" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Epoch" }), el("th", { scope: "col", class: "num", text: "Training loss" }),
        loss.valLoss ? el("th", { scope: "col", class: "num", text: "Validation loss" }) : null)),
      el("tbody", {}, loss.epochs.map((epoch, i) => el("tr", {},
        el("td", { text: String(epoch) }), el("td", { class: "num", text: w.number(loss.loss[i], 5) }),
        loss.valLoss ? el("td", { class: "num", text: w.number(loss.valLoss[i], 5) } ) : null)))));
  }

  function drawHoldout(holdout) {
    const container = $("holdout-chart");
    if (!holdout || !holdout.timestamps.length) {
      $("holdout-caption").textContent = "No holdout series was saved with this model.";
      return;
    }
    const data = [holdout.timestamps.map((t) => Date.parse(t) / 1000), holdout.actual, holdout.forecast];
    const lines = [{ label: "Time (UTC)" }, series("Actual", STYLE.actual), series("Forecast", STYLE.forecast)];
    const described = ["actual: thick solid black", "forecast: solid blue"];
    if (holdout.naiveDaily) {
      data.push(holdout.naiveDaily);
      lines.push(series("Naive daily", STYLE.naiveDaily));
      described.push("naive daily: long-dashed orange");
    }
    if (holdout.naiveWeekly) {
      data.push(holdout.naiveWeekly);
      lines.push(series("Naive weekly", STYLE.naiveWeekly));
      described.push("naive weekly: dotted purple");
    }
    drawChart("holdout", container, {
      tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      axes: [{}, { label: "Consumption", size: 70 }],
      series: lines,
    }, data);
    $("holdout-caption").textContent = `${holdout.timestamps.length} holdout points, ` +
      `${w.dateTime(holdout.timestamps[0])} → ${w.dateTime(holdout.timestamps[holdout.timestamps.length - 1])}. Lines: ${described.join("; ")}.`;
  }

  async function drawForecast() {
    const spec = specOf(job);
    const container = $("forecast-chart");
    try {
      const path = `/v1/forecasts/${encodeURIComponent(spec.meterType)}/${encodeURIComponent(spec.meterId)}`;
      const body = await w.api("GET", `${path}?actualsHours=72`);
      const actuals = body.actuals || [];
      const times = [...actuals.map((a) => a.time), ...body.points.map((p) => p.time)];
      const pad = (values, before) => [...new Array(before).fill(null), ...values];
      const data = [
        times.map((t) => Date.parse(t) / 1000),
        [...actuals.map((a) => a.value), ...new Array(body.points.length).fill(null)],
        pad(body.points.map((p) => p.forecast), actuals.length),
        pad(body.points.map((p) => p.lower), actuals.length),
        pad(body.points.map((p) => p.upper), actuals.length),
      ];
      drawChart("forecast", container, {
        tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
        series: [{}, series("Actual", { stroke: "#1f2937", width: 1.5 }),
          series("Forecast", { stroke: "#2563eb", width: 2 }),
          series("Lower", { stroke: "#93c5fd", dash: [4, 4] }),
          series("Upper", { stroke: "#93c5fd", dash: [4, 4] })],
      }, data);
      const level = body.intervalLevel ? `${Math.round(body.intervalLevel * 100)} % interval` : "interval";
      $("forecast-caption").textContent = `Model ${body.modelVersion} from ${w.dateTime(body.origin)}: ` +
        `${body.points.length} points with a ${level}, after ${actuals.length} hours of readings. ${body.promotionReason || ""}`;
    } catch (error) {
      if (error instanceof w.AuthError) return;
      $("forecast-caption").textContent = `No forecast: ${error.message}`;
    }
  }

  async function loadModel() {
    const modelPath = statusOf(job).result && statusOf(job).result.modelPath;
    if (!modelPath || modelShownFor === modelPath) return;
    modelShownFor = modelPath;
    if (!window.uPlot) {
      const text = "Charts are unavailable: the API was installed without its charting library (run make setup, which runs scripts/fetch-js-vendor.sh).";
      $("loss-caption").textContent = text;
      $("holdout-caption").textContent = text;
    }
    try {
      const report = await w.api("GET", `${jobPath}/model`);
      renderModel(report);
      if (window.uPlot) {
        drawLoss(report.loss);
        drawHoldout(report.holdout);
        await drawForecast();
      }
    } catch (error) {
      if (error instanceof w.AuthError) return;
      const text = `No plots: ${error.message}`;
      $("loss-caption").textContent = text;
      $("holdout-caption").textContent = text;
      $("model-facts").replaceChildren(el("dt", { text: "Model file" }), el("dd", {}, el("code", { text: `models/${modelPath}` })));
    }
  }

  // --- updates ----------------------------------------------------------------------------

  function update(next) {
    const before = job ? job.stage : null;
    job = next;
    const phase = job.stage;
    // Only changes seen while the page is open; the state at load is not a transition.
    if (before !== null && phase !== before) {
      seenPhases.push({ phase, at: new Date().toISOString() });
      w.announce(`Job ${name} is now ${phase}.`);
    }
    renderStatus();
    loadModel();
  }

  async function act(action) {
    const spec = specOf(job);
    const texts = {
      suspend: ["Suspend this job?", "Its trainer pod stops; the record and the Job stay, and Resume continues it.", "Suspend", false],
      resume: ["Resume this job?", "The trainer starts again.", "Resume", false],
      cancel: ["Cancel this job for good?", "Its trainer pod stops and it can never be resumed (it is reported as REVOKED). Retrain makes a new job with the same spec.", "Cancel the job", true],
      retrain: ["Retrain with the same spec?", `A new TrainingJob trains meter ${spec.meterId} (${spec.meterType}) on the same range and settings.`, "Start a new job", false],
    };
    const [title, text, confirmLabel, danger] = texts[action];
    if (!(await w.confirmDialog({ title, text, confirmLabel, danger }))) return;
    const result = $("action-result");
    result.textContent = "Working…";
    try {
      if (action === "retrain") {
        const body = Object.assign({}, job.spec);
        delete body.suspend;
        // One key per confirmed click: a retried request never makes a second job.
        const key = `retrain-${name}-${crypto.randomUUID()}`;
        const created = await w.api("POST", "/v1/trainingjobs", { body, headers: { "Idempotency-Key": key } });
        result.textContent = `New job ${created.name} created; opening it…`;
        window.location.assign(w.pageUrl(`/jobs/${encodeURIComponent(created.name)}`));
        return;
      }
      const updated = await w.api("POST", `${jobPath}/${action}`);
      update(updated);
      result.textContent = { suspend: "Suspended.", resume: "Resumed.", cancel: "Cancelled." }[action];
    } catch (error) {
      if (!(error instanceof w.AuthError)) result.textContent = `Could not ${action}: ${error.message}`;
    }
  }

  function follow() {
    w.follow(jobPath, {
      kind: "TrainingJob",
      current: () => job,
      onUpdate: update,
      onDeleted() {
        for (const button of document.querySelectorAll("[data-action]")) button.disabled = button.dataset.action !== "retrain";
      },
    });
  }

  async function start() {
    for (const button of document.querySelectorAll("[data-action]")) {
      button.addEventListener("click", () => act(button.dataset.action));
    }
    $("back-link").setAttribute("href", w.pageUrl("/"));
    try {
      update(await w.api("GET", jobPath));
    } catch (error) {
      if (error instanceof w.AuthError) return;
      const node = $("load-error");
      node.textContent = error.status === 404 ? `No TrainingJob named ${name} here: ${error.message}` : `Could not load the job: ${error.message}`;
      node.hidden = false;
      w.setConnection("error", "Not loaded.");
      return;
    }
    follow();
    setInterval(() => { if (job && !job.finished) renderStatus(); }, 5000);
    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        for (const [key, plot] of Object.entries(charts)) {
          const container = $(`${key}-chart`);
          plot.setSize(chartSize(container));
        }
      }, 150);
    });
  }

  w.boot(start);
})();
