"""The actors tests act as: the system (every right), unless a test is about roles."""

from facturier.billing.services.actors import Actor

SYS = Actor.system("t")
