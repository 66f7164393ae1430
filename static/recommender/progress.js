// Live training progress on a model version's admin page: polls the JSON view
// while the version runs, updates the bar and the epoch table, reloads when done.
(function () {
  "use strict";
  const box = document.getElementById("version-progress");
  if (!box || box.dataset.running !== "true") return;
  const url = box.dataset.url;
  const field = (name) => box.querySelector(`[data-field="${name}"]`);
  const fmt = (v, digits) => (typeof v === "number" && isFinite(v) ? v.toFixed(digits) : "");

  function render(data) {
    field("state_label").textContent = data.state_label;
    field("epoch").textContent = data.epoch;
    field("max_epochs").textContent = data.max_epochs;
    field("step").textContent = data.step ? " · " + data.step : "";
    const bar = box.querySelector(".epoch-bar");
    const pct = data.max_epochs ? Math.min(100, (100 * data.epoch) / data.max_epochs) : 0;
    bar.setAttribute("aria-valuenow", data.epoch);
    bar.setAttribute("aria-valuemax", data.max_epochs);
    box.querySelector(".epoch-bar-fill").style.width = pct + "%";
    const body = field("history");
    body.replaceChildren(
      ...data.history.map((row) => {
        const tr = document.createElement("tr");
        for (const [key, digits] of [["epoch", 0], ["loss", 4], ["val_rmse", 4], ["val_ndcg", 4], ["seconds", 1]]) {
          const td = document.createElement("td");
          td.textContent = fmt(row[key], digits);
          tr.appendChild(td);
        }
        return tr;
      })
    );
    const error = field("error");
    error.hidden = !data.error;
    error.textContent = data.error || "";
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
    window.setTimeout(poll, 2000);
  }
  window.setTimeout(poll, 1000);
})();
