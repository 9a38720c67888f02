"""The interactive map: a Telegram Mini App page the bot serves itself (aiohttp, on the bot's
event loop), with its data API. The maps come from the same report and heatmap code as the
charts; :mod:`bot.web.auth` checks Telegram's signed ``initData`` on every data request."""
