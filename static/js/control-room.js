// The host's control room, made for deaf hosts first: every alert is seen, never only
// heard (a count and one highlight, no sound, no flashing). Without this file every
// form still works by reloading the page.
(function () {
  "use strict";
  var control = document.querySelector("[data-control]");
  var dataElement = document.getElementById("control-data");
  if (!control || !dataElement) return;
  var data = JSON.parse(dataElement.textContent);
  var T = data.text;
  var statusRegion = document.getElementById("status-region");
  var CHINESE = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;
  var LATIN = /[A-Za-z]/;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole;
    });
  }
  function written(element, text) {
    element.textContent = text;
    var lang = CHINESE.test(text) ? "zh-CN" : (LATIN.test(text) ? "en" : null);
    if (lang && lang !== data.locale) element.setAttribute("lang", lang);
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
  function clockTime(iso) {
    try {
      return new Intl.DateTimeFormat(data.locale, { hour: "2-digit", minute: "2-digit",
        timeZone: data.zone }).format(new Date(iso));
    } catch (error) {
      return "";
    }
  }

  // Quick actions are sent in the background; their result is said in the status region.
  function enhance(form) {
    form.addEventListener("submit", function (event) {
      if (!window.fetch) return;
      event.preventDefault();
      var focused = document.activeElement;
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          var old = form.querySelector("[data-async-error]");
          if (old) old.parentNode.removeChild(old);
          if (result.ok) {
            announce(result.body.message || T.done);
            if (form.hasAttribute("data-reset")) form.reset();
            if (form.hasAttribute("data-keep-focus") && focused) focused.focus();
            return;
          }
          var message = (result.body.error && result.body.error.message) || "";
          var error = document.createElement("p");
          error.className = "error-message";
          error.setAttribute("data-async-error", "");
          error.setAttribute("role", "alert");
          error.textContent = message;
          form.insertBefore(error, form.firstChild);
        })
        .catch(function () { form.submit(); });
    });
  }
  control.querySelectorAll("form[data-async]").forEach(enhance);

  // Alerts: a count and one highlight for new questions and orders.
  var box = control.querySelector("[data-alert-box]");
  var counts = { questions: 0, orders: 0 };
  function alertOf(kind) {
    counts[kind] += 1;
    control.querySelector("[data-alert-" + kind + "]").textContent = counts[kind];
    box.classList.remove("alert-new");
    void box.offsetWidth; // let the highlight run again for the next one
    box.classList.add("alert-new");
  }
  control.querySelector("[data-alert-seen]").addEventListener("click", function () {
    counts = { questions: 0, orders: 0 };
    control.querySelector("[data-alert-questions]").textContent = "0";
    control.querySelector("[data-alert-orders]").textContent = "0";
    box.classList.remove("alert-new");
  });

  // Running figures.
  var figuresUrl = control.getAttribute("data-figures");
  var pending = null;
  function money(amount) {
    try {
      return new Intl.NumberFormat(data.locale, { style: "currency", currency: "CNY" })
        .format(amount / 100);
    } catch (error) {
      return (amount / 100).toFixed(2);
    }
  }
  function refreshFigures() {
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      fetch(figuresUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (figures) {
          if (figures.edge) showPictures(figures.edge);
          Object.keys(figures).forEach(function (key) {
            var element = control.querySelector('[data-figure="' + key + '"]');
            if (!element) return;
            element.textContent = element.hasAttribute("data-money") ? money(figures[key])
              : figures[key];
          });
        })
        .catch(function () {});
    }, 1500);
  }
  setInterval(refreshFigures, 15000);

  // The live edge: is each picture reaching viewers? Told at once by the control
  // channel's events, and checked every few seconds (the edge itself may be away).
  var edgePanel = control.querySelector("[data-edge-events]");
  var said = null;
  function showPictures(status) {
    if (!edgePanel) return;
    ["presenter", "interpreter"].forEach(function (role) {
      var item = edgePanel.querySelector('[data-edge-picture="' + role + '"]');
      if (!item) return;
      var reaching = Boolean(status.edge_up && status[role]);
      var text = !status.edge_up ? T.edgeDown : T[role + (reaching ? "Ok" : "Waiting")];
      var label = item.querySelector("[data-edge-text]");
      if (label.textContent === text) return;
      label.textContent = text;
      item.querySelector("[data-edge-mark]").textContent = reaching ? "\u25cf" : "\u25cb";
      item.className = reaching ? "edge-ok" : "edge-waiting";
      // Said once per change, in words: a deaf host sees it, a screen reader hears it.
      if (said !== text) announce(text);
      said = text;
    });
  }
  if (edgePanel) {
    setInterval(refreshFigures, 5000);
    if (window.EventSource) {
      var edgeEvents = new EventSource(edgePanel.getAttribute("data-edge-events"));
      var lastPictures = { edge_up: true };
      edgeEvents.addEventListener("picture", function (m) {
        var event = JSON.parse(m.data);
        lastPictures[event.role] = event.reaching;
        lastPictures.edge_up = true;
        showPictures(lastPictures);
      });
      edgeEvents.onerror = function () { refreshFigures(); };
    }
  }

  // The queue of questions.
  var cards = control.querySelector("[data-question-cards]");
  var template = control.querySelector("[data-question-template]");
  function onMessage(event) {
    if (!cards) return;
    var existing = cards.querySelector('[data-message-id="' + event.id + '"]');
    if (existing) {
      existing.classList.toggle("question-answered", !!event.answered);
      existing.classList.remove("question-new");
      if (event.answered) {
        var answer = existing.querySelector(".chat-answer");
        if (!answer) {
          answer = document.createElement("p");
          answer.className = "chat-answer";
          existing.querySelector(".question-body").insertAdjacentElement("afterend", answer);
        }
        answer.textContent = "";
        if (event.answer) {
          var label = document.createElement("strong");
          label.textContent = T.yourAnswer;
          answer.appendChild(label);
          answer.appendChild(document.createTextNode(" "));
          answer.appendChild(written(document.createElement("span"), event.answer));
        } else {
          answer.textContent = T.answered;
        }
      }
      return;
    }
    var card = template.content.firstElementChild.cloneNode(true);
    card.setAttribute("data-message-id", event.id);
    var id = String(Number(event.id));
    card.querySelectorAll("form").forEach(function (form) {
      form.setAttribute("action", form.getAttribute("action").replace("__ID__", id));
      enhance(form);
    });
    card.querySelectorAll("[id*='__ID__'], [for*='__ID__']").forEach(function (element) {
      ["id", "for"].forEach(function (name) {
        var value = element.getAttribute(name);
        if (value) element.setAttribute(name, value.replace("__ID__", id));
      });
    });
    written(card.querySelector('[data-field="author"]'), event.author);
    card.querySelector('[data-field="kind"]').textContent = event.is_question ? T.question
      : T.message;
    card.querySelector('[data-field="at"]').textContent = clockTime(event.at);
    written(card.querySelector('[data-field="body"]'), event.body);
    cards.insertBefore(card, cards.firstChild);
    var none = control.querySelector("[data-no-questions]");
    if (none) none.hidden = true;
    alertOf("questions");
    refreshFigures();
  }
  function onHidden(event) {
    var card = cards && cards.querySelector('[data-message-id="' + event.id + '"]');
    if (card) card.parentNode.removeChild(card);
    refreshFigures();
  }
  var ticker = control.querySelector("[data-control-ticker]");
  function onTicker(event) {
    if (ticker.querySelector('[data-line-id="' + event.line_id + '"]')) return;
    var item = document.createElement("li");
    item.setAttribute("data-line-id", event.line_id);
    written(item, fill(T.bought, { name: data.products[String(event.product_id)] || "",
      quantity: event.quantity }));
    ticker.insertBefore(item, ticker.firstChild);
    while (ticker.children.length > 20) ticker.removeChild(ticker.lastChild);
    alertOf("orders");
    refreshFigures();
  }
  var pinned = control.querySelector("[data-control-pinned]");
  function onPin(event) {
    if (!pinned) return;
    pinned.textContent = "";
    if (event.product_id) {
      pinned.appendChild(written(document.createElement("strong"),
        data.products[String(event.product_id)] || ""));
    }
  }

  if (!window.EventSource) return;
  var position = control.getAttribute("data-position");
  function listen(fromId) {
    var source = new EventSource(control.getAttribute("data-events") +
      (fromId ? "?lastEventId=" + encodeURIComponent(fromId) : ""));
    source.addEventListener("message", function (m) { onMessage(JSON.parse(m.data)); });
    source.addEventListener("message_hidden", function (m) { onHidden(JSON.parse(m.data)); });
    source.addEventListener("ticker", function (m) { onTicker(JSON.parse(m.data)); });
    source.addEventListener("pin", function (m) { onPin(JSON.parse(m.data)); });
    source.addEventListener("resync", function () { source.close(); listen(null); });
  }
  listen(position);
})();
