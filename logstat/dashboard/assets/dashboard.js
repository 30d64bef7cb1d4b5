// logstat dashboard: reads the page's JSON and draws it with Chart.js.
// Everything from the log is put in with textContent (never as HTML); chart
// labels are drawn on canvas.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("logstat-data").textContent);
  const CLASS_COLORS = {
    "1xx": "#7f8c8d", "2xx": "#2e9e5b", "3xx": "#3b78c4", "4xx": "#e08a1e",
    "5xx": "#d0392b", "other": "#8e5ea2", "none": "#b0b0b0",
  };
  const PRODUCER_COLORS = { proxy: "#6c5ce7", upstream: "#00a3a3", unknown: "#c8c8c8" };
  const numbers = new Intl.NumberFormat("en-US");

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function percent(share) {
    // as in the text views: a share that is not zero is never 0.0%, nor almost all 100.0%
    const text = (share * 100).toFixed(1);
    if (text === "0.0" && share > 0) return "<0.1%";
    if (text === "100.0" && share < 1) return ">99.9%";
    return text + "%";
  }

  function statusText(code, substatus) {
    if (code === null || code === undefined) return "none";
    const text = code >= 0 && code < 100 ? String(code).padStart(3, "0") : String(code);
    return substatus === null || substatus === undefined ? text : text + "." + substatus;
  }

  // who produced a status, in the source's words (ALB / target, edge / origin ...)
  function producerText(row) {
    const names = (data.producer_labels || {})[row.source];
    if (!row.produced_by) return "-";
    if (names && row.produced_by === "proxy") return names[0];
    if (names && row.produced_by === "upstream") return names[1];
    return row.produced_by;
  }

  const FILTER_FROM_ROWS = 5; // shorter tables get no filter box

  // columns: [heading, value(row), kind] where kind is "number", "path" or undefined
  function fillTable(id, columns, rows, emptyText) {
    const table = document.getElementById(id);
    const head = table.createTHead().insertRow();
    for (const [heading, , kind] of columns) {
      const cell = element("th", heading, kind === "number" ? "number" : "");
      head.appendChild(cell);
    }
    const body = table.createTBody();
    if (rows.length === 0) {
      const cell = element("td", emptyText, "empty");
      cell.colSpan = columns.length;
      body.insertRow().appendChild(cell);
      return;
    }
    for (const row of rows) {
      const line = body.insertRow();
      for (const [, value, kind] of columns) {
        const shown = value(row);
        if (shown instanceof Node) {
          const cell = element("td");
          cell.appendChild(shown);
          line.appendChild(cell);
        } else {
          line.appendChild(element("td", shown === null || shown === undefined ? "" : shown, kind || ""));
        }
      }
    }
    new Tablesort(table); // a click on a heading sorts by that column (again: the other way)
    if (rows.length > FILTER_FROM_ROWS) addFilter(table);
  }

  // Rows whose text holds the typed words (any case) stay; the others are hidden.
  function addFilter(table) {
    const input = element("input", null, "table-filter");
    input.type = "search";
    input.placeholder = "filter rows";
    input.setAttribute("aria-label", "filter the rows of this table");
    input.addEventListener("input", () => {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      for (const line of table.tBodies[0].rows) {
        const text = line.textContent.toLowerCase();
        line.hidden = !words.every((word) => text.includes(word));
      }
    });
    table.parentNode.insertBefore(input, table);
  }

  function swatch(color, text) {
    const wrapper = element("span");
    const mark = element("span", null, "swatch");
    mark.style.background = color;
    wrapper.appendChild(mark);
    wrapper.appendChild(document.createTextNode(text));
    return wrapper;
  }

  // header and totals
  const totals = data.totals;
  // times as the --tz zone's clocks read them (a UTC time ends in "UTC")
  const inZone = data.zone === "UTC" ? "" : " (times in " + data.zone + ")";
  const range = data.first ? data.first + " to " + data.last + inZone : "no request times";
  let subtitle =
    numbers.format(totals.records) + " requests from " + numbers.format(totals.files) +
    (totals.files === 1 ? " file, " : " files, ") + range;
  if (data.filters) {
    // a filtered page says so: its charts count only what the filters kept
    const given = [];
    for (const [name, value] of Object.entries(data.filters)) {
      if (name === "excluded" || value === null) continue;
      if (Array.isArray(value) && value.length === 0) continue;
      given.push("--" + name + " " + (Array.isArray(value) ? value.join(",") : value));
    }
    subtitle += "; shown: the " + numbers.format(totals.selected) + " kept by " + given.join(" ");
  }
  document.getElementById("subtitle").textContent = subtitle;
  if (data.in_doubt) {
    // the wrong format, most likely: the charts below count what it made of the lines
    const doubt = document.getElementById("doubt");
    doubt.hidden = false;
    doubt.textContent = "These counts say nothing: " + data.in_doubt + ".";
  }
  const cards = document.getElementById("totals");
  const shares = Object.fromEntries(data.classes.map((row) => [row.status_class, row]));
  const cardValues = [
    ["requests", numbers.format(totals.records)],
    ["lines rejected", numbers.format(totals.rejected)],
    ["2xx", shares["2xx"] ? percent(shares["2xx"].share) : "0.0%"],
    ["4xx", shares["4xx"] ? percent(shares["4xx"].share) : "0.0%"],
    ["5xx", shares["5xx"] ? percent(shares["5xx"].share) : "0.0%"],
  ];
  for (const [label, value] of cardValues) {
    const card = element("div", null, "card");
    card.appendChild(element("div", label, "label"));
    card.appendChild(element("div", value, "value"));
    cards.appendChild(card);
  }

  Chart.defaults.animation = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  const charts = [];
  const common = { responsive: true, maintainAspectRatio: false, animation: false };

  // status classes over time
  const timeline = data.timeline;
  const notes = [];
  if (timeline.step_seconds) {
    const step = timeline.step_seconds;
    const size = step % 86400 === 0 ? step / 86400 + " d" : step % 3600 === 0 ? step / 3600 + " h" : step / 60 + " min";
    notes.push("One bar per " + size + ", on the clock of " + timeline.zone + ".");
  }
  if (timeline.untimed > 0) notes.push(numbers.format(timeline.untimed) + " requests have no time and are not shown.");
  document.getElementById("timeline-note").textContent = notes.join(" ");
  charts.push(new Chart(document.getElementById("timeline-chart"), {
    type: "bar",
    data: {
      labels: timeline.labels,
      datasets: Object.entries(timeline.series).map(([name, counts]) => ({
        label: name, data: counts, backgroundColor: CLASS_COLORS[name] || "#999", borderWidth: 0,
      })),
    },
    options: {
      ...common,
      scales: { x: { stacked: true, ticks: { maxRotation: 0, autoSkipPadding: 16 } }, y: { stacked: true, beginAtZero: true } },
      plugins: { legend: { position: "top" } },
    },
  }));

  // most frequent status codes
  const topStatuses = data.statuses.slice(0, data.top);
  charts.push(new Chart(document.getElementById("status-chart"), {
    type: "bar",
    data: {
      // one bar per (status, producer): ALB's own 502 and a target's 502 mean different things
      labels: topStatuses.map((row) => statusText(row.status, row.substatus) + (row.name ? " " + row.name : "")
        + (row.produced_by && row.produced_by !== "unknown" ? " (" + producerText(row) + ")" : "")),
      datasets: [{
        label: "requests",
        data: topStatuses.map((row) => row.count),
        backgroundColor: topStatuses.map((row) => CLASS_COLORS[row.status_class] || "#999"),
        borderWidth: 0,
      }],
    },
    options: { ...common, indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true } } },
  }));

  // proxy / upstream / unknown per class
  const shownClasses = data.classes.filter((row) => row.count > 0);
  charts.push(new Chart(document.getElementById("producer-chart"), {
    type: "bar",
    data: {
      labels: shownClasses.map((row) => row.status_class),
      datasets: ["proxy", "upstream", "unknown"].map((producer) => ({
        label: producer,
        data: shownClasses.map((row) => row[producer]),
        backgroundColor: PRODUCER_COLORS[producer],
        borderWidth: 0,
      })),
    },
    options: { ...common, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  }));

  fillTable("status-table", [
    ["status", (row) => swatch(CLASS_COLORS[row.status_class] || "#999", statusText(row.status, row.substatus))],
    ["source", (row) => row.source],
    ["by", (row) => producerText(row)],
    ["name", (row) => row.name],
    ["meaning", (row) => row.meaning],
    ["table", (row) => row.vendor],
    ["requests", (row) => numbers.format(row.count), "number"],
    ["share", (row) => percent(row.share), "number"],
  ], data.statuses, "no requests");

  if (data.upstream_statuses.length > 0) {
    document.getElementById("upstream-section").hidden = false;
    fillTable("upstream-table", [
      ["upstream status", (row) => statusText(row.upstream_status, null)],
      ["source", (row) => row.source],
      ["name", (row) => row.name],
      ["meaning", (row) => row.meaning],
      ["table", (row) => row.vendor],
      ["requests", (row) => numbers.format(row.count), "number"],
      ["share", (row) => percent(row.share), "number"],
    ], data.upstream_statuses, "");
  }

  // a duration in s, ms or us to three significant digits (the quantiles are within 1%)
  function seconds(value) {
    if (value === 0) return "0";
    for (const [unit, scale] of [["s", 1], ["ms", 1e-3], ["us", 1e-6]]) {
      if (value >= scale || unit === "us") {
        const shown = value / scale;
        return (shown >= 1000 ? numbers.format(Math.round(shown)) : shown.toPrecision(3).replace(/\.?0+$/, "")) + " " + unit;
      }
    }
    return String(value);
  }

  if (data.latency) {
    const latency = data.latency;
    // the measure, then its figures: by status and by path alike
    const durationColumns = [
      ["time", (row) => data.measure_labels[row.measure] || row.measure],
      ["requests", (row) => numbers.format(row.requests), "number"],
      ["p50", (row) => seconds(row.p50), "number"],
      ["p90", (row) => seconds(row.p90), "number"],
      ["p99", (row) => seconds(row.p99), "number"],
      ["max", (row) => seconds(row.max), "number"],
      ["mean", (row) => seconds(row.mean), "number"],
    ];
    document.getElementById("latency-section").hidden = false;
    document.getElementById("latency-note").textContent =
      "p50/p90/p99 within " + Math.round(latency.relative_accuracy * 100) + "% (a log-bucket sketch); " +
      "requests, max and mean exact. Time: the whole request (total) or the part of it the proxy " +
      "logs apart (ALB target: the target answering; request and response: the client).";
    fillTable("latency-table", [
      ["source", (row) => row.source],
      ["status", (row) => statusText(row.status, null)],
      ...durationColumns,
    ], latency.by_status, "");
    fillTable("bytes-table", [
      ["source", (row) => row.source],
      ["status", (row) => statusText(row.status, null)],
      ["requests", (row) => numbers.format(row.requests), "number"],
      ["bytes", (row) => numbers.format(row.bytes), "number"],
      ["mean", (row) => numbers.format(row.mean), "number"],
    ], latency.bytes_by_status, "no byte counts logged");
    const top = latency.top_paths;
    if (top && top.paths.length > 0) {
      // the paths with the most requests; past the paths held, a count may be low
      document.getElementById("path-latency").hidden = false;
      // several sources log durations: each source's paths apart, with a source column
      const bySource = top.paths.some((row) => row.source !== undefined);
      const sourceColumn = bySource ? [["source", (row) => row.source]] : [];
      document.getElementById("path-latency-note").textContent =
        (bySource
          ? "Each source's " + top.limit + " paths with the most requests. "
          : "The " + top.paths.length + " paths with the most requests. ") +
        (top.paths.some((row) => row.missed)
          ? "More distinct paths than are held: a path's figures describe the requests counted, " +
            "and up to 'not counted' more may be missing."
          : "Every request of each path is counted.");
      fillTable("path-latency-table", [
        ...sourceColumn,
        ["path", (row) => row.path, "path"],
        ...durationColumns,
      ], top.by_path, "no durations logged");
      fillTable("path-bytes-table", [
        ...sourceColumn,
        ["path", (row) => row.path, "path"],
        ["requests", (row) => numbers.format(row.requests), "number"],
        ["not counted", (row) => (row.missed ? "<= " + numbers.format(row.missed) : "0"), "number"],
        ["bytes", (row) => numbers.format(row.bytes), "number"],
        ["mean", (row) => (row.with_bytes ? numbers.format(row.bytes / row.with_bytes) : "-"), "number"],
      ], top.paths, "");
    }
    fillTable("slowest-table", [
      ["duration", (row) => seconds(row.seconds), "number"],
      ["source", (row) => row.source],
      ["status", (row) => statusText(row.status, null)],
      ["time (UTC)", (row) => row.timestamp],
      ["path", (row) => (row.path === null ? "(no path)" : row.path), "path"],
    ], latency.slowest, "");
  }

  if (data.layers.length > 0) {
    // win32 codes, error_reason and classification_reason come from the log: text only
    document.getElementById("layers-section").hidden = false;
    const shown = [...new Set(data.layers.map((row) => row.layer))];
    document.getElementById("layers-note").textContent = shown
      .map((layer) => (data.layer_labels[layer] ? data.layer_labels[layer].join(": ") : layer) + ".")
      .join(" ");
    fillTable("layers-table", [
      ["layer", (row) => (data.layer_labels[row.layer] ? data.layer_labels[row.layer][0] : row.layer)],
      ["source", (row) => row.source],
      ["value", (row) => row.value, "path"],
      ["name", (row) => row.name],
      ["meaning", (row) => (row.meaning === null ? "no meaning known" : row.meaning)],
      ["with status", (row) => Object.entries(row.statuses).map(([code, count]) => code + ": " + numbers.format(count)).join(", ")],
      ["requests", (row) => numbers.format(row.count), "number"],
      ["share", (row) => percent(row.share), "number"],
    ], data.layers, "");
  }

  fillTable("paths-table", [
    ["path", (row) => (row.path === null ? "(no path)" : row.path), "path"],
    ["errors", (row) => numbers.format(row.errors), "number"],
    ["4xx", (row) => numbers.format(row.client_errors), "number"],
    ["5xx", (row) => numbers.format(row.server_errors), "number"],
    ["most frequent", (row) => statusText(row.top_status, null) + " (" + numbers.format(row.top_status_count) + ")"],
  ], data.error_paths, "no 4xx or 5xx answers");
  if (data.error_paths_error) {
    // too many distinct paths to count each one (logstat keeps memory bounded)
    const note = document.getElementById("paths-note");
    note.hidden = false;
    note.textContent = "Approximate: each count may be low by up to " +
      numbers.format(data.error_paths_error) + "; a path not listed has at most that many more than the last one.";
  }

  if (data.file_groups.length > 0) {
    // too many files for a row each: groups, then only the files that need attention
    document.getElementById("file-groups-section").hidden = false;
    fillTable("file-groups-table", [
      ["directory", (row) => row.directory, "path"],
      ["format", (row) => row.format],
      ["compression", (row) => row.compression || "-"],
      ["files", (row) => numbers.format(row.files), "number"],
      ["lines", (row) => numbers.format(row.lines), "number"],
      ["requests", (row) => numbers.format(row.records), "number"],
      ["rejected", (row) => numbers.format(row.rejected), "number"],
    ], data.file_groups, "");
    document.getElementById("files-title").textContent = "Files that need attention";
    const note = document.getElementById("files-note");
    note.hidden = false;
    note.textContent = "Files with rejected lines or warnings, or with no format recognised: " +
      numbers.format(data.attention) + " of " + numbers.format(totals.files) +
      (data.attention > data.files.length ? "; the first " + data.files.length + " are listed (logstat --json lists every file)." : ".");
  }

  fillTable("files-table", [
    ["file", (row) => row.name, "path"],
    ["read as", (row) => row.detection || "not recognised"],
    ["lines", (row) => numbers.format(row.lines), "number"],
    ["requests", (row) => numbers.format(row.records), "number"],
    ["rejected", (row) => numbers.format(row.rejected), "number"],
    ["problems", (row) => row.problems.join("; ")],
  ], data.files, data.file_groups.length > 0 ? "none" : "no files");

  document.getElementById("footer").textContent =
    "Made by logstat " + data.version + " on " + data.generated + inZone + ". Meanings: logstat's status tables" +
    (data.vendors.length ? " (first: " + data.vendors.join(", ") + ")" : "") + ".";

  window.logstatCharts = charts;
  document.body.dataset.rendered = "true";
})();
