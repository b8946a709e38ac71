"""Configuration read from the environment (documented in README.md)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

# Simplified Chinese is "zh_CN" everywhere people see or set it; Babel resolves
# it to zh_Hans_CN, which is why its catalogue lives in translations/zh_Hans_CN.
SUPPORTED_LOCALES = ("zh_CN", "en")
# Each language's name in itself, for the language switcher.
LANGUAGE_NAMES = {"zh_CN": "简体中文", "en": "English"}


def _secret_key(instance_path: Path) -> str:
    """DORMS_SECRET_KEY, or a key generated once into the instance folder."""
    if key := os.environ.get("DORMS_SECRET_KEY"):
        return key
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


SMTP_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


def _smtp_security() -> str:
    security = os.environ.get("DORMS_SMTP_SECURITY", "starttls").strip().lower()
    if security not in SMTP_PORTS:
        raise RuntimeError(f"DORMS_SMTP_SECURITY must be one of {', '.join(SMTP_PORTS)}")
    return security


def _robot_service(url: str) -> str:
    """DORMS_STAFF_ROBOT_SERVICE, or the service the robot's address names."""
    if service := os.environ.get("DORMS_STAFF_ROBOT_SERVICE", "").strip().lower():
        if service not in ("wecom", "dingtalk"):
            raise RuntimeError("DORMS_STAFF_ROBOT_SERVICE must be wecom or dingtalk")
        return service
    return "dingtalk" if "dingtalk" in url else "wecom"


def normalise_database_url(url: str) -> str:
    """Let people write postgresql:// and still get the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def from_environment(instance_path: Path) -> dict:
    database_url = os.environ.get(
        "DORMS_DATABASE_URL", f"sqlite:///{instance_path / 'dorms.sqlite3'}"
    )
    default_locale = os.environ.get("DORMS_DEFAULT_LOCALE", "zh_CN")
    if default_locale not in SUPPORTED_LOCALES:
        raise RuntimeError(
            f"DORMS_DEFAULT_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}"
        )
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "BABEL_DEFAULT_LOCALE": default_locale,
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("DORMS_TIMEZONE", "Asia/Shanghai"),
        "RATELIMIT_STORAGE_URI": os.environ.get("DORMS_RATELIMIT_STORAGE_URI", "memory://"),
        # Failed sign-ins allowed at one account from one address, and from one address at all.
        "DORMS_LOGIN_LIMIT": os.environ.get("DORMS_LOGIN_LIMIT", "10 per minute"),
        "DORMS_LOGIN_ADDRESS_LIMIT": os.environ.get("DORMS_LOGIN_ADDRESS_LIMIT", "30 per minute"),
        # Holds, confirmations and cancels of one student on selection day (where the sign-in limits are kept).
        "DORMS_SELECTION_CLAIM_LIMIT": os.environ.get("DORMS_SELECTION_CLAIM_LIMIT", "20 per minute"),
        # The waiting room (selection/waiting_room.py): students let in a second once their window opened, and
        # at once; 0: no waiting room. Needs DORMS_REDIS_URL (one line for every worker and server).
        "DORMS_SELECTION_ADMIT_PER_SECOND": float(os.environ.get("DORMS_SELECTION_ADMIT_PER_SECOND", "0")),
        "DORMS_SELECTION_ADMIT_BURST": int(os.environ.get("DORMS_SELECTION_ADMIT_BURST", "200")),
        # A whole request: room for a spreadsheet, or MAX_PHOTOS photos of PHOTO_MAX_BYTES each.
        "MAX_CONTENT_LENGTH": 40 * 1024 * 1024,
        "PHOTO_MAX_BYTES": int(float(os.environ.get("DORMS_PHOTO_MAX_MB", "8")) * 1024 * 1024),
        # Checked from the header before a photo is decoded (decoding takes about 4 bytes a pixel).
        "PHOTO_MAX_PIXELS": int(float(os.environ.get("DORMS_PHOTO_MAX_MEGAPIXELS", "40")) * 1_000_000),
        # The most rows one import may have, and (lower) the most the import page takes in one
        # request: larger files are imported with `dorms import`, which has no request timeout.
        "IMPORT_MAX_ROWS": int(os.environ.get("DORMS_IMPORT_MAX_ROWS", "100000")),
        "IMPORT_WEB_MAX_ROWS": int(os.environ.get("DORMS_IMPORT_WEB_MAX_ROWS", "20000")),
        # From the pages, an import of more rows than this, or an export of more, runs as a job (README,
        # "Jobs and schedules"); an export job's file can be downloaded for EXPORT_KEEP_HOURS.
        "IMPORT_JOB_ROWS": int(os.environ.get("DORMS_IMPORT_JOB_ROWS", "2000")),
        "EXPORT_JOB_ROWS": int(os.environ.get("DORMS_EXPORT_JOB_ROWS", "5000")),
        "EXPORT_KEEP_HOURS": int(os.environ.get("DORMS_EXPORT_KEEP_HOURS", "24")),
        # How long a student has to acknowledge the room condition report at check-in, and
        # whether students may check themselves in from their phone.
        "CHECKIN_ACK_HOURS": int(os.environ.get("DORMS_CHECKIN_ACK_HOURS", "72")),
        "CHECKIN_SELF_SERVICE": os.environ.get("DORMS_CHECKIN_SELF_SERVICE", "1").strip().lower()
        not in ("0", "false", "no", "off"),
        # Raw door events older than this are purged by `dorms access purge` (nightly statuses stay).
        "ACCESS_RETENTION_DAYS": int(os.environ.get("DORMS_ACCESS_RETENTION_DAYS", "180")),
        # The allocation search's speed on this server (`dorms allocation calibrate`); unset, the
        # solver's conservative built-in rates apply and a fast server finishes early.
        "ALLOCATION_WORK_RATE": int(os.environ["DORMS_ALLOCATION_WORK_RATE"])
        if os.environ.get("DORMS_ALLOCATION_WORK_RATE") else None,
        # Notifications by email (README, "Notifications"): no host, no email.
        "SMTP_HOST": os.environ.get("DORMS_SMTP_HOST", ""),
        "SMTP_SECURITY": _smtp_security(),
        "SMTP_PORT": int(os.environ.get("DORMS_SMTP_PORT") or SMTP_PORTS[_smtp_security()]),
        "SMTP_USERNAME": os.environ.get("DORMS_SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("DORMS_SMTP_PASSWORD", ""),
        "SMTP_FROM": os.environ.get("DORMS_SMTP_FROM", "dorms@localhost"),
        # The CA that signed the mail server's certificate, when it is the campus's own (default: the system's).
        "SMTP_CA_FILE": os.environ.get("DORMS_SMTP_CA_FILE") or None,
        # The staff group's robot (WeCom or DingTalk), told of staff events; DingTalk's signing secret.
        "STAFF_ROBOT_URL": os.environ.get("DORMS_STAFF_ROBOT_URL", ""),
        "STAFF_ROBOT_SERVICE": _robot_service(os.environ.get("DORMS_STAFF_ROBOT_URL", "")),
        "STAFF_ROBOT_SECRET": os.environ.get("DORMS_STAFF_ROBOT_SECRET", ""),
        # Where people's own robots may point (a proxy out of the campus network may stand in).
        "ROBOT_URL_PREFIXES": {
            "wecom": os.environ.get("DORMS_WECOM_WEBHOOK_PREFIX",
                                    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key="),
            "dingtalk": os.environ.get("DORMS_DINGTALK_WEBHOOK_PREFIX",
                                       "https://oapi.dingtalk.com/robot/send?access_token="),
        },
        # Both services take about 20 messages a minute per robot; more wait for the next minute.
        "ROBOT_PER_MINUTE": int(os.environ.get("DORMS_ROBOT_PER_MINUTE", "20")),
        # A failed delivery is tried again after 1, 2, 4… times this, and given up after this many attempts.
        "NOTIFY_RETRY_SECONDS": int(os.environ.get("DORMS_NOTIFY_RETRY_SECONDS", "60")),
        "NOTIFY_MAX_ATTEMPTS": int(os.environ.get("DORMS_NOTIFY_MAX_ATTEMPTS", "5")),
        # Jobs go through RQ on this Redis (redis://host:6379/0); unset, the jobs table is the queue and
        # `dorms run` starts a local worker. A running job writes a heartbeat this often; one silent
        # for JOBS_STALE_SECONDS lost its worker and is marked failed.
        "REDIS_URL": os.environ.get("DORMS_REDIS_URL") or None,
        # The RQ queue's name: installs sharing one Redis keep apart by it.
        "JOBS_QUEUE": os.environ.get("DORMS_JOBS_QUEUE", "dorms"),
        "JOBS_HEARTBEAT_SECONDS": float(os.environ.get("DORMS_JOBS_HEARTBEAT_SECONDS", "10")),
        "JOBS_STALE_SECONDS": float(os.environ.get("DORMS_JOBS_STALE_SECONDS", "120")),
        "BOOTSTRAP_SERVE_LOCAL": True,
        # Behind a reverse proxy: how many proxies' X-Forwarded-* headers to trust,
        # so that rate limits see the real client address.
        "DORMS_PROXY_COUNT": int(os.environ.get("DORMS_PROXY_COUNT", "0")),
        # Served over HTTPS (as in production): cookies only travel encrypted.
        "SESSION_COOKIE_SECURE": _flag("DORMS_SECURE_COOKIES"),
        "REMEMBER_COOKIE_SECURE": _flag("DORMS_SECURE_COOKIES"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
    }
