/* Facturier web UI behaviour. No inline scripts anywhere (the CSP forbids them):
   pages pass data in <script type="application/json"> blocks made by json_script. */
"use strict";

function facturierMenu() {
  const toggle = document.querySelector(".menu-toggle");
  const nav = document.getElementById("mainnav");
  if (!toggle || !nav) return;
  toggle.addEventListener("click", () => {
    const open = nav.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
}

/* Asks before a destructive submit: <form data-confirm="Sure?">, or on the one button that
   needs it: <button type="submit" data-confirm="Issue it now?">. */
function facturierConfirm() {
  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    const message = (button && button.dataset.confirm) || (event.target.dataset && event.target.dataset.confirm);
    if (message && !window.confirm(message)) event.preventDefault();
  });
}

/* A form that writes is sent once: after its submit (not cancelled by a confirmation), a
   second submit is ignored and its buttons are disabled until the next page. The buttons are
   disabled a moment later, once the browser has read the clicked button's name and value
   ("issue", "add_line"...). A submit htmx handles itself is cancelled (defaultPrevented) and
   left alone. Back to a page kept in the browser's cache: its buttons work again (the server
   refuses a create form sent twice anyway: web/once.py). */
function facturierSubmitOnce() {
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (event.defaultPrevented || !(form instanceof HTMLFormElement)) return;
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") return;
    if (form.dataset.submitting) {
      event.preventDefault();
      return;
    }
    form.dataset.submitting = "1";
    setTimeout(() => {
      form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]").forEach((b) => {
        b.disabled = true;
        b.setAttribute("aria-busy", "true");
      });
    }, 0);
  });
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-submitting]").forEach((form) => {
      delete form.dataset.submitting;
      form.querySelectorAll("[aria-busy]").forEach((b) => {
        b.disabled = false;
        b.removeAttribute("aria-busy");
      });
    });
  });
}

/* A chart: <canvas data-chart="bar|line" data-source="id-of-json-script">, or with the JSON in
   data-spec="…" (for htmx fragments: htmx drops <script> elements, even JSON ones). The JSON
   holds {labels: [...], datasets: [{label, data, ...}], money: "EUR"|null, locale: "fr"|"en"}. */
function facturierCharts(root) {
  if (typeof Chart === "undefined") return;
  root.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    if (canvas.dataset.ready) return;
    const source = canvas.dataset.source && document.getElementById(canvas.dataset.source);
    const text = canvas.dataset.spec || (source && source.textContent);
    if (!text) return;
    const spec = JSON.parse(text);
    const locale = spec.locale === "en" ? "en-GB" : "fr-FR";
    const money = spec.money
      ? new Intl.NumberFormat(locale, { style: "currency", currency: spec.money, maximumFractionDigits: 0 })
      : new Intl.NumberFormat(locale);
    const palette = ["#1f4e79", "#3a9d5d", "#d08c00", "#a3231f"];
    spec.datasets.forEach((ds, i) => {
      ds.data = ds.data.map(Number);
      ds.backgroundColor = ds.backgroundColor || palette[i % palette.length];
      ds.borderColor = ds.borderColor || palette[i % palette.length];
    });
    canvas.dataset.ready = "1";
    new Chart(canvas, {
      type: canvas.dataset.chart,
      data: { labels: spec.labels, datasets: spec.datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: { callback: (v) => money.format(v) } } },
        plugins: {
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${money.format(c.parsed.y)}` } },
        },
      },
    });
  });
}

/* Fields that apply to one choice only: <div data-show-when="end_kind=count"> (or
   "frequency=custom,weekly") shows while the form's control of that name has one of the values,
   and is hidden otherwise. Without JavaScript every field shows, with the help texts marked
   data-nojs that say which apply; those are hidden here. Hidden fields are still posted: the
   server reads each one only for the choice it belongs to. */
function facturierShowWhen(root) {
  root.querySelectorAll("form").forEach((form) => {
    const blocks = form.querySelectorAll("[data-show-when]");
    if (!blocks.length || form.dataset.showWhenReady) return;
    form.dataset.showWhenReady = "1";
    const update = () => {
      blocks.forEach((block) => {
        const [name, values] = block.dataset.showWhen.split("=");
        const control = form.elements.namedItem(name);
        const value = control && "value" in control ? control.value : "";
        block.hidden = !values.split(",").includes(value);
      });
    };
    form.addEventListener("change", update);
    form.querySelectorAll("[data-nojs]").forEach((note) => {
      note.hidden = true;
    });
    update();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  facturierMenu();
  facturierConfirm();
  facturierSubmitOnce();
  facturierCharts(document);
  facturierShowWhen(document);
});
document.addEventListener("htmx:load", (event) => facturierCharts(event.target));
