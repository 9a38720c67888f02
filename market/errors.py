"""The project's market-data exceptions, their translation from ccxt, and the one retry helper.

Two families, and the retry helper looks only at the family:

* :class:`TemporaryMarketError` and its subclasses **are retried** (exponential backoff with
  jitter, bounded attempts). They mean "the venue or the path to it misbehaved; the same request
  may well succeed later": network errors, timeouts, rate limiting, maintenance, 5xx, and answers
  that could not be parsed or failed validation.
* :class:`PermanentMarketError` and its subclasses **are never retried**: asking again cannot
  help (unknown symbol, unsupported method, missing credentials, a request the venue rejects).

Everything raised by ``market.feeds`` is a :class:`MarketError`; ccxt exceptions never leak.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class MarketError(Exception):
    """Base class of every market-data error. Carries the venue and operation when known."""

    def __init__(self, message: str, *, venue: str | None = None, operation: str | None = None):
        prefix = ".".join(p for p in (venue, operation) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.venue = venue
        self.operation = operation


# --- temporary: retried -------------------------------------------------------------------------


class TemporaryMarketError(MarketError):
    """Transient failure; **retried** by :func:`retry_async`. Raised after the last attempt too."""


class MarketNetworkError(TemporaryMarketError):
    """Connection refused/reset or other transport failure (ccxt ``NetworkError``). Retried."""


class MarketTimeoutError(MarketNetworkError):
    """The venue did not answer within the client timeout (ccxt ``RequestTimeout``). Retried."""


class RateLimitedError(MarketNetworkError):
    """Rate limited (ccxt ``DDoSProtection``/``RateLimitExceeded``, e.g. Binance HTTP 429 and the
    418 IP ban). Retried, with a longer backoff than other temporary errors."""


class VenueUnavailableError(MarketNetworkError):
    """Venue down, in maintenance or answering 5xx (ccxt ``ExchangeNotAvailable``). Retried."""


class MalformedResponseError(TemporaryMarketError):
    """The answer was not valid JSON, was empty, or had an unexpected shape (ccxt
    ``BadResponse``/``NullResponse``, or a parser crash inside ccxt). Retried."""


class EmptyResponseError(MalformedResponseError):
    """The answer was well formed but held no rows where rows were required. Retried: venues
    return empty pages during maintenance; a caller asking past the newest data sees this too."""


class InvalidDataError(MalformedResponseError):
    """Rows failed validation (non-finite or non-positive prices, high < low, crossed book...).
    Retried: a corrupt answer is a venue glitch, and returning it would be worse than failing."""


# --- permanent: not retried ---------------------------------------------------------------------


class PermanentMarketError(MarketError):
    """Asking again cannot help; **not retried**."""


class UnknownSymbolError(PermanentMarketError):
    """The venue does not list this symbol, or it is not a linear USDT perpetual (ccxt
    ``BadSymbol``). Not retried."""


class NotSupportedError(PermanentMarketError):
    """The venue has no such endpoint (ccxt ``NotSupported``), e.g. Bitget open-interest history:
    the caller should store snapshots of current open interest instead. Not retried."""


class AuthenticationRequiredError(PermanentMarketError):
    """The endpoint needs API keys or they were refused (ccxt ``AuthenticationError``). Not
    retried."""


class BadRequestError(PermanentMarketError):
    """The venue rejected the request's parameters (ccxt ``BadRequest``/``ArgumentsRequired``).
    Not retried."""


class VenueError(PermanentMarketError):
    """Any other error the venue reported (generic ccxt ``ExchangeError``). Not retried: ccxt
    raises it for error codes it does not know, which in practice are request problems."""


@functools.cache
def _ccxt_map() -> tuple[tuple[type[BaseException], type[MarketError]], ...]:
    """ccxt's exceptions and ours, built on first use: only a process that talks to a venue
    imports ccxt (~0.3 s and its memory), not one that reads the bundled data. Order matters:
    the first matching ccxt class wins, so subclasses come before their bases."""
    import ccxt

    return (
        (ccxt.RequestTimeout, MarketTimeoutError),
        (ccxt.DDoSProtection, RateLimitedError),
        (ccxt.RateLimitExceeded, RateLimitedError),
        (ccxt.ExchangeNotAvailable, VenueUnavailableError),
        (ccxt.NetworkError, MarketNetworkError),
        (ccxt.BadResponse, MalformedResponseError),  # NullResponse is a subclass
        (ccxt.OperationFailed, TemporaryMarketError),
        (ccxt.BadSymbol, UnknownSymbolError),
        (ccxt.NotSupported, NotSupportedError),
        (ccxt.AuthenticationError, AuthenticationRequiredError),
        (ccxt.BadRequest, BadRequestError),
        (ccxt.ArgumentsRequired, BadRequestError),
        (ccxt.ExchangeError, VenueError),
    )


# Exceptions a ccxt parser throws when an answer is valid JSON of the wrong shape.
PARSER_CRASHES: tuple[type[Exception], ...] = (
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    AttributeError,
    ZeroDivisionError,
)


def from_ccxt(
    exc: BaseException, *, venue: str | None = None, operation: str | None = None
) -> MarketError:
    """Translate a ccxt exception (or a crash inside a ccxt parser) into a project error."""
    if isinstance(exc, MarketError):
        return exc
    import ccxt  # loaded by the venue that raised ``exc``: a lookup, not an import

    for ccxt_cls, ours in _ccxt_map():
        if isinstance(exc, ccxt_cls):
            return ours(str(exc) or type(exc).__name__, venue=venue, operation=operation)
    if isinstance(exc, PARSER_CRASHES):
        return MalformedResponseError(
            f"unexpected answer shape ({type(exc).__name__}: {exc})",
            venue=venue,
            operation=operation,
        )
    if isinstance(exc, ccxt.BaseError):
        return VenueError(str(exc), venue=venue, operation=operation)
    return PermanentMarketError(f"{type(exc).__name__}: {exc}", venue=venue, operation=operation)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter.

    Retry ``n`` (0-based) waits ``d = min(max_delay_s, base_delay_s * 2**n)``, times
    ``rate_limit_factor`` for :class:`RateLimitedError` (Binance escalates bans for clients that
    keep hammering), then "equal jitter": uniformly in ``[d * (1 - jitter), d]``.
    """

    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 15.0
    jitter: float = 0.5
    rate_limit_factor: float = 4.0

    def delay(self, retry_index: int, error: BaseException, rng: Callable[[], float]) -> float:
        """Seconds to wait before retry number ``retry_index`` (0-based) after ``error``."""
        d = min(self.max_delay_s, self.base_delay_s * (2.0**retry_index))
        if isinstance(error, RateLimitedError):
            d = min(self.max_delay_s, d * self.rate_limit_factor)
        return d * (1.0 - self.jitter * rng())


async def retry_async(
    op: Callable[[], Awaitable[T]],
    policy: RetryPolicy | None = None,
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    rng: Callable[[], float] = random.random,
) -> T:
    """Run ``op`` until it succeeds, retrying only :class:`TemporaryMarketError`.

    ``sleep`` and ``rng`` are injectable so tests need not wait. After ``max_attempts`` the last
    temporary error is re-raised; permanent errors propagate at once.
    """
    policy = policy or RetryPolicy()
    attempts = max(1, policy.max_attempts)
    for attempt in range(attempts):
        try:
            return await op()
        except TemporaryMarketError as exc:
            if attempt + 1 >= attempts:
                raise
            wait = policy.delay(attempt, exc, rng)
            log.warning("retry %d/%d in %.2fs after %s", attempt + 1, attempts - 1, wait, exc)
            await sleep(wait)
    raise AssertionError("unreachable")  # the loop either returns or raises
