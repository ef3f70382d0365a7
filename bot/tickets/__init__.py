"""Tickets: the life cycle of a complaint or repair from opening to rating."""

from bot.tickets.model import RATINGS, State, Ticket, TransitionError
from bot.tickets.service import NotAllowed, TicketService

__all__ = ["RATINGS", "State", "Ticket", "TransitionError", "NotAllowed", "TicketService"]
