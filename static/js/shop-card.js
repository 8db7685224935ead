// Card payment: Stripe.js Card Element and confirmCardPayment. The order becomes paid
// only when the server hears it from Stripe (webhook or its own retrieve), so after
// the browser's confirmation we post to the server, which asks Stripe itself.
// Messages are the shop's own, in the reader's language: Stripe's text may be in
// another language, and a declined card must say what to do next.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(form.dataset.publishableKey, {locale: form.dataset.locale || "auto"});
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var errors = document.getElementById("card-errors");
  var button = document.getElementById("card-submit");
  var busy = false;

  function showError(error) {
    var incomplete = error && error.type === "validation_error";
    errors.textContent = incomplete ? form.dataset.incomplete : form.dataset.failed;
    errors.hidden = false;
    busy = false;
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) { return; }
    busy = true;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    errors.textContent = "";
    errors.hidden = true;
    stripe.confirmCardPayment(form.dataset.clientSecret, {payment_method: {card: card}})
      .then(function (result) {
        if (result.error) { showError(result.error); return; }
        form.submit();
      }, showError);
  });
})();
