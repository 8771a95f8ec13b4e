// The dashboard's shell: login with an admin key (kept in sessionStorage for the browser
// session), the navigation, and the sync connection (sync.js) through which the pages
// subscribe to live system queries; the header shows its state. Pages that read plain
// HTTP endpoints (functions, health) have a `refresh` that runs every few seconds.

import { ApiError, adminKey, get, setAdminKey } from "./api.js";
import { Sync } from "./sync.js";
import { errorText, h, replace } from "./ui.js";
import * as data from "./pages/data.js";
import * as functions from "./pages/functions.js";
import * as logs from "./pages/logs.js";
import * as schedules from "./pages/schedules.js";
import * as files from "./pages/files.js";
import * as env from "./pages/env.js";
import * as backups from "./pages/backups.js";
import * as health from "./pages/health.js";

const PAGES = { data, functions, logs, schedules, files, env, backups, health };
const TITLES = {
  data: "Data", functions: "Functions", logs: "Logs", schedules: "Schedules",
  files: "Files", env: "Environment", backups: "Backups", health: "Health",
};
const REFRESH_MS = 1000;

const root = document.getElementById("root");
let current = null; // { name, page }
let ctx = null;
let timer = null;

function pageName() {
  const name = location.hash.replace(/^#\/?/, "").split("/")[0];
  return name in PAGES ? name : "data";
}

function loginView(message) {
  const input = h("input", {
    id: "admin-key", type: "password", autocomplete: "off", spellcheck: "false",
    placeholder: "bayou admin-key prints one", "aria-label": "Admin key",
  });
  const error = h("p", { id: "login-error", class: "error", role: "alert" }, message ?? "");
  const form = h(
    "form",
    {
      class: "panel login",
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        try {
          await login(input.value.trim());
        } catch (e) {
          error.textContent = loginError(e);
        }
      },
    },
    h("h1", {}, "Bayou dashboard"),
    h("p", { class: "muted" },
      "Sign in with an admin key of this deployment. Mint one with ",
      h("code", {}, "bayou admin-key"), " (add ", h("code", {}, "--read-only"),
      " for a key that can only look)."),
    h("label", { for: "admin-key" }, "Admin key"),
    input,
    h("button", { class: "primary", type: "submit", id: "login" }, "Sign in"),
    error,
  );
  replace(root, form);
  input.focus();
}

function loginError(e) {
  if (e instanceof ApiError && (e.status === 401 || e.status === 403 || e.status === 400)) {
    return `This key was refused: ${e.message} Check that it was minted for this deployment (bayou admin-key).`;
  }
  return errorText(e);
}

async function login(key) {
  if (!key) throw new Error("Paste an admin key.");
  const check = await get("/api/check_admin_key", { key });
  const overview = await get("/api/dashboard/overview", { key });
  setAdminKey(key);
  start(overview, check);
}

function logout(message = "Signed out.") {
  stopPage();
  ctx?.sync.close();
  ctx?.countsSync.close();
  setAdminKey(null);
  ctx = null;
  loginView(message);
}

function start(overview) {
  ctx = {
    overview,
    readOnly: overview.readOnly,
    sync: new Sync(),
    // Counting a large table the first time takes seconds, and a session answers the
    // queries of one change in one transition: counts get a connection of their own, so
    // the table list and the grid never wait for them.
    countsSync: new Sync(),
  };
  ctx.sync.onAuthError = (error) => logout(`Signed out: ${error}`);
  const nav = h("nav", { "aria-label": "Pages" },
    Object.keys(PAGES).map((name) => h("a", { href: `#/${name}`, "data-page": name }, TITLES[name])));
  const header = h("header", { class: "top" },
    h("span", { class: "brand" }, "Bayou"),
    h("span", { class: "muted mono", id: "instance" }, overview.instance),
    nav,
    ctx.readOnly ? h("span", { class: "badge ro", id: "read-only" }, "read-only") : null,
    h("span", { id: "conn", class: "warn", role: "status" }, "connecting…"),
    h("button", { id: "logout", onclick: () => logout() }, "Sign out"),
  );
  const main = h("main", { id: "page" });
  replace(root, header, main);
  ctx.main = main;
  ctx.sync.onState(showConnection);
  showPage();
}

function showConnection(state) {
  const conn = document.getElementById("conn");
  if (!conn) return;
  conn.className = state === "live" ? "ok" : "warn";
  conn.textContent = state === "live" ? "live" : state === "connecting" ? "connecting…" : "reconnecting…";
}

function stopPage() {
  if (timer) clearTimeout(timer);
  timer = null;
  if (current?.page.stop) current.page.stop();
  current = null;
}

function showPage() {
  if (!ctx) return;
  stopPage();
  const name = pageName();
  for (const a of document.querySelectorAll("header nav a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${TITLES[name]} · Bayou`;
  const page = PAGES[name].create(ctx);
  current = { name, page };
  replace(ctx.main, page.el);
  tick();
}

async function tick() {
  const mine = current;
  if (!mine?.page.refresh) return;
  try {
    await mine.page.refresh();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || (e.status === 403 && e.code === "BadDeployKey"))) {
      logout(`Signed out: ${e.message}`);
      return;
    }
    mine.page.failed?.(e);
  }
  if (current === mine) timer = setTimeout(tick, mine.page.refreshMs ?? REFRESH_MS);
}

window.addEventListener("hashchange", showPage);

async function boot() {
  const key = adminKey();
  if (!key) return loginView();
  try {
    start(await get("/api/dashboard/overview"));
  } catch (e) {
    if (e instanceof ApiError && e.status === 0) {
      // The server is restarting: try again shortly, keeping the key.
      replace(root, h("p", { class: "warn" }, "Waiting for the server…"));
      setTimeout(boot, 1000);
      return;
    }
    setAdminKey(null);
    loginView(loginError(e));
  }
}

boot();
