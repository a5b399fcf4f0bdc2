"""Configuration from environment variables, read and validated once, at start."""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from adapters.commerce_routes import CommerceRoutes, InvalidRoutes
from adapters.redaction import masked_url
from application.settings import HubSettings
from domain.allocation import LocationPriority
from domain.order_limits import OrderLimits
from domain.return_policy import ReturnPolicies, ReturnPolicy
from read_models.operations import Slas

#: The payment providers `PAYMENT_PROVIDER` may name.
PAYMENT_PROVIDERS = frozenset({"simulator", "stripe"})
#: A Stripe secret or restricted key, test or live mode (never a publishable `pk_` key).
_STRIPE_KEY = re.compile(r"(sk|rk)_(test|live)_[0-9A-Za-z]+")


class SettingsError(Exception):
    """Raised at start for a missing or malformed environment variable, naming it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///./orderhub.db"
    broker_url: str = "memory://"
    erp_url: str = ""
    crm_url: str = ""
    commerce_url: str = ""
    #: Secrets are kept out of the repr (PRODUCT.md §8.8).
    erp_api_key: str | None = field(default=None, repr=False)
    salesforce_client_id: str | None = None
    salesforce_client_secret: str | None = field(default=None, repr=False)
    shopify_access_token: str | None = field(default=None, repr=False)
    shopify_webhook_secret: str | None = field(default=None, repr=False)
    #: Shopify deliveries triggered longer ago than this are refused (422 `webhook_too_old`).
    #: Shopify retries with the original trigger time for 4 hours: a shorter window turns a hub
    #: outage longer than it into lost deliveries.
    shopify_webhook_max_age_seconds: int = 21_600
    #: Which commerce target hears each channel (`shopify=shopify,pos=none`); empty: the default
    #: of `commerce_routing()`.
    commerce_routes: str = ""
    #: `simulator` (the simulated back office's provider) or `stripe`.
    payment_provider: str = "simulator"
    #: Stripe secret (`sk_…`) or restricted (`rk_…`) key; kept out of the repr.
    stripe_api_key: str | None = field(default=None, repr=False)
    stripe_api_base: str = "https://api.stripe.com"
    location_priority: tuple[str, ...] = ()
    reservation_ttl_seconds: int = 1800
    return_window_days: int = 30
    restocking_fee_percent: Decimal = Decimal(0)
    refund_shipping: bool = False
    #: Channels whose returns wait in `requested` until an agent authorizes or refuses them
    #: (`RETURNS_NEED_AGENT=marketplace,b2b`; `*`: every channel); the others are authorized by
    #: the policy at once.
    returns_need_agent: frozenset[str] = frozenset()
    log_level: str = "INFO"
    #: `JSON` (one object per line, for log pipelines) or `TEXT` (for people at a terminal);
    #: None (unset): TEXT when stdout is a terminal, JSON otherwise (`entrypoints.logs`).
    log_format: str | None = None
    otel_exporter_otlp_endpoint: str | None = None
    idempotency_retention_seconds: int = 86_400
    idempotency_lease_seconds: int = 30
    #: Requests per key: `<count>/<second|minute|hour>`.
    rate_limit: str = "200/second"
    #: Where rate-limit counters live: `memory://` or a `redis://` URL; empty (unset): the
    #: broker's Redis when `BROKER_URL` is one, else memory (`rate_limit_url()`).
    rate_limit_storage: str = ""
    #: Failed authentications (unknown or revoked keys, failed console sign-ins) per client
    #: address; past it, that address's unknown keys get 429 without a database lookup.
    auth_failure_limit: str = "20/minute"
    #: How old the hub-state gauges of `/metrics` may be (seconds): the database is read at most
    #: this often per API process, however many scrapers ask.
    metrics_state_seconds: float = 5.0
    #: Requests per client address to the routes that need no key (health, metrics, schema,
    #: console, webhooks).
    public_rate_limit: str = "50/second"
    #: The most connections a process's pool opens and keeps (PostgreSQL).
    db_pool_size: int = 20
    #: A delivery not processed this long after publishing is published again (lost messages).
    delivery_timeout_seconds: int = 30
    #: How long a delivery waits for a remote system that is away before it becomes a dead
    #: letter (spending no attempt meanwhile).
    remote_outage_horizon_seconds: int = 21_600
    #: How long an order sits `reserved` before the ERP catch-up job treats it as waiting.
    erp_grace_seconds: int = 10
    #: SLAs of GET /v1/ops/stuck: not booked after placement, not delivered after shipping, a
    #: received return not refunded.
    stuck_not_booked_minutes: int = 15
    stuck_not_delivered_days: int = 10
    stuck_not_refunded_hours: int = 48
    #: Seed of the simulated back office (used where ERP_URL, CRM_URL, COMMERCE_URL are empty).
    simulator_seed: int = 0
    #: Most CRM cases linked to one order, and most returns requested on one (cancelled ones
    #: count): bounds no real order meets, against a caller growing one order without end.
    max_cases_per_order: int = 20
    max_returns_per_order: int = 50
    max_body_bytes: int = 1024 * 1024
    #: `scheme://host[:port]` as people's browsers reach the hub (behind a proxy that may
    #: rewrite `Host`); console forms must come from it, and https makes the cookie `Secure`.
    public_origin: str | None = None
    channel_policies: Mapping[str, ReturnPolicy] = field(default_factory=dict)
    #: Published events whose deliveries all finished (with those deliveries), inbox entries and
    #: replayed dead letters older than this are deleted by the relays' retention job
    #: (PRODUCT.md §8.7; order data, views and timelines are kept); a feed cursor older than
    #: this is refused (410 `cursor_expired`).
    retention_days: int = 30
    #: Webhook subscriptions may target private, loopback and link-local addresses (tests, a
    #: receiver on the same network); off, only public addresses are called (SSRF guard).
    webhook_allow_private: bool = False
    #: Fernet key(s), comma-separated, newest first, that encrypt webhook signing secrets at
    #: rest; unset, no subscription can be created. Kept out of the repr.
    webhook_secret_key: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        """Every field but the secrets (`repr=False`), with the password of each URL masked."""
        shown = []
        for f in fields(self):
            if f.repr:
                value = getattr(self, f.name)
                shown.append(f"{f.name}={masked_url(value) if isinstance(value, str) else value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def secrets(self) -> tuple[str, ...]:
        """The values of the secrets that are set (the fields kept out of the repr)."""
        values = (getattr(self, f.name) for f in fields(self) if not f.repr)
        return tuple(v for v in values if isinstance(v, str) and v)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every variable; raise `SettingsError` naming the first bad one."""
        env = os.environ if env is None else env
        defaults = cls()

        def text(name: str, default: str) -> str:
            return env.get(name, default).strip() or default

        settings = cls(
            database_url=text("DATABASE_URL", defaults.database_url),
            broker_url=text("BROKER_URL", defaults.broker_url),
            erp_url=env.get("ERP_URL", "").strip(),
            crm_url=env.get("CRM_URL", "").strip(),
            commerce_url=env.get("COMMERCE_URL", "").strip(),
            erp_api_key=_secret(env, "ERP_API_KEY"),
            salesforce_client_id=env.get("SALESFORCE_CLIENT_ID") or None,
            salesforce_client_secret=_secret(env, "SALESFORCE_CLIENT_SECRET"),
            shopify_access_token=_secret(env, "SHOPIFY_ACCESS_TOKEN"),
            shopify_webhook_secret=_secret(env, "SHOPIFY_WEBHOOK_SECRET"),
            shopify_webhook_max_age_seconds=_int(
                env, "SHOPIFY_WEBHOOK_MAX_AGE_SECONDS", 21_600, minimum=60
            ),
            commerce_routes=env.get("COMMERCE_ROUTES", "").strip(),
            payment_provider=_lower_choice(
                env, "PAYMENT_PROVIDER", defaults.payment_provider, PAYMENT_PROVIDERS
            ),
            stripe_api_key=env.get("STRIPE_API_KEY", "").strip() or None,
            stripe_api_base=text("STRIPE_API_BASE", defaults.stripe_api_base),
            location_priority=LocationPriority.parse(env.get("LOCATION_PRIORITY", "")).order,
            reservation_ttl_seconds=_int(env, "RESERVATION_TTL_SECONDS", 1800, minimum=1),
            return_window_days=_int(env, "RETURN_WINDOW_DAYS", 30, minimum=0),
            restocking_fee_percent=_percent(env, "RESTOCKING_FEE_PERCENT"),
            refund_shipping=_bool(env, "REFUND_SHIPPING", False),
            returns_need_agent=frozenset(
                name.strip()
                for name in env.get("RETURNS_NEED_AGENT", "").split(",")
                if name.strip()
            ),
            log_level=_choice(env, "LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"}),
            log_format=_optional_choice(env, "LOG_FORMAT", {"JSON", "TEXT"}),
            otel_exporter_otlp_endpoint=env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
            idempotency_retention_seconds=_int(
                env, "IDEMPOTENCY_RETENTION_SECONDS", 86_400, minimum=60
            ),
            idempotency_lease_seconds=_int(env, "IDEMPOTENCY_LEASE_SECONDS", 30, minimum=1),
            rate_limit=_rate(env, "RATE_LIMIT", defaults.rate_limit),
            rate_limit_storage=env.get("RATE_LIMIT_STORAGE", "").strip(),
            auth_failure_limit=_rate(env, "AUTH_FAILURE_LIMIT", defaults.auth_failure_limit),
            public_rate_limit=_rate(env, "PUBLIC_RATE_LIMIT", defaults.public_rate_limit),
            metrics_state_seconds=_int(env, "METRICS_STATE_SECONDS", 5, minimum=0),
            db_pool_size=_int(env, "DB_POOL_SIZE", 20, minimum=1),
            delivery_timeout_seconds=_int(env, "DELIVERY_TIMEOUT_SECONDS", 30, minimum=1),
            remote_outage_horizon_seconds=_int(
                env, "REMOTE_OUTAGE_HORIZON_SECONDS", 21_600, minimum=1
            ),
            erp_grace_seconds=_int(env, "ERP_GRACE_SECONDS", 10, minimum=0),
            simulator_seed=_int(env, "SIMULATOR_SEED", 0, minimum=0),
            max_cases_per_order=_int(env, "MAX_CASES_PER_ORDER", 20, minimum=1),
            max_returns_per_order=_int(env, "MAX_RETURNS_PER_ORDER", 50, minimum=1),
            stuck_not_booked_minutes=_int(env, "STUCK_NOT_BOOKED_MINUTES", 15, minimum=1),
            stuck_not_delivered_days=_int(env, "STUCK_NOT_DELIVERED_DAYS", 10, minimum=1),
            stuck_not_refunded_hours=_int(env, "STUCK_NOT_REFUNDED_HOURS", 48, minimum=1),
            public_origin=_origin(env, "PUBLIC_ORIGIN"),
            retention_days=_int(env, "RETENTION_DAYS", 30, minimum=1),
            webhook_allow_private=_bool(env, "WEBHOOK_ALLOW_PRIVATE", False),
            webhook_secret_key=_secret(env, "WEBHOOK_SECRET_KEY"),
        )
        _check_urls(settings)
        _check_credentials(settings)
        _check_commerce_routes(settings)
        _check_payments(settings)
        return settings

    def commerce_routing(self) -> CommerceRoutes:
        """`COMMERCE_ROUTES`, or by default every channel to the simulator without
        `COMMERCE_URL` and only the shopify channel to Shopify with it."""
        text = self.commerce_routes or ("shopify=shopify" if self.commerce_url else "*=simulator")
        try:
            return CommerceRoutes.parse(text)
        except InvalidRoutes as e:
            raise SettingsError(f"COMMERCE_ROUTES: {e}") from None

    def rate_limit_url(self) -> str:
        """Where rate-limit counters live: `RATE_LIMIT_STORAGE`, or, unset, the broker's Redis
        when `BROKER_URL` is one (several API processes then count together), else memory."""
        if self.rate_limit_storage:
            return self.rate_limit_storage
        return self.broker_url if _is_redis(self.broker_url) else "memory://"

    def session_store_url(self) -> str:
        """Where console sessions live (PRODUCT.md §8.7): the Redis of `RATE_LIMIT_STORAGE`,
        else the broker's Redis, else memory (one API process: the embedded run)."""
        for url in (self.rate_limit_storage, self.broker_url):
            if _is_redis(url):
                return url
        return "memory://"

    def hub(self) -> HubSettings:
        default = ReturnPolicy(
            window_days=self.return_window_days,
            restocking_fee_percent=self.restocking_fee_percent,
            refund_shipping=self.refund_shipping,
            auto_authorize="*" not in self.returns_need_agent,
        )
        by_channel = {
            channel: replace(default, auto_authorize=False)
            for channel in self.returns_need_agent - {"*"}
        }
        by_channel.update(self.channel_policies)
        return HubSettings(
            location_priority=LocationPriority(self.location_priority),
            reservation_ttl=timedelta(seconds=self.reservation_ttl_seconds),
            return_policies=ReturnPolicies(default=default, by_channel=by_channel),
            order_limits=OrderLimits(
                max_cases=self.max_cases_per_order, max_returns=self.max_returns_per_order
            ),
        )

    def slas(self) -> Slas:
        return Slas(
            booking=timedelta(minutes=self.stuck_not_booked_minutes),
            delivery=timedelta(days=self.stuck_not_delivered_days),
            refund=timedelta(hours=self.stuck_not_refunded_hours),
        )


def _is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://"))


def _secret(env: Mapping[str, str], name: str) -> str | None:
    """A secret as given; unset or empty is None. One that is only whitespace is refused: it
    is a copying mistake, and a blank HMAC key is one anybody can sign with."""
    raw = env.get(name)
    if not raw:
        return None
    if not raw.strip():
        raise SettingsError(f"{name} is set but blank; set the secret itself, or unset it")
    return raw


def _origin(env: Mapping[str, str], name: str) -> str | None:
    """An origin as browsers send it in `Origin`: scheme and host (and port), nothing else."""
    raw = env.get(name, "").strip().lower().rstrip("/")
    if not raw:
        return None
    parts = urlsplit(raw)
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or "@" in parts.netloc
        or parts.path
        or parts.query
        or parts.fragment
    ):
        raise SettingsError(
            f"{name} must be an origin such as https://hub.example.com (scheme, host and "
            f"optionally port; no path), got {masked_url(raw)!r}"
        )
    return raw


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _percent(env: Mapping[str, str], name: str) -> Decimal:
    raw = env.get(name, "").strip() or "0"
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not 0 <= value <= 100:
        raise SettingsError(f"{name} must be between 0 and 100, got {raw}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _choice(env: Mapping[str, str], name: str, default: str, allowed: set[str]) -> str:
    raw = env.get(name, "").strip().upper() or default
    if raw not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(sorted(allowed))}, got {raw!r}")
    return raw


def _optional_choice(env: Mapping[str, str], name: str, allowed: set[str]) -> str | None:
    if not env.get(name, "").strip():
        return None
    return _choice(env, name, "", allowed)


def _lower_choice(env: Mapping[str, str], name: str, default: str, allowed: frozenset[str]) -> str:
    raw = env.get(name, "").strip().lower() or default
    if raw not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(sorted(allowed))}, got {raw!r}")
    return raw


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    if not re.fullmatch(r"\d+/(second|minute|hour)", raw):
        raise SettingsError(f"{name} must look like 200/second, got {raw!r}")
    return raw


def _check_credentials(settings: Settings) -> None:
    if settings.crm_url and not (
        settings.salesforce_client_id and settings.salesforce_client_secret
    ):
        raise SettingsError("CRM_URL needs SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET")
    if settings.commerce_url and not settings.shopify_access_token:
        raise SettingsError("COMMERCE_URL needs SHOPIFY_ACCESS_TOKEN")


def _check_commerce_routes(settings: Settings) -> None:
    routes = settings.commerce_routing()
    shopify = routes.channels_to("shopify")
    if shopify and not (settings.commerce_url and settings.shopify_access_token):
        raise SettingsError(
            f"COMMERCE_ROUTES sends {', '.join(shopify)} to shopify, which needs COMMERCE_URL "
            "and SHOPIFY_ACCESS_TOKEN"
        )
    if routes.channels_to("webhook") and not settings.webhook_secret_key:
        # Refused rather than dropped: the retailer asked for these pushes, and without the key
        # no subscription can be made to carry them.
        raise SettingsError(
            "COMMERCE_ROUTES routes a channel to webhook, which needs WEBHOOK_SECRET_KEY "
            "(subscriptions' secrets are encrypted with it; docs/webhooks.md)"
        )
    if settings.webhook_secret_key:
        _check_fernet_keys(settings.webhook_secret_key)


def _check_fernet_keys(raw: str) -> None:
    # The key is never echoed: this message goes to logs and terminals.
    for key in raw.split(","):
        try:
            decoded = base64.urlsafe_b64decode(key.strip().encode())
        except (ValueError, binascii.Error):
            decoded = b""
        if len(decoded) != 32:
            raise SettingsError(
                "WEBHOOK_SECRET_KEY must be one or more comma-separated Fernet keys (32 bytes, "
                "url-safe base64; docs/webhooks.md says how to make one); the value given "
                "is not (it is not shown here)"
            )


def _check_urls(settings: Settings) -> None:
    """Each URL's scheme and shape, so that no driver fails on it later with a message of its own
    that quotes it whole. Messages show a URL with its password masked."""
    if not settings.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise SettingsError(
            "DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://, "
            f"got {masked_url(settings.database_url)!r}"
        )
    if not settings.broker_url.startswith(("memory://", "redis://", "rediss://", "amqp://")):
        raise SettingsError(
            "BROKER_URL must be memory://, redis://… or amqp://…, "
            f"got {masked_url(settings.broker_url)!r}"
        )
    if settings.rate_limit_storage and not settings.rate_limit_storage.startswith(
        ("memory://", "redis://", "rediss://")
    ):
        raise SettingsError(
            "RATE_LIMIT_STORAGE must be memory:// or redis://…, "
            f"got {masked_url(settings.rate_limit_storage)!r}"
        )
    named = {
        "DATABASE_URL": settings.database_url,
        "BROKER_URL": settings.broker_url,
        "RATE_LIMIT_STORAGE": settings.rate_limit_storage,
        "ERP_URL": settings.erp_url,
        "CRM_URL": settings.crm_url,
        "COMMERCE_URL": settings.commerce_url,
        "OTEL_EXPORTER_OTLP_ENDPOINT": settings.otel_exporter_otlp_endpoint or "",
    }
    for name, url in named.items():
        try:
            urlsplit(url).port  # noqa: B018 - parsing it is the check: a bad port or host raises
        except ValueError as e:
            raise SettingsError(f"{name} is not a valid URL ({e}): {masked_url(url)!r}") from None


def _check_payments(settings: Settings) -> None:
    if settings.payment_provider != "stripe":
        return
    # The key is never echoed, not even in part: this message goes to logs and terminals.
    if not settings.stripe_api_key:
        raise SettingsError("PAYMENT_PROVIDER=stripe needs STRIPE_API_KEY")
    if not _STRIPE_KEY.fullmatch(settings.stripe_api_key):
        raise SettingsError(
            "STRIPE_API_KEY must be a Stripe secret key (sk_test_… or sk_live_…) or restricted "
            "key (rk_…); the value given is not one (it is not shown here)"
        )
    base = urlsplit(settings.stripe_api_base)
    if base.scheme not in {"http", "https"} or not base.hostname:
        raise SettingsError(
            f"STRIPE_API_BASE must be an http(s) URL, got {masked_url(settings.stripe_api_base)!r}"
        )
