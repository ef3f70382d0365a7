"""Prometheus metrics, on a registry owned by the app (no module-level collectors)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter("wuye_messages", "Messages received, by kind", ["kind"], registry=self.registry)
        self.intents = Counter("wuye_intents", "Text messages understood, by intent", ["intent"], registry=self.registry)
        self.duplicates = Counter("wuye_duplicates_dropped", "Retried deliveries answered from the cache", registry=self.registry)
        self.over_budget = Counter("wuye_replies_over_budget", "Replies that missed the reply budget", registry=self.registry)
        self.rejected = Counter("wuye_requests_rejected", "Requests refused at the door, by reason", ["reason"], registry=self.registry)
        self.latency = Histogram(
            "wuye_handler_seconds",
            "Time to handle one message",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
