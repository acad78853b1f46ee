// Small DOM helpers: element builder, toasts, modal dialogs.
// User data only ever goes through textContent (el's string children), never innerHTML.

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "style" && typeof value === "object") Object.assign(node.style, value);
      else if (key.startsWith("on") && typeof value === "function") {
        node.addEventListener(key.slice(2), value);
      } else if (key === "dataset") Object.assign(node.dataset, value);
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

// SVG needs its own namespace.
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const child of children) if (child) node.appendChild(child);
  return node;
}

// -- toasts --------------------------------------------------------------------

export function toast(message, kind = "error", ms = 4500) {
  const box = $("#toasts");
  const node = el("div", {
    class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status",
    title: "Click to dismiss", onclick: () => node.remove(),
  },
    el("span", { class: "toast-icon" }, kind === "error" ? "!" : "i"),
    el("span", { class: "toast-text" }, message));
  box.appendChild(node);
  // Keep at most four on screen.
  while (box.children.length > 4) box.removeChild(box.firstChild);
  setTimeout(() => {
    node.classList.add("toast-out");
    setTimeout(() => node.remove(), 300);
  }, ms);
  return node;
}

// -- modal dialogs -------------------------------------------------------------

let openModal = null;

export function closeModal() {
  if (openModal) {
    openModal.remove();
    openModal = null;
  }
}

export function modalOpen() {
  return openModal !== null;
}

// Show a modal with a title, body nodes and buttons. Returns {root, close, error(msg)}.
export function modal({ title, body, buttons = [], onClose = null, dismissable = true, id = null }) {
  closeModal();
  const errorLine = el("p", { class: "modal-error", role: "alert" });
  const close = () => {
    closeModal();
    if (onClose) onClose();
  };
  const footer = el("div", { class: "modal-buttons" },
    buttons.map((b) => el("button", {
      type: b.submit ? "submit" : "button",
      class: `btn ${b.class || ""}`,
      id: b.id,
      onclick: b.submit ? null : (e) => { e.preventDefault(); b.onclick ? b.onclick(close) : close(); },
    }, b.label)));
  const submit = buttons.find((b) => b.submit);
  const form = el("form", {
    class: "modal", id, novalidate: true,
    onsubmit: (e) => { e.preventDefault(); if (submit) submit.onclick(close); },
  },
    el("h2", { class: "modal-title" }, title),
    el("div", { class: "modal-body" }, body),
    errorLine,
    footer);
  const root = el("div", {
    class: "modal-backdrop",
    onmousedown: (e) => { if (dismissable && e.target === root) close(); },
  }, form);
  root.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && dismissable) close();
    e.stopPropagation();
  });
  document.body.appendChild(root);
  openModal = root;
  const first = form.querySelector("input, select, button");
  if (first) setTimeout(() => first.focus(), 0);
  return {
    root, close,
    error(message) { errorLine.textContent = message || ""; },
  };
}

export function fmt(n) {
  if (n === null || n === undefined) return "";
  return Number(n).toLocaleString("en-US");
}

// The server's clock lives in clock.js (no DOM: the state applier uses it too).
export { setClockOffset, serverNow } from "./clock.js";
