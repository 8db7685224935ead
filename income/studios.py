"""A creative studio selling goods for other workshops (consignment, 灿益工坊 / 文创馆).

The rule, kept simple so it can be trusted:
- a product stays its makers' workshop's: its makers and their shares never change;
- it is handed to a studio to sell (`Product.selling_studio_id`) only by the coordinator
  of the workshop that makes it (that is the workshop's consent) or by an operator; a
  studio cannot take another workshop's goods, and nobody else can move them;
- the studio's commission is set per studio by operators only (audited), never by the
  studio itself. On a paid line the platform takes its fee, the studio its rate of what
  is left, the makers share the rest (income.ledger.split_amount).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlmodel import Session, select

from accounts.models import Role, UserRole, Workshop, WorkshopKind, WorkshopMember
from catalog.models import Product
from core.db import utcnow
from core.errors import DomainError, NotAllowed, NotFound
from income.models import StudioCommission


def studios(session: Session) -> list[Workshop]:
    """Every creative studio, by name."""
    return list(session.exec(select(Workshop).where(Workshop.kind == WorkshopKind.STUDIO)
                             .order_by(Workshop.name, Workshop.id)).all())


def studio_rates(session: Session) -> dict[int, int]:
    """studio id -> basis points set (a studio not listed keeps nothing)."""
    return dict(session.exec(select(StudioCommission.studio_id,
                                    StudioCommission.rate_basis_points)).all())


def _studio(session: Session, studio_id) -> Workshop:
    studio = session.get(Workshop, studio_id) if isinstance(studio_id, int) else None
    if studio is None or studio.kind != WorkshopKind.STUDIO:
        raise NotFound(_("We could not find that studio."))
    return studio


def set_studio_rate(*, session: Session, studio_id: int, rate_basis_points: int,
                    by_user_id: int) -> StudioCommission:
    """Set a studio's commission (0..10000 basis points); operators only."""
    if not _is_operator(session, by_user_id):
        raise NotAllowed(_("Only the platform's operators set a studio's commission."))
    _studio(session, studio_id)
    if (not isinstance(rate_basis_points, int) or isinstance(rate_basis_points, bool)
            or not 0 <= rate_basis_points <= 10000):
        raise DomainError(_("Studio commission must be a number from 0 to 100"))
    rule = session.get(StudioCommission, studio_id) or StudioCommission(
        studio_id=studio_id, rate_basis_points=rate_basis_points)
    rule.rate_basis_points = rate_basis_points
    rule.updated_by_id = by_user_id
    rule.updated_at = utcnow()
    session.add(rule)
    session.flush()
    return rule


def _is_operator(session: Session, user_id: int) -> bool:
    return session.exec(select(UserRole.id).where(
        UserRole.user_id == user_id, UserRole.role == Role.OPERATOR)).first() is not None


def may_hand_over(session: Session, product: Product, user_id: int) -> bool:
    """Whether the user may choose who sells the product: an operator, or a coordinator
    of the workshop that makes it."""
    return _is_operator(session, user_id) or session.exec(select(WorkshopMember.id).where(
        WorkshopMember.workshop_id == product.workshop_id, WorkshopMember.user_id == user_id,
        WorkshopMember.is_coordinator)).first() is not None


def set_selling_studio(*, session: Session, product_id: int, studio_id: int | None,
                       by_user_id: int) -> Product:
    """Hand the product to a studio to sell (or take it back with None)."""
    product = session.get(Product, product_id) if isinstance(product_id, int) else None
    if product is None:
        raise NotFound(_("We could not find that product."))
    if not may_hand_over(session, product, by_user_id):
        raise NotAllowed(_("Only the workshop that makes this product can choose who "
                           "sells it."))
    if studio_id is not None:
        _studio(session, studio_id)
        if studio_id == product.workshop_id:
            studio_id = None  # a studio selling its own goods sells them itself
    product.selling_studio_id = studio_id
    product.updated_at = utcnow()
    session.add(product)
    session.flush()
    return product
