// spec-kitty dashboard: plain JavaScript, no dependencies, nothing loaded from elsewhere.
// The board itself is drawn by board.js (shared with the hub's mission page).
// Live updates arrive as server-sent events from /api/stream; if that stream drops,
// the page polls every few seconds until it reconnects.
(function () {
  "use strict";

  const POLL_MS = 2000;
  const { LANE_LABELS, el, progressBar, renderColumns } = window.SpecKittyBoard;
  const TABS = ["board", "documents", "timeline"];

  const state = {
    projects: [], project: null, missions: [], mission: null, tab: "board",
    artifact: null, pollTimer: null, rendered: {}, refreshing: null, again: false,
    weightedNote: null,
  };

  const $ = (id) => document.getElementById(id);

  async function getJSON(url) {
    const response = await fetch(url, { cache: "no-store" });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  }

  const api = (path) => `/api/projects/${encodeURIComponent(state.project)}${path}`;
  const missionApi = (path) => api(`/missions/${encodeURIComponent(state.mission)}${path}`);

  function showError(message) {
    const banner = $("error-banner");
    banner.textContent = message || "";
    banner.hidden = !message;
  }

  function formatTime(at) {
    if (!at) return "";
    const date = new Date(at);
    return isNaN(date) ? at : date.toLocaleString();
  }

  // -- location: #/<project>/<mission>/<tab>[/<artifact>] ---------------------------------

  function readHash() {
    const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
    return { project: parts[0] || null, mission: parts[1] || null,
             tab: TABS.includes(parts[2]) ? parts[2] : "board", artifact: parts[3] || null };
  }

  function writeHash() {
    const parts = [state.project, state.mission, state.tab];
    if (state.tab === "documents" && state.artifact) parts.push(state.artifact);
    const hash = "#/" + parts.filter(Boolean).map(encodeURIComponent).join("/");
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  // -- rendering ----------------------------------------------------------------------------

  function renderMissions() {
    const list = $("mission-list");
    list.replaceChildren();
    $("mission-empty").hidden = state.missions.length > 0;
    for (const m of state.missions) {
      const counts = m.by_lane || {};
      const summary = m.error ? m.error
        : `${m.total_wps || 0} WPs · ${counts.done || 0} done · ${m.weighted_percentage || 0}% weighted`;
      const summaryTitle = m.error ? null : state.weightedNote;
      const button = el("button", { type: "button", class: "mission", "data-slug": m.slug,
                                    "aria-current": m.slug === state.mission ? "true" : null }, [
        el("span", { class: "mission-name", text: m.friendly_name || m.slug }),
        el("span", { class: "mission-slug", text: m.slug }),
        m.error ? null : progressBar(m.progress_percentage, `${m.progress_percentage}% done`),
        el("span", { class: m.error ? "mission-summary error-text" : "mission-summary", text: summary,
                     title: summaryTitle }),
      ]);
      button.addEventListener("click", () => selectMission(m.slug));
      list.append(el("li", {}, [button]));
    }
  }

  function renderHeader(board) {
    const m = board.mission;
    $("mission-header").hidden = false;
    $("tabs").hidden = false;
    $("mission-title").textContent = m.friendly_name || m.slug;
    $("mission-meta").textContent = [m.slug, m.mission_type, m.target_branch && `→ ${m.target_branch}`,
      `${board.event_count} events`].filter(Boolean).join(" · ");
    const p = board.progress;
    $("mission-progress-bar").style.width = `${p.progress_percentage}%`;
    state.weightedNote = p.weighted_note;
    $("mission-progress-text").textContent =
      `${p.done_wps}/${p.total_wps} done · ${p.progress_percentage}% (weighted ${p.weighted_percentage}%)`;
    // "weighted" is explained where it is shown.
    $("mission-progress-text").title = p.weighted_note || "";
  }

  function renderBoard(board) {
    renderHeader(board);
    // Warnings (a missing meta.json, tasks.md disagreeing with a WP file) as the CLI shows them.
    const notes = [...(board.warnings || []), ...board.problems];
    $("board-problems").replaceChildren(...notes.map((p) => el("li", { text: p })));
    // The shared renderer (board.js); a card with a WP file opens it in Documents.
    renderColumns($("board"), board, {
      openable: (card) => Boolean(card.file),
      open: (card) => { state.artifact = card.id; selectTab("documents"); },
    });
  }

  // Sync state of this project (hosted sync on only): queue, last delivery, blockers,
  // and a link to the mission's page on the team hub once something was delivered.
  function renderSync(sync) {
    const box = $("sync-state");
    box.hidden = !sync || !sync.enabled;
    if (box.hidden) return;
    const last = sync.last_delivered;
    const blockers = sync.blockers.map((b) => b.message);
    if (last && last.blocker) blockers.push(last.blocker.message || last.blocker.code || String(last.blocker));
    const parts = [`Sync: ${sync.queued} queued`];
    parts.push(last ? `last delivered ${formatTime(last.at)} (${last.synced} events)` : "never delivered");
    if (sync.permanent_failures) parts.push(`${sync.permanent_failures} refused`);
    const daemon = sync.daemon || {};
    parts.push(daemon.state === "running" ? `daemon pid ${daemon.pid}` : "no daemon");
    if (blockers.length) parts.push(`blocked: ${blockers.join("; ")}`);
    box.dataset.state = blockers.length ? "blocked" : (sync.queued ? "queued" : "ok");
    $("sync-text").textContent = parts.join(" · ");
    const link = $("hub-link");
    link.hidden = !(sync.mission_base_url && state.mission);
    if (!link.hidden) link.href = sync.mission_base_url + encodeURIComponent(state.mission);
  }

  // "Sync now": starts the background sync daemon (policy and login permitting) or asks the
  // running one to deliver at once. The custom header marks the request as this page's own.
  async function syncNow() {
    const button = $("sync-now");
    const result = $("sync-now-result");
    button.disabled = true;
    result.textContent = "Requesting sync…";
    try {
      const response = await fetch("/api/sync/now", {
        method: "POST", cache: "no-store", headers: { "X-Spec-Kitty-Dashboard": "sync-now" },
      });
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
      result.textContent = answer.started ? "Sync started."
        : answer.triggered ? "Sync requested." : (answer.message || answer.skipped_reason || "");
      result.dataset.outcome = answer.started || answer.triggered ? "ok" : "skipped";
    } catch (err) {
      result.textContent = `Sync now failed: ${err.message}`;
      result.dataset.outcome = "error";
    } finally {
      button.disabled = false;
    }
    refresh();
  }

  function describeDelta(delta) {
    const parts = [];
    for (const [key, value] of Object.entries(delta || {})) {
      if (key === "subtasks" && value && typeof value === "object") {
        parts.push(Object.entries(value).map(([t, s]) => `${t} ${s}`).join(", "));
      } else if (typeof value !== "object" || value === null) {
        parts.push(`${key}: ${value}`);
      }
    }
    return parts.join(" · ") || "annotation";
  }

  function renderTimeline(data) {
    $("timeline-problems").replaceChildren(...data.problems.map(
      (p) => el("li", { text: `line ${p.line}: ${p.message}` })));
    // Events are lane transitions, counted as on the board; notes are counted apart.
    const notes = data.annotation_count ? ` · ${data.annotation_count} notes` : "";
    const paged = data.total > data.events.length ? ` (latest ${data.events.length} shown)` : "";
    $("timeline-count").textContent = `${data.event_count} events${notes}${paged}`;
    $("timeline").replaceChildren(...data.events.map((e) => {
      const what = e.kind === "transition"
        ? el("span", { class: "move" }, [
            el("span", { class: `lane-tag lane-${e.from_lane}`, text: LANE_LABELS[e.from_lane] || e.from_lane || "new" }),
            " → ",
            el("span", { class: `lane-tag lane-${e.to_lane}`, text: LANE_LABELS[e.to_lane] || e.to_lane })])
        : el("span", { class: "note", text: describeDelta(e.delta) });
      return el("li", { "data-event": e.event_id }, [
        el("time", { text: formatTime(e.at), title: e.at }),
        el("span", { class: "wp-id", text: e.wp_id }), what,
        e.actor ? el("span", { class: "agent", text: String(e.actor) }) : null,
        e.force ? el("span", { class: "badge warn", text: "forced" }) : null,
        e.reason ? el("span", { class: "reason", text: e.reason }) : null,
        e.review && e.review.verdict ? el("span", { class: "badge", text: e.review.verdict }) : null,
        e.feedback ? el("details", { class: "feedback" }, [
          el("summary", { text: `Review feedback from ${e.review.reviewer || "the reviewer"}` }),
          el("pre", { text: e.feedback })]) : null,
      ]);
    }));
  }

  function renderArtifactList(items) {
    $("artifact-list").replaceChildren(...items.map((a) => {
      const button = el("button", { type: "button", "data-artifact": a.name, text: a.name,
                                    "aria-current": a.name === state.artifact ? "true" : null });
      button.addEventListener("click", () => { state.artifact = a.name; writeHash(); refresh(); });
      return button;
    }));
  }

  function renderArtifact(data) {
    $("artifact-file").textContent = data ? data.file : "Choose a document.";
    const front = $("artifact-frontmatter");
    front.hidden = !(data && data.frontmatter);
    front.querySelector("pre").textContent = (data && data.frontmatter) || "";
    // Safe: the server renders markdown with raw HTML escaped, and the page's
    // Content-Security-Policy forbids inline script anyway.
    $("artifact-view").innerHTML = data ? data.html : "";
  }

  function renderTabs() {
    for (const button of document.querySelectorAll("[data-tab]")) {
      button.setAttribute("aria-selected", String(button.dataset.tab === state.tab));
    }
    for (const panel of document.querySelectorAll("[data-panel]")) {
      panel.hidden = !state.mission || panel.dataset.panel !== state.tab;
    }
  }

  // -- loading --------------------------------------------------------------------------------

  // Skip re-rendering identical data: polling must not reset scroll or focus.
  function changed(key, data) {
    const text = JSON.stringify(data);
    if (state.rendered[key] === text) return false;
    state.rendered[key] = text;
    return true;
  }

  async function loadMissions() {
    const data = await getJSON(api("/missions"));
    state.missions = data.missions;
    if (!state.missions.some((m) => m.slug === state.mission)) {
      state.mission = state.missions.length ? state.missions[0].slug : null;
    }
    if (changed("missions", [data, state.mission])) renderMissions();
  }

  async function loadMissionViews() {
    if (!state.mission) { renderTabs(); return; }
    const board = await getJSON(missionApi("/board"));
    if (changed("board", board)) renderBoard(board);
    // The sync panel is extra: a failure to read it never hides the board.
    const sync = await getJSON(api("/sync")).catch(() => null);
    if (changed("sync", [sync, state.mission])) renderSync(sync);
    if (state.tab === "timeline") {
      const events = await getJSON(missionApi("/events?limit=500"));
      if (changed("timeline", events)) renderTimeline(events);
    } else if (state.tab === "documents") {
      const list = await getJSON(missionApi("/artifacts"));
      if (!list.artifacts.some((a) => a.name === state.artifact)) {
        state.artifact = list.artifacts.length ? list.artifacts[0].name : null;
      }
      renderArtifactList(list.artifacts);
      const doc = state.artifact
        ? await getJSON(missionApi(`/artifacts/${encodeURIComponent(state.artifact)}`)) : null;
      if (changed("artifact", doc)) renderArtifact(doc);
    }
    renderTabs();
    writeHash();
  }

  // One refresh at a time; a request arriving meanwhile runs once more afterwards.
  async function refresh() {
    if (state.refreshing) { state.again = true; return state.refreshing; }
    state.refreshing = (async () => {
      do {
        state.again = false;
        try {
          await loadMissions();
          await loadMissionViews();
          showError(null);
        } catch (err) {
          showError(err.message);
        }
      } while (state.again);
      state.refreshing = null;
    })();
    return state.refreshing;
  }

  function selectMission(slug) {
    state.mission = slug;
    state.artifact = null;
    state.rendered = {};
    $("board").replaceChildren();
    renderMissions();
    refresh();
  }

  function selectTab(tab) {
    state.tab = tab;
    writeHash();
    renderTabs();
    refresh();
  }

  // -- live updates ---------------------------------------------------------------------------

  function setConnection(mode) {
    const badge = $("connection");
    badge.dataset.state = mode;
    badge.textContent = { live: "live", polling: "polling", connecting: "connecting…" }[mode];
  }

  function startPolling() {
    setConnection("polling");
    if (!state.pollTimer) state.pollTimer = setInterval(refresh, POLL_MS);
  }

  function stopPolling() {
    clearInterval(state.pollTimer);
    state.pollTimer = null;
  }

  function connect() {
    if (!window.EventSource) { startPolling(); return; }
    const source = new EventSource("/api/stream");
    source.addEventListener("open", () => { stopPolling(); setConnection("live"); refresh(); });
    source.addEventListener("error", () => {
      startPolling();
      // The browser retries by itself unless the server said it is gone for good.
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, POLL_MS);
    });
    source.addEventListener("change", (event) => {
      const change = JSON.parse(event.data);
      if (change.project === state.project) refresh();
    });
  }

  // -- start ------------------------------------------------------------------------------------

  async function start() {
    for (const button of document.querySelectorAll("[data-tab]")) {
      button.addEventListener("click", () => selectTab(button.dataset.tab));
    }
    $("sync-now").addEventListener("click", syncNow);
    try {
      state.projects = (await getJSON("/api/projects")).projects;
    } catch (err) {
      showError(`Cannot reach the dashboard server: ${err.message}`);
      startPolling();
      return;
    }
    const wanted = readHash();
    state.project = state.projects.some((p) => p.key === wanted.project)
      ? wanted.project : state.projects[0].key;
    state.mission = wanted.mission;
    state.tab = wanted.tab;
    state.artifact = wanted.artifact;
    const select = $("project-select");
    select.replaceChildren(...state.projects.map((p) => el("option", { value: p.key, text: p.name, title: p.root })));
    select.value = state.project;
    $("project-picker").hidden = state.projects.length < 2;
    select.addEventListener("change", () => {
      state.project = select.value;
      state.mission = null;
      state.rendered = {};
      refresh();
    });
    await refresh();
    connect();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
