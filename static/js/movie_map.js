// The movie map: draws the t-SNE points from JSON on a <canvas>, no library, so it
// works offline. Wheel/pinch zooms about the pointer, drag pans, hover or tap shows
// a title, a click (or a second tap on the same dot) opens the movie. Each cluster's
// name sits at its centre; the search box flies to a movie; a signed-in person's
// rated movies are ringed and coloured by their stars.
(function () {
  "use strict";
  const canvas = document.getElementById("movie-map");
  if (!canvas) return;
  const tip = document.getElementById("movie-map-tip");
  const ctx = canvas.getContext("2d");
  let points = [];          // [id, title, x, y, cluster]
  let names = {};           // cluster label -> name
  let view = { scale: 1, ox: 0, oy: 0 };
  let hovered = null;
  let mine = new Map();     // movie id -> the signed-in person's stars
  let centres = [];         // [label, x, y]: where each cluster's name is written
  const PAD = 16;
  const mineBox = document.getElementById("movie-map-mine");
  const showMine = () => mine.size > 0 && (!mineBox || mineBox.checked);
  // Half a star red, three yellow, five green.
  const starColour = (stars) => `hsl(${Math.round(((stars - 0.5) / 4.5) * 120)}, 80%, 40%)`;

  // The same hue per cluster as the swatches of the cluster pages (label * 137 degrees).
  const colour = (label, alpha) => `hsla(${(label * 137) % 360}, 65%, 48%, ${alpha})`;

  function size() {
    const rect = canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(rect.width * dpr);
    canvas.height = Math.round(rect.height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    draw();
  }

  // Map [0, 1] data coordinates to CSS pixels of the canvas.
  function toScreen(x, y) {
    const w = canvas.clientWidth - 2 * PAD, h = canvas.clientHeight - 2 * PAD;
    const s = Math.min(w, h);
    const bx = PAD + (w - s) / 2, by = PAD + (h - s) / 2;
    return [bx + (x * s) * view.scale + view.ox, by + (y * s) * view.scale + view.oy];
  }

  function draw() {
    ctx.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
    const r = Math.max(2, Math.min(6, 2.2 * Math.sqrt(view.scale)));
    const highlight = showMine();
    const rated = [];
    for (const p of points) {
      const [sx, sy] = toScreen(p[2], p[3]);
      if (sx < -r || sy < -r || sx > canvas.clientWidth + r || sy > canvas.clientHeight + r) continue;
      if (highlight && mine.has(p[0])) { rated.push([p, sx, sy]); continue; }
      ctx.fillStyle = colour(p[4], highlight ? 0.3 : 0.75);
      ctx.beginPath();
      ctx.arc(sx, sy, r, 0, 2 * Math.PI);
      ctx.fill();
    }
    // The person's own movies on top, bigger, in their stars' colour with a dark ring.
    for (const [p, sx, sy] of rated) {
      ctx.fillStyle = starColour(mine.get(p[0]));
      ctx.strokeStyle = "#111";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.arc(sx, sy, r + 2.5, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
    }
    labels();
    canvas.dataset.scale = view.scale.toFixed(3);  // the zoom, for browser tests
    if (hovered) {
      const [sx, sy] = toScreen(hovered[2], hovered[3]);
      ctx.strokeStyle = "#111";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(sx, sy, r + 3, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }

  // Each cluster's name at the mean of its points, white-haloed so it reads over the dots. The
  // biggest clusters are named first and a name that would cover one already written is left out,
  // so zooming in names more of them.
  function labels() {
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.lineJoin = "round";
    const placed = [];
    for (const [label, x, y] of centres) {
      const [sx, sy] = toScreen(x, y);
      if (sx < 0 || sy < 0 || sx > canvas.clientWidth || sy > canvas.clientHeight) continue;
      let name = names[label] || "";
      if (name.length > 32) name = name.slice(0, 31) + "\u2026";
      const half = ctx.measureText(name).width / 2 + 4;
      const box = [sx - half, sy - 9, sx + half, sy + 9];
      if (placed.some((b) => box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3])) continue;
      placed.push(box);
      ctx.strokeStyle = "rgba(255, 255, 255, .9)";
      ctx.lineWidth = 4;
      ctx.strokeText(name, sx, sy);
      ctx.fillStyle = colour(label, 1);
      ctx.fillText(name, sx, sy);
    }
    canvas.dataset.labels = String(placed.length);
  }

  function findCentres() {
    const sums = new Map();
    for (const p of points) {
      const s = sums.get(p[4]) || [0, 0, 0];
      sums.set(p[4], [s[0] + p[2], s[1] + p[3], s[2] + 1]);
    }
    centres = [...sums]
      .sort((a, b) => b[1][2] - a[1][2])
      .map(([label, [x, y, n]]) => [label, x / n, y / n]);
  }

  function nearest(cx, cy, within) {
    let best = null, bestD = within * within;
    for (const p of points) {
      const [sx, sy] = toScreen(p[2], p[3]);
      const d = (sx - cx) ** 2 + (sy - cy) ** 2;
      if (d < bestD) { best = p; bestD = d; }
    }
    return best;
  }

  function showTip(p, cx, cy) {
    hovered = p;
    if (!p) { tip.hidden = true; draw(); return; }
    tip.textContent = "";
    const title = document.createElement("strong");
    title.textContent = p[1];
    const group = document.createElement("small");
    group.textContent = names[p[4]] || "";
    tip.append(title, document.createElement("br"), group);
    tip.hidden = false;
    const left = Math.min(cx + 12, canvas.clientWidth - tip.offsetWidth - 4);
    tip.style.left = `${Math.max(4, left)}px`;
    tip.style.top = `${Math.max(4, cy - tip.offsetHeight - 10)}px`;
    draw();
  }

  function local(e) {
    const rect = canvas.getBoundingClientRect();
    return [e.clientX - rect.left, e.clientY - rect.top];
  }

  function zoomAt(cx, cy, factor) {
    const next = Math.min(60, Math.max(1, view.scale * factor));
    const k = next / view.scale;
    // Keep the point under the pointer where it is.
    const [bx, by] = toScreen(0, 0);
    view.ox += (cx - bx) * (1 - k);
    view.oy += (cy - by) * (1 - k);
    view.scale = next;
    if (next === 1) { view.ox = 0; view.oy = 0; }
    draw();
  }

  function open(p) { window.location.href = `/movies/${p[0]}/`; }

  // Zoom in on a movie and show its title: the search box's answer.
  function flyTo(p) {
    const target = Math.max(view.scale, 8);
    const from = { ...view };
    view = { scale: target, ox: 0, oy: 0 };
    const [sx, sy] = toScreen(p[2], p[3]);
    const to = { scale: target, ox: canvas.clientWidth / 2 - sx, oy: canvas.clientHeight / 2 - sy };
    const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    const started = performance.now();
    const step = (now) => {
      const t = still ? 1 : Math.min(1, (now - started) / 500);
      const e = t * (2 - t);
      view = {
        scale: from.scale + (to.scale - from.scale) * e,
        ox: from.ox + (to.ox - from.ox) * e,
        oy: from.oy + (to.oy - from.oy) * e,
      };
      draw();
      if (t < 1) { window.requestAnimationFrame(step); return; }
      const [x, y] = toScreen(p[2], p[3]);
      showTip(p, x, y);
      canvas.dataset.focus = String(p[0]);
    };
    window.requestAnimationFrame(step);
  }

  const search = document.getElementById("movie-map-search");
  const results = document.getElementById("movie-map-results");
  const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  function matches(query) {
    const q = fold(query.trim());
    if (!q) return [];
    const found = points.filter((p) => fold(p[1]).includes(q));
    // Titles that start with the words first, then the shorter (the better known) ones.
    found.sort((a, b) => (fold(b[1]).startsWith(q) - fold(a[1]).startsWith(q)) || a[1].length - b[1].length);
    return found.slice(0, 8);
  }
  function listMatches() {
    const found = matches(search.value);
    results.replaceChildren(...found.map((p) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = p[1];
      button.addEventListener("click", () => { results.hidden = true; search.value = p[1]; flyTo(p); });
      li.appendChild(button);
      return li;
    }));
    results.hidden = found.length === 0;
  }
  if (search) {
    search.addEventListener("input", listMatches);
    document.getElementById("movie-map-search-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const [first] = matches(search.value);
      results.hidden = true;
      if (first) flyTo(first);
    });
  }
  if (mineBox) mineBox.addEventListener("change", draw);

  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const [cx, cy] = local(e);
    zoomAt(cx, cy, Math.exp(-e.deltaY * 0.0015));
  }, { passive: false });

  // Pointer events cover mouse, pen and touch; two touches make a pinch.
  const active = new Map();
  let dragged = false, pinch = null, downAt = null;
  canvas.addEventListener("pointerdown", (e) => {
    canvas.setPointerCapture(e.pointerId);
    active.set(e.pointerId, local(e));
    dragged = false;
    downAt = local(e);
    if (active.size === 2) {
      const [a, b] = [...active.values()];
      pinch = Math.hypot(a[0] - b[0], a[1] - b[1]);
    }
  });
  canvas.addEventListener("pointermove", (e) => {
    const pos = local(e);
    if (!active.has(e.pointerId)) {
      if (e.pointerType === "mouse") showTip(nearest(pos[0], pos[1], 10), pos[0], pos[1]);
      return;
    }
    const prev = active.get(e.pointerId);
    active.set(e.pointerId, pos);
    if (active.size === 2 && pinch) {
      const [a, b] = [...active.values()];
      const d = Math.hypot(a[0] - b[0], a[1] - b[1]);
      zoomAt((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, d / pinch);
      pinch = d;
      dragged = true;
      return;
    }
    if (downAt && Math.hypot(pos[0] - downAt[0], pos[1] - downAt[1]) > 4) dragged = true;
    if (dragged) {
      view.ox += pos[0] - prev[0];
      view.oy += pos[1] - prev[1];
      tip.hidden = true;
      draw();
    }
  });
  function release(e) {
    active.delete(e.pointerId);
    if (active.size < 2) pinch = null;
  }
  canvas.addEventListener("pointerup", (e) => {
    const pos = local(e);
    const wasDrag = dragged;
    release(e);
    if (wasDrag) return;
    // A touch has no hover: the first tap shows the title, a second tap on it opens it.
    const hit = nearest(pos[0], pos[1], e.pointerType === "mouse" ? 10 : 22);
    if (!hit) { showTip(null); return; }
    if (e.pointerType === "mouse" || hovered === hit) open(hit);
    else showTip(hit, pos[0], pos[1]);
  });
  canvas.addEventListener("pointercancel", release);

  canvas.addEventListener("pointerleave", (e) => { if (e.pointerType === "mouse") showTip(null); });
  document.getElementById("movie-map-reset").addEventListener("click", () => {
    view = { scale: 1, ox: 0, oy: 0 };
    draw();
  });
  window.addEventListener("resize", size);

  fetch(canvas.dataset.points, { headers: { Accept: "application/json" } })
    .then((r) => r.json())
    .then((data) => {
      points = data.points;
      for (const [label, name] of data.clusters) names[label] = name;
      findCentres();
      size();
      canvas.dataset.ready = String(points.length);  // drawn: browser tests wait for this
      if (!canvas.dataset.mine) return;
      fetch(canvas.dataset.mine, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((r) => r.json())
        .then((own) => {
          mine = new Map(own.ratings);
          const stars = document.getElementById("movie-map-stars");
          if (stars) stars.hidden = mine.size === 0;
          draw();
          canvas.dataset.mineReady = String(mine.size);
        });
    });
  size();
})();
