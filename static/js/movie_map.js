// The movie map: draws the t-SNE points from JSON on a <canvas>, no library, so it
// works offline. Wheel/pinch zooms about the pointer, drag pans, hover or tap shows
// a title, a click (or a second tap on the same dot) opens the movie.
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
  const PAD = 16;

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
    for (const p of points) {
      const [sx, sy] = toScreen(p[2], p[3]);
      if (sx < -r || sy < -r || sx > canvas.clientWidth + r || sy > canvas.clientHeight + r) continue;
      ctx.fillStyle = colour(p[4], 0.75);
      ctx.beginPath();
      ctx.arc(sx, sy, r, 0, 2 * Math.PI);
      ctx.fill();
    }
    if (hovered) {
      const [sx, sy] = toScreen(hovered[2], hovered[3]);
      ctx.strokeStyle = "#111";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(sx, sy, r + 3, 0, 2 * Math.PI);
      ctx.stroke();
    }
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
      size();
      canvas.dataset.ready = String(points.length);  // drawn: browser tests wait for this
    });
  size();
})();
