// Herald console: a little script on top of plain forms (everything works without it, less nicely).
"use strict";
document.documentElement.classList.add("js");

// Times in the viewer's zone ("2026-12-01 09:00"); a schedule's next runs also in the task's zone.
function fmt(date, zone) {
  const opts = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false };
  if (zone) opts.timeZone = zone;
  try { return new Intl.DateTimeFormat("sv-SE", opts).format(date); } catch (e) { return date.toISOString(); }
}
document.querySelectorAll("time[datetime]").forEach((el) => {
  const date = new Date(el.getAttribute("datetime"));
  if (isNaN(date)) return;
  const zone = el.dataset.zone;
  el.textContent = zone ? fmt(date, zone) + " (" + zone + ") · " + fmt(date) : fmt(date);
  el.title = date.toISOString();
});
document.querySelectorAll("[data-duration-from]").forEach((el) => {
  const ms = new Date(el.dataset.durationTo) - new Date(el.dataset.durationFrom);
  el.textContent = isNaN(ms) ? "—" : ms < 10000 ? (ms / 1000).toFixed(1) + " s" : Math.round(ms / 1000) + " s";
});

// Confirmations: push now, disable and delete ask first, naming the task and its audience.
const dialog = document.getElementById("confirm");
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (form.dataset.confirmed === "yes" || !dialog || !dialog.showModal) return;
    event.preventDefault();
    dialog.querySelector("#confirm-text").textContent = form.dataset.confirm;
    dialog.returnValue = "";
    dialog.onclose = () => {
      if (dialog.returnValue !== "yes") return;
      const yes = document.createElement("input");
      yes.type = "hidden"; yes.name = "confirm"; yes.value = "yes";
      form.appendChild(yes);
      form.dataset.confirmed = "yes";
      form.submit();
    };
    dialog.showModal();
  });
});

// The schedule editor shows the fields of the chosen kind only.
const every = document.getElementById("s-every");
function showScheduleFields() {
  document.querySelectorAll("[data-every]").forEach((el) => {
    el.hidden = !el.dataset.every.split(" ").includes(every.value);
  });
}
if (every) { every.addEventListener("change", showScheduleFields); showScheduleFields(); }

// "Add a chart" copies the last chart's inputs with the next index, empty.
const add = document.getElementById("add-chart");
if (add) add.addEventListener("click", () => {
  const charts = document.querySelectorAll("#charts .chart");
  const last = charts[charts.length - 1];
  const next = Number(last.dataset.index) + 1;
  const copy = last.cloneNode(true);
  copy.dataset.index = String(next);
  copy.querySelectorAll(".field-error").forEach((e) => e.remove());
  copy.querySelector("h3").textContent = copy.querySelector("h3").textContent.replace(/\d+$/, String(next + 1));
  copy.querySelectorAll("input, select, label, datalist").forEach((el) => {
    for (const attr of ["name", "id", "for", "list"]) {
      const value = el.getAttribute(attr);
      if (value && !(attr === "list" && value === "source-names")) {
        el.setAttribute(attr, value.replace(/\[\d+\]/, "[" + next + "]").replace(/^c\d+-/, "c" + next + "-"));
      }
    }
    if (el.tagName === "INPUT") el.value = "";
    if (el.tagName === "DATALIST") el.replaceChildren();
    el.removeAttribute("aria-invalid");
  });
  last.after(copy);
  copy.querySelector("input").focus();
});

// The recipients and owner fields of the chosen channel only (a field that holds something or
// has an error stays, so nothing typed is sent unseen).
const channel = document.getElementById("f-channel");
function showChannelFields() {
  document.querySelectorAll("[data-channel]").forEach((el) => {
    const held = [...el.querySelectorAll("input, textarea")].some((f) => f.value.trim() !== "");
    const flagged = el.querySelector("[aria-invalid]") !== null;
    el.hidden = !el.dataset.channel.split(" ").includes(channel.value) && !held && !flagged;
  });
}
if (channel) { channel.addEventListener("change", showChannelFields); showChannelFields(); }

// A chart's source, once chosen, offers what it holds as the chart's query; picking one names
// the chart after it when the chart has no name yet.
const taskForm = document.querySelector("form[data-charts-url]");
if (taskForm) {
  const offer = async (sourceInput) => {
    const chart = sourceInput.closest(".chart");
    const list = chart && chart.querySelector("datalist");
    const source = sourceInput.value.trim();
    if (!list || !source) return;
    try {
      const answer = await (await fetch(taskForm.dataset.chartsUrl + encodeURIComponent(source) + "/charts",
        { credentials: "same-origin" })).json();
      list.replaceChildren(...(answer.items || []).map((item) => {
        const option = document.createElement("option");
        option.value = item.query;
        option.textContent = item.name + " (" + item.kind + ")";
        option.dataset.name = item.name;
        return option;
      }));
    } catch (e) { /* offline or signed out: the field still takes typed JSON */ }
  };
  taskForm.addEventListener("change", (event) => {
    const field = event.target;
    if (field.matches("[data-source]")) offer(field);
    if (field.matches("[data-query]")) {
      const chart = field.closest(".chart");
      const picked = [...chart.querySelectorAll("datalist option")].find((o) => o.value === field.value);
      const name = chart.querySelector("input[name$='.name']");
      if (picked && name && !name.value.trim()) name.value = picked.dataset.name;
    }
  });
  taskForm.querySelectorAll("[data-source]").forEach((field) => {
    const list = field.closest(".chart").querySelector("datalist");
    if (field.value.trim() && list && !list.children.length) offer(field);
  });
}

// Settings tabs (without the script every tab shows, one below the other).
const tabs = document.querySelectorAll(".tabs [role=tab]");
tabs.forEach((tab) => tab.addEventListener("click", (event) => {
  event.preventDefault();
  tabs.forEach((t) => t.setAttribute("aria-selected", String(t === tab)));
  document.querySelectorAll(".tab").forEach((panel) => {
    if (panel.id === tab.getAttribute("aria-controls")) panel.removeAttribute("data-hidden");
    else panel.setAttribute("data-hidden", "");
  });
  history.replaceState(null, "", tab.getAttribute("href"));
}));
if (location.hash && document.querySelector(".tabs a[href='" + location.hash + "']")) {
  document.querySelector(".tabs a[href='" + location.hash + "']").click();
}

// The schedule editor's next five runs, in the task's zone and the viewer's, as the fields change.
const upcoming = document.getElementById("upcoming");
if (upcoming) {
  const form = upcoming.closest("form");
  let timer = null;
  const refresh = async () => {
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (name.startsWith("schedule.")) query.append(name, value);
    }
    try {
      const answer = await (await fetch(upcoming.dataset.url + "?" + query, { credentials: "same-origin" })).json();
      const list = upcoming.querySelector("ol");
      const error = upcoming.querySelector("[data-schedule-error]");
      list.replaceChildren();
      error.hidden = !answer.error;
      error.textContent = answer.error ? answer.error.field + ": " + answer.error.message : "";
      const zone = form.elements["schedule.timezone"].value;
      for (const at of answer.runs || []) {
        const item = document.createElement("li");
        const time = document.createElement("time");
        time.dateTime = at;
        let text;
        try { text = fmt(new Date(at), zone) + " (" + zone + ") · " + fmt(new Date(at)); } catch (e) { text = at; }
        time.textContent = text;
        item.appendChild(time);
        list.appendChild(item);
      }
    } catch (e) { /* offline or signed out: the list stays as it was */ }
  };
  form.addEventListener("input", (event) => {
    if (!event.target.name || !event.target.name.startsWith("schedule.")) return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
  form.addEventListener("change", (event) => {
    if (event.target.name && event.target.name.startsWith("schedule.")) refresh();
  });
}

// "Back" links go back in history when there is one (else to the console's start).
document.querySelectorAll("a[data-back]").forEach((link) => link.addEventListener("click", (event) => {
  if (history.length > 1) { event.preventDefault(); history.back(); }
}));

// Tabs: arrow keys move between them (the ARIA tabs pattern).
tabs.forEach((tab, i) => tab.addEventListener("keydown", (event) => {
  const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
  if (!step) return;
  event.preventDefault();
  const next = tabs[(i + step + tabs.length) % tabs.length];
  next.focus();
  next.click();
}));

// A record still sending reloads itself every 2 s for two minutes, then leaves it to the reader.
if (document.getElementById("still-sending")) {
  const key = "herald-reloads:" + location.pathname;
  const done = Number(sessionStorage.getItem(key) || "0");
  if (done < 60) {
    setTimeout(() => { sessionStorage.setItem(key, String(done + 1)); location.reload(); }, 2000);
  }
}

// Time filters: the browser's local time goes to the server with its offset (RFC 3339).
document.querySelectorAll("form.filters").forEach((form) => form.addEventListener("submit", () => {
  form.querySelectorAll("input[data-local-time]").forEach((input) => {
    if (!input.value) return;
    const date = new Date(input.value);
    if (isNaN(date)) return;
    const hidden = document.createElement("input");
    hidden.type = "hidden"; hidden.name = input.name; hidden.value = date.toISOString();
    input.removeAttribute("name");
    form.appendChild(hidden);
  });
}));
document.querySelectorAll("input[data-local-time][data-value]").forEach((input) => {
  const date = new Date(input.dataset.value);
  if (!input.dataset.value || isNaN(date)) return;
  const pad = (n) => String(n).padStart(2, "0");
  input.value = date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
    "T" + pad(date.getHours()) + ":" + pad(date.getMinutes());
});
