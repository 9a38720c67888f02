// liqbot's interactive liquidation map: plain canvas, no library, no network but its own origin.
// One canvas: the heatmap (price x time, candles, real prints) on the left and the map (bars by
// price, cumulative curves, clusters) on the right, sharing one log-price axis, so zooming a
// price range zooms both. The data comes from api/map with Telegram's initData.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const canvas = $("chart");
  const ctx = canvas.getContext("2d");

  // ---- Telegram: initData and theme, from the SDK if the page has it, else from the URL hash
  const tg = window.Telegram && window.Telegram.WebApp;
  const hash = new URLSearchParams(location.hash.slice(1));
  const initData = (tg && tg.initData) || hash.get("tgWebAppData") || "";
  let theme = (tg && tg.themeParams) || {};
  if (!tg && hash.get("tgWebAppThemeParams")) {
    try { theme = JSON.parse(hash.get("tgWebAppThemeParams")); } catch (e) { theme = {}; }
  }
  function postEvent(type) { // tell Telegram the page is ready and may take the full height
    try {
      if (window.TelegramWebviewProxy) window.TelegramWebviewProxy.postEvent(type, "");
      else if (window.parent !== window) {
        window.parent.postMessage(JSON.stringify({ eventType: type, eventData: {} }), "*");
      }
    } catch (e) { /* not inside Telegram */ }
  }
  function luminance(hex) {
    const m = /^#?([0-9a-f]{6})$/i.exec(hex || "");
    if (!m) return 0;
    const n = parseInt(m[1], 16);
    return (0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
  }
  const light = luminance(theme.bg_color) > 0.5;
  const C = {
    bg: theme.bg_color || "#14161b",
    text: theme.text_color || (light ? "#1b1b1b" : "#e9ebef"),
    hint: theme.hint_color || (light ? "#707579" : "#8b93a1"),
    accent: theme.button_color || "#3fa3ff",
    grid: light ? "rgba(0,0,0,.08)" : "rgba(255,255,255,.07)",
    long: "#e0454f", short: "#20b26c", up: "#4fe3a0", down: "#ff6b8a",
    price: "#3fd8ff", entry: light ? "#1b1b1b" : "#ffffff", liq: "#ff9f1c", stop: "#ffd60a",
    alert: "#b48cff",
  };
  const root = document.documentElement.style;
  root.setProperty("--bg", C.bg); root.setProperty("--text", C.text);
  root.setProperty("--hint", C.hint); root.setProperty("--accent", C.accent);
  if (theme.secondary_bg_color) root.setProperty("--chip", theme.secondary_bg_color);
  else if (light) root.setProperty("--chip", "#e6e8ec");

  // inferno-like colour ramp, 256 entries (the bot's PNG heatmap uses inferno too)
  const STOPS = [[0, 0, 0, 4], [0.15, 31, 12, 72], [0.3, 85, 15, 109], [0.45, 136, 34, 106],
    [0.6, 186, 54, 85], [0.72, 227, 89, 51], [0.84, 249, 140, 10], [0.93, 249, 201, 50],
    [1, 252, 255, 164]];
  const RAMP = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const f = i / 255;
    let k = 0;
    while (k < STOPS.length - 2 && STOPS[k + 1][0] < f) k++;
    const a = STOPS[k], b = STOPS[k + 1], t = (f - a[0]) / (b[0] - a[0]);
    for (let c = 1; c < 4; c++) RAMP[i * 3 + c - 1] = Math.round(a[c] + (b[c] - a[c]) * t);
  }

  // ---- state
  const params = new URLSearchParams(location.search);
  const state = {
    symbol: (params.get("symbol") || "BTC").toUpperCase(),
    window: params.get("window") || "1d",
    tiers: params.get("tiers") || "",
    venues: null, // null: every venue
  };
  const TIERS = [["all x", ""], ["5-10x", "5-10"], ["10-25x", "10-25"], ["50-100x", "50-100"]];
  let data = null, heatImage = null, view = null, readout = null, drawnAt = 0;

  const fmtPrice = (p) => p >= 1000 ? Math.round(p).toLocaleString("en-US")
    : p >= 1 ? p.toFixed(p >= 100 ? 2 : 3) : p.toPrecision(4);
  function fmtUsd(x) {
    const a = Math.abs(x);
    if (a >= 1e9) return "$" + (x / 1e9).toFixed(a >= 1e10 ? 1 : 2) + "B";
    if (a >= 1e6) return "$" + (x / 1e6).toFixed(a >= 1e8 ? 0 : 1) + "M";
    if (a >= 1e3) return "$" + (x / 1e3).toFixed(0) + "K";
    return "$" + Math.round(x);
  }
  function fmtTime(ms, withDay) {
    const d = new Date(ms), p = (n) => String(n).padStart(2, "0");
    const hm = p(d.getUTCHours()) + ":" + p(d.getUTCMinutes());
    return withDay ? p(d.getUTCMonth() + 1) + "-" + p(d.getUTCDate()) + " " + hm : hm;
  }
  function status(text) { const s = $("status"); s.hidden = !text; s.textContent = text || ""; }

  // ---- data
  async function load() {
    const q = new URLSearchParams({ symbol: state.symbol, window: state.window });
    if (state.tiers) q.set("tiers", state.tiers);
    if (state.venues) q.set("venues", state.venues.join(","));
    const headers = initData ? { Authorization: "tma " + initData } : {};
    status(data ? "" : "Loading…");
    let resp;
    try { resp = await fetch("api/map?" + q.toString(), { headers, cache: "no-store" }); }
    catch (e) { status("The bot is not reachable. Try again in a moment."); return; }
    if (resp.status === 401 || resp.status === 403) {
      data = null; clear();
      status("Open this map from the bot's button in Telegram.");
      return;
    }
    if (!resp.ok) {
      let msg = "The map could not be loaded.";
      try { msg = (await resp.json()).error || msg; } catch (e) { /* plain text */ }
      status(msg);
      return;
    }
    const next = await resp.json();
    const keepView = data && view && data.symbol === next.symbol && data.window === next.window;
    data = next;
    heatImage = buildHeatImage(data.heatmap);
    if (!keepView) view = initialView();
    readout = null;
    status("");
    chips();
    header();
    draw();
  }

  let heatBytes = null; // the decoded cells (the readout reads them on every hover)
  function buildHeatImage(h) {
    const raw = atob(h.q), img = new ImageData(h.cols, h.rows);
    heatBytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) heatBytes[i] = raw.charCodeAt(i);
    for (let c = 0; c < h.cols; c++) {
      for (let r = 0; r < h.rows; r++) {
        const q = heatBytes[c * h.rows + r];
        const o = ((h.rows - 1 - r) * h.cols + c) * 4; // row 0 of the image: the top price
        img.data[o] = RAMP[q * 3]; img.data[o + 1] = RAMP[q * 3 + 1];
        img.data[o + 2] = RAMP[q * 3 + 2]; img.data[o + 3] = q ? 255 : 0;
      }
    }
    const off = document.createElement("canvas");
    off.width = h.cols; off.height = h.rows;
    off.getContext("2d").putImageData(img, 0, 0);
    return off;
  }

  function heatSpan() { // [lnLo, lnHi, tStart, tEnd] of the heatmap
    const h = data.heatmap;
    return [Math.log(h.lo), Math.log(h.lo) + h.rows * Math.log(h.ratio),
      h.t_end - h.cols * h.step, h.t_end];
  }
  function initialView() {
    const [a, b, t0, t1] = heatSpan();
    return { lnLo: a, lnHi: b, t0, t1 };
  }

  // ---- layout and scales
  let W = 0, H = 0;
  const AXIS = 50, BOTTOM = 16, GAP = 3;
  function layout() {
    const heatW = Math.round((W - AXIS) * 0.64);
    return { heat: [0, heatW], bars: [heatW + GAP, W - AXIS], axis: W - AXIS, top: 2, bottom: H - BOTTOM };
  }
  const yOf = (p) => { const L = layout(); return L.top + (view.lnHi - Math.log(p)) / (view.lnHi - view.lnLo) * (L.bottom - L.top); };
  const priceAt = (y) => { const L = layout(); return Math.exp(view.lnHi - (y - L.top) / (L.bottom - L.top) * (view.lnHi - view.lnLo)); };
  const xOfT = (t) => { const L = layout(); return L.heat[0] + (t - view.t0) / (view.t1 - view.t0) * (L.heat[1] - L.heat[0]); };
  const tAt = (x) => { const L = layout(); return view.t0 + (x - L.heat[0]) / (L.heat[1] - L.heat[0]) * (view.t1 - view.t0); };

  function resize() {
    const r = canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    if (r.width === W && r.height === H && canvas.width === Math.round(W * dpr)) return;
    W = Math.max(200, r.width); H = Math.max(200, r.height);
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (data) draw();
  }
  function clear() { ctx.fillStyle = C.bg; ctx.fillRect(0, 0, W, H); }

  // ---- drawing
  function draw() {
    if (!data) return;
    const L = layout();
    clear();
    ctx.save();
    ctx.beginPath(); ctx.rect(0, L.top, L.axis, L.bottom - L.top); ctx.clip();
    drawHeat(L); drawBars(L);
    drawLines(L);
    if (readout) drawReadout(L);
    ctx.restore();
    drawAxes(L);
    drawnAt = performance.now();
  }

  function drawHeat(L) {
    const [a, b, t0, t1] = heatSpan();
    ctx.save();
    ctx.beginPath(); ctx.rect(L.heat[0], L.top, L.heat[1] - L.heat[0], L.bottom - L.top); ctx.clip();
    ctx.fillStyle = "#000004";
    ctx.fillRect(L.heat[0], L.top, L.heat[1] - L.heat[0], L.bottom - L.top);
    ctx.imageSmoothingEnabled = false;
    const x0 = xOfT(t0), x1 = xOfT(t1), yTop = yOf(Math.exp(b)), yBot = yOf(Math.exp(a));
    ctx.drawImage(heatImage, x0, yTop, x1 - x0, yBot - yTop);
    // candles, one per column
    const h = data.heatmap, cw = (x1 - x0) / h.cols;
    data.candles.forEach((k, i) => {
      const xm = x0 + (i + 0.5) * cw;
      if (xm < L.heat[0] - cw || xm > L.heat[1] + cw) return;
      const up = k[3] >= k[0];
      ctx.strokeStyle = ctx.fillStyle = up ? C.up : C.down;
      ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(xm, yOf(k[1])); ctx.lineTo(xm, yOf(k[2])); ctx.stroke();
      const yo = yOf(k[0]), yc = yOf(k[3]);
      ctx.fillRect(xm - cw * 0.32, Math.min(yo, yc), Math.max(1, cw * 0.64), Math.max(1, Math.abs(yc - yo)));
    });
    // real liquidation prints: circles by size (longs liquidated red, shorts green)
    const biggest = data.prints.length ? data.prints[0][2] : 1;
    for (const [ts, p, usd, side] of data.prints) {
      const x = xOfT(ts * 1000), y = yOf(p), r = 1.5 + 5 * Math.sqrt(usd / biggest);
      ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = side === "long" ? "rgba(255,80,90,.75)" : "rgba(40,220,130,.75)";
      ctx.strokeStyle = "#fff"; ctx.lineWidth = 0.6; ctx.fill(); ctx.stroke();
    }
    ctx.restore();
  }

  function bucketRange() { // visible map buckets [i0, i1)
    const b = data.buckets, lr = Math.log(b.ratio), l0 = Math.log(b.lo);
    const i0 = Math.max(0, Math.floor((view.lnLo - l0) / lr));
    const i1 = Math.min(b.long.length, Math.ceil((view.lnHi - l0) / lr) + 1);
    return [i0, i1];
  }

  function drawBars(L) {
    const b = data.buckets, [i0, i1] = bucketRange();
    const x0 = L.bars[0], w = L.bars[1] - L.bars[0];
    ctx.fillStyle = light ? "rgba(0,0,0,.03)" : "rgba(255,255,255,.03)";
    ctx.fillRect(x0, L.top, w, L.bottom - L.top);
    let max = 1, cmax = 1;
    for (let i = i0; i < i1; i++) {
      max = Math.max(max, b.long[i], b.short[i]);
      cmax = Math.max(cmax, data.cumulative.long[i], data.cumulative.short[i]);
    }
    for (let i = i0; i < i1; i++) {
      const yHi = yOf(b.lo * Math.pow(b.ratio, i + 1)), yLo = yOf(b.lo * Math.pow(b.ratio, i));
      const hgt = Math.max(1, yLo - yHi - (yLo - yHi > 3 ? 1 : 0));
      if (b.long[i] > 0) { ctx.fillStyle = C.long; ctx.fillRect(x0, yHi, w * b.long[i] / max, hgt); }
      if (b.short[i] > 0) { ctx.fillStyle = C.short; ctx.fillRect(x0, yHi, w * b.short[i] / max, hgt); }
    }
    // cumulative curves from price outwards
    for (const [key, color] of [["long", C.long], ["short", C.short]]) {
      ctx.strokeStyle = color; ctx.globalAlpha = 0.9; ctx.lineWidth = 1.4; ctx.beginPath();
      let started = false;
      for (let i = i0; i < i1; i++) {
        const v = data.cumulative[key][i];
        if (!v) continue;
        const x = x0 + w * v / cmax, y = yOf(b.lo * Math.pow(b.ratio, i + 0.5));
        if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
      }
      ctx.stroke(); ctx.globalAlpha = 1;
    }
    // the largest clusters in view, labelled at their peak
    const seen = data.clusters.filter((c) => Math.log(c.peak) > view.lnLo && Math.log(c.peak) < view.lnHi)
      .sort((p, q) => q.notional - p.notional).slice(0, 6);
    ctx.font = "10px system-ui, sans-serif"; ctx.textBaseline = "middle";
    for (const c of seen) {
      const y = yOf(c.peak);
      ctx.strokeStyle = c.side === "long" ? C.long : C.short; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(x0 + w - 3, yOf(c.high)); ctx.lineTo(x0 + w - 3, yOf(c.low)); ctx.stroke();
      label(fmtUsd(c.notional), x0 + w - 6, y, "right", c.side === "long" ? C.long : C.short);
    }
  }

  function label(text, x, y, align, color) {
    ctx.font = "10px system-ui, sans-serif"; ctx.textBaseline = "middle"; ctx.textAlign = align;
    const tw = ctx.measureText(text).width, bx = align === "right" ? x - tw - 3 : x - 1;
    ctx.fillStyle = light ? "rgba(255,255,255,.85)" : "rgba(10,12,16,.78)";
    ctx.fillRect(bx, y - 7, tw + 4, 14);
    ctx.fillStyle = color; ctx.fillText(text, align === "right" ? x - 1 : x + 1, y);
  }

  function levels() { // the trader's lines: [price, colour, label, dash]
    const out = [];
    for (const p of data.positions) {
      const tag = "#" + p.id + " " + p.side;
      out.push([p.entry, C.entry, tag + " entry", [5, 4]]);
      if (p.liquidation) out.push([p.liquidation, C.liq, tag + " liq " + fmtPrice(p.liquidation), []]);
      if (p.stop) out.push([p.stop, C.stop, tag + " stop", [2, 3]]);
    }
    for (const a of data.alerts) {
      const arrow = a.direction === "above" ? " ↑ " : " ↓ ";
      out.push([a.price, C.alert, "alert #" + a.id + arrow + fmtPrice(a.price), [6, 3]]);
    }
    return out;
  }

  function drawLines(L) {
    const y = yOf(data.price);
    ctx.strokeStyle = C.price; ctx.setLineDash([2, 3]); ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(L.axis, y); ctx.stroke();
    for (const [p, color, text, dash] of levels()) {
      const yy = Math.round(yOf(p)); // 2 px on whole rows: crisp on any background
      ctx.strokeStyle = color; ctx.setLineDash(dash); ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(0, yy); ctx.lineTo(L.axis, yy); ctx.stroke();
      ctx.setLineDash([]);
      label(text, 4, yy - 8, "left", color);
    }
    ctx.setLineDash([]);
  }

  function drawReadout(L) {
    const y = yOf(readout.price);
    ctx.strokeStyle = C.text; ctx.lineWidth = 0.8; ctx.setLineDash([]);
    ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(L.axis, y); ctx.stroke();
    if (readout.t !== null) {
      const x = xOfT(readout.t);
      ctx.beginPath(); ctx.moveTo(x, L.top); ctx.lineTo(x, L.bottom); ctx.stroke();
    }
  }

  function niceStep(span, n) {
    const raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  }

  function drawAxes(L) {
    const pLo = Math.exp(view.lnLo), pHi = Math.exp(view.lnHi);
    ctx.fillStyle = C.bg; ctx.fillRect(L.axis, 0, W - L.axis, H); ctx.fillRect(0, L.bottom, W, H - L.bottom);
    ctx.font = "10px system-ui, sans-serif"; ctx.fillStyle = C.hint;
    ctx.textAlign = "left"; ctx.textBaseline = "middle";
    const step = niceStep(pHi - pLo, Math.max(3, Math.floor((L.bottom - L.top) / 60)));
    for (let p = Math.ceil(pLo / step) * step; p < pHi; p += step) {
      const y = yOf(p);
      if (y < L.top + 6 || y > L.bottom - 6) continue;
      ctx.fillStyle = C.grid; ctx.fillRect(0, y, L.axis, 1);
      ctx.fillStyle = C.hint; ctx.fillText(fmtPrice(p), L.axis + 4, y);
    }
    const yp = yOf(data.price);
    if (yp > L.top && yp < L.bottom) {
      ctx.fillStyle = C.price; ctx.fillRect(L.axis + 1, yp - 7, W - L.axis - 1, 14);
      ctx.fillStyle = "#001018"; ctx.font = "bold 10px system-ui, sans-serif";
      ctx.fillText(fmtPrice(data.price), L.axis + 3, yp);
    }
    ctx.font = "10px system-ui, sans-serif"; ctx.fillStyle = C.hint; ctx.textBaseline = "top";
    // hours within two days, else whole days (MM-DD): three labels fit under the heatmap
    const span = view.t1 - view.t0, days = span > 2 * 86400000;
    const unit = days ? 86400000 : 3600000, tstep = Math.max(1, Math.round(niceStep(span / unit, 3))) * unit;
    for (let t = Math.ceil(view.t0 / tstep) * tstep; t < view.t1; t += tstep) {
      const x = xOfT(t);
      if (x < 16 || x > L.heat[1] - 16) continue;
      ctx.textAlign = "center";
      ctx.fillText(days ? fmtTime(t, true).slice(0, 5) : fmtTime(t, false), x, L.bottom + 3);
    }
    ctx.textAlign = "center";
    ctx.fillText("liquidations by price", (L.bars[0] + L.bars[1]) / 2, L.bottom + 3);
  }

  // ---- header, chips, readout
  function header() {
    $("sym").textContent = data.symbol;
    $("price").textContent = fmtPrice(data.price);
    $("asof").textContent = data.window + " · " + fmtTime(data.as_of, true) + " UTC";
    const tiers = data.tiers.map((t) => t + "x").join(" ");
    $("legend").textContent = "Longs (red) and shorts (green) that would be liquidated · tiers "
      + tiers + " · dots: real liquidations · " + data.venues.join(", ");
  }
  function chip(box, text, on, click) {
    const b = document.createElement("button");
    b.textContent = text; b.className = on ? "on" : ""; b.onclick = click;
    box.appendChild(b);
  }
  function chips() {
    const w = $("windows"); w.textContent = "";
    for (const win of ["1d", "7d", "30d"]) chip(w, win, win === state.window, () => { state.window = win; load(); });
    const t = $("tiers"); t.textContent = "";
    for (const [name, code] of TIERS) chip(t, name, code === state.tiers, () => { state.tiers = code; load(); });
    const v = $("venues"); v.textContent = "";
    const all = data.venues_all, picked = state.venues || all;
    for (const venue of all) {
      chip(v, venue.replace("usdm", ""), picked.includes(venue), () => {
        const next = picked.includes(venue) ? picked.filter((x) => x !== venue) : picked.concat([venue]);
        if (!next.length) return; // a map needs a venue
        state.venues = next.length === all.length ? null : next;
        load();
      });
    }
  }

  function readAt(x, y) {
    const L = layout(), price = priceAt(y), b = data.buckets;
    const i = Math.floor((Math.log(price) - Math.log(b.lo)) / Math.log(b.ratio));
    const inMap = i >= 0 && i < b.long.length;
    const r = { price, long: inMap ? b.long[i] : 0, short: inMap ? b.short[i] : 0,
      cumLong: inMap ? data.cumulative.long[i] : 0, cumShort: inMap ? data.cumulative.short[i] : 0,
      t: null, heat: null };
    if (x >= L.heat[0] && x < L.heat[1]) {
      const h = data.heatmap, t = tAt(x), col = Math.floor((t - (h.t_end - h.cols * h.step)) / h.step);
      const row = Math.floor((Math.log(price) - Math.log(h.lo)) / Math.log(h.ratio));
      if (col >= 0 && col < h.cols && row >= 0 && row < h.rows) {
        const q = heatBytes[col * h.rows + row];
        r.t = t; r.heat = h.vmax * (q / 255) * (q / 255);
      }
    }
    readout = r;
    const side = price < data.price ? "longs " + fmtUsd(r.long) : "shorts " + fmtUsd(r.short);
    const cum = price < data.price ? r.cumLong : r.cumShort;
    let text = fmtPrice(price) + " · " + side + " here · " + fmtUsd(cum) + " between here and price";
    if (r.heat !== null) text += " · heat " + fmtUsd(r.heat) + " at " + fmtTime(r.t, true);
    $("readout").textContent = text;
    draw();
  }

  // ---- zoom and pan: pointer drag pans, pinch or wheel zooms (price vertically, time across)
  const pointers = new Map();
  let gesture = null;
  function zoom(fy, fx, cx, cy) {
    const L = layout();
    if (fy !== 1) {
      const mid = view.lnHi - (cy - L.top) / (L.bottom - L.top) * (view.lnHi - view.lnLo);
      const span = Math.min(Math.max((view.lnHi - view.lnLo) / fy, 0.001), 1.2);
      const k = (view.lnHi - mid) / (view.lnHi - view.lnLo);
      view.lnHi = mid + span * k; view.lnLo = view.lnHi - span;
    }
    if (fx !== 1 && cx < L.heat[1]) {
      const [, , t0, t1] = heatSpan(), mid = tAt(cx);
      const span = Math.min(Math.max((view.t1 - view.t0) / fx, data.heatmap.step * 3), (t1 - t0) * 1.5);
      const k = (mid - view.t0) / (view.t1 - view.t0);
      view.t0 = mid - span * k; view.t1 = view.t0 + span;
    }
    draw();
  }
  canvas.addEventListener("wheel", (e) => {
    if (!data) return;
    e.preventDefault();
    const f = Math.exp(-e.deltaY * 0.0015);
    zoom(e.shiftKey ? 1 : f, e.shiftKey || e.ctrlKey ? f : 1, e.offsetX, e.offsetY);
  }, { passive: false });
  canvas.addEventListener("pointerdown", (e) => {
    try { canvas.setPointerCapture(e.pointerId); } catch (err) { /* a synthetic pointer */ }
    pointers.set(e.pointerId, { x: e.offsetX, y: e.offsetY });
    gesture = { moved: false, start: { x: e.offsetX, y: e.offsetY } };
  });
  canvas.addEventListener("pointermove", (e) => {
    if (data && e.pointerType === "mouse" && !e.buttons) { readAt(e.offsetX, e.offsetY); return; } // hover
    if (!data || !pointers.has(e.pointerId)) return;
    const prev = pointers.get(e.pointerId), cur = { x: e.offsetX, y: e.offsetY };
    if (pointers.size === 2) {
      const other = [...pointers.entries()].find(([id]) => id !== e.pointerId)[1];
      const dy0 = Math.abs(prev.y - other.y), dy1 = Math.abs(cur.y - other.y);
      const dx0 = Math.abs(prev.x - other.x), dx1 = Math.abs(cur.x - other.x);
      const fy = dy0 > 20 && dy1 > 20 ? dy1 / dy0 : 1, fx = dx0 > 20 && dx1 > 20 ? dx1 / dx0 : 1;
      zoom(fy, fx, (cur.x + other.x) / 2, (cur.y + other.y) / 2);
      gesture.moved = true;
    } else if (pointers.size === 1) {
      const L = layout(), dy = cur.y - prev.y, dx = cur.x - prev.x;
      if (Math.abs(cur.x - gesture.start.x) + Math.abs(cur.y - gesture.start.y) > 6) gesture.moved = true;
      if (gesture.moved) {
        const dl = dy / (L.bottom - L.top) * (view.lnHi - view.lnLo);
        view.lnHi += dl; view.lnLo += dl;
        if (cur.x < L.heat[1]) {
          const dt = dx / (L.heat[1] - L.heat[0]) * (view.t1 - view.t0);
          view.t0 -= dt; view.t1 -= dt;
        }
        draw();
      }
    }
    pointers.set(e.pointerId, cur);
  });
  function up(e) {
    const tap = pointers.size === 1 && gesture && !gesture.moved;
    pointers.delete(e.pointerId);
    if (tap && data && e.type === "pointerup") readAt(e.offsetX, e.offsetY);
  }
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  canvas.addEventListener("dblclick", () => { if (data) { view = initialView(); draw(); } });
  // the header's chips arrive with the data and shrink the chart's box: follow the box itself
  if (window.ResizeObserver) new ResizeObserver(resize).observe(canvas);
  else window.addEventListener("resize", resize);

  // for people and tests: the view and the scales (read-only use)
  window.liqmap = {
    get data() { return data; }, get view() { return view; }, get readout() { return readout; },
    get drawnAt() { return drawnAt; }, yOf, priceAt, xOfT,
    visiblePrices: () => [Math.exp(view.lnLo), Math.exp(view.lnHi)],
  };
  postEvent("web_app_ready"); postEvent("web_app_expand");
  resize();
  load();
})();
