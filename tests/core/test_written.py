"""Typed text is shown in its own language and marked where it differs from the page's."""

import pytest
from flask import render_template_string
from markupsafe import Markup, escape
from sqlmodel import select

from catalog.models import ProductVariant
from core.forms import written_choices
from core.written import as_written, language_of, written_message
from tests.factories import login, make_product, make_user, make_workshop


@pytest.fixture(scope="module")
def bare_app(tmp_path_factory):
    """The app without a database: these tests only render text."""
    from app import create_app

    folder = tmp_path_factory.mktemp("written")
    return create_app({"DATABASE_URL": f"sqlite:///{folder / 'unused.db'}", "TESTING": True,
                       "SECRET_KEY": "s" * 40, "INSTANCE_DIR": str(folder)})


def _page(bare_app, locale):
    return bare_app.test_request_context("/", headers={"Cookie": f"lang={locale}"})


@pytest.mark.parametrize(("text", "language"), [
    ("王秀英", "zh-CN"), ("LED 台灯", "zh-CN"), ("𠮷野家", "zh-CN"), ("Anna Li", "en"),
    ("12 × 3", None), ("", None), (None, None)])
def test_the_language_of_a_text_is_told_by_its_script(text, language):
    assert language_of(text) == language


def test_chinese_text_on_an_english_page_is_marked(bare_app):
    with _page(bare_app, "en"):
        name = as_written("王<秀>英")
        assert escape(name) == Markup('<span lang="zh-CN">王&lt;秀&gt;英</span>')
        assert str(name) == "王<秀>英"  # plain where plain text is wanted
        assert name.lang_attribute == Markup(' lang="zh-CN"')
        assert escape(as_written("Anna")) == "Anna"
        assert escape(as_written("42")) == "42"


def test_english_text_on_a_chinese_page_is_marked_and_chinese_is_left_alone(bare_app):
    with _page(bare_app, "zh_Hans_CN"):
        assert escape(as_written("王秀英")) == "王秀英"
        assert escape(as_written("Anna")) == Markup('<span lang="en">Anna</span>')
        assert as_written("王秀英").lang_attributes == {}


def test_the_english_version_is_chosen_on_english_pages_where_there_is_one(bare_app):
    product = {"title": "梅花盘扣", "title_en": "Plum-blossom knot buttons"}
    untranslated = {"title": "布包", "title_en": None}
    with _page(bare_app, "en"):
        assert as_written(product, "title").text == "Plum-blossom knot buttons"
        assert as_written(untranslated, "title").lang == "zh-CN"
    with _page(bare_app, "zh_Hans_CN"):
        assert as_written(product, "title").text == "梅花盘扣"


def test_a_name_inside_a_translated_message_keeps_its_own_language(bare_app):
    with _page(bare_app, "en"):
        bare_app.preprocess_request()
        html = render_template_string(
            '{{ _("Income of %(name)s", name=name | as_written) }}', name="和信<工坊>")
        assert html == 'Income of <span lang="zh-CN">和信&lt;工坊&gt;</span>'
        message = written_message("%(name)s is in your cart (%(quantity)d).",
                                  name="梅花盘扣", quantity=2)
        assert message == '<span lang="zh-CN">梅花盘扣</span> is in your cart (2).'


def test_a_flashed_message_keeps_its_marks_through_the_session_cookie(bare_app):
    with _page(bare_app, "en"):
        message = written_message("Saved the changes to %(name)s.", name="王秀英")
    serializer = bare_app.session_interface.serializer
    kept = serializer.loads(serializer.dumps({"_flashes": [("success", message)]}))
    (_category, shown), = kept["_flashes"]
    assert escape(shown) == 'Saved the changes to <span lang="zh-CN">王秀英</span>.'


def test_the_page_title_shows_a_marked_name_as_plain_text(bare_app):
    with _page(bare_app, "en"):
        bare_app.preprocess_request()
        html = render_template_string(
            '{% extends "base.html" %}{% block title %}{{ name | as_written }}{% endblock %}',
            name="王<秀>英")
    assert "<title>王&lt;秀&gt;英 - Gongfang Live</title>" in html
    assert '<span lang="zh-CN">' not in html.split("</title>")[0]


def test_options_of_typed_names_say_their_language(bare_app):
    with _page(bare_app, "en"):
        choices = written_choices([("", "Nobody"), ("1", "王秀英")])
    assert [c.render_kw for c in choices] == [{}, {"lang": "zh-CN"}]
    assert [c.label for c in choices] == ["Nobody", "王秀英"]


def test_english_pages_mark_chinese_only_texts_and_show_english_ones(client, db_session):
    with db_session() as session:
        maker = make_user(session, name="王秀英")
        workshop = make_workshop(session, name="小勤布艺", makers=[maker])
        translated = make_product(session, workshop=workshop, title="梅花盘扣")
        translated.title_en = "Plum-blossom knot buttons"
        untranslated = make_product(session, workshop=workshop, title="布包")
        slugs = translated.slug, untranslated.slug
    client.set_cookie("lang", "en")
    html = client.get(f"/products/{slugs[0]}").get_data(as_text=True)
    assert "<h1>Plum-blossom knot buttons</h1>" in html
    assert '<span lang="zh-CN">小勤布艺</span>' in html
    html = client.get(f"/products/{slugs[1]}").get_data(as_text=True)
    assert '<h1><span lang="zh-CN">布包</span></h1>' in html
    assert "<title>布包 - Gongfang Live</title>" in html
    cards = client.get("/products").get_data(as_text=True)
    assert ">Plum-blossom knot buttons</a>" in cards and '<span lang="zh-CN">布包</span>' in cards
    client.set_cookie("lang", "zh_Hans_CN")
    html = client.get(f"/products/{slugs[1]}").get_data(as_text=True)
    assert "<h1>布包</h1>" in html and 'lang="zh-CN">小勤布艺' not in html


def test_the_cart_names_each_part_in_its_own_language(client, db_session):
    with db_session() as session:
        make_user(session, email="cart-lang@example.cn")
        workshop = make_workshop(session)
        product = make_product(session, workshop=workshop, title="梅花盘扣")
        product.title_en = "Plum-blossom knot buttons"
        variant = session.exec(select(ProductVariant).where(
            ProductVariant.product_id == product.id)).one()
        variant.name = "中国红"
        variant_id = variant.id
    login(client, "cart-lang@example.cn")
    client.set_cookie("lang", "en")
    response = client.post("/cart/add", data={"variant_id": variant_id, "quantity": "1"},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert ('Plum-blossom knot buttons (<span lang="zh-CN">中国红</span>) is in your cart (1).'
            in html)
    assert ('<th scope="row" role="rowheader">Plum-blossom knot buttons '
            '(<span lang="zh-CN">中国红</span>)</th>' in html)
