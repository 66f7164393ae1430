// Live training progress on a model version's admin page: polls the JSON view while the
// version runs, updates the title, the pass and its epochs, the bar and the epoch table,
// and reloads when done.
(function () {
  "use strict";
  const box = document.getElementById("version-progress");
  if (!box || box.dataset.running !== "true") return;
  const url = box.dataset.url;
  const field = (name) => box.querySelector(`[data-field="${name}"]`);
  const fmt = (v, digits) => (typeof v === "number" && isFinite(v) ? v.toFixed(digits) : "");
  const heading = document.getElementById("version-title");
  // The tab's title starts with the page's subtitle ("v2 (auto, queued) | Change model version | ..."):
  // keep what follows it and put the live state in front.
  const firstTitle = heading ? heading.textContent : "";
  const titleRest = firstTitle && document.title.startsWith(firstTitle) ? document.title.slice(firstTitle.length) : "";

  function setText(name, text) {
    const el = field(name);
    el.textContent = text || "";
    el.hidden = !text;
  }

  function render(data) {
    if (heading) heading.textContent = data.title;
    if (titleRest) document.title = data.title + " · " + data.text + titleRest;
    const crumb = document.querySelector(".breadcrumbs");
    if (crumb && crumb.lastChild && crumb.lastChild.nodeType === Node.TEXT_NODE) {
      crumb.lastChild.textContent = " " + data.title;
    }
    field("state_label").textContent = data.state_label;
    setText("text", data.text);
    setText("summary", data.summary ? data.summary[0].toUpperCase() + data.summary.slice(1) : "");
    setText("error", data.error);
    const pct = Math.round(100 * Math.min(1, Math.max(0, data.share || 0)));
    const bar = box.querySelector(".epoch-bar");
    bar.setAttribute("aria-valuenow", pct);
    bar.setAttribute("aria-valuetext", data.text);
    bar.classList.toggle("busy", Boolean(data.busy));
    box.querySelector(".epoch-bar-fill").style.width = pct + "%";
    field("epoch_count").textContent = data.history.length;
    field("history").replaceChildren(
      ...data.history.map((row) => {
        const tr = document.createElement("tr");
        const pass = row.head ? "rating head " + row.head : row.phase || "";
        const cells = [String(row.epoch), pass, fmt(row.loss, 4), fmt(row.val_rmse, 4), fmt(row.val_ndcg, 4), fmt(row.seconds, 1)];
        for (const text of cells) {
          const td = document.createElement("td");
          td.textContent = text;
          tr.appendChild(td);
        }
        return tr;
      })
    );
  }

  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const data = await response.json();
        render(data);
        if (!data.running) {
          window.location.reload(); // the finished page shows metrics, the plot and the buttons
          return;
        }
      }
    } catch (err) {
      // A network blip: try again at the next tick.
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
