// SecureStack dashboard: the operations API (/api) seen by the person logged in. No framework, no build step.
// Tokens live in sessionStorage (this tab only, gone with it), are sent in the Authorization header and never in a
// cookie. Everything the API returns is written with textContent: no HTML is ever built from data.
"use strict";

const store = window.sessionStorage;
const $ = (id) => document.getElementById(id);
let me = null;

function show(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

async function refreshAccess() {
  const refresh = store.getItem("refresh");
  if (!refresh) return false;
  const response = await fetch("/api/auth/refresh", {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({refresh}),
  });
  if (!response.ok) return false;
  store.setItem("access", (await response.json()).access);
  return true;
}

// A call to the API as the logged-in user; an expired access token is refreshed once.
async function api(path, options = {}, retry = true) {
  const headers = {"Authorization": `Bearer ${store.getItem("access")}`};
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {method: options.method || "GET", headers,
                                      body: options.body === undefined ? undefined : JSON.stringify(options.body)});
  if (response.status === 401 && retry && await refreshAccess()) return api(path, options, false);
  if (response.status === 401) { endSession(); throw new Error("Your session has ended: log in again."); }
  const data = response.status === 204 ? {} : await response.json();
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) td.className = className;
  return td;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function fill(tableId, rows, render) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren();
  for (const item of rows) render(body.insertRow(), item);
  if (!rows.length) cell(body.insertRow(), "Nothing to show.").colSpan = $(tableId).tHead.rows[0].cells.length;
}

function button(row, label, action) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", async () => {
    b.disabled = true;
    try { await action(); } catch (error) { show($("error"), error.message); b.disabled = false; }
  });
  row.insertCell().append(b);
  return b;
}

const views = {
  async servers() {
    const page = await api("/api/servers?page_size=200&ordering=name");
    fill("servers-table", page.results, (row, s) => {
      cell(row, s.name); cell(row, s.address); cell(row, s.status, `status-${s.status}`); cell(row, s.users.join(", "));
    });
  },
  async incidents() {
    const page = await api("/api/incidents?state=open&page_size=200&ordering=-opened_at");
    fill("incidents-table", page.results, (row, i) => {
      cell(row, when(i.opened_at)); cell(row, i.server); cell(row, i.job); cell(row, i.severity, `severity-${i.severity}`);
      cell(row, i.title);
      button(row, "Resolve", async () => { await api(`/api/incidents/${i.id}/resolve`, {method: "POST", body: {}}); row.remove(); })
        .dataset.incident = i.id;
    });
  },
  async backups() {
    const select = $("backups-server");
    if (!select.options.length) {
      const servers = await api("/api/servers?page_size=1000&ordering=name");
      for (const s of servers.results) select.add(new Option(s.name, s.name));
    }
    const server = select.value ? `&server=${encodeURIComponent(select.value)}` : "";
    const page = await api(`/api/backups?page_size=100&ordering=-started_at${server}`);
    fill("backups-table", page.results, (row, b) => {
      cell(row, when(b.started_at)); cell(row, b.kind); cell(row, b.state, `result-${b.state}`); cell(row, b.file);
      cell(row, b.size); cell(row, b.checksum, "mono");
    });
  },
  async audit() {
    const page = await api("/api/audit?page_size=100");
    fill("audit-table", page.results, (row, e) => {
      cell(row, when(e.time)); cell(row, e.actor); cell(row, e.action); cell(row, e.object); cell(row, e.source_address);
    });
  },
  async accounts() {
    const page = await api("/api/users?status=pending&page_size=200&ordering=username");
    fill("accounts-table", page.results, (row, u) => {
      cell(row, u.username); cell(row, when(u.registered_at));
      button(row, "Approve", async () => { await api(`/api/users/${u.id}/approve`, {method: "POST", body: {}}); row.remove(); })
        .dataset.user = u.username;
    });
  },
};

async function openView(name) {
  show($("error"), "");
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== `${name}-view`;
  for (const b of document.querySelectorAll("#nav button[data-view]")) b.classList.toggle("current", b.dataset.view === name);
  try { await views[name](); } catch (error) { show($("error"), error.message); }
}

async function startSession() {
  me = await api("/api/auth/me");
  $("who").textContent = me.is_admin ? `${me.username} (administrator)` : me.username;
  if (!me.is_admin) for (const b of document.querySelectorAll("#nav [data-admin]")) b.remove();
  $("nav").hidden = false;
  await openView("servers");
}

function endSession() {
  store.clear();
  me = null;
  window.location.reload();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  show($("login-error"), "");
  const response = await fetch("/api/auth/login", {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: $("login-username").value, password: $("login-password").value}),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    show($("login-error"), response.status === 401 ? "Wrong user name or password (or an account not approved yet)."
      : data.error || `Login refused (${response.status}).`);
    return;
  }
  store.setItem("access", data.access);
  store.setItem("refresh", data.refresh);
  $("login-password").value = "";
  try { await startSession(); } catch (error) { show($("login-error"), error.message); }
});

$("register-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await fetch("/api/auth/register", {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: $("register-username").value, password: $("register-password").value}),
  });
  const data = await response.json().catch(() => ({}));
  const detail = data.detail && typeof data.detail === "object" ? Object.values(data.detail).flat().join(" ") : "";
  show($("register-message"), response.ok
    ? (data.status === "pending" ? "Account created: an administrator must approve it before you can log in."
      : "Account created: you can log in.")
    : `${data.error || "Refused"}${detail ? `: ${detail}` : ""}`);
});

$("logout").addEventListener("click", async () => {
  const refresh = store.getItem("refresh");
  if (refresh) {
    await fetch("/api/auth/logout", {method: "POST", headers: {"Content-Type": "application/json"},
                                     body: JSON.stringify({refresh})}).catch(() => null);
  }
  endSession();
});

for (const b of document.querySelectorAll("#nav button[data-view]")) b.addEventListener("click", () => openView(b.dataset.view));
$("backups-server").addEventListener("change", () => openView("backups"));

if (store.getItem("access")) startSession().catch(() => endSession());
