// wattcast dashboard: what both pages share. Sign-in (the API's bearer token, kept in
// sessionStorage for this tab only), JSON calls and server-sent events through fetch with an
// Authorization header (never a token in a URL), formatting, phase badges, the confirm dialog.
"use strict";

(function () {
  const TOKEN_KEY = "wattcast.apiToken";
  const query = new URLSearchParams(window.location.search);
  const namespace = query.get("namespace") || "";
  const SVG = "http://www.w3.org/2000/svg";

  class AuthError extends Error {}
  class ApiError extends Error {
    constructor(status, detail, body) {
      super(detail);
      this.status = status;
      this.body = body;
    }
  }

  const token = () => sessionStorage.getItem(TOKEN_KEY) || "";
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // A same-origin URL for an API path; the page's ?namespace= travels with every call.
  function apiUrl(path, params) {
    const url = new URL(path, window.location.origin);
    if (namespace) url.searchParams.set("namespace", namespace);
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
    return url;
  }

  // A page link (keeps the namespace, never anything secret).
  function pageUrl(path) {
    return namespace ? `${path}?namespace=${encodeURIComponent(namespace)}` : path;
  }

  function authHeaders(extra) {
    return Object.assign({ Authorization: `Bearer ${token()}` }, extra || {});
  }

  async function errorDetail(response) {
    try {
      const body = await response.json();
      return [body && body.detail ? body.detail : response.statusText, body];
    } catch (_) {
      return [response.statusText || `HTTP ${response.status}`, null];
    }
  }

  async function api(method, path, options) {
    const opts = options || {};
    const headers = authHeaders(Object.assign({ Accept: "application/json" }, opts.headers));
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(apiUrl(path, opts.params), {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      cache: "no-store",
      credentials: "omit",
    });
    if (response.status === 401) {
      signOut("The token was not accepted (or is no longer); sign in again.");
      throw new AuthError("unauthorized");
    }
    if (!response.ok) {
      const [detail, body] = await errorDetail(response);
      throw new ApiError(response.status, detail, body);
    }
    return response.status === 204 ? null : response.json();
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // Server-sent events read with fetch, so the token goes in a header: EventSource cannot send
  // one. Calls onEvent({event, data, id}) per event and onState(state, error) with "open",
  // "ended", "error" or "stopped"; reconnects with a growing pause until stop() or until
  // shouldReconnect() says no. Each reconnect starts a fresh stream (ADDED..., SYNCED, ...).
  function stream(path, handlers) {
    let stopped = false;
    let controller = null;
    let pause = 1000;
    const onState = handlers.onState || (() => {});
    const shouldReconnect = handlers.shouldReconnect || (() => true);

    async function readOnce() {
      controller = new AbortController();
      const response = await fetch(apiUrl(path, handlers.params), {
        headers: authHeaders({ Accept: "text/event-stream" }),
        cache: "no-store",
        credentials: "omit",
        signal: controller.signal,
      });
      if (response.status === 401) {
        stopped = true;
        signOut("The token was not accepted (or is no longer); sign in again.");
        return;
      }
      if (!response.ok) {
        const [detail, body] = await errorDetail(response);
        throw new ApiError(response.status, detail, body);
      }
      onState("open");
      pause = 1000;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let event = { event: "message", data: [], id: null };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        for (;;) {
          const match = /\r\n|\r|\n/.exec(buffer);
          // A lone "\r" at the end may be the first half of "\r\n": wait for the next chunk.
          if (!match || (match[0] === "\r" && match.index === buffer.length - 1)) break;
          const line = buffer.slice(0, match.index);
          buffer = buffer.slice(match.index + match[0].length);
          if (line === "") {
            if (event.data.length) {
              handlers.onEvent({ event: event.event, data: event.data.join("\n"), id: event.id });
            }
            event = { event: "message", data: [], id: null };
          } else if (!line.startsWith(":")) {
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            let val = colon < 0 ? "" : line.slice(colon + 1);
            if (val.startsWith(" ")) val = val.slice(1);
            if (field === "event") event.event = val;
            else if (field === "data") event.data.push(val);
            else if (field === "id") event.id = val;
          }
        }
      }
    }

    (async () => {
      while (!stopped) {
        try {
          await readOnce();
          if (!stopped) onState("ended");
        } catch (error) {
          if (stopped || error.name === "AbortError") break;
          onState("error", error);
        }
        if (stopped || !shouldReconnect()) break;
        await sleep(pause);
        pause = Math.min(pause * 2, 30000);
      }
      onState("stopped");
    })();

    return {
      stop() {
        stopped = true;
        if (controller) controller.abort();
      },
    };
  }

  // --- sign-in --------------------------------------------------------------------------

  let started = false;
  let startPage = null;

  function showLogin(message) {
    $("content").hidden = true;
    $("session").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("token").value = "";
    $("token").focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (started) {
      // Streams and timers of the page belong to the old token: start clean.
      window.location.reload();
      return;
    }
    showLogin(message);
  }

  function showContent() {
    $("login").hidden = true;
    $("content").hidden = false;
    $("session").hidden = false;
    $("namespace-label").textContent = namespace ? `namespace ${namespace}` : "";
    if (!started) {
      started = true;
      startPage();
    }
  }

  async function signIn(event) {
    event.preventDefault();
    const value = $("token").value.trim();
    if (!value) {
      $("login-error").textContent = "Enter a token.";
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, value);
    const button = event.submitter || $("login-form").querySelector("button");
    button.disabled = true;
    try {
      // A cheap authenticated call: a wrong token is told here, not by an empty page.
      await api("GET", "/v1/trainingjobs", { params: { limit: 1 } });
      showContent();
    } catch (error) {
      if (!(error instanceof AuthError)) {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin(`The API did not answer as expected: ${error.message}`);
      }
    } finally {
      button.disabled = false;
    }
  }

  // Each page calls this with its start function, run once a token is there.
  function boot(start) {
    startPage = start;
    document.addEventListener("DOMContentLoaded", () => {
      $("login-form").addEventListener("submit", signIn);
      $("sign-out").addEventListener("click", () => signOut("Signed out."));
      if (token()) showContent();
      else showLogin("");
    });
  }

  // --- formatting -----------------------------------------------------------------------

  function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
    return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
  }

  const secondsSince = (iso, until) =>
    iso ? ((until ? Date.parse(until) : Date.now()) - Date.parse(iso)) / 1000 : null;

  function dateTime(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
  }

  function number(value, digits) {
    if (value === null || value === undefined || !isFinite(value)) return "–";
    return Number(value).toLocaleString("en", { maximumFractionDigits: digits === undefined ? 3 : digits });
  }

  // --- stages: text + shape + colour (Okabe-Ito), never colour alone ----------------------

  // Keyed by the API's TrainingJobPublic.stage, which decides what a person sees (a cancelled
  // job is Cancelled); this page only chooses how each one looks.
  const PHASES = {
    Pending: { key: "pending", shape: "ring", note: "waiting for the operator" },
    Queued: { key: "queued", shape: "square", note: "waiting for Kueue admission" },
    Suspended: { key: "suspended", shape: "pause", note: "stopped; can be resumed" },
    "Processing data": { key: "running", shape: "play", note: "reading data" },
    Training: { key: "running", shape: "play", note: "fitting the model" },
    "Saving model": { key: "running", shape: "play", note: "writing the model" },
    Succeeded: { key: "succeeded", shape: "check", note: "model saved" },
    Failed: { key: "failed", shape: "cross", note: "see why below" },
    Cancelled: { key: "cancelled", shape: "slash", note: "cancelled for good" },
    // FleetTrainingJobPublic.stage adds these two.
    "Discovering meters": { key: "running", shape: "play", note: "reading the meter ids" },
    Running: { key: "running", shape: "play", note: "training the meters' models" },
  };
  const PHASE_ORDER = Object.keys(PHASES);

  function shape(name) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("width", "14");
    svg.setAttribute("height", "14");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", `shape shape-${name}`);
    const add = (tag, attrs) => {
      const node = document.createElementNS(SVG, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
      svg.append(node);
    };
    const stroke = { fill: "none", stroke: "currentColor", "stroke-width": "2.2" };
    switch (name) {
      case "ring": add("circle", Object.assign({ cx: 8, cy: 8, r: 5.5 }, stroke)); break;
      case "square": add("rect", Object.assign({ x: 2.5, y: 2.5, width: 11, height: 11 }, stroke)); break;
      case "pause":
        add("rect", { x: 3, y: 2, width: 3.5, height: 12, fill: "currentColor" });
        add("rect", { x: 9.5, y: 2, width: 3.5, height: 12, fill: "currentColor" });
        break;
      case "play": add("path", { d: "M3 2 L14 8 L3 14 Z", fill: "currentColor" }); break;
      case "check": add("path", Object.assign({ d: "M2 8.5 L6.5 13 L14 3.5" }, stroke, { "stroke-width": "2.8" })); break;
      case "cross": add("path", Object.assign({ d: "M3 3 L13 13 M13 3 L3 13" }, stroke, { "stroke-width": "2.8" })); break;
      default:
        add("circle", Object.assign({ cx: 8, cy: 8, r: 5.5 }, stroke));
        add("path", Object.assign({ d: "M4 12 L12 4" }, stroke));
    }
    return svg;
  }

  function phaseBadge(phase) {
    const info = PHASES[phase] || PHASES.Pending;
    return el("span", { class: `phase phase-${info.key}`, "data-phase": phase, title: info.note },
      shape(info.shape), el("span", { class: "phase-text", text: phase }));
  }

  // `text` (optional) says more than the percent: "3 of 4 meters".
  function progressBar(job, label, text) {
    const value = Math.max(0, Math.min(100, Number(job.progress) || 0));
    const phase = job.stage;
    const info = PHASES[phase] || PHASES.Pending;
    const fill = el("span", { class: "progress-fill" });
    fill.style.width = `${value}%`;
    return el("span", {
      class: `progress progress-${info.key}`,
      role: "progressbar",
      "aria-valuemin": 0,
      "aria-valuemax": 100,
      "aria-valuenow": value,
      "aria-valuetext": text ? `${value}%, ${text} (${phase})` : `${value}% (${phase})`,
      "aria-label": label,
    }, el("span", { class: "progress-track" }, fill),
    el("span", { class: "progress-text", text: text ? `${value}% · ${text}` : `${value}%` }));
  }

  // --- dialog and announcements ------------------------------------------------------------

  // The opening of the confirm dialog now on screen: settle(false) gives it up (see below).
  let pending = null;

  // A modal confirm: focus goes to the safe choice, Escape cancels, focus returns to the
  // button that opened it. Resolves true only on an explicit confirm.
  function confirmDialog({ title, text, confirmLabel, danger }) {
    const dialog = $("confirm");
    const opener = document.activeElement;
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    const ok = $("confirm-ok");
    ok.textContent = confirmLabel;
    ok.className = danger ? "button-danger" : "button-primary";
    // A dialog's close event is queued, not fired at once: Escape and then at once Enter on
    // the button opens it again before the first close arrives. That earlier opening is
    // settled now, unconfirmed, and a close that arrives while the dialog is open again is
    // its late event, not this opening's answer.
    if (pending) pending(false);
    dialog.returnValue = "";
    dialog.showModal();
    $("confirm-cancel").focus();
    return new Promise((resolve) => {
      const settle = (confirmed) => {
        dialog.removeEventListener("close", onClose);
        if (pending === settle) pending = null;
        resolve(confirmed);
      };
      const onClose = () => {
        if (dialog.open) return;
        settle(dialog.returnValue === "confirm");
        if (opener && typeof opener.focus === "function" && document.contains(opener)) opener.focus();
      };
      pending = settle;
      dialog.addEventListener("close", onClose);
    });
  }

  function announce(text) {
    const node = $("announcer");
    node.textContent = "";
    // A fresh text node after a tick makes screen readers read a repeated message again.
    setTimeout(() => { node.textContent = text; }, 50);
  }

  function setConnection(state, text) {
    const node = $("connection");
    if (!node) return;
    node.dataset.state = state;
    $("connection-text").textContent = text;
  }

  // Follows one object's event stream (GET <path>/events): onUpdate(view) for each ADDED and
  // MODIFIED, onDeleted() once it is gone, the connection line kept up to date; reconnects
  // until current() has finished. `kind` names it in messages ("TrainingJob").
  function follow(path, { onUpdate, onDeleted, current, kind }) {
    const finished = () => { const now = current(); return !!(now && now.finished); };
    return stream(`${path}/events`, {
      onEvent(message) {
        let data;
        try { data = JSON.parse(message.data); } catch (_) { return; }
        if (message.event === "ADDED" || message.event === "MODIFIED") onUpdate(data);
        else if (message.event === "DELETED") {
          setConnection("ended", `This ${kind} was deleted.`);
          if (onDeleted) onDeleted();
        } else if (message.event === "SYNCED") setConnection("live", "Live");
        else if (message.event === "ERROR") setConnection("error", data.detail || "The stream failed.");
      },
      onState(state, error) {
        if (state === "error") {
          if (error && error.status === 404) {
            setConnection("ended", "Not found.");
          } else {
            setConnection("error", `Not live: ${error && error.message ? error.message : "connection lost"}. Retrying…`);
          }
        } else if (state === "ended" || state === "stopped") {
          if (finished()) setConnection("ended", "Finished; no more updates.");
        }
      },
      shouldReconnect: () => !finished(),
    });
  }

  window.wattcast = {
    ApiError, AuthError, api, stream, boot, el, $, pageUrl, namespace,
    duration, secondsSince, dateTime, number, PHASES, PHASE_ORDER,
    phaseBadge, progressBar, confirmDialog, announce, setConnection, shape, follow,
  };
})();
