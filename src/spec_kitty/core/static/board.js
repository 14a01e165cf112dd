// The one kanban renderer, shared by the local dashboard and the hub's mission page.
// It draws what spec_kitty.core.status.board.build_board returns (columns, cards with agents,
// dependencies and subtask progress) and nothing else, so both show the same board.
// Plain JavaScript, no dependencies; exposes window.SpecKittyBoard.
(function () {
  "use strict";

  const LANE_LABELS = {
    planned: "Planned", claimed: "Claimed", in_progress: "In progress",
    for_review: "For review", in_review: "In review", approved: "Approved",
    done: "Done", blocked: "Blocked", canceled: "Canceled", uninitialized: "Not finalized",
    genesis: "New",
  };

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, String(value));
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  // Widths are set through the CSSOM: both pages forbid inline style attributes (CSP).
  function progressBar(percent, label) {
    const bar = el("div", { class: "progress", title: label, role: "img",
                            "aria-label": label }, [el("span")]);
    bar.firstChild.style.width = `${Math.max(0, Math.min(100, percent || 0))}%`;
    return bar;
  }

  // options.open(card): called on click/Enter for cards options.openable(card) accepts
  // (all when openable is absent); options.href(card): the card's id becomes a link.
  function renderCard(card, showLane, options) {
    const opts = options || {};
    const deps = card.dependencies.map((id) => {
      const lane = card.dependency_lanes[id];
      return el("span", {
        class: card.blocked_by.includes(id) ? "dep" : "dep satisfied",
        title: `${id}: ${LANE_LABELS[lane] || "unknown"}`, text: `← ${id}`,
      });
    });
    const subtasks = card.subtasks_total
      ? el("div", { class: "subtasks" }, [
          progressBar(100 * card.subtasks_done / card.subtasks_total,
                      `${card.subtasks_done} of ${card.subtasks_total} subtasks done`),
          el("span", { text: `${card.subtasks_done}/${card.subtasks_total} subtasks` })])
      : null;
    const who = card.agent || card.actor;
    const href = opts.href ? opts.href(card) : null;
    const openable = Boolean(opts.open && (!opts.openable || opts.openable(card)));
    const id = href ? el("a", { class: "wp-id", href, text: card.id })
                    : el("span", { class: "wp-id", text: card.id });
    const node = el("article", { class: openable ? "card openable" : "card", "data-wp": card.id,
                                 "data-lane": card.lane, tabindex: openable ? 0 : null,
                                 title: openable && card.file ? `Open ${card.file}` : null }, [
      el("header", {}, [id, who ? el("span", { class: "agent", text: who }) : null]),
      showLane ? el("span", { class: `lane-tag lane-${card.lane}`, "data-card-lane": card.lane,
                              text: LANE_LABELS[card.lane] || card.lane }) : null,
      el("p", { class: "card-title", text: card.title }),
      subtasks,
      deps.length ? el("div", { class: "deps" }, deps) : null,
      card.force_count ? el("span", { class: "badge warn", text: `forced ×${card.force_count}` }) : null,
      card.blocked_reason ? el("p", { class: "blocked-reason", text: card.blocked_reason }) : null,
      card.problem ? el("p", { class: "error-text", text: card.problem }) : null,
    ]);
    if (openable) {
      const open = () => opts.open(card);
      node.addEventListener("click", (e) => { if (!e.target.closest("a")) open(); });
      node.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
    }
    return node;
  }

  // Fills `container` with one section per column of `board.columns`.
  function renderColumns(container, board, options) {
    const cardsById = Object.fromEntries(board.work_packages.map((card) => [card.id, card]));
    const columns = board.columns.map((column) => {
      const grouped = column.lanes.length > 1;
      const heading = `column-${column.key}`;
      return el("section", { class: `column lane-${column.lanes[column.lanes.length - 1]}`,
                             "data-column": column.key, "data-lanes": column.lanes.join(" "),
                             "aria-labelledby": heading }, [
        el("h3", { id: heading, title: column.lanes.map((l) => LANE_LABELS[l] || l).join(" + ") }, [
          el("span", { text: column.label }),
          el("span", { class: "count", text: String(column.count),
                       "aria-label": `${column.count} work packages` })]),
        el("div", { class: "cards" },
           column.wp_ids.map((id) => renderCard(cardsById[id], grouped, options))),
      ]);
    });
    container.replaceChildren(...columns);
  }

  window.SpecKittyBoard = { LANE_LABELS, el, progressBar, renderCard, renderColumns };
})();
