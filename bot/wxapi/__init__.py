"""Outbound: async clients of the WeChat, WeCom and webhook APIs (aiohttp; wechatpy's client is
synchronous and would block the event loop)."""
