// kubelite dashboard: live page bodies and followed logs over server-sent events.
// The server sends HTML it rendered and escaped itself (page bodies) or plain text (log lines, set as text).
"use strict";

function connectPage(live) {
  const state = document.getElementById("live-state");
  const source = new EventSource(live.dataset.live);
  source.addEventListener("open", () => { state.textContent = "live updates: on"; });
  source.addEventListener("error", () => { state.textContent = "live updates: reconnecting"; });
  source.addEventListener("update", (event) => {
    // Keep keyboard focus where it was across the swap: by id, or by the link's address.
    const active = document.activeElement;
    const href = active && active.getAttribute ? active.getAttribute("href") : null;
    const id = active && active.id;
    live.innerHTML = JSON.parse(event.data).html;
    let again = id ? document.getElementById(id) : null;
    if (!again && href) {
      again = Array.from(live.querySelectorAll("a[href]")).find((a) => a.getAttribute("href") === href);
    }
    if (again && live.contains(again)) again.focus();
    live.dispatchEvent(new CustomEvent("dashboard:updated"));
  });
}

function followLog(pre) {
  const state = document.getElementById("log-state");
  const source = new EventSource(pre.dataset.stream);
  const label = state.textContent.split(":")[0];
  source.addEventListener("open", () => { state.textContent = label + ": on"; });
  source.addEventListener("reset", () => { pre.textContent = ""; });
  source.addEventListener("lines", (event) => {
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.append(document.createTextNode(JSON.parse(event.data).lines.join("\n") + "\n"));
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  });
  source.addEventListener("end", () => { state.textContent = label + ": ended"; source.close(); });
  source.addEventListener("error", (event) => {
    if (event.data) {
      state.textContent = label + ": " + JSON.parse(event.data).message;
      source.close();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const live = document.getElementById("live");
  if (live && live.dataset.live) connectPage(live);
  const pre = document.getElementById("log");
  if (pre && pre.dataset.stream) followLog(pre);
});
