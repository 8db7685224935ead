"""Who may reach what: one row per endpoint and method of the app's URL map.

The rules are explained in tests/security/matrix.py. `o` is the object a cell asks
about (the role's own, or someone else's); `w` is the world (tests/security/world.py).
An exception names the cells whose answer differs from what the rule alone says, and why.
"""

from __future__ import annotations

from tests.security.matrix import LOGIN, Route


def _room(w, slug):
    """The question, live price and blocked word of the session `slug`."""
    return w["room"]["own" if slug == w["live"]["own"] else "other"]


def _image(w, product_id, role):
    """A photo of the product that only `role` deletes (an editor's cell removes it)."""
    which = "own" if product_id == w["product"]["own"] else "other"
    return w["image"][(which, role if role in ("coordinator", "operator") else "anyone")]


def _theirs(w, slug):
    """In our session's URL, the other session's question, price and blocked word."""
    return w["room"]["other" if slug == w["live"]["own"] else "own"]


def _edge_channel(suffix):
    def headers(w, o):
        live_id = w["live"]["own_id" if o == w["live"]["own"] else "other_id"]
        return {"X-Original-URI": f"/edge/events/live-{live_id}{suffix}"}
    return headers


# Steps of the checkout send an empty cart back to the cart page.
EMPTY_CART = 302

TABLE: dict[tuple[str, str], Route] = {
    # Storefront and help: anyone.
    ("catalog.home", "GET"): Route("public", "/"),
    ("catalog.catalogue", "GET"): Route("public", "/products"),
    # A public row's hidden twin (a draft, a private file) is 404 for all but operators.
    # Drafts are reviewed at /operator/products, not shown in the shop even to operators.
    ("catalog.product", "GET"): Route(
        "public", lambda w, o: f"/products/{w['product']['own_slug']}",
        hidden=lambda w, o: f"/products/{w['product']['draft_slug']}",
        exceptions={("operator", "hidden"): 404}),
    ("catalog.workshop", "GET"): Route(
        "public", lambda w, o: f"/workshops/{w['workshop']['own_slug']}"),
    # A maker's page exists only if they chose to be shown by name.
    ("catalog.maker", "GET"): Route("public", lambda w, o: f"/makers/{w['maker']['own']}",
                                    hidden=lambda w, o: f"/makers/{w['maker']['other']}",
                                    exceptions={("operator", "hidden"): 404}),
    ("catalog.product_image_file", "GET"): Route(
        "public", lambda w, o: f"/media/products/{w['files']['photo']}"),
    # A paid file is never served as a sample, not even to an operator.
    ("catalog.sample_file", "GET"): Route(
        "public", lambda w, o: f"/media/samples/{w['files']['sample']}",
        hidden=lambda w, o: f"/media/samples/{w['files']['private']}",
        exceptions={("operator", "hidden"): 404}),
    ("site.help_page", "GET"): Route("public", "/help"),
    ("site.switch_language", "GET"): Route("public", "/language/en", ok=302),
    ("site.time_zone", "GET"): Route("public", "/time-zone"),
    ("site.health", "GET"): Route("public", "/healthz"),
    # The matrix's app has no SECURITY_CONTACT: no file, for anyone (its content is
    # tested in tests/core/test_security_txt.py).
    ("site.security_txt", "GET"): Route("public", "/.well-known/security.txt", ok=404),
    ("site.readiness", "GET"): Route("public", "/readyz"),
    # Loopback is the scraper's address; a test client comes from there.
    ("site.metrics", "GET"): Route("public", "/metrics"),
    ("static", "GET"): Route("public", "/static/css/site.css"),
    # The JSON API's open part.
    ("site.openapi.document", "GET"): Route("public", "/api/openapi.json"),
    # The documents' old addresses send on to the one document.
    ("site.openapi.old_document_0", "GET"): Route("public", "/api/v1/openapi.json", ok=308),
    ("site.openapi.old_document_1", "GET"): Route("public", "/api/v1/livestream/openapi.json",
                                                  ok=308),
    ("site.openapi.old_document_2", "GET"): Route("public", "/api/v1/spec/openapi.json", ok=308),
    ("catalog.api.products", "GET"): Route("public", "/api/v1/products"),
    ("catalog.api.product_detail", "GET"): Route(
        "public", lambda w, o: f"/api/v1/products/{w['product']['own_slug']}",
        hidden=lambda w, o: f"/api/v1/products/{w['product']['draft_slug']}",
        exceptions={("operator", "hidden"): 404}),
    ("catalog.api.workshops", "GET"): Route("public", "/api/v1/workshops"),
    ("catalog.api.workshop_detail", "GET"): Route(
        "public", lambda w, o: f"/api/v1/workshops/{w['workshop']['own_slug']}"),
    ("catalog.api.maker_detail", "GET"): Route(
        "public", lambda w, o: f"/api/v1/makers/{w['maker']['own']}",
        hidden=lambda w, o: f"/api/v1/makers/{w['maker']['other']}",
        exceptions={("operator", "hidden"): 404}),
    ("livestream.api.list_sessions", "GET"): Route("public", "/api/v1/sessions"),
    ("livestream.api.get_session_detail", "GET"): Route(
        "public", lambda w, o: f"/api/v1/sessions/{w['live']['own_id']}",
        hidden=lambda w, o: f"/api/v1/sessions/{w['live']['draft_id']}"),
    ("livestream.api.list_slots", "GET"): Route(
        "public", lambda w, o: f"/api/v1/sessions/{w['live']['own_id']}/slots",
        hidden=lambda w, o: f"/api/v1/sessions/{w['live']['draft_id']}/slots"),
    # Accounts.
    ("accounts.login", "GET"): Route("public", "/account/login"),
    ("accounts.login", "POST"): Route("public", "/account/login"),
    ("accounts.register", "GET"): Route("public", "/account/register"),
    ("accounts.register", "POST"): Route("public", "/account/register"),
    ("accounts.forgot_password", "GET"): Route("public", "/account/password/forgot"),
    ("accounts.forgot_password", "POST"): Route("public", "/account/password/forgot"),
    # A forged or used reset link: the page says it does not work (400), for anyone.
    **{("accounts.reset_password", method): Route(
        "token:reset", lambda w, o: f"/account/password/reset/{o}",
        exceptions={("*", "other"): 400}) for method in ("GET", "POST")},
    # Signing out when not signed in does nothing and goes home.
    ("accounts.logout", "POST"): Route("public", "/account/logout"),
    ("accounts.account", "GET"): Route("signed_in", "/account/"),
    ("accounts.account", "POST"): Route("signed_in", "/account/"),
    ("accounts.maker_profile", "GET"): Route("role:maker", "/account/maker-profile"),
    ("accounts.maker_profile", "POST"): Route("role:maker", "/account/maker-profile"),
    ("accounts.host_profile", "GET"): Route("role:host", "/account/host-profile"),
    ("accounts.host_profile", "POST"): Route("role:host", "/account/host-profile"),
    # Personal data: a person's own, and only their own (the URL names no one).
    ("privacy.personal_data", "GET"): Route("signed_in", "/account/personal-data"),
    ("privacy.personal_data_download", "POST"): Route("signed_in",
                                                      "/account/personal-data/download"),
    ("privacy.withdraw_consent", "POST"): Route("role:maker",
                                                "/account/maker-profile/withdraw-consent"),
    ("privacy.erase_me", "GET"): Route("signed_in", "/account/erase"),
    ("privacy.erase_me", "POST"): Route("signed_in", "/account/erase"),
    ("privacy.erased", "GET"): Route("public", "/account/erased"),
    # Cart and checkout: anyone, guest or signed in.
    ("shop.cart_page", "GET"): Route("public", "/cart"),
    ("shop.cart_add", "POST"): Route("public", "/cart/add"),
    ("shop.cart_update", "POST"): Route("public", "/cart/update"),
    ("shop.cart_remove", "POST"): Route("public", "/cart/remove"),
    ("shop.checkout_start", "GET"): Route("public", "/checkout", ok=302),
    **{(f"shop.checkout_{step}", method): Route("public", f"/checkout/{step}",
                                                ok=EMPTY_CART)
       for step in ("contact", "delivery", "address", "pickup", "payment")
       for method in ("GET", "POST")},
    ("shop.checkout_check", "GET"): Route("public", "/checkout/check", ok=EMPTY_CART),
    ("shop.checkout_place", "POST"): Route("public", "/checkout/place"),
    # Orders: the secret link is the key; a signed-in shopper sees their own list.
    ("shop.order_page", "GET"): Route("token:order", lambda w, o: f"/orders/{o}"),
    # Paid offline: there is no card to pay, for anyone.
    ("shop.order_pay", "GET"): Route("token:order", lambda w, o: f"/orders/{o}/pay", ok=404),
    ("shop.order_card_result", "POST"): Route(
        "token:order", lambda w, o: f"/orders/{o}/card-result", ok=404),
    ("shop.download", "GET"): Route("token:download", lambda w, o: f"/downloads/{o}"),
    ("shop.my_orders", "GET"): Route("signed_in", "/my/orders"),
    ("shop.my_order_lines", "GET"): Route("role:maker", "/my/order-lines"),
    # Stripe is not set up in this app: no webhook for anyone (its signature is tested
    # in tests/shop).
    ("shop.stripe_webhook", "POST"): Route("nobody:404", "/stripe/webhook"),
    # Income: a maker's own, their coordinator's, the operators'.
    ("income.my_income", "GET"): Route("role:maker", "/income"),
    ("income.maker_income", "GET"): Route("owner:maker", lambda w, o: f"/income/makers/{o}"),
    ("income.export_income", "GET"): Route(
        "owner:maker", lambda w, o: f"/income/makers/{o}/income.csv"),
    ("income.statement", "GET"): Route(
        "owner:maker", lambda w, o: f"/income/makers/{o}/statement/{w['month']}"),
    ("income.api_maker", "GET"): Route("owner:maker", lambda w, o: f"/api/income/makers/{o}"),
    ("income.workshop_income", "GET"): Route(
        "owner:workshop", lambda w, o: f"/income/workshops/{o}"),
    ("income.workshop_export", "GET"): Route(
        "owner:workshop", lambda w, o: f"/income/workshops/{o}/income.csv"),
    ("income.api_workshop", "GET"): Route(
        "owner:workshop", lambda w, o: f"/api/income/workshops/{o}"),
    # The making workshop's coordinator hands its goods to a studio (income.studios).
    ("income.workshop_studio_sales", "GET"): Route(
        "owner:workshop", lambda w, o: f"/income/workshops/{o}/studio-sales"),
    ("income.workshop_studio_sales", "POST"): Route(
        "owner:workshop", lambda w, o: f"/income/workshops/{o}/studio-sales"),
    # Stalls: the people who run one.
    ("income.my_stalls", "GET"): Route("signed_in", "/stall", exceptions={"stall_seller": 302}),
    # Task orders: anyone asks a workshop; its coordinator answers, shares out and marks
    # delivered; a member or their coordinator records pieces. Operators read the
    # workshop's task orders but write none: the workshop's own people do its work.
    ("income.task_order_request", "GET"): Route(
        "public", lambda w, o: f"/workshops/{w['workshop']['own_slug']}/task-order"),
    ("income.task_order_request", "POST"): Route(
        "public", lambda w, o: f"/workshops/{w['workshop']['own_slug']}/task-order"),
    ("income.task_order_sent", "GET"): Route(
        "public", lambda w, o: f"/workshops/{w['workshop']['own_slug']}/task-order/sent"),
    ("income.workshop_task_orders", "GET"): Route(
        "owner:workshop", lambda w, o: f"/income/workshops/{o}/task-orders"),
    ("income.task_order_page", "GET"): Route(
        "owner:workshop",
        lambda w, o: f"/income/workshops/{o}/task-orders/{w['task_order'][o]}"),
    **{(f"income.task_order_{action}", "POST"): Route(
        "owner:workshop",
        lambda w, o, action=action: f"/income/workshops/{o}/task-orders/"
                                    f"{w['task_order'][o]}/{action}",
        exceptions={"operator": 404}) for action in ("accept", "decline", "split", "deliver")},
    **{("income.task_order_pieces", method): Route(
        "owner:maker",
        lambda w, o: f"/income/makers/{o}/task-orders/{w['maker_task_order'][o]}/pieces",
        exceptions={"operator": 404}) for method in ("GET", "POST")},
    ("income.till", "GET"): Route("owner:stall", lambda w, o: f"/stall/{o}"),
    ("income.till", "POST"): Route("owner:stall", lambda w, o: f"/stall/{o}"),
    # Closing the day: the stall's team (an operator reaches the form and is told only
    # the team closes; an empty form closes nothing).
    ("income.close_stall_day", "POST"): Route("owner:stall", lambda w, o: f"/stall/{o}/close"),
    ("income.stall_day", "GET"): Route("owner:stall", lambda w, o: f"/stall/{o}/day"),
    ("income.stall_day_csv", "GET"): Route("owner:stall", lambda w, o: f"/stall/{o}/day.csv"),
    ("income.stall_month", "GET"): Route("owner:stall", lambda w, o: f"/stall/{o}/month"),
    ("income.stall_month_csv", "GET"): Route("owner:stall",
                                             lambda w, o: f"/stall/{o}/month.csv"),
    # A maker lists and edits their workshop's goods.
    # (the editor's pages answer 403 for a workshop or product not theirs: they say
    # "only your own workshop's goods")
    ("catalog.my_products", "GET"): Route("role:editor", "/my/products"),
    ("catalog.new_product", "GET"): Route("owner:workshop", lambda w, o: f"/my/products/new/{o}",
                                          refused=403),
    ("catalog.new_product", "POST"): Route("owner:workshop", lambda w, o: f"/my/products/new/{o}",
                                           refused=403),
    ("catalog.edit_product", "GET"): Route("owner:product", lambda w, o: f"/my/products/{o}",
                                           refused=403),
    ("catalog.edit_product", "POST"): Route("owner:product", lambda w, o: f"/my/products/{o}",
                                            refused=403),
    ("catalog.submit_product", "POST"): Route(
        "owner:product", lambda w, o: f"/my/products/{o}/submit", refused=403),
    ("catalog.add_product_image", "POST"): Route(
        "owner:product", lambda w, o: f"/my/products/{o}/images", refused=403),
    ("catalog.add_product_audio", "POST"): Route(
        "owner:product", lambda w, o: f"/my/products/{o}/audio", refused=403),
    ("catalog.move_product_image", "POST"): Route(
        "owner:product", lambda w, o: f"/my/products/{o}/images/{_image(w, o, 'anyone')}/move",
        refused=403, form={"offset": "1"},
        mixed=lambda w, o: f"/my/products/{o}/images/{w['image'][('other', 'anyone')]}/move"),
    ("catalog.delete_product_image", "POST"): Route(
        "owner:product", lambda w, o, r: f"/my/products/{o}/images/{_image(w, o, r)}/delete",
        refused=403,
        mixed=lambda w, o: f"/my/products/{o}/images/{w['image'][('other', 'anyone')]}/delete"),
    # Live sessions, public side.
    ("livestream.schedule", "GET"): Route("public", "/live"),
    ("livestream.session_page", "GET"): Route("public", lambda w, o: f"/live/{w['live']['own']}",
        hidden=lambda w, o: f"/live/{w['live']['draft']}"),
    ("livestream.session_calendar", "GET"): Route(
        "public", lambda w, o: f"/live/{w['live']['own']}/calendar.ics",
        hidden=lambda w, o: f"/live/{w['live']['draft']}/calendar.ics"),
    # (a draft has no captions yet, so not even an operator gets its track)
    ("livestream.room_captions", "GET"): Route(
        "public", lambda w, o: f"/live/{w['live']['own']}/captions.vtt",
        hidden=lambda w, o: f"/live/{w['live']['draft']}/captions.vtt",
        exceptions={("operator", "hidden"): 404}),
    ("livestream.room_state", "GET"): Route(
        "public", lambda w, o: f"/live/{w['live']['own']}/state.json",
        hidden=lambda w, o: f"/live/{w['live']['draft']}/state.json"),
    # An event stream is judged by its status and headers: it would never end.
    ("livestream.room_events", "GET"): Route(
        "public", lambda w, o: f"/live/{w['live']['own']}/events",
        hidden=lambda w, o: f"/live/{w['live']['draft']}/events"),
    ("livestream.recording_file", "GET"): Route(
        "public", lambda w, o: f"/media/recordings/live-{w['live']['own_id']}.mp4",
        hidden=lambda w, o: f"/media/recordings/live-{w['live']['draft_id']}.mp4"),
    # A draft's room takes no question and no reminder (the room posts 404 even before
    # asking to sign in; a reminder asks to sign in first).
    ("livestream.room_message", "POST"): Route(
        "signed_in", lambda w, o: f"/live/{w['live']['own']}/messages",
        hidden=lambda w, o: f"/live/{w['live']['draft']}/messages"),
    ("livestream.remind", "POST"): Route(
        "signed_in", lambda w, o: f"/live/{w['live']['own']}/remind",
        hidden=lambda w, o: f"/live/{w['live']['draft']}/remind",
        exceptions={("anonymous", "hidden"): LOGIN}),
    ("livestream.notices", "GET"): Route("signed_in", "/notices"),
    ("livestream.notices_read", "POST"): Route("signed_in", "/notices/read"),
    # Hosts.
    ("livestream.host_schedule", "GET"): Route("role:host", "/host/schedule"),
    ("livestream.renew_feed", "POST"): Route("role:host", "/host/calendar/renew"),
    ("livestream.host_feed", "GET"): Route("token:feed", lambda w, o: f"/calendar/host/{o}.ics"),
    ("livestream.claim", "POST"): Route(
        "role:host", lambda w, o: f"/host/slots/{w['slot']['open']}/claim"),
    # Giving back someone else's slot is refused with a message (303 back to the
    # schedule; the JSON API says 409), and changes nothing.
    ("livestream.release", "POST"): Route(
        "role:host&owner:slot", lambda w, o: f"/host/slots/{o}/release", refused=303),
    # The live API answers anonymous hosts 403 (code "unauthorized"), not 401; a host
    # who does not qualify for the open captioner's slot is refused it (403).
    ("livestream.api.my_open_slots", "GET"): Route("role:host", "/api/v1/me/open-slots",
                                                   exceptions={"anonymous": 403}),
    ("livestream.api.claim_slot", "POST"): Route(
        "role:host", lambda w, o: f"/api/v1/slots/{w['slot']['open']}/claim",
        exceptions={"anonymous": 403, "presenter": 403, "interpreter": 403}),
    ("livestream.api.release_slot", "POST"): Route(
        "role:host&owner:slot", lambda w, o: f"/api/v1/slots/{o}/release", refused=409,
        exceptions={"anonymous": 403}),
    ("livestream.api.create_session", "POST"): Route("operator", "/api/v1/sessions",
                                                     exceptions={"anonymous": 403}),
    # The control room: the session's own team and operators. A question, price or word
    # of another session, sent through ours, is refused back to our control room (303,
    # with the reason) and changes nothing.
    ("livestream.control_room", "GET"): Route("team:enter", lambda w, o: f"/live/{o}/control"),
    ("livestream.control_figures", "GET"): Route(
        "team:enter", lambda w, o: f"/live/{o}/control/figures.json"),
    **{(f"livestream.control_{name}", "POST"): Route(
        "team:run", lambda w, o, path=path: f"/live/{o}/control/{path}")
       for name, path in (("go_live", "go-live"), ("end", "end"), ("pin", "pin"),
                          ("unpin", "unpin"), ("price", "price"),
                          ("block_word", "blocked-words"), ("streams", "streams"))},
    ("livestream.control_caption", "POST"): Route(
        "team:caption", lambda w, o: f"/live/{o}/control/caption"),
    ("livestream.control_price_stop", "POST"): Route(
        "team:run", lambda w, o: f"/live/{o}/control/price/{_room(w, o)['price']}/stop",
        mixed=lambda w, o: f"/live/{o}/control/price/{_theirs(w, o)['price']}/stop",
        mixed_refused=303),
    ("livestream.control_unblock_word", "POST"): Route(
        "team:run", lambda w, o: f"/live/{o}/control/blocked-words/{_room(w, o)['word']}/remove",
        mixed=lambda w, o: f"/live/{o}/control/blocked-words/{_theirs(w, o)['word']}/remove",
        mixed_refused=303),
    **{(f"livestream.control_{name}", "POST"): Route(
        "team:moderate",
        lambda w, o, name=name: f"/live/{o}/control/messages/{_room(w, o)['message']}/{name}",
        mixed=lambda w, o, name=name: (
            f"/live/{o}/control/messages/{_theirs(w, o)['message']}/{name}"),
        mixed_refused=303, form={"answer": "不是这个直播间的问题"} if name == "answer" else {})
       for name in ("answer", "hide", "mute")},
    ("livestream.control_renew_key", "POST"): Route(
        "team:run", lambda w, o: f"/live/{o}/control/stream-keys/presenter/renew"),
    ("livestream.stream_report", "GET"): Route("team:report", lambda w, o: f"/live/{o}/report"),
    ("livestream.stream_report_csv", "GET"): Route("team:report",
                                                   lambda w, o: f"/live/{o}/report.csv"),
    # The live edge (nginx-rtmp and Nchan) calls back with its secret; without it (and
    # with no edge set up here) every callback is a 404 for everyone.
    ("livestream.edge_publish", "POST"): Route("nobody:404", "/edge/rtmp/publish"),
    ("livestream.edge_publish_done", "POST"): Route("nobody:404", "/edge/rtmp/publish-done"),
    ("livestream.edge_record_done", "POST"): Route("nobody:404", "/edge/rtmp/record-done"),
    ("livestream.edge_authorize_events", "GET"): Route(
        "team:enter", "/edge/events/authorize", ok=204, headers=_edge_channel("-control"),
        exceptions={"anonymous": 403}),
    # Operators only.
    ("operator_accounts.dashboard", "GET"): Route("operator", "/operator/"),
    ("operator_accounts.users", "GET"): Route("operator", "/operator/users"),
    ("operator_accounts.user_detail", "GET"): Route(
        "operator", lambda w, o: f"/operator/users/{w['other_users']['shopper']}"),
    ("operator_accounts.user_detail", "POST"): Route(
        "operator", lambda w, o: f"/operator/users/{w['other_users']['shopper']}"),
    ("operator_accounts.host_capability_add", "POST"): Route(
        "operator", lambda w, o: f"/operator/users/{w['capability'][0]}/host-capabilities"),
    ("operator_accounts.host_capability_remove", "POST"): Route(
        "operator",
        lambda w, o: (f"/operator/users/{w['capability'][0]}/host-capabilities/"
                      f"{w['capability'][1]}/remove")),
    ("operator_accounts.audit.entries", "GET"): Route("operator", "/operator/audit"),
    ("operator_accounts.audit.entries_csv", "GET"): Route("operator", "/operator/audit.csv"),
    ("privacy.operator_erase", "GET"): Route(
        "operator", lambda w, o: f"/operator/users/{w['other_users']['shopper']}/erase"),
    ("privacy.operator_erase", "POST"): Route(
        "operator", lambda w, o: f"/operator/users/{w['other_users']['shopper']}/erase"),
    ("operator_accounts.workshops", "GET"): Route("operator", "/operator/workshops"),
    ("operator_accounts.workshop_new", "GET"): Route("operator", "/operator/workshops/new"),
    ("operator_accounts.workshop_new", "POST"): Route("operator", "/operator/workshops/new"),
    ("operator_accounts.workshop_detail", "GET"): Route(
        "operator", lambda w, o: f"/operator/workshops/{w['workshop']['other']}"),
    ("operator_accounts.workshop_detail", "POST"): Route(
        "operator", lambda w, o: f"/operator/workshops/{w['workshop']['other']}"),
    ("operator_accounts.workshop_member_remove", "POST"): Route(
        "operator", lambda w, o: (f"/operator/workshops/{w['workshop']['other']}/members/"
                                  f"{w['other_users']['maker']}/remove")),
    ("catalog.review_queue", "GET"): Route("operator", "/operator/products"),
    ("catalog.review_product", "GET"): Route(
        "operator", lambda w, o: f"/operator/products/{w['product']['other_draft']}"),
    ("catalog.review_product", "POST"): Route(
        "operator", lambda w, o: f"/operator/products/{w['product']['other_draft']}"),
    ("shop.operator_orders", "GET"): Route("operator", "/operator/orders"),
    ("shop.operator_order", "GET"): Route(
        "operator", lambda w, o: f"/operator/orders/{w['order']['operator']}"),
    **{(f"shop.operator_{name}", "POST"): Route(
        "operator", lambda w, o, path=path: f"/operator/orders/{w['order']['operator']}/{path}")
       for name, path in (("cancel", "cancel"), ("mark_paid", "mark-paid"),
                          ("picked_up", "picked-up"), ("refund", "refund"), ("ship", "ship"))},
    ("shop.operator_bank_transfer", "GET"): Route("operator", "/operator/bank-transfer"),
    ("shop.operator_bank_transfer", "POST"): Route("operator", "/operator/bank-transfer"),
    ("income.impact_report", "GET"): Route("operator", "/operator/impact"),
    ("income.impact_csv", "GET"): Route("operator", "/operator/impact.csv"),
    ("income.operator_payouts", "GET"): Route("operator", "/operator/payouts"),
    ("income.operator_adjust", "POST"): Route("operator", "/operator/payouts/adjust"),
    ("income.operator_pay", "POST"): Route("operator", "/operator/payouts/pay"),
    ("income.operator_create_batch", "POST"): Route("operator", "/operator/payout-batches"),
    ("income.operator_batch", "GET"): Route(
        "operator", lambda w, o: f"/operator/payout-batches/{w['batch']}"),
    ("income.operator_batch", "POST"): Route(
        "operator", lambda w, o: f"/operator/payout-batches/{w['batch']}"),
    ("income.operator_batch_csv", "GET"): Route(
        "operator", lambda w, o: f"/operator/payout-batches/{w['batch']}.csv"),
    ("income.operator_commission", "GET"): Route("operator", "/operator/platform-fee"),
    ("income.operator_commission", "POST"): Route("operator", "/operator/platform-fee"),
    ("income.operator_studios", "GET"): Route("operator", "/operator/studios"),
    ("income.operator_studio_rate", "POST"): Route("operator", "/operator/studios/rate"),
    ("income.operator_hand_over", "POST"): Route("operator", "/operator/studios/hand-over"),
    ("income.operator_sales_points", "GET"): Route("operator", "/operator/sales-points"),
    ("income.operator_add_stall_member", "POST"): Route(
        "operator", lambda w, o: f"/operator/sales-points/{w['stall']['other']}/members"),
    ("income.operator_new_sales_point", "GET"): Route("operator", "/operator/sales-points/new"),
    ("income.operator_new_sales_point", "POST"): Route("operator",
                                                       "/operator/sales-points/new"),
    ("income.operator_edit_sales_point", "GET"): Route(
        "operator", lambda w, o: f"/operator/sales-points/{w['stall']['other']}"),
    ("income.operator_edit_sales_point", "POST"): Route(
        "operator", lambda w, o: f"/operator/sales-points/{w['stall']['other']}"),
    # Someone not on the team: the operator's answer is "no such member" (nothing removed).
    ("income.operator_remove_stall_member", "POST"): Route(
        "operator",
        lambda w, o: f"/operator/sales-points/{w['stall']['other']}/members/999999/remove",
        exceptions={"operator": 404}),
    ("livestream.operator.planning", "GET"): Route("operator", "/operator/live/"),
    ("livestream.operator.new_session", "GET"): Route("operator", "/operator/live/new"),
    ("livestream.operator.new_session", "POST"): Route("operator", "/operator/live/new"),
    ("livestream.operator.detail", "GET"): Route(
        "operator", lambda w, o: f"/operator/live/{w['live']['upcoming_id']}"),
    ("livestream.operator.detail", "POST"): Route(
        "operator", lambda w, o: f"/operator/live/{w['live']['upcoming_id']}"),
    ("livestream.operator.edit_session", "GET"): Route(
        "operator", lambda w, o: f"/operator/live/{w['live']['upcoming_id']}/edit"),
    ("livestream.operator.edit_session", "POST"): Route(
        "operator", lambda w, o: f"/operator/live/{w['live']['upcoming_id']}/edit"),
    ("livestream.operator.change_status", "POST"): Route(
        "operator", lambda w, o: f"/operator/live/{w['live']['upcoming_id']}/cancel"),
    **{(f"livestream.operator.{name}", "POST"): Route(
        "operator", lambda w, o, name=name: f"/operator/live/slots/{w['slot']['open']}/{name}")
       for name in ("assign", "remove", "unassign")},
}

__all__ = ["TABLE"]
