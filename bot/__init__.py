"""wuye-bot: the WeChat front door for residential property matters."""
