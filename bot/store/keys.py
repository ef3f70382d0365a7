"""Every Redis key name of the project, in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str

    def dedup(self, message_id: str) -> str:
        return f"{self.prefix}dedup:{message_id}"

    def user_lock(self, user: str) -> str:
        return f"{self.prefix}lock:user:{user}"

    def conversation(self, user: str) -> str:
        return f"{self.prefix}conv:{user}"

    def profile(self, user: str) -> str:
        return f"{self.prefix}profile:{user}"

    def ticket(self, number: str) -> str:
        return f"{self.prefix}ticket:{number}"

    def ticket_counter(self, day: str) -> str:
        return f"{self.prefix}ticket:seq:{day}"

    def user_tickets(self, user: str) -> str:
        return f"{self.prefix}user:{user}:tickets"

    def department_tickets(self, department: str) -> str:
        return f"{self.prefix}dept:{department}:tickets"

    def all_tickets(self) -> str:
        return f"{self.prefix}tickets:all"

    def open_tickets_by_place(self, matter: str, place: str) -> str:
        return f"{self.prefix}tickets:open:{matter}:{place}"

    def reroutes(self) -> str:
        return f"{self.prefix}tickets:reroutes"

    def deadlines(self) -> str:
        return f"{self.prefix}tickets:deadlines"

    def ticket_lock(self, number: str) -> str:
        return f"{self.prefix}ticket:{number}:lock"

    def ticket_claim(self, number: str, step: str) -> str:
        return f"{self.prefix}ticket:{number}:claim:{step}"

    def outbox(self) -> str:
        return f"{self.prefix}outbox"

    def access_token(self, name: str) -> str:
        return f"{self.prefix}token:{name}"

    def access_token_lock(self, name: str) -> str:
        return f"{self.prefix}token:{name}:lock"

    def invite(self, code: str) -> str:
        return f"{self.prefix}invite:{code}"

    def role(self, user: str) -> str:
        return f"{self.prefix}role:{user}"

    def role_members(self, kind: str, scope: str) -> str:
        return f"{self.prefix}role:members:{kind}:{scope}"

    def cs_quota(self, user: str) -> str:
        return f"{self.prefix}cs:{user}"

    def role_index(self) -> str:
        return f"{self.prefix}roles:all"

    def reload_channel(self) -> str:
        return f"{self.prefix}knowledge:reload"

    def dead_letters(self) -> str:
        return f"{self.prefix}outbox:dead"

    def delivered(self, alert_id: str, channel: str) -> str:
        return f"{self.prefix}outbox:done:{channel}:{alert_id}"

    def knowledge_channel(self) -> str:
        return f"{self.prefix}knowledge:changed"

    # -- the FAQ overlay (console edits over knowledge/faq.yaml) ---------------------------
    def faq_entries(self) -> str:
        return f"{self.prefix}faq:entries"

    def faq_deleted(self) -> str:
        return f"{self.prefix}faq:deleted"

    def faq_history(self) -> str:
        return f"{self.prefix}faq:history"

    # -- the JSON API -------------------------------------------------------------------------
    def api_token(self, digest: str) -> str:
        return f"{self.prefix}api:token:{digest}"

    def api_tokens(self) -> str:
        return f"{self.prefix}api:tokens"

    # -- the web console ----------------------------------------------------------------------
    def console_user(self, username: str) -> str:
        return f"{self.prefix}console:user:{username}"

    def console_users(self) -> str:
        return f"{self.prefix}console:users"

    def console_failures(self, username: str) -> str:
        return f"{self.prefix}console:failures:{username}"

    def console_session(self, sid: str) -> str:
        return f"{self.prefix}console:session:{sid}"
