// DOM helpers. Data is only ever inserted as text nodes or attribute values: there is no
// innerHTML anywhere in the dashboard, so a document holding `<script>` is shown as text.

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "innerHTML" || name === "outerHTML") throw new Error("no HTML injection");
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "style" && typeof value === "object") {
      Object.assign(el.style, value); // CSSOM, which the page's CSP allows (inline styles it does not)
    } else if (name === "class") {
      el.className = value;
    } else if (name === "value" || name === "checked" || name === "disabled") {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// A Convex JSON value as short text for a grid cell.
export function cellText(value) {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

// A Convex int64 (`{"$integer": base64 of 8 little-endian bytes}`) or a number, as a number.
export function int64(value) {
  if (typeof value === "number") return value;
  if (typeof value?.$integer !== "string") return NaN;
  const raw = Uint8Array.from(atob(value.$integer), (c) => c.charCodeAt(0));
  return Number(new DataView(raw.buffer).getBigInt64(0, true));
}

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

export function time(ms) {
  if (typeof ms !== "number") return "";
  const d = new Date(ms);
  return d.toLocaleString(undefined, { hour12: false });
}

export function bytes(n) {
  if (typeof n !== "number") return "";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function errorText(e) {
  if (!e) return "";
  return e.code && e.code !== "HttpError" ? `${e.code}: ${e.message}` : e.message ?? String(e);
}

// A write control: disabled, and labelled why, for a read-only key.
export function writeButton(ctx, label, props, onclick) {
  return h(
    "button",
    {
      ...props,
      "data-write": "",
      disabled: ctx.readOnly || props?.disabled,
      title: ctx.readOnly ? "Read-only admin key" : props?.title,
      onclick,
    },
    label,
  );
}

export function confirmed(message) {
  return window.confirm(message);
}

// A destructive action confirmed by typing `expected` (a table's name) in a modal dialog.
// `action(progress)` runs on confirmation; its error is shown in the dialog, which closes
// when it succeeds. Escape or Cancel closes it without doing anything.
export function confirmTyped({ id, title, message, expected, label, action }) {
  const input = h("input", { id: `${id}-input`, autocomplete: "off", spellcheck: "false", "aria-label": `Type ${expected} to confirm` });
  const status = h("p", { id: `${id}-status`, class: "error", role: "alert" });
  const go = h("button", { id: `${id}-confirm`, class: "danger", disabled: true, type: "submit" }, label);
  const dialog = h("dialog", { id, class: "panel", "aria-labelledby": `${id}-title` });
  const form = h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      if (input.value !== expected) return;
      go.disabled = true;
      input.disabled = true;
      status.className = "muted";
      status.textContent = "Working…";
      try {
        await action((text) => { status.textContent = text; });
        dialog.close();
      } catch (err) {
        status.className = "error";
        status.textContent = errorText(err);
        input.disabled = false;
        go.disabled = input.value !== expected;
      }
    },
  },
  h("h3", { id: `${id}-title` }, title),
  h("p", {}, message),
  h("label", { for: `${id}-input` }, "Type ", h("code", {}, expected), " to confirm"),
  input, status,
  h("div", { class: "toolbar" }, go, h("button", { type: "button", id: `${id}-cancel`, onclick: () => dialog.close() }, "Cancel")));
  input.addEventListener("input", () => { go.disabled = input.value !== expected; });
  dialog.append(form);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
  return dialog;
}
