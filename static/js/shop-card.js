// Card payment: Stripe.js Card Element and confirmCardPayment. The order becomes paid
// only when the server hears it from Stripe (webhook or its own retrieve), so after
// the browser's confirmation we post to the server, which asks Stripe itself.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(form.dataset.publishableKey);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var errors = document.getElementById("card-errors");
  var button = document.getElementById("card-submit");
  var busy = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) { return; }
    busy = true;
    button.disabled = true;
    errors.textContent = "";
    stripe.confirmCardPayment(form.dataset.clientSecret, {payment_method: {card: card}})
      .then(function (result) {
        if (result.error) {
          errors.textContent = (result.error && result.error.message) || form.dataset.failed;
          busy = false;
          button.disabled = false;
          return;
        }
        form.submit();
      });
  });
})();
