"""The services one running bot uses, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from bot.areas import AdminUnits
from bot.exports.service import ExportService
from bot.i18n import Catalog
from bot.scheduling import DurableScheduler
from bot.services.alerts import AlertService
from bot.services.chats import ChatService
from bot.services.conversations import ConversationService, default_stores
from bot.services.digest_figures import StatsFigures
from bot.services.digests import DigestService
from bot.services.flows import FlowService
from bot.services.menus import MenuService
from bot.services.officers import OfficerService
from bot.services.prompts import PromptService
from bot.services.stats import StatisticsService
from bot.services.subscriptions import SubscriptionService
from bot.services.tip_links import TipLinks
from bot.services.tip_outbox import TipOutbox
from bot.services.tips import TipService
from bot.settings import Settings
from storage.db import SessionFactory


@dataclass(frozen=True)
class Services:
    settings: Settings
    catalog: Catalog
    units: AdminUnits
    sessions: SessionFactory
    chats: ChatService
    prompts: PromptService
    flows: FlowService
    subscriptions: SubscriptionService
    officers: OfficerService
    alerts: AlertService
    scheduler: DurableScheduler  # features register their job kinds here
    conversations: ConversationService
    menus: MenuService
    tips: TipService
    stats: StatisticsService  # figures for digests, /thongke and exports
    exports: ExportService
    tip_links: TipLinks  # the bot's username for "send a tip" links, shared with senders
    tip_outbox: TipOutbox  # the tips' cards, notices and relayed messages; their jobs
    digests: DigestService


def build_services(
    settings: Settings, sessions: SessionFactory, catalog: Catalog, units: AdminUnits
) -> Services:
    """Create every service over one session factory."""
    officers = OfficerService(sessions, units, settings.superadmin_ids)
    chats = ChatService(sessions, settings.default_language)
    tip_links = TipLinks(sessions)
    tips = TipService(sessions, units, settings.tips)
    stats = StatisticsService(sessions, units, settings.tips, settings.tz)
    return Services(
        settings=settings,
        catalog=catalog,
        units=units,
        sessions=sessions,
        chats=chats,
        prompts=PromptService(sessions),
        flows=FlowService(sessions),
        subscriptions=SubscriptionService(sessions, units),
        officers=officers,
        alerts=AlertService(sessions, units, catalog, settings.tz, officers, tip_links=tip_links),
        scheduler=DurableScheduler(sessions),
        conversations=ConversationService(sessions, default_stores()),
        menus=MenuService(sessions, chats, settings.superadmin_ids),
        tips=tips,
        stats=stats,
        exports=ExportService(sessions, units, catalog, settings.tz),
        tip_links=tip_links,
        tip_outbox=TipOutbox(sessions, tips, catalog, settings.tz),
        digests=DigestService(
            sessions,
            units,
            catalog,
            settings.digests,
            settings.tz,
            settings.default_language,
            StatsFigures(stats, units, settings.tz),
        ),
    )
