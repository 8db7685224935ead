"""Demo people and workshops (names are made up; the kinds of work are Ningbo's)."""

from __future__ import annotations

from sqlmodel import Session, select

from accounts import services
from accounts.models import HostRole, Role, SignLanguage, User, Workshop, WorkshopKind

WORKSHOPS = [
    # slug, name, name_en, kind, district, story, featured
    ("hexin-pankou", "和信残疾人之家·盘扣共富工坊", "Hexin Knot-Button Workshop",
     WorkshopKind.WORKSHOP, "象山县",
     "晓塘乡的残疾人之家。五十多位残疾人围坐在长桌前，一针一线编盘扣，按订单交货。",
     True),
    ("canyi-studio", "灿益工坊·印象宁波文创馆", "Canyi Studio · Impressions of Ningbo",
     WorkshopKind.STUDIO, "海曙区",
     "在南塘老街。文创馆连着五十多家残疾人机构和家庭，帮他们设计、包装、卖出好东西。",
     True),
    ("yong-ai-cart", "甬·爱“心”干线小黄车", "Yong Ai Heart Line Yellow Carts",
     WorkshopKind.HOME, "鄞州区",
     "心智障碍青年自己做、自己卖。小黄车在地铁站和宁波博物馆等八个站点出摊。", True),
    ("shuguang-audiobooks", "曙光里盲人有声书基地", "Shuguangli Blind Narrators' Studio",
     WorkshopKind.STUDIO, "海曙区",
     "盲人主播在专业录音棚里录有声书和广播剧。", True),
    ("li-fabric", "小勤布艺", "Xiaoqin Fabric Crafts", WorkshopKind.INDIVIDUAL, "江北区",
     "听障手艺人小勤的布艺小店：布包、杯垫、香囊，每一件都是手缝的。", False),
]

KNOT_MAKERS = ["王秀英", "陈美华", "张桂芳", "刘玉兰", "杨丽娟", "黄小红", "周春燕", "吴海燕",
               "徐建芬", "孙雅琴", "马素珍", "朱文静"]
CART_TEAM = ["小宇", "乐乐", "阿杰", "彤彤"]
NARRATORS = ["林晓明", "郑文博"]
HOSTS = [
    # email local part, name, deaf, capabilities
    ("host.yang", "小杨", True, [(HostRole.PRESENTER, SignLanguage.NATIONAL, 3)]),
    ("host.chen", "陈静", True, [(HostRole.PRESENTER, SignLanguage.ZHEJIANG, 2)]),
    ("host.zhou", "周老师", False, [(HostRole.PRESENTER, None, 0)]),
    ("interp.wang", "王敏", False, [(HostRole.SIGN_INTERPRETER, SignLanguage.NATIONAL, 3),
                                    (HostRole.VOICE_INTERPRETER, SignLanguage.NATIONAL, 3)]),
    ("interp.li", "李娜", False, [(HostRole.SIGN_INTERPRETER, SignLanguage.NATIONAL, 2),
                                  (HostRole.VOICE_INTERPRETER, SignLanguage.NATIONAL, 2)]),
    ("interp.xu", "徐涛", False, [(HostRole.VOICE_INTERPRETER, SignLanguage.ZHEJIANG, 2),
                                  (HostRole.SIGN_INTERPRETER, SignLanguage.ZHEJIANG, 2)]),
    ("caption.he", "何芳", False, [(HostRole.CAPTIONER, None, 1),
                                   (HostRole.ASSISTANT, None, 0)]),
]


def _user(session: Session, email: str, name: str, password: str,
          roles: tuple[Role, ...]) -> User:
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        user = services.register_user(session=session, email=email, password=password,
                                      display_name=name, roles=roles)
    for role in roles:
        services.grant_role(session=session, user=user, role=role)
    return user


def _workshop(session: Session, slug, name, name_en, kind, district, story, featured):
    workshop = session.exec(select(Workshop).where(Workshop.slug == slug)).first()
    if workshop is None:
        workshop = services.create_workshop(session=session, slug=slug, name=name,
                                            name_en=name_en, kind=kind, district=district,
                                            story=story, is_featured=featured)
    return workshop


def load_accounts(*, session: Session, password: str, operator_email: str) -> dict:
    """Operators, workshops with their makers, and hosts; returns them by key."""
    people: dict = {"workshops": {}, "makers": {}, "hosts": {}}
    people["operator"] = _user(session, operator_email, "联合会运营", password,
                               (Role.OPERATOR,))
    _user(session, "shopper@demo.gongfang.cn", "顾客小李", password, (Role.SHOPPER,))
    for row in WORKSHOPS:
        people["workshops"][row[0]] = _workshop(session, *row)

    def add_makers(slug: str, names: list[str], prefix: str, coordinator_first: bool = True):
        workshop = people["workshops"][slug]
        for index, name in enumerate(names):
            user = _user(session, f"{prefix}{index + 1}@demo.gongfang.cn", name, password,
                         (Role.MAKER,))
            services.add_member(session=session, workshop=workshop, user=user,
                                is_coordinator=coordinator_first and index == 0)
            services.save_maker_profile(session=session, user=user, public_name=name,
                                        show_name_publicly=True, show_story_publicly=True)
            people["makers"][user.email] = user

    add_makers("hexin-pankou", KNOT_MAKERS, "knot")
    add_makers("yong-ai-cart", CART_TEAM, "cart")
    add_makers("shuguang-audiobooks", NARRATORS, "narrator")
    add_makers("canyi-studio", ["赵晴"], "studio")
    add_makers("li-fabric", ["小勤"], "fabric")
    fabric_maker = people["makers"]["fabric1@demo.gongfang.cn"]
    services.save_maker_profile(
        session=session, user=fabric_maker, public_name="小勤",
        story="我小时候发烧，耳朵听不见了。后来学做布艺，现在每个月靠手艺挣钱。",
        show_name_publicly=True, show_story_publicly=True)

    for local, name, deaf, capabilities in HOSTS:
        user = _user(session, f"{local}@demo.gongfang.cn", name, password, (Role.HOST,))
        services.save_host_profile(session=session, user=user, public_name=name, bio="",
                                   is_deaf=deaf)
        for role, language, level in capabilities:
            services.set_host_capability(session=session, user=user, role=role,
                                         sign_language=language, level=level)
        people["hosts"][local] = user
    return people
