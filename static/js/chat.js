/*
 * SafeStream viewer chat client: log in, pick a live stream, chat.
 *
 * Vanilla JS with no build step; the only dependency is the vendored
 * socket.io-client (static/vendor/). Two rules hold everywhere below:
 *   - user-supplied text (messages, names, titles, reasons) reaches the page
 *     only through textContent, never as HTML, so it cannot become markup;
 *   - messages are kept ordered by their server id and de-duplicated by it,
 *     which is what lets a reconnect replay "everything after the last id I
 *     saw" and merge it without gaps or doubles.
 * The server's contract is docs/PROTOCOL.md (served at /docs/protocol).
 */
(() => {
  "use strict";

  const MAX_LEN = 500;            // SAFESTREAM_MAX_MESSAGE_LENGTH; the server refuses longer ones
  const WARN_LEN = 450;
  const MAX_ROWS = 400;           // older rows are dropped so a busy room cannot grow the DOM forever
  const ACK_TIMEOUT_MS = 10000;
  const NUDGE_DELAY_MS = 700;     // a pause in typing before the draft is checked (nudges are rate-limited)
  const GIFT_BADGE_MS = 6000;
  const GIFT_BADGE_COMPACT_MS = 2500;  // phones: one badge at a time, so each shows briefly
  const GIFT_QUEUE_MAX = 10;
  const PICKER_REFRESH_MS = 20000;
  const TOKEN_KEY = "safestream.session";
  const STREAM_RE = /^[a-z0-9][a-z0-9_-]{0,39}$/;
  const USERNAME_RE = /^[A-Za-z0-9._-]{1,50}$/;
  // Why moderation refused a message, in words: the ack's `reason` is the category that decided.
  const REASONS = {
    toxicity: "it looks abusive",
    severe_toxicity: "it looks seriously abusive",
    obscene: "it contains obscene language",
    threat: "it reads as a threat",
    insult: "it reads as an insult",
    identity_attack: "it attacks people for who they are",
  };
  // How each catalogue icon looks here; which gifts exist, and their names, come from GET /api/gifts.
  const GIFT_LOOKS = {
    rose: { icon: "i-heart", tone: "rose" },
    heart: { icon: "i-heart", tone: "heart" },
    star: { icon: "i-star", tone: "star" },
    rocket: { icon: "i-rocket", tone: "rocket" },
    lion: { icon: "i-crown", tone: "lion" },
    universe: { icon: "i-planet", tone: "universe" },
  };
  /** Catalogue entries by id and by numeric id ("rose" and "1"): only these are ever shown. */
  const giftCatalogue = new Map();

  async function loadGiftCatalogue() {
    try {
      const gifts = await api("/api/gifts");
      for (const gift of Array.isArray(gifts) ? gifts : []) {
        const look = GIFT_LOOKS[gift.icon] || { icon: "i-gift", tone: "other" };
        const kind = { label: String(gift.name), icon: look.icon, tone: look.tone };
        giftCatalogue.set(String(gift.id), kind);
        giftCatalogue.set(String(gift.numeric_id), kind);
      }
    } catch (_) { /* no catalogue yet: gifts are not shown until it loads */ }
  }

  // ---------------------------------------------------------------- DOM helpers

  const byId = (id) => document.getElementById(id);

  /** An element with a class and (optionally) text: the only way this file puts text on the page. */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /** An icon from the sprite in chat.html. */
  function icon(id, className = "icon") {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", className);
    svg.setAttribute("aria-hidden", "true");
    const use = document.createElementNS(ns, "use");
    use.setAttribute("href", `#${id}`);
    svg.appendChild(use);
    return svg;
  }

  function hashHue(text) {
    let h = 0;
    for (const ch of String(text)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
    return h % 360;
  }

  /** A hue from cyan through violet to pink: backdrops stay on brand next to the #ff0050 accent. */
  const brandHue = (text) => 190 + (hashHue(text) % 150);

  /** A round avatar with the name's first letter on a colour derived from the name. */
  function paintAvatar(node, name) {
    const first = [...String(name || "?")][0] || "?";
    node.textContent = first.toUpperCase();
    node.style.setProperty("--hue", String(hashHue(name || "")));
  }

  function compact(n) {
    const value = Number(n) || 0;
    if (value < 1000) return String(value);
    if (value < 1e6) return `${(value / 1e3).toFixed(value < 1e4 ? 1 : 0).replace(/\.0$/, "")}K`;
    return `${(value / 1e6).toFixed(1).replace(/\.0$/, "")}M`;
  }

  function clock(ts) {
    const date = ts ? new Date(ts) : new Date();
    if (Number.isNaN(date.getTime())) return "";
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function remaining(ms) {
    const total = Math.max(0, Math.ceil(ms / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return `${h ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
  }

  const codePoints = (text) => [...text].length;  // what the server's len() counts, unlike .length

  // ---------------------------------------------------------------- session

  /*
   * The token lives in sessionStorage (gone when the tab closes) unless the
   * user ticks "remember me", then in localStorage. The expiry is stored with
   * it so a stale token is dropped instead of failing the socket handshake.
   */
  const session = {
    load() {
      for (const store of [sessionStorage, localStorage]) {
        const raw = store.getItem(TOKEN_KEY);
        if (!raw) continue;
        try {
          const saved = JSON.parse(raw);
          if (typeof saved.token === "string" && saved.expires > Date.now()) return saved.token;
        } catch (_) { /* corrupt entry: drop it below */ }
        store.removeItem(TOKEN_KEY);
      }
      return null;
    },
    save(token, expiresIn, remember) {
      this.clear();
      const store = remember ? localStorage : sessionStorage;
      store.setItem(TOKEN_KEY, JSON.stringify({ token, expires: Date.now() + (Number(expiresIn) || 3600) * 1000 }));
    },
    clear() {
      sessionStorage.removeItem(TOKEN_KEY);
      localStorage.removeItem(TOKEN_KEY);
    },
  };

  // ---------------------------------------------------------------- HTTP

  class ApiError extends Error {
    constructor(code, message, status, detail) {
      super(message);
      this.code = code;
      this.status = status;
      this.detail = detail || {};
    }
  }

  async function api(path, { method = "GET", json, form, token } = {}) {
    const headers = { Accept: "application/json" };
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = new URLSearchParams(form);  // fetch sends it as application/x-www-form-urlencoded
    }
    if (token) headers.Authorization = `Bearer ${token}`;
    let resp;
    try {
      resp = await fetch(path, { method, headers, body, credentials: "same-origin" });
    } catch (_) {
      throw new ApiError("network", "Can't reach SafeStream. Check your connection and try again.", 0);
    }
    let data = null;
    try { data = await resp.json(); } catch (_) { /* an empty or non-JSON body */ }
    if (!resp.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(error.code || "http_error", error.message || `Request failed (${resp.status})`,
        resp.status, error);
    }
    return data;
  }

  // ---------------------------------------------------------------- toasts

  function toast(text, kind = "info", ms = 4000) {
    const box = byId("toasts");
    while (box.children.length >= 3) box.firstElementChild.remove();
    const node = el("div", `toast toast-${kind}`, text);
    node.setAttribute("role", kind === "error" ? "alert" : "status");
    box.appendChild(node);
    setTimeout(() => {
      node.classList.add("toast-out");
      setTimeout(() => node.remove(), 250);
    }, ms);
  }

  // ---------------------------------------------------------------- state

  const state = {
    token: null,
    user: null,
    socket: null,
    stream: null,          // the stream shown (and joined, once `joined`)
    info: null,            // {stream, title, owner, viewers} from GET /streams
    joined: false,
    joinedOnce: false,     // joined this stream before: the next join is a resume with `since`
    maxId: 0,              // highest chat id received for `stream`: `since` on a rejoin
    rows: new Map(),       // chat id -> row
    removed: new Set(),    // ids a moderator removed: a late replay must not bring them back
    own: new Map(),        // id -> my held card: replaced in place if a moderator approves it
    noteSeq: 0,
    ended: false,
    kicked: false,
    mutedUntil: 0,         // ms epoch; Infinity for a mute without end
    coolUntil: 0,          // rate limit: no sending before this (ms epoch)
    gifts: 0,              // gift events seen here (ids above giftBase.lastId)
    giftBase: null,        // {count, lastId} from GET /streams: the stream's gift events so far
    earlyGifts: [],        // gift ids seen before giftBase arrived
    stick: true,           // follow new messages unless the user scrolled up to read
    unread: 0,
    tick: null,
    pickerTimer: null,
    modes: null,           // the stream's chat modes (join ack, then `modes` events)
    standing: null,        // {can_chat, code?, reason?}: may this user chat here now
    hintKind: "",          // what the composer hint shows: "", "cool", "nudge", "mode"
    nudgeTimer: null,
    nudged: "",            // the last draft asked about
  };

  // ---------------------------------------------------------------- views and routing

  const VIEWS = ["boot", "auth", "picker", "room"];

  function showView(name) {
    for (const view of VIEWS) byId(`view-${view}`).hidden = view !== name;
    byId("app").setAttribute("aria-busy", "false");
    document.body.dataset.view = name;
    if (name !== "picker") stopPickerRefresh();
  }

  function streamFromPath() {
    const match = /^\/chat\/([^/]+)\/?$/.exec(location.pathname);
    return match && STREAM_RE.test(match[1]) ? match[1] : null;
  }

  function navigate(path) {
    if (location.pathname !== path) history.pushState({}, "", path);
    route();
  }

  function route() {
    if (!state.token) {
      showAuth();
      return;
    }
    const stream = streamFromPath();
    if (stream) {
      openRoom(stream);
    } else {
      if (state.stream) leaveRoom();
      showPicker();
    }
  }

  // ---------------------------------------------------------------- auth view

  function showAuth() {
    showView("auth");
    byId("account").hidden = true;
    document.title = "Log in · SafeStream";
    const first = byId("login-form").hidden ? byId("register-form") : byId("login-form");
    first.querySelector("input[name=username]").focus();
  }

  function selectTab(which) {
    const login = which === "login";
    byId("tab-login").setAttribute("aria-selected", String(login));
    byId("tab-register").setAttribute("aria-selected", String(!login));
    byId("login-form").hidden = !login;
    byId("register-form").hidden = login;
    (login ? byId("login-form") : byId("register-form")).querySelector("input[name=username]").focus();
  }

  function formError(form, text) {
    const box = form.querySelector(".form-error");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function fieldErrors(form, fields) {
    for (const node of form.querySelectorAll(".field-error")) {
      node.hidden = true;
      node.textContent = "";
    }
    for (const item of fields || []) {
      const name = String(item.field || "").split(".").pop();
      const node = form.querySelector(`.field-error[data-field="${CSS.escape(name)}"]`);
      if (node) {
        node.textContent = item.message;
        node.hidden = false;
      }
    }
  }

  async function withBusy(form, work) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    button.classList.add("is-busy");
    try {
      await work();
    } finally {
      button.disabled = false;
      button.classList.remove("is-busy");
    }
  }

  async function logIn(username, password, remember) {
    const data = await api("/auth/login", { method: "POST", form: { username, password } });
    session.save(data.access_token, data.expires_in, remember);
    await startSession(data.access_token);
  }

  async function onLoginSubmit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const username = form.username.value.trim();
    const password = form.password.value;
    if (!username || !password) {
      formError(form, "Enter your username and password.");
      return;
    }
    formError(form, "");
    await withBusy(form, async () => {
      try {
        await logIn(username, password, form.remember.checked);
        form.reset();
      } catch (err) {
        formError(form, err.status === 401 ? "Wrong username or password." : err.message);
      }
    });
  }

  async function onRegisterSubmit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const username = form.username.value.trim();
    const email = form.email.value.trim();
    const password = form.password.value;
    const problems = [];
    if (!USERNAME_RE.test(username)) problems.push({ field: "username", message: "Use 1–50 letters, digits, “.”, “_” or “-”." });
    if (password.length < 6) problems.push({ field: "password", message: "Use at least 6 characters." });
    fieldErrors(form, problems);
    formError(form, "");
    if (problems.length) return;
    await withBusy(form, async () => {
      try {
        await api("/auth/register", { method: "POST", json: { username, password, email } });
        await logIn(username, password, form.remember.checked);
        form.reset();
        toast(`Welcome to SafeStream, ${username}!`, "success");
      } catch (err) {
        if (err.code === "username_taken") fieldErrors(form, [{ field: "username", message: "That username is taken." }]);
        else if (err.detail.fields) fieldErrors(form, err.detail.fields);
        else formError(form, err.message);
      }
    });
  }

  async function startSession(token) {
    state.token = token;
    state.user = await api("/auth/me", { token });
    byId("me-name").textContent = state.user.username;
    paintAvatar(byId("me-avatar"), state.user.username);
    byId("account").hidden = false;
    route();
  }

  function logOut(message) {
    session.clear();
    if (state.stream) leaveRoom();
    if (state.socket) {
      state.socket.removeAllListeners();
      state.socket.disconnect();
      state.socket = null;
    }
    state.token = null;
    state.user = null;
    showAuth();
    if (message) toast(message, "info");
  }

  // ---------------------------------------------------------------- stream picker

  async function showPicker() {
    showView("picker");
    document.title = "Live now · SafeStream";
    ensureSocket();  // the list follows `stream_update` events; the timer below is only a fallback
    await refreshPicker();
    if (document.body.dataset.view !== "picker") return;  // the user moved on while the list loaded
    stopPickerRefresh();
    state.pickerTimer = setInterval(() => {
      if (!document.hidden) refreshPicker();
    }, PICKER_REFRESH_MS);
  }

  /** A stream opened, ended or was renamed: the list (or the open room's header) follows at once. */
  let pickerRefetch = null;
  function onStreamUpdate(p) {
    if (!p || typeof p.stream !== "string") return;
    if (document.body.dataset.view === "picker" && !pickerRefetch) {
      // A burst of updates costs one fetch.
      pickerRefetch = setTimeout(() => { pickerRefetch = null; refreshPicker(); }, 250);
    }
    if (p.stream === state.stream && state.info && typeof p.title === "string" && p.title !== state.info.title) {
      renderRoomInfo({ ...state.info, title: p.title });
    }
  }

  function stopPickerRefresh() {
    if (state.pickerTimer) clearInterval(state.pickerTimer);
    state.pickerTimer = null;
  }

  async function refreshPicker() {
    const grid = byId("stream-grid");
    grid.setAttribute("aria-busy", "true");
    let streams;
    try {
      streams = await api("/streams");
    } catch (err) {
      toast(err.message, "error");
      return;
    } finally {
      grid.setAttribute("aria-busy", "false");
    }
    const live = streams.filter((s) => s.live && STREAM_RE.test(s.stream))
      .sort((a, b) => (b.viewers - a.viewers) || a.stream.localeCompare(b.stream));
    grid.replaceChildren(...live.map(streamCard));
    byId("picker-empty").hidden = live.length > 0;
    byId("picker-sub").textContent = live.length
      ? `${live.length} ${live.length === 1 ? "stream is" : "streams are"} live. Pick one to join its chat.`
      : "Pick a stream to join its chat.";
  }

  function streamCard(info) {
    const item = el("li");
    const link = el("a", "stream-card");
    link.href = `/chat/${info.stream}`;
    link.dataset.stream = info.stream;
    link.dataset.nav = "room";

    const thumb = el("div", "thumb");
    thumb.style.setProperty("--hue", String(brandHue(info.stream)));
    const avatar = el("span", "avatar avatar-lg");
    paintAvatar(avatar, info.owner || info.stream);
    thumb.append(el("span", "badge badge-live", "LIVE"), avatar);
    const viewers = el("span", "thumb-viewers");
    viewers.append(icon("i-eye"), el("span", null, compact(info.viewers)));
    thumb.appendChild(viewers);

    const meta = el("div", "card-meta");
    meta.append(el("p", "card-title", info.title || info.stream),
      el("p", "card-owner", `@${info.owner || "unknown"} · ${info.stream}`));
    link.append(thumb, meta);
    item.appendChild(link);
    return item;
  }

  // ---------------------------------------------------------------- the room

  function openRoom(stream) {
    if (state.stream === stream) {
      showView("room");
      return;
    }
    if (state.stream) leaveRoom();
    resetRoom(stream);
    showView("room");
    renderRoomInfo({ stream, title: "", owner: "", viewers: 0 });
    loadRoomInfo(stream);
    const socket = ensureSocket();
    if (socket.connected) join();
    else if (!socket.active) socket.connect();  // otherwise the connect handler joins
  }

  function resetRoom(stream) {
    Object.assign(state, {
      stream, info: null, joined: false, joinedOnce: false, maxId: 0, noteSeq: 0, ended: false, kicked: false,
      mutedUntil: 0, coolUntil: 0, gifts: 0, giftBase: null, earlyGifts: [], stick: true, unread: 0, modes: null, standing: null, nudged: "",
    });
    renderModes();
    state.rows.clear();
    state.removed.clear();
    state.own.clear();
    byId("messages").replaceChildren();
    byId("pending").replaceChildren();
    byId("gift-lane").replaceChildren();
    giftQueue.length = 0;
    byId("notice").hidden = true;
    byId("new-pill").hidden = true;
    byId("stage-gifts").textContent = "0";
    setLive(true);
    updateMuteBar();
    setHint("");
    updateComposer();
    if (stream && !state.tick) state.tick = setInterval(onTick, 1000);
  }

  function leaveRoom() {
    const { socket, stream } = state;
    if (socket && socket.connected && state.joined) socket.emit("leave", { stream });
    resetRoom(null);
    clearInterval(state.tick);
    state.tick = null;
    setConnBanner(null);
  }

  async function loadRoomInfo(stream) {
    try {
      const streams = await api("/streams");
      const info = streams.find((s) => s.stream === stream);
      if (info && state.stream === stream) renderRoomInfo(info);
    } catch (_) { /* the header keeps the slug; join reports real problems */ }
  }

  function renderRoomInfo(info) {
    state.info = info;
    const title = info.title || info.stream;
    byId("room-title").textContent = title;
    byId("stage-title").textContent = title;
    byId("room-owner").textContent = info.owner ? `@${info.owner}` : info.stream;
    byId("stage-owner").textContent = info.owner ? `@${info.owner}` : "";
    paintAvatar(byId("room-avatar"), info.owner || info.stream);
    paintAvatar(byId("stage-avatar"), info.owner || info.stream);
    byId("stage").style.setProperty("--hue", String(brandHue(info.stream)));
    if (info.viewers) setViewers(info.viewers);
    if (Number.isInteger(info.gift_count) && !state.giftBase) {
      state.giftBase = { count: info.gift_count, lastId: Number(info.last_gift_id) || 0 };
      // Gifts that arrived before the list answered are either in its count or above its id.
      state.gifts = state.earlyGifts.filter((id) => !Number.isInteger(id) || id > state.giftBase.lastId).length;
      showGiftCount();
    }
    document.title = `${title} · SafeStream`;
  }

  function showGiftCount() {
    const base = state.giftBase ? state.giftBase.count : 0;
    byId("stage-gifts").textContent = compact(base + state.gifts);
  }

  function setViewers(count) {
    byId("viewer-count").textContent = compact(count);
    byId("stage-viewers").textContent = compact(count);
    byId("viewers").title = `${count} watching`;
  }

  function setLive(live) {
    byId("view-room").classList.toggle("is-ended", !live);
    for (const id of ["live-badge", "stage-live"]) {
      const badge = byId(id);
      badge.textContent = live ? "LIVE" : "ENDED";
      badge.classList.toggle("is-ended", !live);
    }
  }

  function join() {
    const { socket, stream } = state;
    const resume = state.joinedOnce;
    const payload = { stream };
    // On a reconnect, ask only for what we missed: everything after the highest id we saw.
    if (resume) payload.since = state.maxId;
    socket.timeout(ACK_TIMEOUT_MS).emit("join", payload, (err, ack) => {
      if (state.stream !== stream) return;  // the user moved on while we waited
      if (err) {
        setConnBanner("The chat is not answering. Retrying…");
        setTimeout(() => { if (state.stream === stream && socket.connected && !state.joined) join(); }, 2000);
        return;
      }
      if (!ack || !ack.ok) {
        onJoinRefused((ack && ack.error) || {});
        return;
      }
      state.joined = true;
      state.joinedOnce = true;
      setConnBanner(null);
      setViewers(ack.viewers);
      state.modes = ack.modes || null;
      state.standing = ack.standing || null;
      renderModes();
      const added = addChats(Array.isArray(ack.history) ? ack.history : [], { initial: !resume });
      if (ack.gap) addNote("gap", "You were away for a while: older messages were skipped.");
      if (resume) toast(added ? `Back online · ${added} missed ${added === 1 ? "message" : "messages"} loaded` : "Back online", "success", 2500);
      updateComposer();
      if (!resume) byId("composer-input").focus({ preventScroll: true });
    });
  }

  function onJoinRefused(error) {
    switch (error.code) {
      case "stream_offline":
        showEnded("This stream is offline", "It isn't live right now. Check out who else is streaming.");
        break;
      case "no_such_stream":
      case "invalid_stream":
        toast(`There's no stream called “${state.stream}”.`, "error");
        navigate("/chat");
        break;
      case "banned":
        showNotice("banned", "You're banned from this stream",
          error.until ? `You can come back after ${clock(error.until)}.` : "A moderator banned you from this chat.");
        break;
      default:
        toast(error.message || "Couldn't join this stream.", "error");
    }
    updateComposer();
  }

  // ---------------------------------------------------------------- message list

  /*
   * Rows are ordered by a key: [chat id, 0] for a message, [anchor id, n] for
   * a local line (gift, notice) placed after the message it followed.
   * Messages usually arrive in order, so the common case is an append.
   */
  function keyBefore(a, b) {
    return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  }

  function insertRow(row, key) {
    row.sortKey = key;
    const list = byId("messages");
    const last = list.lastElementChild;
    if (!last || !keyBefore(key, last.sortKey)) {
      list.appendChild(row);
    } else {
      const kids = list.children;
      let lo = 0;
      let hi = kids.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (keyBefore(key, kids[mid].sortKey)) hi = mid;
        else lo = mid + 1;
      }
      list.insertBefore(row, kids[lo] || null);
    }
    regroup(row);
    regroup(row.nextElementSibling);
  }

  /** Consecutive messages from one person share a single name line, as in most chat apps. */
  function regroup(row) {
    if (!row || !row.dataset.user) return;
    const prev = row.previousElementSibling;
    row.classList.toggle("cont", Boolean(prev && prev.dataset.user === row.dataset.user));
  }

  function isChat(msg) {
    return msg && typeof msg === "object" && Number.isInteger(msg.id) && typeof msg.message === "string";
  }

  /** Adds messages that are new (by id) and returns how many were; the view follows if it was at the bottom. */
  function addChats(list, { initial = false } = {}) {
    let added = 0;
    for (const msg of list) {
      if (!isChat(msg) || msg.stream !== state.stream) continue;
      if (state.rows.has(msg.id) || state.removed.has(msg.id)) continue;
      const held = state.own.get(msg.id);
      if (held) {  // my held message was approved: the published one takes its place
        state.own.delete(msg.id);
        held.remove();
      }
      const row = chatRow(msg);
      state.rows.set(msg.id, row);
      insertRow(row, [msg.id, 0]);
      if (msg.id > state.maxId) state.maxId = msg.id;
      added += 1;
    }
    if (added) afterAdd(added, initial);
    return added;
  }

  function chatRow(msg) {
    const mine = state.user && msg.user === state.user.username;
    const row = el("li", "msg");
    row.dataset.id = String(msg.id);
    row.dataset.user = msg.user;
    if (mine) row.classList.add("mine");
    if (msg.toxic) row.classList.add("flagged");
    const avatar = el("span", "avatar avatar-sm");
    paintAvatar(avatar, msg.user);
    const body = el("div", "msg-body");
    const meta = el("div", "msg-meta");
    const name = el("span", "msg-user", msg.user);
    name.style.setProperty("--hue", String(hashHue(msg.user)));
    meta.appendChild(name);
    if (mine) meta.appendChild(el("span", "tag tag-you", "you"));
    if (msg.toxic) {
      const tag = el("span", "tag tag-flagged", "flagged");
      tag.title = "Moderation flagged this message as possibly toxic";
      meta.appendChild(tag);
    }
    const time = el("time", "msg-time", clock(msg.ts));
    if (msg.ts) time.dateTime = msg.ts;
    meta.appendChild(time);
    body.append(meta, el("p", "msg-text", msg.message));
    row.append(avatar, body);
    return row;
  }

  /** A local line (not a chat message) placed after the newest message; `content` is text or nodes. */
  function addNote(kind, content) {
    const row = el("li", `note note-${kind}`);
    if (typeof content === "string") row.appendChild(el("span", "note-text", content));
    else row.append(...content);
    insertRow(row, [state.maxId, ++state.noteSeq]);
    afterAdd(1, false);
    return row;
  }

  function removeChats(ids) {
    for (const id of ids) {
      state.removed.add(id);
      const row = state.rows.get(id);
      if (!row) continue;
      state.rows.delete(id);
      const next = row.nextElementSibling;
      row.remove();
      regroup(next);
    }
  }

  function trimRows() {
    const list = byId("messages");
    while (list.children.length > MAX_ROWS) {
      const first = list.firstElementChild;
      if (first.dataset.id) state.rows.delete(Number(first.dataset.id));
      first.remove();
    }
    regroup(list.firstElementChild);
  }

  // ---------------------------------------------------------------- scrolling

  function nearBottom() {
    const box = byId("scroller");
    return box.scrollHeight - box.scrollTop - box.clientHeight < 48;
  }

  function scrollToBottom() {
    const box = byId("scroller");
    box.scrollTop = box.scrollHeight;
    state.stick = true;
    state.unread = 0;
    byId("new-pill").hidden = true;
  }

  function afterAdd(count, initial) {
    if (state.stick || initial) {
      trimRows();  // only while following: trimming under a reader would move the text they read
      scrollToBottom();
      return;
    }
    state.unread += count;
    const pill = byId("new-pill");
    pill.textContent = `${state.unread > 99 ? "99+" : state.unread} new ${state.unread === 1 ? "message" : "messages"} ↓`;
    pill.hidden = false;
  }

  function onScroll() {
    state.stick = nearBottom();
    if (state.stick) {
      state.unread = 0;
      byId("new-pill").hidden = true;
    }
  }

  // ---------------------------------------------------------------- gifts

  function onGift(gift) {
    if (!gift || gift.stream !== state.stream) return;
    // Never the raw id as a label: a gift the catalogue does not know is not shown at all.
    const kind = giftCatalogue.get(String(gift.gift_id));
    if (!kind) {
      if (!giftCatalogue.size) loadGiftCatalogue();
      return;
    }
    const amount = Math.max(1, Number(gift.amount) || 1);
    // The counter counts gift events (as the console's "Gifts sent" tile does), not amounts.
    if (!state.giftBase) {
      state.earlyGifts.push(gift.id);
      state.gifts += 1;
    } else if (!Number.isInteger(gift.id) || gift.id > state.giftBase.lastId) state.gifts += 1;
    showGiftCount();

    showGiftBadge(gift, kind, amount);

    // And a permanent line in the chat, so a gift is not missed by someone reading back.
    addNote("gift", [icon(kind.icon, `icon tone-${kind.tone}`), el("b", null, gift.from),
      el("span", null, ` sent ${amount > 1 ? `${amount} × ` : "a "}${kind.label}`)]);
  }

  /*
   * The animated badge, like on stream: it pops in, then fades out. On a wide screen up to three
   * stack for GIFT_BADGE_MS; on a phone they would cover the chat, so one compact badge shows at a
   * time, briefly, and the rest wait their turn (a bounded queue: a flood is summed up, not replayed).
   */
  const narrowScreen = window.matchMedia("(max-width: 900px)");
  const giftQueue = [];
  let giftShowing = false;

  function showGiftBadge(gift, kind, amount) {
    if (!narrowScreen.matches) {
      const lane = byId("gift-lane");
      while (lane.children.length >= 3) lane.firstElementChild.remove();
      placeBadge(gift, kind, amount, false, GIFT_BADGE_MS);
      return;
    }
    if (giftQueue.length >= GIFT_QUEUE_MAX) giftQueue.shift();
    giftQueue.push([gift, kind, amount]);
    if (!giftShowing) nextGiftBadge();
  }

  function nextGiftBadge() {
    const next = giftQueue.shift();
    giftShowing = Boolean(next);
    if (!next) return;
    if (next[0].stream !== state.stream) {  // queued before the user changed rooms
      nextGiftBadge();
      return;
    }
    byId("gift-lane").replaceChildren();
    placeBadge(next[0], next[1], next[2], true, giftQueue.length ? GIFT_BADGE_COMPACT_MS / 2 : GIFT_BADGE_COMPACT_MS,
      nextGiftBadge);
  }

  function placeBadge(gift, kind, amount, compact, ms, done) {
    const badge = el("div", `gift-badge tone-${kind.tone}${compact ? " compact" : ""}`);
    badge.dataset.gift = kind.tone;
    const orb = el("span", "gift-orb");
    orb.appendChild(icon(kind.icon));
    const text = el("span", "gift-text");
    text.append(el("b", "gift-from", gift.from), el("span", "gift-what", `sent ${kind.label}`));
    badge.append(orb, text, el("span", "gift-amount", `×${amount}`));
    byId("gift-lane").appendChild(badge);
    setTimeout(() => {
      badge.classList.add("gift-out");
      setTimeout(() => {
        badge.remove();
        if (done) done();
      }, 400);
    }, ms);
  }

  // ---------------------------------------------------------------- notices

  function showNotice(kind, title, text, action = "Browse live streams") {
    const notice = byId("notice");
    notice.dataset.kind = kind;
    byId("notice-title").textContent = title;
    byId("notice-text").textContent = text;
    byId("notice-action").textContent = action;
    notice.hidden = false;
  }

  function showEnded(title = "Stream ended", text = "Thanks for watching! The streamer has ended this live.") {
    state.ended = true;
    setLive(false);
    showNotice("ended", title, text);
    updateComposer();
  }

  function setConnBanner(text) {
    const banner = byId("conn-banner");
    if (!text) {
      banner.hidden = true;
      return;
    }
    byId("conn-text").textContent = text;
    banner.hidden = false;
  }

  // ---------------------------------------------------------------- composer

  function isMuted() {
    return state.mutedUntil > Date.now();
  }

  function setHint(text, kind = "info", source = "") {
    state.hintKind = text ? source : "";
    const hint = byId("composer-hint");
    hint.textContent = text;
    hint.dataset.kind = kind;
    hint.hidden = !text;
  }

  function updateComposer() {
    const input = byId("composer-input");
    let blocked = "";
    if (!state.stream || state.ended) blocked = "This stream has ended";
    else if (state.kicked) blocked = "You were removed from this chat";
    else if (isMuted()) blocked = "You're muted";
    else if (!state.joined) blocked = state.socket && state.socket.connected ? "Joining…" : "Connecting…";
    else if (state.standing && state.standing.can_chat === false) blocked = standingText(state.standing);
    input.disabled = Boolean(blocked);
    const emoteOnly = state.modes && state.modes.emote_only;
    input.placeholder = blocked || (emoteOnly ? "Emote-only mode: emotes only" : "Say something nice…");
    const length = codePoints(input.value.trim());
    const counter = byId("counter");
    counter.textContent = `${codePoints(input.value)}/${MAX_LEN}`;
    counter.classList.toggle("is-warn", length > WARN_LEN && length <= MAX_LEN);
    counter.classList.toggle("is-over", length > MAX_LEN);
    const cooling = state.coolUntil > Date.now();
    byId("send").disabled = Boolean(blocked) || cooling || length === 0 || length > MAX_LEN;
  }

  // ---------------------------------------------------------------- chat modes and the nudge

  const STANDING_TEXT = {
    members_only: "Members-only chat right now",
    account_too_new: "Your account is too new to chat here",
    email_not_verified: "Verify your email to chat here",
  };

  function standingText(standing) {
    return STANDING_TEXT[standing.code] || standing.reason || "You can't chat here right now";
  }

  /** The shield banner, the composer's reason and the emote-only hint, from state.modes/standing. */
  function renderModes() {
    const modes = state.modes || {};
    const banner = byId("shield-banner");
    if (modes.shield) {
      const parts = ["new accounts wait", "links are held", "repeats are refused"];
      if (modes.slow_mode_secs) parts.push(`slow mode ${modes.slow_mode_secs}s`);
      byId("shield-text").textContent = `Shield mode is on: ${parts.join(", ")}.`;
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
    if (state.hintKind === "mode" || state.hintKind === "") {
      if (state.standing && state.standing.can_chat === false) {
        setHint(state.standing.reason ? capitalize(state.standing.reason) + "." : standingText(state.standing), "warn", "mode");
        if (state.standing.code === "email_not_verified") {
          const button = el("button", "btn btn-ghost btn-sm hint-action", "Email me a link");
          button.type = "button";
          button.id = "verify-request";
          button.addEventListener("click", requestVerification);
          byId("composer-hint").append(" ", button);
        }
      } else if (modes.emote_only) {
        setHint(`Emote-only mode: ${(modes.emotes || []).join(" ")}`, "info", "mode");
      } else if (state.hintKind === "mode") {
        setHint("");
      }
    }
    updateComposer();
  }

  function capitalize(text) {
    return text ? text[0].toUpperCase() + text.slice(1) : text;
  }

  async function requestVerification() {
    try {
      await api("/auth/verify-email/request", { method: "POST", token: state.token });
      toast("Check your email: the link in it verifies your address.", "success", 6000);
    } catch (err) {
      toast(err.code === "no_email" ? "Your account has no email address to verify." : err.message, "error");
    }
  }

  /** The link in the verification mail opens /chat?verify=CODE: confirm it, then drop it from the URL. */
  async function confirmEmailFromLink() {
    const params = new URLSearchParams(location.search);
    const code = params.get("verify");
    if (!code) return;
    params.delete("verify");
    history.replaceState({}, "", location.pathname + (params.toString() ? `?${params}` : ""));
    try {
      await api("/auth/verify-email", { method: "POST", json: { token: code } });
      toast("Your email address is verified.", "success");
      askStanding();
    } catch (err) {
      toast(err.message, "error");
    }
  }

  // ---------------------------------------------------------------- sign-in with an identity provider

  const OIDC_REMEMBER_KEY = "safestream.oidc-remember";

  /** The provider's button comes back to the open stream, and keeps the "remember me" choice. */
  function wireOidcButton() {
    const link = byId("oidc-signin");
    if (!link) return;  // sign-in with a provider is not configured
    link.addEventListener("click", () => {
      const next = streamFromPath() ? `/chat/${streamFromPath()}` : "/chat";
      link.href = `/auth/oidc/start?next=${encodeURIComponent(next)}`;
      sessionStorage.setItem(OIDC_REMEMBER_KEY, byId("login-form").remember.checked ? "1" : "");
    });
  }

  /**
   * After the provider, the server redirects to /chat#signin=<one-time code>: the code is
   * traded for a token (never in a URL itself) and dropped from the address bar first.
   * Returns the token, or null when this page load is not a sign-in.
   */
  async function tokenFromSignIn() {
    const match = /^#signin=([A-Za-z0-9_-]{20,100})$/.exec(location.hash);
    if (!match) return null;
    history.replaceState({}, "", location.pathname + location.search);
    const remember = sessionStorage.getItem(OIDC_REMEMBER_KEY) === "1";
    sessionStorage.removeItem(OIDC_REMEMBER_KEY);
    try {
      const data = await api("/auth/oidc/token", { method: "POST", json: { handoff: match[1] } });
      session.save(data.access_token, data.expires_in, remember);
      return data.access_token;
    } catch (err) {
      toast(`Sign-in failed: ${err.message}`, "error", 10000);
      return null;
    }
  }

  function askStanding() {
    const { socket, stream } = state;
    if (!socket || !socket.connected || !state.joined) return;
    socket.timeout(ACK_TIMEOUT_MS).emit("standing", { stream }, (err, ack) => {
      if (err || !ack || !ack.ok || state.stream !== stream) return;
      state.modes = ack.modes;
      state.standing = ack.standing;
      renderModes();
    });
  }

  function onModes(modes) {
    if (!modes || modes.stream !== state.stream) return;
    const wasShield = state.modes && state.modes.shield;
    state.modes = modes;
    renderModes();
    if (modes.shield && !wasShield) toast("Shield mode is on: the chat is stricter for a while.", "info");
    askStanding();  // gates depend on who we are: ask for our own standing
  }

  /** Before sending: ask the server how the draft would be treated (it stores nothing). */
  function scheduleNudge() {
    clearTimeout(state.nudgeTimer);
    state.nudgeTimer = setTimeout(sendNudge, NUDGE_DELAY_MS);
  }

  function sendNudge() {
    const { socket, stream } = state;
    const text = byId("composer-input").value.trim();
    if (!text) {
      if (state.hintKind === "nudge") setHint("");
      return;
    }
    if (text === state.nudged || codePoints(text) < 4 || codePoints(text) > MAX_LEN) return;
    if (!socket || !socket.connected || !state.joined) return;
    state.nudged = text;
    socket.timeout(ACK_TIMEOUT_MS).emit("nudge", { stream, message: text }, (err, ack) => {
      if (err || !ack || !ack.ok || state.stream !== stream) return;
      if (byId("composer-input").value.trim() !== text) return;  // the draft changed meanwhile
      if (state.hintKind === "cool") return;
      if (ack.advice) setHint(ack.action === "refuse" ? capitalize(ack.advice) + "." : ack.advice, "warn", "nudge");
      else if (state.hintKind === "nudge") { setHint(""); renderModes(); }
    });
  }

  function updateMuteBar() {
    const bar = byId("mute-bar");
    if (!isMuted()) {
      bar.hidden = true;
      return;
    }
    bar.replaceChildren();
    bar.append(el("b", null, "You're muted"),
      el("span", null, Number.isFinite(state.mutedUntil)
        ? ` · ${remaining(state.mutedUntil - Date.now())} left` : " in this chat"));
    bar.hidden = false;
  }

  function setMuted(until, reason) {
    const end = until ? Date.parse(until) : Infinity;
    state.mutedUntil = Number.isNaN(end) ? Infinity : end;
    updateMuteBar();
    updateComposer();
    if (reason) toast(reason, "error");
  }

  /** Once a second: mute and slow-down countdowns. */
  function onTick() {
    if (state.mutedUntil && !isMuted()) {
      state.mutedUntil = 0;
      toast("Your mute is over. You can chat again.", "success");
    }
    updateMuteBar();
    if (state.coolUntil) {
      const left = state.coolUntil - Date.now();
      if (left > 0) setHint(`Slow down! You can send again in ${Math.ceil(left / 1000)}s.`, "warn", "cool");
      else {
        state.coolUntil = 0;
        setHint("");
      }
    }
    updateComposer();
  }

  function onSubmit(event) {
    event.preventDefault();
    const input = byId("composer-input");
    const text = input.value.trim();
    if (!text || byId("send").disabled) return;
    const { socket, stream } = state;
    if (!socket || !socket.connected || !state.joined) {
      toast("You're offline. Your message stays in the box: send it once we're back.", "error");
      return;
    }
    const pending = el("li", "msg mine is-pending");
    const avatar = el("span", "avatar avatar-sm");
    paintAvatar(avatar, state.user.username);
    const body = el("div", "msg-body");
    const meta = el("div", "msg-meta");
    meta.append(el("span", "msg-user", state.user.username), el("span", "tag tag-sending", "sending…"));
    body.append(meta, el("p", "msg-text", text));
    pending.append(avatar, body);
    byId("pending").appendChild(pending);
    scrollToBottom();
    input.value = "";
    clearTimeout(state.nudgeTimer);
    if (state.hintKind === "nudge") { setHint(""); renderModes(); }
    updateComposer();

    socket.timeout(ACK_TIMEOUT_MS).emit("chat", { stream, message: text }, (err, ack) => {
      pending.remove();
      if (state.stream !== stream) return;
      if (err) {
        restoreDraft(text);
        toast("The server didn't answer. Your message may not have been sent.", "error");
        return;
      }
      onChatAck(ack || {}, text);
    });
  }

  function restoreDraft(text) {
    const input = byId("composer-input");
    if (!input.value) input.value = text;  // never overwrite something typed meanwhile
    updateComposer();
  }

  function onChatAck(ack, text) {
    if (ack.ok) {
      if (ack.action === "hold") {
        ownNote(ack.id, "held", "Held for review",
          "A moderator will check it before anyone else sees it. Only you can see this.", text);
      } else if (ack.action === "block") {
        const why = REASONS[ack.reason] || "it breaks the chat rules";
        ownNote(ack.id, "blocked", "Not sent",
          `Not sent because ${why}. Nobody else saw it; only you can see this.`, text);
      } else if (ack.action === "mask") {
        const row = state.rows.get(ack.id);
        const meta = row && row.querySelector(".msg-meta");
        if (meta && !meta.querySelector(".tag-masked")) {
          const tag = el("span", "tag tag-masked", "masked");
          tag.title = "Some words were hidden by moderation";
          meta.insertBefore(tag, meta.querySelector(".msg-time"));
        }
      }
      return;
    }
    const error = ack.error || {};
    switch (error.code) {
      case "rate_limited": {
        restoreDraft(text);
        const seconds = Math.max(1, Math.ceil(Number(error.retry_after) || 1));
        state.coolUntil = Date.now() + seconds * 1000;
        setHint(`Slow down! You can send again in ${seconds}s.`, "warn", "cool");
        toast(/slow mode/i.test(error.message || "") ? error.message : "You're sending messages too fast.", "error");
        updateComposer();
        break;
      }
      case "muted":
        restoreDraft(text);
        setMuted(error.until, "You're muted and can't send messages right now.");
        break;
      case "banned":
        showNotice("banned", "You're banned from this stream",
          error.until ? `You can come back after ${clock(error.until)}.` : "A moderator banned you from this chat.");
        break;
      case "not_in_stream":
        restoreDraft(text);
        state.joined = false;
        updateComposer();
        join();
        break;
      case "too_long":
        restoreDraft(text);
        toast(`Messages can be at most ${error.max_length || MAX_LEN} characters.`, "error");
        break;
      case "members_only":
      case "account_too_new":
      case "email_not_verified":
        restoreDraft(text);
        state.standing = { can_chat: false, code: error.code, reason: error.message };
        renderModes();
        break;
      case "busy":
        restoreDraft(text);
        toast("Chat is very busy right now. Try again in a moment.", "error");
        break;
      default:
        restoreDraft(text);
        toast(error.message || "Your message couldn't be sent.", "error");
    }
  }

  /** The sender's own view of a message nobody else got (held or blocked), at its id's place. */
  function ownNote(id, kind, label, explanation, text) {
    const row = el("li", `msg mine own-${kind}`);
    row.dataset.own = String(id);
    const avatar = el("span", "avatar avatar-sm");
    paintAvatar(avatar, state.user.username);
    const body = el("div", "msg-body");
    const meta = el("div", "msg-meta");
    meta.append(el("span", "msg-user", state.user.username), el("span", `tag tag-${kind}`, label));
    body.append(meta, el("p", "msg-text", text), el("p", "msg-explain", explanation));
    row.append(avatar, body);
    if (Number.isInteger(id) && kind === "held") state.own.set(id, row);
    // Its id was handed out but never broadcast, so the key cannot collide with a real row.
    insertRow(row, [Number.isInteger(id) ? id : state.maxId, Number.isInteger(id) ? 0 : ++state.noteSeq]);
    afterAdd(1, false);
    scrollToBottom();
  }

  /** A moderator decided my held message: approved ones arrive as `chat` with the same id. */
  function onReviewResult(p) {
    if (!p || p.stream !== state.stream || !Number.isInteger(p.id)) return;
    const row = state.own.get(p.id);
    if (!row || p.decision === "approved") return;
    state.own.delete(p.id);
    row.classList.replace("own-held", "own-denied");
    const tag = row.querySelector(".tag-held");
    if (tag) {
      tag.className = "tag tag-denied";
      tag.textContent = "Not published";
    }
    row.querySelector(".msg-explain").textContent = p.decision === "expired"
      ? "Nobody reviewed it in time, so it was not published. Only you can see this."
      : "A moderator decided not to publish it. Only you can see this.";
  }

  // ---------------------------------------------------------------- socket

  function ensureSocket() {
    if (state.socket) return state.socket;
    const socket = io({
      // A function, so a reconnect after logging in again sends the current token.
      auth: (cb) => cb({ token: state.token }),
      transports: ["websocket"],  // no sticky sessions needed behind a balancer
      // After a restart every viewer reconnects at once: the first retry lands anywhere in
      // 0.1-1.9 s (socket.io's randomizationFactor) and later ones back off up to 8 s, so the
      // storm is spread instead of arriving in one burst.
      reconnectionDelay: 1000,
      randomizationFactor: 0.9,
      reconnectionDelayMax: 8000,
    });
    state.socket = socket;

    socket.on("connect", () => {
      setConnBanner(null);
      if (state.stream && !state.ended && !state.kicked) join();
      updateComposer();
    });
    socket.on("disconnect", (reason) => {
      state.joined = false;
      updateComposer();
      if (reason === "io client disconnect" || state.kicked) return;
      if (reason === "io server disconnect") {
        // The server closed us without a kick (a restart or deploy): socket.io won't retry by itself.
        setConnBanner("Disconnected. Reconnecting…");
        setTimeout(() => { if (state.socket === socket && !socket.connected) socket.connect(); },
          1000 + Math.random() * 2000);
        return;
      }
      setConnBanner("Connection lost. Reconnecting…");
    });
    socket.on("connect_error", (err) => {
      if (socket.active) {  // a network problem: socket.io keeps retrying
        setConnBanner("Can't reach the chat. Reconnecting…");
        return;
      }
      const reason = err && err.message;  // the server refused the handshake
      if (reason === "unauthorized") logOut("Your session has expired. Please log in again.");
      else if (reason === "banned") {
        setConnBanner(null);
        showNotice("banned", "You're banned", "A moderator banned your account from chat.");
      } else {
        setConnBanner(reason === "server_full" ? "The chat is full. Retrying…" : "Can't connect. Retrying…");
        setTimeout(() => { if (state.socket === socket && !socket.connected) socket.connect(); },
          2500 + Math.random() * 5000);  // jittered: a full server is not hit by every client at once
      }
    });

    socket.on("server_shutdown", () => {
      // The server is going down: say so now, instead of looking connected until a send times out.
      // The connection closes next and socket.io reconnects; `join` then resumes with `since`.
      state.joined = false;
      setConnBanner("The server is restarting. Reconnecting…");
      updateComposer();
    });
    socket.on("chat", (msg) => addChats([msg]));
    socket.on("chat_batch", (list) => { if (Array.isArray(list)) addChats(list); });
    socket.on("gift", onGift);
    socket.on("review_result", onReviewResult);
    socket.on("stream_update", onStreamUpdate);
    socket.on("presence", (p) => { if (p && p.stream === state.stream) setViewers(p.viewers); });
    socket.on("modes", onModes);
    socket.on("message_removed", (p) => {
      if (p && p.stream === state.stream && Array.isArray(p.ids)) removeChats(p.ids);
    });
    socket.on("stream_status", (p) => {
      if (!p || p.stream !== state.stream) return;
      if (p.live === false) showEnded();
      else if (state.ended) {
        state.ended = false;
        setLive(true);
        byId("notice").hidden = true;
        toast("The stream is live again!", "success");
        if (socket.connected) join();
      }
    });
    socket.on("kicked", (p) => {
      if (p && p.stream && p.stream !== state.stream) return;
      state.kicked = true;
      state.joined = false;
      setConnBanner(null);
      const reason = String((p && p.reason) || "a moderator removed you").replace(/[.\s]+$/, "");
      const back = p && p.until ? ` You can come back after ${clock(p.until)}.` : "";
      showNotice("kicked", "You were removed from the chat", `Reason: ${reason}.${back}`);
      updateComposer();
    });
    socket.on("muted", (p) => {
      if (!p || (p.stream && p.stream !== state.stream)) return;
      const reason = String(p.reason || "").replace(/[.\s]+$/, "");
      const span = p.until ? ` for ${remaining(Date.parse(p.until) - Date.now())}` : "";
      setMuted(p.until, `You're muted${span}.${reason ? ` Reason: ${reason}.` : ""}`);
    });
    return socket;
  }

  // ---------------------------------------------------------------- wiring and boot

  function wire() {
    byId("tab-login").addEventListener("click", () => selectTab("login"));
    byId("tab-register").addEventListener("click", () => selectTab("register"));
    byId("login-form").addEventListener("submit", onLoginSubmit);
    byId("register-form").addEventListener("submit", onRegisterSubmit);
    byId("logout").addEventListener("click", () => logOut("You're logged out."));
    byId("picker-refresh").addEventListener("click", () => refreshPicker());
    byId("room-back").addEventListener("click", () => navigate("/chat"));
    byId("notice-action").addEventListener("click", () => navigate("/chat"));
    byId("composer").addEventListener("submit", onSubmit);
    byId("composer-input").addEventListener("input", () => { updateComposer(); scheduleNudge(); });
    byId("scroller").addEventListener("scroll", onScroll, { passive: true });
    byId("new-pill").addEventListener("click", scrollToBottom);
    // In-app links (brand, stream cards) switch views without a page load; modified clicks open tabs.
    document.addEventListener("click", (event) => {
      const link = event.target.closest("a[data-nav]");
      if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      navigate(new URL(link.href).pathname);
    });
    window.addEventListener("popstate", route);
  }

  async function boot() {
    wire();
    loadGiftCatalogue();
    confirmEmailFromLink();
    wireOidcButton();
    // The server validated the slug it put in data-stream; the URL is the source of truth from here on.
    const initial = document.body.dataset.stream;
    if (initial && STREAM_RE.test(initial) && !streamFromPath()) history.replaceState({}, "", `/chat/${initial}`);
    if (typeof window.io !== "function") {
      showAuth();
      toast("The chat library failed to load. Reload the page.", "error", 10000);
      return;
    }
    const token = (await tokenFromSignIn()) || session.load();
    if (!token) {
      showAuth();
      return;
    }
    try {
      await startSession(token);
    } catch (err) {
      if (err.status === 401) session.clear();
      state.token = null;
      showAuth();
      if (err.status !== 401) toast(err.message, "error");
    }
  }

  // A diagnostics handle for the browser console (and the browser tests): read-only state.
  Object.defineProperty(window, "SafeStreamChat", {
    value: Object.freeze({
      get socket() { return state.socket; },
      get stream() { return state.stream; },
      get maxId() { return state.maxId; },
    }),
  });

  boot();
})();
