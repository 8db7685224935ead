// The viewer's live room: the page works without this file (reload to see changes);
// with it, every change arrives by the room's events (Server-Sent Events, or polling
// where a browser cannot keep a stream open) and is announced in the page's status
// region without moving focus. Nothing here plays sound, and nothing flashes.
(function () {
  "use strict";
  var dataElement = document.getElementById("room-data");
  if (!dataElement) return;
  var data = JSON.parse(dataElement.textContent);
  var T = data.text;
  var room = document.querySelector("[data-room]");
  var statusRegion = document.getElementById("status-region");
  var current = { pin: null, price: null };
  var lastId = data.position || "";
  var CHINESE = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;
  var LATIN = /[A-Za-z]/;
  var pageLang = data.locale;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole;
    });
  }
  function money(amount, currency) {
    try {
      return new Intl.NumberFormat(pageLang, { style: "currency", currency: currency || "CNY" })
        .format(amount / 100);
    } catch (error) {
      return (amount / 100).toFixed(2);
    }
  }
  function clockTime(iso) {
    try {
      return new Intl.DateTimeFormat(pageLang, { hour: "2-digit", minute: "2-digit",
        timeZone: data.zone }).format(new Date(iso));
    } catch (error) {
      return new Date(iso).toLocaleTimeString();
    }
  }
  // Text people typed is marked with its language when it differs from the page's
  // (WCAG 3.1.2), as the server does with core/written.py.
  function languageOf(text) {
    if (CHINESE.test(text)) return "zh-CN";
    if (LATIN.test(text)) return "en";
    return null;
  }
  function written(element, text) {
    element.textContent = text;
    var lang = languageOf(text);
    if (lang && lang !== pageLang) element.setAttribute("lang", lang);
    else element.removeAttribute("lang");
    return element;
  }
  function announce(text) {
    if (!statusRegion || !text) return;
    var line = document.createElement("p");
    line.className = "notice notice-info";
    line.textContent = text;
    statusRegion.textContent = "";
    statusRegion.appendChild(line);
  }
  var lastTickerAnnouncement = 0;
  function productTitle(id) {
    var product = data.products[String(id)];
    return product ? product.title : "";
  }

  // The product shown now --------------------------------------------------------------
  var nowCard = room.querySelector("[data-now-card]");
  var nowEmpty = room.querySelector("[data-now-empty]");
  function variantsOf(productId) {
    var product = data.products[String(productId)];
    return product ? product.variants : [];
  }
  function stockOfProduct(productId) {
    var total = 0;
    variantsOf(productId).forEach(function (variantId) {
      var element = room.querySelector('[data-stock-for="' + variantId + '"]');
      total += element ? Number(element.getAttribute("data-stock") || 0) : 0;
    });
    return total;
  }
  function stockWords(count) {
    return count > 0 ? fill(T.left, { count: count }) : T.soldOut;
  }
  // Digital goods show no stock; a made-to-order one out of stock shows its lead time.
  function stockWordsOf(productId, count) {
    var card = room.querySelector('[data-product-id="' + productId + '"]');
    if (card && card.hasAttribute("data-digital")) return "";
    if (count <= 0 && card && card.getAttribute("data-made-words")) {
      return card.getAttribute("data-made-words");
    }
    return stockWords(count);
  }
  function priceWords(variantId) {
    var element = room.querySelector('[data-price-for="' + variantId + '"]');
    if (!element) return "";
    var normal = Number(element.getAttribute("data-normal"));
    var currency = element.getAttribute("data-currency");
    var price = current.price;
    if (price && price.state === "running" && price.variant_id === Number(variantId)) {
      return fill(T.livePrice, { price: money(price.price_amount, currency),
        normal: money(normal, currency) });
    }
    return money(normal, currency);
  }
  function showNow() {
    var productId = current.pin;
    room.querySelectorAll("[data-product-id]").forEach(function (card) {
      var pinned = Number(card.getAttribute("data-product-id")) === productId;
      card.classList.toggle("room-product-pinned", pinned);
      var badge = card.querySelector("[data-pinned-badge]");
      if (badge) badge.hidden = !pinned;
    });
    if (!nowCard) return;
    if (!productId || !data.products[String(productId)]) {
      nowCard.hidden = true;
      nowEmpty.hidden = false;
      return;
    }
    // The same elements are filled again, never replaced: focus on the link stays.
    written(nowCard.querySelector("[data-now-title]"), productTitle(productId));
    var variants = variantsOf(productId);
    var price = current.price;
    var shownVariant = price && price.product_id === productId ? price.variant_id : variants[0];
    nowCard.querySelector("[data-now-price]").textContent = priceWords(shownVariant);
    nowCard.querySelector("[data-now-stock]").textContent = stockWordsOf(productId, stockOfProduct(productId));
    nowCard.querySelector("[data-now-link]").setAttribute("href", "#room-product-" + productId);
    var countdown = nowCard.querySelector("[data-now-countdown]");
    var running = price && price.state === "running" && price.product_id === productId;
    countdown.hidden = !running;
    if (running) {
      countdown.querySelector("[data-countdown-words]").textContent =
        fill(T.liveUntil, { time: clockTime(price.ends_at) });
    }
    nowCard.hidden = false;
    nowEmpty.hidden = true;
  }
  function onPin(event, quiet) {
    current.pin = event.product_id;
    showNow();
    if (quiet) return;
    announce(event.product_id ? fill(T.showing, { name: productTitle(event.product_id) })
      : T.nothingShown);
  }

  // Live price and stock ---------------------------------------------------------------
  function paintPrices() {
    room.querySelectorAll("[data-price-for]").forEach(function (element) {
      var variantId = element.getAttribute("data-price-for");
      element.textContent = priceWords(variantId);
      var price = current.price;
      element.classList.toggle("price-live", !!(price && price.state === "running" &&
        price.variant_id === Number(variantId)));
    });
    showNow();
  }
  function onPrice(event, quiet) {
    var before = current.price;
    current.price = event.state === "ended" ? null : event;
    paintPrices();
    if (quiet) return;
    if (event.state === "running" && (!before || before.id !== event.id)) {
      announce(fill(T.liveStarted, { price: money(event.price_amount, event.currency),
        name: productTitle(event.product_id), left: event.left,
        time: clockTime(event.ends_at) }));
    } else if (event.state === "ended" && before && before.id === event.id) {
      announce(T.liveEnded);
    } else if (event.state === "sold_out" && before && before.state === "running") {
      announce(T.liveSoldOut);
    }
  }
  function onStock(event) {
    var element = room.querySelector('[data-stock-for="' + event.variant_id + '"]');
    if (element) {
      element.setAttribute("data-stock", event.stock);
      element.textContent = stockWordsOf(event.product_id, event.stock);
    }
    if (current.pin === event.product_id) showNow();
  }
  function tick() {
    var price = current.price;
    var clock = nowCard && nowCard.querySelector("[data-countdown-clock]");
    if (!price || price.state === "ended") {
      if (clock) clock.textContent = "";
      return;
    }
    var left = Math.max(0, Math.round((new Date(price.ends_at) - new Date()) / 1000));
    if (clock) {
      clock.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    }
    if (left === 0) onPrice(Object.assign({}, price, { state: "ended" }));
  }
  setInterval(tick, 1000);

  // The ticker -------------------------------------------------------------------------
  var ticker = room.querySelector("[data-ticker]");
  function onTicker(event, quiet) {
    if (!ticker || ticker.querySelector('[data-line-id="' + event.line_id + '"]')) return;
    var item = document.createElement("li");
    item.setAttribute("data-line-id", event.line_id);
    item.textContent = fill(T.bought, { name: productTitle(event.product_id),
      quantity: event.quantity });
    ticker.insertBefore(item, ticker.firstChild);
    while (ticker.children.length > 10) ticker.removeChild(ticker.lastChild);
    var empty = room.querySelector("[data-ticker-empty]");
    if (empty) empty.hidden = true;
    // In a rush, one announcement every ten seconds is enough to hear what is going on.
    var now = Date.now();
    if (!quiet && now - lastTickerAnnouncement > 10000) {
      lastTickerAnnouncement = now;
      announce(item.textContent);
    }
  }

  // Questions and chat -----------------------------------------------------------------
  var log = room.querySelector("[data-messages]");
  var pauseButton = room.querySelector("[data-pause-scroll]");
  var readButton = room.querySelector("[data-announce-messages]");
  function paused() { return pauseButton && pauseButton.getAttribute("aria-pressed") === "true"; }
  function renderMessage(event) {
    var item = document.createElement("li");
    item.className = "chat-message" + (event.is_question ? " chat-question" : "");
    item.setAttribute("data-message-id", event.id);
    var who = document.createElement("p");
    who.appendChild(written(document.createElement("strong"), event.author));
    if (event.is_question) {
      var tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = T.question;
      who.appendChild(document.createTextNode(" "));
      who.appendChild(tag);
    }
    item.appendChild(who);
    item.appendChild(written(document.createElement("p"), event.body)).className = "chat-body";
    if (event.answer || event.answered) {
      var answer = document.createElement("p");
      answer.className = "chat-answer";
      if (event.answer) {
        var label = document.createElement("strong");
        label.textContent = T.hostAnswer;
        answer.appendChild(label);
        answer.appendChild(document.createTextNode(" "));
        answer.appendChild(written(document.createElement("span"), event.answer));
      } else {
        answer.textContent = T.answeredNoText;
      }
      item.appendChild(answer);
    }
    return item;
  }
  function onMessage(event, quiet) {
    if (!log) return;
    var existing = log.querySelector('[data-message-id="' + event.id + '"]');
    var wasAnswered = existing && existing.querySelector(".chat-answer");
    var item = renderMessage(event);
    if (existing) log.replaceChild(item, existing);
    else log.appendChild(item);
    while (log.children.length > 200) log.removeChild(log.firstChild);
    var empty = room.querySelector("[data-messages-empty]");
    if (empty) empty.hidden = true;
    if (!paused()) log.scrollTop = log.scrollHeight;
    if (quiet) return;
    if (event.answer && !wasAnswered) announce(fill(T.answered, { answer: event.answer }));
    else if (!existing && readButton && readButton.getAttribute("aria-pressed") === "true") {
      announce(fill(T.newMessage, { name: event.author, body: event.body }));
    }
  }
  function onHidden(event) {
    var existing = log && log.querySelector('[data-message-id="' + event.id + '"]');
    if (existing) existing.parentNode.removeChild(existing);
  }
  function pressToggle(button, onChange) {
    if (!button) return;
    button.addEventListener("click", function () {
      var pressed = button.getAttribute("aria-pressed") !== "true";
      button.setAttribute("aria-pressed", pressed ? "true" : "false");
      onChange(pressed);
    });
  }
  pressToggle(pauseButton, function (pressed) {
    pauseButton.textContent = pressed ? T.resumeScroll : T.pauseScroll;
    if (!pressed && log) log.scrollTop = log.scrollHeight;
  });
  pressToggle(readButton, function () {});
  if (log) log.scrollTop = log.scrollHeight;

  var chatForm = room.querySelector("[data-chat-form]");
  if (chatForm && window.fetch && window.FormData) {
    chatForm.addEventListener("submit", function (submitEvent) {
      submitEvent.preventDefault();
      var box = chatForm.querySelector("textarea");
      fetch(chatForm.action, { method: "POST", body: new FormData(chatForm),
        headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          var group = box.closest(".form-group");
          var old = group.querySelector("[data-chat-error]");
          if (old) old.parentNode.removeChild(old);
          if (result.ok) {
            box.value = "";
            box.removeAttribute("aria-invalid");
            group.classList.remove("form-group-error");
            announce(result.body.message || T.sent);
            return;
          }
          var message = (result.body.error && result.body.error.message) || "";
          var error = document.createElement("p");
          error.className = "error-message";
          error.id = box.id + "-error-live";
          error.setAttribute("data-chat-error", "");
          error.textContent = message;
          box.parentNode.insertBefore(error, box);
          box.setAttribute("aria-invalid", "true");
          box.setAttribute("aria-describedby", error.id);
          group.classList.add("form-group-error");
          announce(message);
          box.focus();
        })
        .catch(function () { chatForm.submit(); });
    });
  }

  // Captions and the signer ------------------------------------------------------------
  var overlay = room.querySelector("[data-caption-overlay]");
  var captionLine = room.querySelector("[data-caption-line]");
  function onCaption(event) {
    if (captionLine) written(captionLine, event.text);
  }
  pressToggle(room.querySelector("[data-toggle-captions]"), function (pressed) {
    overlay.hidden = !pressed;
  });
  var moveButton = room.querySelector("[data-move-captions]");
  if (moveButton) {
    moveButton.addEventListener("click", function () {
      var top = overlay.classList.toggle("caption-top");
      overlay.classList.toggle("caption-bottom", !top);
      moveButton.textContent = moveButton.getAttribute(top ? "data-label-bottom" : "data-label-top");
    });
  }
  // The picture ----------------------------------------------------------------------
  // An HLS playlist plays through hls.js where the browser has none of its own (it is
  // loaded only once the viewer presses play); a picture that stops says so, in words,
  // and comes back by itself.
  var playerBox = room.querySelector("[data-player-box]");
  var pictureLost = room.querySelector("[data-picture-lost]");
  function isPlaylist(address) { return /\.m3u8(\?|$)/.test(address || ""); }
  function lost(isLost) {
    if (!pictureLost || pictureLost.hidden === !isLost) return;
    pictureLost.hidden = !isLost;
    announce(isLost ? T.pictureLost : T.pictureBack);
  }
  function play(video, address, resume) {
    if (!video || !address || video.getAttribute("data-address") === address) return;
    video.setAttribute("data-address", address);
    if (video.hlsPlayer) { video.hlsPlayer.destroy(); video.hlsPlayer = null; }
    var Hls = window.Hls;
    if (isPlaylist(address) && Hls && Hls.isSupported()) {
      Array.prototype.slice.call(video.querySelectorAll("source")).forEach(function (source) {
        video.removeChild(source);
      });
      var player = new Hls({ autoStartLoad: false, liveSyncDurationCount: 3 });
      video.hlsPlayer = player;
      var wanted = !video.paused;
      player.on(Hls.Events.ERROR, function (name, detail) {
        if (!detail.fatal || video.hlsPlayer !== player) return;
        lost(true);
        // A new player on a new media source: a stream that restarts has new
        // timestamps, which the old buffer would wait for in vain.
        var playing = !video.paused || wanted;
        player.destroy();
        video.hlsPlayer = null;
        setTimeout(function () {
          video.removeAttribute("data-address");
          play(video, address, playing);
        }, 3000);
      });
      player.on(Hls.Events.FRAG_BUFFERED, function () { lost(false); });
      player.loadSource(address);
      player.attachMedia(video);
      var started = false;
      function start() {
        if (started || video.hlsPlayer !== player) return;
        started = true;
        player.startLoad(-1);
      }
      video.addEventListener("play", start);
      if (resume) {
        start();
        video.play().catch(function () {});
      }
    } else {
      video.src = address;
      video.addEventListener("playing", function () { lost(false); });
    }
  }
  function newVideo(className, label) {
    var video = document.createElement("video");
    video.className = className;
    video.controls = true;
    video.preload = "none";
    video.setAttribute("playsinline", "");
    video.setAttribute("aria-label", label);
    return video;
  }
  var mainVideo = room.querySelector("[data-player]");
  if (mainVideo) {
    var firstSource = mainVideo.querySelector("source");
    play(mainVideo, firstSource ? firstSource.getAttribute("src") : mainVideo.getAttribute("src"));
  }
  var signer = room.querySelector("[data-signer]");
  var signerButton = room.querySelector("[data-toggle-signer]");
  pressToggle(signerButton, function (pressed) { signer.hidden = !pressed; });
  var signerVideo = signer ? signer.querySelector("video") : null;
  if (signerVideo) play(signerVideo, signerVideo.getAttribute("src"));
  function onStreams(event) {
    var picture = event.presenter_stream_url;
    if (picture && playerBox && /\.(m3u8|mp4|webm)(\?|$)/.test(picture)) {
      if (!mainVideo) {
        mainVideo = newVideo("player", T.player);
        mainVideo.setAttribute("data-player", "");
        var waiting = playerBox.querySelector("[data-player-waiting]");
        if (waiting) playerBox.replaceChild(mainVideo, waiting);
        else playerBox.insertBefore(mainVideo, playerBox.firstChild);
      }
      play(mainVideo, picture);
    }
    var address = event.interpreter_stream_url;
    if (!signer || !signerButton) return;
    var video = signer.querySelector("video");
    if (address && !video) {
      video = newVideo("signer-video", signerButton.textContent);
      video.muted = true;
      signer.insertBefore(video, signer.firstChild);
    }
    if (video && address) play(video, address);
    signerButton.hidden = !address;
    if (!address) signer.hidden = true;
    else if (signerButton.getAttribute("aria-pressed") === "true") signer.hidden = false;
  }

  // Status -----------------------------------------------------------------------------
  var connection = room.querySelector("[data-connection]");
  function onStatus(event, quiet) {
    if (quiet) return;
    if (event.status === "live") announce(T.live);
    if (event.status === "ended") announce(T.ended);
  }

  function applySnapshot(snapshot) {
    onPin({ product_id: snapshot.pin }, true);
    onPrice(snapshot.price || { state: "ended" }, true);
    (snapshot.stock || []).forEach(function (item) { onStock(item); });
    (snapshot.ticker || []).slice().reverse().forEach(function (item) { onTicker(item, true); });
    if (log) {
      var keep = {};
      (snapshot.messages || []).forEach(function (item) { keep[item.id] = true; onMessage(item, true); });
      Array.prototype.slice.call(log.children).forEach(function (item) {
        if (!keep[item.getAttribute("data-message-id")]) log.removeChild(item);
      });
    }
    var captions = snapshot.captions || [];
    if (captions.length) onCaption(captions[captions.length - 1]);
    if (snapshot.streams) onStreams(snapshot.streams);
    onStatus({ status: snapshot.status }, true);
  }

  // Stock numbers start from the page; events and snapshots keep them.
  room.querySelectorAll("[data-stock-for]").forEach(function (element) {
    var item = (data.state.stock || []).filter(function (s) {
      return String(s.variant_id) === element.getAttribute("data-stock-for");
    })[0];
    element.setAttribute("data-stock", item ? item.stock : 0);
  });
  applySnapshot(data.state);

  var handlers = { pin: onPin, price: onPrice, stock: onStock, ticker: onTicker,
    message: onMessage, message_hidden: onHidden, caption: onCaption, status: onStatus,
    streams: onStreams };

  function refreshState() {
    return fetch(data.stateUrl, { headers: { "Accept": "application/json" },
      credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (body) { applySnapshot(body.state); })
      .catch(function () {});
  }
  function poll() {
    refreshState().then(function () { setTimeout(poll, 5000); });
  }

  // At the live edge (Nchan) ids are the edge's own: the page's id is not one of them,
  // so the first connection starts from now and the room's state is fetched once open.
  function eventsAddress(fromId) {
    if (!fromId) return data.events;
    if (data.edge) {
      return fromId.indexOf(":") > 0 ? data.events + "?last_event_id=" + encodeURIComponent(fromId)
        : data.events;
    }
    return data.events + "?lastEventId=" + encodeURIComponent(fromId);
  }

  function listen(fromId) {
    var source = new EventSource(eventsAddress(fromId));
    var failures = 0;
    var interrupted = data.edge;
    source.onopen = function () {
      failures = 0;
      if (connection) connection.textContent = T.connected;
      if (interrupted) refreshState();
      interrupted = false;
    };
    source.onerror = function () {
      failures += 1;
      interrupted = true;
      if (connection) connection.textContent = T.reconnecting;
      if (data.edge) {
        // The edge away (its port closed, or a proxy answering an error): the browser
        // stops retrying by itself, so try again every few seconds until it is back.
        if (source.readyState === EventSource.CLOSED) {
          source.close();
          setTimeout(function () { listen(lastId); }, 5000);
        }
        return;
      }
      // A proxy that never lets a stream through: fall back to asking every few seconds.
      if (failures >= 5 && source.readyState !== EventSource.OPEN) {
        source.close();
        if (connection) connection.textContent = T.polling;
        poll();
      }
    };
    Object.keys(handlers).forEach(function (kind) {
      source.addEventListener(kind, function (message) {
        lastId = message.lastEventId || lastId;
        handlers[kind](JSON.parse(message.data), false);
      });
    });
    source.addEventListener("snapshot", function (message) {
      lastId = message.lastEventId || lastId;
      applySnapshot(JSON.parse(message.data));
    });
    source.addEventListener("resync", function () {
      source.close();
      listen(null);
    });
  }

  if (window.EventSource) listen(data.edge ? null : lastId);
  else {
    if (connection) connection.textContent = T.polling;
    setTimeout(poll, 5000);
  }
})();
