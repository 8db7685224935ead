"""Income fixtures: the shop's mail fixtures, since income tests place and pay orders."""

from tests.shop.conftest import _mail_threads_finish, shop_smtp_server  # noqa: F401
