"""Loopback fakes that ship with the project: the fake Telegram Bot API used by the tests and by
`liqbot demo` (which needs it at run time, so it lives in an installed package)."""
