// The convo-mock dashboard: plain JS, no build step. Every action goes through the same
// control-plane endpoints a script uses (/__mock__/requests, /state, /chaos, /reset).
// Data from requests is only ever put into the page as text (textContent), never as HTML.
"use strict";

const POLL_MS = 1000;
let KEEP = null; // entries kept in the page: the journal's size, from GET /__mock__/meta
const entries = new Map(); // id -> entry
let lastId = 0;
let instance = null; // the mock process the entries came from: ids start over with another
let selected = null;
let chaos = null;

const $ = (selector) => document.querySelector(selector);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "dataset") Object.assign(node.dataset, value);
    else if (name in node) node[name] = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

async function call(method, path, body) {
  for (;;) {
    const init = { method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const sent = storedToken();
    if (sent) init.headers.Authorization = `Bearer ${sent}`;
    const response = await fetch(path, init);
    if (response.status === 401) {
      // Only the guard answers 401 here: the token is missing or wrong. When another call has
      // stored a newer token meanwhile, retry with that one at once.
      if (storedToken() === sent) {
        if (sent) sessionStorage.removeItem(TOKEN_KEY);
        await askForToken(sent ? TOKEN_REFUSED : TOKEN_NEEDED);
      }
      continue;
    }
    const data = response.status === 204 ? null : await response.json();
    if (!response.ok) throw new Error((data && data.message) || `${method} ${path}: ${response.status}`);
    return data;
  }
}

// ---- the control token ---------------------------------------------------------------------
// With --control-token every JSON route under /__mock__/ answers 401 without the token; only
// this page and its files load without it. The page asks once per tab and keeps the token in
// sessionStorage: gone with the tab, never sent by the browser on its own (as a cookie would
// be), never in the URL, never written into the page or the console.

const TOKEN_KEY = "convo-mock.control-token";
const TOKEN_HINT = "the value of --control-token or CONVO_MOCK_CONTROL_TOKEN the mock was started with";
const TOKEN_NEEDED = `This mock's control plane is protected: enter its control token (${TOKEN_HINT}).`;
const TOKEN_REFUSED = `The mock refused that token (401): enter ${TOKEN_HINT}.`;
let asking = null; // one pending request for a token, shared by every call that got a 401
let forgotten = 0; // how many times the token was forgotten: a poll started before drops its answer
let tokenEntered = null;

function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function askForToken(message) {
  if (asking) return asking;
  asking = new Promise((resolve) => (tokenEntered = resolve));
  const form = $("#token-form");
  $("#token-message").textContent = message;
  form.hidden = false;
  $("#forget-token").hidden = true;
  $("#status").textContent = "waiting for the control token";
  $("#status").classList.add("bad");
  form.token.focus();
  return asking;
}

function useToken(event) {
  event.preventDefault();
  const input = event.target.token;
  const value = input.value.trim();
  input.value = "";
  // The mock only accepts tokens that fit in a header; anything else would make fetch throw.
  if (!/^[\x21-\x7e]+$/.test(value)) {
    $("#token-message").textContent = "A control token is printable ASCII without spaces: enter it again.";
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, value);
  event.target.hidden = true;
  $("#forget-token").hidden = false;
  const resolve = tokenEntered;
  asking = tokenEntered = null;
  resolve();
}

function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  forgotten += 1;
  // What the token unlocked leaves the page with it.
  entries.clear();
  lastId = 0;
  selected = null;
  render();
  $("#detail").replaceChildren(el("p", { className: "muted" }, "Click a request to see its headers and bodies."));
  $("#tenants tbody").replaceChildren();
  $("#conversations").replaceChildren();
  $("#state-detail").replaceChildren(el("p", { className: "muted" }, "Pick a tenant's API, then a conversation."));
  askForToken("Token forgotten: enter it again to use the dashboard.")
    .then(loadTenants)
    .catch(() => {});
}

function say(text, bad = false) {
  const node = $("#chaos-message");
  node.textContent = text;
  node.classList.toggle("bad", bad);
}

// ---- requests ----------------------------------------------------------------------------

function statusClass(status) {
  return status === 0 ? "s0" : `s${String(status)[0]}`;
}

function filters() {
  const form = new FormData($("#filters"));
  return Object.fromEntries([...form.entries()].map(([k, v]) => [k, String(v).trim()]));
}

function matches(entry, f) {
  if (f.api && entry.api !== f.api) return false;
  if (f.method && entry.method !== f.method) return false;
  if (f.status && String(entry.status)[0] !== f.status) return false;
  if (f.operation && entry.operationId !== f.operation) return false;
  if (f.tenant && entry.tenant !== f.tenant) return false;
  if (f.text && !entry._text.includes(f.text.toLowerCase())) return false;
  return true;
}

function row(entry) {
  const time = new Date(entry.time * 1000).toLocaleTimeString();
  const path = entry.query ? `${entry.path}?${entry.query}` : entry.path;
  const tr = el(
    "tr",
    { dataset: { id: entry.id }, className: entry.id === selected ? "selected" : "" },
    el("td", {}, entry.id),
    el("td", {}, time),
    el("td", {}, entry.method),
    el("td", { className: "path", title: path }, path),
    el("td", {}, entry.operationId || ""),
    el("td", {}, entry.tenant || ""),
    el("td", { className: statusClass(entry.status) }, entry.status || (entry.fault ? "reset" : "—")),
    el("td", { className: "num" }, entry.duration_ms.toFixed(1)),
  );
  tr.addEventListener("click", () => show(entry.id));
  return tr;
}

function render() {
  const f = filters();
  const body = $("#requests tbody");
  const rows = [];
  for (const entry of [...entries.values()].reverse()) if (matches(entry, f)) rows.push(row(entry));
  body.replaceChildren(...rows);
  $("#shown").textContent = `${rows.length} of ${entries.size} shown`;
  showEmptyRequests(rows.length);
}

// What an empty request list means: nothing sent yet, the journal off, or filters too narrow.
function showEmptyRequests(shown) {
  const note = $("#requests-empty");
  note.hidden = shown > 0;
  if (shown > 0) return;
  if (KEEP === 0) note.textContent = "The journal is off (--journal-size 0): requests are not kept.";
  else if (entries.size === 0)
    note.textContent = "No requests yet: send one (the Try lines convo-mock printed at start) and it appears here.";
  else note.textContent = `No request matches these filters (${entries.size} kept).`;
}

function addOption(select, value) {
  if (!value || [...select.options].some((o) => o.value === value)) return;
  select.append(el("option", { value }, value));
}

function remember(entry) {
  entry._text = [entry.path, entry.query, JSON.stringify(entry.body), JSON.stringify(entry.response.body)]
    .join(" ")
    .toLowerCase();
  entries.set(entry.id, entry);
  lastId = Math.max(lastId, entry.id);
  addOption($("#filters [name=api]"), entry.api);
  addOption($("#filters [name=operation]"), entry.operationId);
  addOption($("#filters [name=tenant]"), entry.tenant);
}

// The mock was restarted: its ids begin again, so what the page holds belongs to a run that
// is over. Start over as a fresh page would (the new process may keep another journal size).
function startOver() {
  entries.clear();
  lastId = 0;
  selected = null;
  KEEP = null;
  render();
  $("#detail").replaceChildren(el("p", { className: "muted" }, "Click a request to see its headers and bodies."));
  if (!$("#tab-state").hidden) loadTenants().catch(() => {});
}

async function poll() {
  try {
    if (KEEP === null) await loadMeta();
    const asked = forgotten;
    let data = await call("GET", `/__mock__/requests?since=${lastId}&limit=${KEEP}`);
    if (instance !== null && data.instance !== instance) {
      startOver();
      await loadMeta();
      data = await call("GET", `/__mock__/requests?since=0&limit=${KEEP}`);
    }
    instance = data.instance;
    // Entries fetched with a token forgotten meanwhile stay out of the page; fetch afresh.
    if (asked !== forgotten) data.requests = [];
    if (data.requests.length > 50) {
      // A backlog (first load, a burst): one render beats hundreds of single inserts.
      for (const entry of data.requests) remember(entry);
      while (entries.size > KEEP) entries.delete(entries.keys().next().value);
      render();
      // When the backlog was on screen (ms since navigation): what the load benchmark reads.
      window.renderedAt = window.renderedAt || Math.round(performance.now());
    } else if (data.requests.length) {
      const f = filters();
      const body = $("#requests tbody");
      for (const entry of data.requests) {
        remember(entry);
        if (matches(entry, f)) body.prepend(row(entry));
      }
      while (entries.size > KEEP) {
        const oldest = entries.keys().next().value;
        entries.delete(oldest);
        body.querySelector(`tr[data-id="${oldest}"]`)?.remove();
      }
      $("#shown").textContent = `${body.rows.length} of ${entries.size} shown`;
    }
    showEmptyRequests($("#requests tbody").rows.length);
    $("#status").textContent = `live · ${entries.size} requests`;
    $("#status").classList.remove("bad");
  } catch (error) {
    $("#status").textContent = `mock unreachable (${error.message})`;
    $("#status").classList.add("bad");
  }
  setTimeout(poll, POLL_MS);
}

function block(title, headers, body, size) {
  const lines = Object.entries(headers || {}).map(([k, v]) => `${k}: ${v}`).join("\n");
  const text = body === null || body === undefined ? "(no body)" : typeof body === "string" ? body : JSON.stringify(body, null, 2);
  return el(
    "section",
    {},
    el("h3", {}, title, el("span", { className: "muted" }, size ? ` · ${size} bytes` : "")),
    el("pre", { className: "headers" }, lines || "(no headers)"),
    el("pre", { className: "body" }, text),
  );
}

function show(id) {
  const entry = entries.get(id);
  if (!entry) return;
  selected = id;
  for (const tr of document.querySelectorAll("#requests tr.selected")) tr.classList.remove("selected");
  document.querySelector(`#requests tr[data-id="${id}"]`)?.classList.add("selected");
  const where = entry.query ? `${entry.path}?${entry.query}` : entry.path;
  $("#detail").replaceChildren(
    el("h2", {}, `${entry.method} ${where}`),
    el(
      "p",
      { className: "muted" },
      `#${entry.id} · ${entry.api || "no API"} · ${entry.operationId || "no operation"} · tenant ${entry.tenant || "none"}` +
        (entry.fault ? ` · ${entry.fault}` : "") +
        (entry.requestId != null ? ` · proxy request #${entry.requestId}` : ""),
    ),
    block("Request", entry.headers, entry.body, entry.bodyBytes),
    block(`Response ${entry.response.status || "(none: connection closed)"}`, entry.response.headers, entry.response.body, entry.response.bodyBytes),
  );
  if (entry.requestId != null) showFindings(entry);
}

// Proxy mode: what the checks found in this exchange, and the earlier exchanges each finding
// rests on, as links to them (GET /__mock__/violations; its requestId is the journal entry's).
async function showFindings(entry) {
  let found;
  try {
    found = (await call("GET", "/__mock__/violations")).violations.filter((v) => v.requestId === entry.requestId);
  } catch {
    return;
  }
  if (selected !== entry.id || !found.length) return;
  const items = found.map((v) =>
    el(
      "li",
      { className: v.kind === "observation" ? "muted" : "bad" },
      `${v.kind} · ${v.direction} ${v.rule}: ${v.message}`,
      ...(v.restsOn.length ? [" — rests on ", ...v.restsOn.flatMap((n, i) => [i ? ", " : "", restsOnLink(n)])] : []),
    ),
  );
  $("#detail").append(el("section", { id: "findings" }, el("h3", {}, "Findings"), el("ul", {}, ...items)));
}

function restsOnLink(requestId) {
  const link = el("button", { type: "button", className: "link" }, `#${requestId}`);
  link.addEventListener("click", () => {
    const earlier = [...entries.values()].find((e) => e.requestId === requestId);
    if (earlier) show(earlier.id);
    else link.textContent = `#${requestId} (no longer in the journal)`;
  });
  return link;
}

// ---- state browser -------------------------------------------------------------------------

async function loadTenants() {
  const data = await call("GET", "/__mock__/tenants");
  const rows = data.tenants.map((t) =>
    el(
      "tr",
      {},
      el("td", {}, t.tenant + (t.readonly ? " (read-only)" : "")),
      ...["runtype", "systemprompt"].map((api) => {
        const link = el("a", { href: "#", dataset: { tenant: t.tenant, api } }, t[api]);
        link.addEventListener("click", (event) => {
          event.preventDefault();
          browse(t.tenant, api, 0);
        });
        return el("td", {}, link);
      }),
    ),
  );
  $("#tenants tbody").replaceChildren(...rows);
  $("#tenants-empty").hidden = data.tenants.some((t) => t.runtype + t.systemprompt > 0);
  for (const name of ["#filters [name=tenant]", "#fault [name=tenant]"])
    for (const t of data.tenants) addOption($(name), t.tenant);
}

async function browse(tenant, api, offset) {
  const base = `/__mock__/tenants/${encodeURIComponent(tenant)}/${api}`;
  const page = await call("GET", `${base}?offset=${offset}&limit=50`);
  const items = page.items.map((item) => {
    const link = el("a", { href: "#" }, item.id);
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      const full = await call("GET", `${base}/${encodeURIComponent(item.id)}`);
      $("#state-detail").replaceChildren(el("h2", {}, item.id), el("pre", { className: "body" }, JSON.stringify(full, null, 2)));
    });
    return el("li", {}, link, " ", el("span", { className: "muted" }, item.title ?? `${item.messageCount} messages`));
  });
  const nav = el("p", {});
  if (offset > 0) nav.append(pager("← previous", () => browse(tenant, api, Math.max(0, offset - 50))));
  nav.append(` ${offset + 1}–${offset + page.items.length} of ${page.total} `);
  if (offset + page.items.length < page.total) nav.append(pager("next →", () => browse(tenant, api, offset + 50)));
  const list = page.total
    ? el("ol", { start: offset + 1 }, ...items)
    : el("p", { className: "empty muted" }, `No ${api} conversations for ${tenant}.`);
  $("#conversations").replaceChildren(el("h2", {}, `${tenant} · ${api}`), nav, list);
}

function pager(text, action) {
  const button = el("button", { type: "button" }, text);
  button.addEventListener("click", action);
  return button;
}

// ---- chaos and faults ------------------------------------------------------------------------

function describe(rule) {
  return rule.status ? String(rule.status) : rule.fault;
}

function renderChaos(data) {
  chaos = data;
  const form = $("#chaos");
  form.latency_ms.value = data.latency_ms;
  form.error_rate.value = data.error_rate;
  form.code.value = data.code ?? "";
  const rows = data.faults.map((rule, index) => {
    const remove = el("button", { type: "button" }, "remove");
    remove.addEventListener("click", () => putFaults(chaos.faults.filter((_, i) => i !== index)));
    return el(
      "tr",
      {},
      el("td", {}, describe(rule)),
      el("td", {}, [rule.api, rule.operation].filter(Boolean).join(" ") || "all"),
      el("td", {}, rule.tenant || "all"),
      el("td", {}, rule.rate),
      el("td", {}, rule.remaining ?? "∞"),
      el("td", {}, rule.source),
      el("td", {}, remove),
    );
  });
  $("#rules tbody").replaceChildren(...rows);
  $("#rules-empty").hidden = rows.length > 0;
}

function asRule(rule) {
  const { remaining, source, ...kept } = rule;
  if (remaining !== null && remaining !== undefined) kept.times = remaining;
  for (const [k, v] of Object.entries(kept)) if (v === null) delete kept[k];
  return kept;
}

async function putFaults(rules) {
  try {
    renderChaos(await call("PUT", "/__mock__/chaos", { faults: rules.map(asRule) }));
    say("fault rules updated");
  } catch (error) {
    say(error.message, true);
  }
}

async function loadMeta() {
  const meta = await call("GET", "/__mock__/meta");
  KEEP = meta.journal_size;
  const bodyMs = $("#fault [name=body_ms]");
  bodyMs.value = meta.fault_defaults.body_ms;
  bodyMs.max = meta.max_delay_ms;
  $("#fault [name=retry_after]").value = meta.fault_defaults.retry_after;
}

async function loadOperations() {
  const ops = $("#fault [name=operation]");
  const health = await call("GET", "/__mock__/health");
  for (const api of health.apis) {
    const spec = await call("GET", `/__mock__/openapi/${api}`);
    for (const path of Object.values(spec.paths))
      for (const op of Object.values(path)) if (op && op.operationId) addOption(ops, op.operationId);
  }
}

function wire() {
  for (const tab of document.querySelectorAll("button.tab"))
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll("button.tab")) other.classList.toggle("active", other === tab);
      for (const pane of document.querySelectorAll(".pane")) pane.hidden = pane.id !== `tab-${tab.dataset.tab}`;
      if (tab.dataset.tab === "state") loadTenants().catch((e) => say(e.message, true));
      if (tab.dataset.tab === "chaos") {
        call("GET", "/__mock__/chaos").then(renderChaos).catch((e) => say(e.message, true));
        if ($("#fault [name=operation]").options.length === 1) loadOperations().catch((e) => say(e.message, true));
      }
    });
  $("#token-form").addEventListener("submit", useToken);
  $("#forget-token").addEventListener("click", forgetToken);
  $("#forget-token").hidden = !storedToken();
  $("#filters").addEventListener("input", render);
  $("#filters").addEventListener("submit", (event) => event.preventDefault());
  $("#clear-journal").addEventListener("click", async () => {
    await call("DELETE", "/__mock__/requests");
    entries.clear();
    selected = null;
    render();
  });
  $("#reset").addEventListener("click", async () => {
    const button = $("#reset");
    try {
      const result = await call("POST", "/__mock__/reset", {});
      button.textContent = `Reset done (${result.tenants} tenants)`;
      if (!$("#tab-state").hidden) await loadTenants();
    } catch (error) {
      button.textContent = `Reset failed: ${error.message}`;
    }
    setTimeout(() => (button.textContent = "Reset to seed"), 2000);
  });
  $("#chaos").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const settings = {
      latency_ms: Number(form.latency_ms.value || 0),
      error_rate: Number(form.error_rate.value || 0),
      code: form.code.value ? Number(form.code.value) : null,
    };
    try {
      renderChaos(await call("PUT", "/__mock__/chaos", settings));
      say("chaos settings applied");
    } catch (error) {
      say(error.message, true);
    }
  });
  $("#fault").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const [kind, value] = form.what.value.split(":");
    const rule = { [kind === "status" ? "status" : "fault"]: kind === "status" ? Number(value) : value };
    if (form.operation.value) rule.operation = form.operation.value;
    if (form.tenant.value) rule.tenant = form.tenant.value;
    if (form.times.value) rule.times = Number(form.times.value);
    rule.rate = Number(form.rate.value || 1);
    if (form.retry_after.value) rule.retry_after = Number(form.retry_after.value);
    if (form.body_ms.value) rule.body_ms = Number(form.body_ms.value);
    putFaults([...(chaos ? chaos.faults : []), rule]);
  });
}

wire();
poll();
loadTenants().catch(() => {});
