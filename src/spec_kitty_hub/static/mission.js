// The hub's mission page: draws the board with the shared renderer (board.js), then
// keeps it live. The server pushes a `change` event (server-sent events) whenever the
// mission gets a new stored event or document; the page then fetches the board and the timeline
// again and re-renders them. No reload, no polling while the stream is up.
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  let board = null;
  let cursor = null;
  let loading = null;
  let again = false;
  let gone = false;  // signed out, or no longer in the team: stop trying

  function setConnection(mode) {
    const badge = $("connection");
    badge.dataset.state = mode;
    badge.textContent = { live: "live", offline: "reconnecting…", connecting: "connecting…",
                          gone: "no longer available" }[mode];
  }

  function render(data) {
    const root = $("board");
    const wpBase = root.dataset.wpBase;
    SpecKittyBoard.renderColumns(root, data, {
      href: (card) => wpBase + encodeURIComponent(card.id),
      open: (card) => { location.href = wpBase + encodeURIComponent(card.id); },
    });
    const p = data.progress;
    $("mission-progress").value = p.progress_percentage;
    $("mission-progress-text").textContent =
      `${p.done_wps}/${p.total_wps} done · ${p.progress_percentage}% (weighted ${p.weighted_percentage}%)`;
    $("event-count").textContent = String(data.event_count);
    $("board-problems").replaceChildren(
      ...data.problems.map((text) => SpecKittyBoard.el("li", { text })));
  }

  // Screen readers hear what moved, not the whole re-rendered board.
  function announce(before, after) {
    const lanes = Object.fromEntries((before ? before.work_packages : []).map((c) => [c.id, c.lane]));
    const moved = after.work_packages.filter((c) => lanes[c.id] !== c.lane).map(
      (c) => `${c.id} now ${SpecKittyBoard.LANE_LABELS[c.lane] || c.lane}`);
    if (moved.length) $("board-news").textContent = moved.join(", ");
  }

  // One reload at a time; a change arriving meanwhile triggers one more afterwards.
  async function reload() {
    if (loading) { again = true; return loading; }
    loading = (async () => {
      do {
        again = false;
        try {
          const response = await fetch($("board").dataset.live, { cache: "no-store",
                                                                  credentials: "same-origin" });
          if (response.status === 401 || response.status === 404) {
            gone = true;
            setConnection("gone");
            return;
          }
          if (!response.ok) throw new Error(String(response.status));
          const data = await response.json();
          announce(board, data.board);
          board = data.board;
          cursor = data.cursor;
          render(board);
          // Server-rendered (escaped) timeline items from the same template as the page.
          $("timeline").innerHTML = data.timeline_html;
          $("board").dataset.cursor = cursor;
        } catch (err) {
          setConnection("offline");
        }
      } while (again);
    })();
    try { await loading; } finally { loading = null; }
  }

  function connect() {
    if (!window.EventSource) return;
    const source = new EventSource($("board").dataset.stream);
    source.addEventListener("ready", (event) => {
      setConnection("live");
      // Catch up on anything stored between the page load and this stream's start.
      if (JSON.parse(event.data).cursor !== cursor) reload();
    });
    source.addEventListener("change", (event) => {
      if (JSON.parse(event.data).cursor !== cursor) reload();
    });
    source.addEventListener("gone", () => { source.close(); gone = true; setConnection("gone"); });
    source.addEventListener("error", () => {
      if (gone) return;
      setConnection("offline");
      // An open stream that dropped is retried by the browser; a refused one (an error
      // status) is closed for good: find out why (reload marks 401/404 as gone).
      if (source.readyState === EventSource.CLOSED) {
        reload().then(() => { if (!gone) setTimeout(connect, 2000); });
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    board = JSON.parse($("board-data").textContent);
    cursor = $("board").dataset.cursor;
    render(board);
    connect();
  });
})();
