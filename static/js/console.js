// SafeStream moderator console: live fragments over the same Socket.IO connection.
// The server renders every fragment (autoescaped Jinja2); this file only places them.
(function () {
  "use strict";
  const stream = document.body.dataset.stream;
  const liveState = document.getElementById("live-state");
  const MAX_FEED_ROWS = 200;

  function setState(text, ok) {
    if (!liveState) return;
    liveState.textContent = text;
    liveState.classList.toggle("online", ok);
    liveState.classList.toggle("offline", !ok);
  }

  function feedIsLive() {
    // data-live sits on the swapped results (not on #feed), so it follows every filter change.
    const results = document.getElementById("feed-results");
    return Boolean(results) && results.dataset.live === "1";
  }

  // The "N stored" count is rendered with the feed; live rows add to it without a refetch.
  function countArrivals(html) {
    const count = document.getElementById("feed-count");
    if (!count) return;
    const holder = document.createElement("template");
    holder.innerHTML = html;  // parsed only to count rows, never inserted
    const total = Number(count.dataset.total || 0) + holder.content.querySelectorAll("tr.msg").length;
    count.dataset.total = String(total);
    count.textContent = total + " stored";
    const empty = document.querySelector("#feed-results > .empty");
    if (empty) empty.remove();
  }

  function apply(fragment) {
    if (fragment.target === "#feed-rows" && !feedIsLive()) {
      // A filtered or paged feed does not take live rows; say that there are new ones.
      const note = document.getElementById("feed-new");
      if (note) note.hidden = false;
      return;
    }
    if (fragment.swap === "strike") {
      // Removed messages (one or a bulk removal): struck through in the feed, without their button.
      for (const row of document.querySelectorAll(fragment.target)) {
        row.classList.add("removed");
        for (const button of row.querySelectorAll(".remove-msg")) button.remove();
      }
      return;
    }
    const target = document.querySelector(fragment.target);
    if (!target) return;
    if (fragment.target === "#feed-rows") countArrivals(fragment.html);
    if (fragment.swap === "delete") {
      target.remove();
    } else if (fragment.swap === "outerHTML") {
      const holder = document.createElement("template");
      holder.innerHTML = fragment.html;  // server-rendered, autoescaped
      const node = holder.content.firstElementChild;
      if (!node) return;
      target.replaceWith(node);
      if (window.htmx) window.htmx.process(node);
    } else {
      target.insertAdjacentHTML(fragment.swap, fragment.html);
      if (window.htmx) window.htmx.process(target);
    }
    trimFeed();
    updateReviewCount();
  }

  function trimFeed() {
    const rows = document.getElementById("feed-rows");
    while (rows && rows.children.length > MAX_FEED_ROWS) rows.lastElementChild.remove();
  }

  function updateReviewCount() {
    const list = document.getElementById("review-rows");
    const count = document.getElementById("review-count");
    if (list && count) count.textContent = String(list.children.length);
  }

  // Clicking a username fills the user-actions form and opens that user's panel.
  function openPanel(username) {
    if (!window.htmx || !stream) return;
    window.htmx.ajax("GET", "/console/s/" + encodeURIComponent(stream) + "/users/" +
      encodeURIComponent(username) + "/panel", { target: "#user-panel", swap: "outerHTML" });
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest(".close-panel")) {
      const panel = document.getElementById("user-panel");
      if (panel) panel.replaceWith(Object.assign(document.createElement("div"), { id: "user-panel", hidden: true }));
      return;
    }
    const button = event.target.closest(".pick-user");
    if (!button) return;
    const input = document.getElementById("ua-username");
    if (input) {
      input.value = button.dataset.user;
      input.focus({ preventScroll: true });  // the panel opening is what scrolls, on a phone
    }
    openPanel(button.dataset.user);
  });
  // On a narrow screen the panel opens above the feed: bring it into view.
  document.addEventListener("htmx:load", function (event) {
    const node = event.detail.elt;
    if (node && node.id === "user-panel" && window.matchMedia("(max-width: 1180px)").matches &&
        !node.dataset.seen) {
      node.scrollIntoView({ block: "start" });
    }
  });
  // After an action in the panel, it shows the user's new standing.
  document.addEventListener("htmx:afterRequest", function (event) {
    const panel = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("#user-panel .panel-actions");
    if (panel && event.detail.successful) openPanel(document.getElementById("user-panel").dataset.user);
  });

  // A removed message stays in the feed for the record, struck through and without its button.
  document.addEventListener("htmx:afterRequest", function (event) {
    const button = event.detail.elt;
    if (!event.detail.successful || !button.classList || !button.classList.contains("remove-msg")) return;
    const row = button.closest("tr.msg");
    if (row) row.classList.add("removed");
    button.remove();
  });

  // The export links follow the filters as they are typed (the same query string as the feed).
  function updateExportLinks() {
    const form = document.querySelector("#feed form.filters");
    if (!form) return;
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (value) params.append(key, value);
    for (const link of form.querySelectorAll("a[data-export]")) {
      const query = new URLSearchParams(params);
      query.set("format", link.dataset.export);
      link.href = "/console/s/" + encodeURIComponent(stream) + "/export?" + query.toString();
    }
  }
  document.addEventListener("input", function (event) {
    if (event.target.closest && event.target.closest("#feed form.filters")) updateExportLinks();
  });
  document.addEventListener("change", function (event) {
    if (event.target.closest && event.target.closest("#feed form.filters")) updateExportLinks();
  });

  // Toasts fade out by themselves.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "toasts") {
      const toast = event.detail.target.firstElementChild;
      if (toast) setTimeout(function () { toast.remove(); }, 6000);
    }
  });
  // Error answers (4xx with a toast body) are still shown.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const status = event.detail.xhr.status;
    if (status >= 400 && status < 500 && event.detail.xhr.responseText.indexOf("toast") !== -1) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else if ((status === 422 && event.detail.target.id === "policy")
               || (status >= 400 && status < 500 && event.detail.target.id === "bulk-result")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The pill is the stream's state; the socket's state is the separate "reconnecting…" marker.
  function setStreamState(live) {
    if (!liveState) return;
    liveState.dataset.live = live ? "1" : "0";
    setState(live ? "live" : "ended", live);
    liveState.classList.toggle("ended", !live);
  }

  function setConnected(ok) {
    const marker = document.getElementById("conn-state");
    if (marker) marker.hidden = ok;
  }

  // A stream opened, ended or was renamed: refetch the server-rendered lists and card.
  function onStreamUpdate(update) {
    if (!update || typeof update.stream !== "string" || !window.htmx) return;
    if (document.getElementById("stream-nav")) {
      window.htmx.ajax("GET", "/console/streams?as=nav&current=" + encodeURIComponent(stream || ""),
        { target: "#stream-nav", swap: "outerHTML" });
    }
    if (document.getElementById("stream-list")) {
      window.htmx.ajax("GET", "/console/streams", { target: "#stream-list", swap: "outerHTML" });
    }
    if (stream && update.stream === stream) {
      setStreamState(Boolean(update.live));
      window.htmx.ajax("GET", "/console/s/" + encodeURIComponent(stream) + "/stream_card",
        { target: "#stream-card", swap: "outerHTML" });
    }
  }

  if (typeof io === "undefined") return;
  // No token: the server reads the HttpOnly session cookie on the handshake.
  const socket = io({ transports: ["websocket"], withCredentials: true });
  socket.on("connect", function () {
    setConnected(true);
    if (!stream) return;
    socket.emit("console_join", { stream: stream }, function (ack) {
      if (ack && ack.ok) setStreamState(ack.live !== undefined ? Boolean(ack.live) : liveState.dataset.live === "1");
      else setState("not allowed", false);
    });
  });
  socket.on("disconnect", function () { setConnected(false); });
  socket.on("connect_error", function () { setConnected(false); });
  socket.on("console_fragment", apply);
  socket.on("stream_update", onStreamUpdate);
  window.safestreamConsole = { socket: socket };
  updateReviewCount();
})();
