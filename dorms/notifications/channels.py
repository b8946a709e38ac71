"""Sending one message out: email over SMTP (standard library), WeCom and DingTalk group robots."""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app

TIMEOUT_SECONDS = 10
# Where each service's robots live; a person's robot must be one of these (the server posts nowhere else).
# Settings can point them elsewhere (a proxy out of the campus network, or the tests' local receiver).
ROBOT_URL_PREFIXES = {"wecom": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=",
                      "dingtalk": "https://oapi.dingtalk.com/robot/send?access_token="}
# What follows the prefix: the robot's key (WeCom) or access token (DingTalk), nothing else.
ROBOT_KEY = re.compile(r"[A-Za-z0-9_-]+")
# The answers a robot gives when it was sent too much, and how long each service then holds it: WeCom's
# "api freq out of limit" clears with the minute; DingTalk's "send too fast" holds the robot ten minutes.
RATE_LIMITED = {"wecom": (45009, timedelta(minutes=1)), "dingtalk": (130101, timedelta(minutes=10))}


class SendFailed(Exception):
    """The service refused the message or could not be reached; the delivery is tried again later."""


class RateLimited(SendFailed):
    """The robot took too many messages: the delivery waits ``retry_after``, the attempt not counted."""

    def __init__(self, message: str, retry_after: timedelta):
        super().__init__(message)
        self.retry_after = retry_after


class Mailer:
    """One SMTP connection for a whole batch, opened at the first message (``with Mailer() as mailer``)."""

    def __init__(self):
        self.connection: smtplib.SMTP | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self._drop()

    def _drop(self) -> None:
        """Forget a broken connection, closing its socket (the next message opens a new one)."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _connect(self) -> smtplib.SMTP:
        config = current_app.config
        host, port, security = config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_SECURITY"]
        context = ssl.create_default_context(cafile=config["SMTP_CA_FILE"])
        if security == "ssl":
            connection = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_SECONDS, context=context)
        else:
            connection = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
            if security == "starttls":
                connection.starttls(context=context)
        if config["SMTP_USERNAME"]:
            connection.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        return connection

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = current_app.config["SMTP_FROM"]
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        try:
            try:
                reused = self.connection is not None
                self._deliver(message)
            except smtplib.SMTPServerDisconnected:
                # Servers drop a connection idle too long while a run waits on robots: one new connection.
                if not reused:
                    raise
                self._drop()
                self._deliver(message)
        except smtplib.SMTPRecipientsRefused as error:  # this address only: the connection still serves
            raise SendFailed(f"SMTP: {error}") from error
        except (smtplib.SMTPException, OSError, ValueError) as error:
            self._drop()
            raise SendFailed(f"SMTP: {error}") from error

    def _deliver(self, message: EmailMessage) -> None:
        if self.connection is None:
            self.connection = self._connect()
        self.connection.send_message(message)


@dataclass(frozen=True)
class Robot:
    service: str  # "wecom" or "dingtalk"
    url: str
    secret: str = ""

    @property
    def key(self) -> str:
        """What the throttle and the attempt log know a robot by: its address holds its key, so a digest."""
        return hashlib.sha256(self.url.encode()).hexdigest()[:32]

    def signed_url(self, now_ms: int | None = None) -> str:
        """DingTalk's signing: timestamp (ms) and base64 HMAC-SHA256 of "timestamp\\nsecret", URL-encoded."""
        if self.service != "dingtalk" or not self.secret:
            return self.url
        timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
        return f"{self.url}&timestamp={timestamp}&sign={dingtalk_sign(timestamp, self.secret)}"

    def send(self, title: str, body: str) -> None:
        content = f"{title}\n{body}" if body else title
        payload = json.dumps({"msgtype": "text", "text": {"content": content}}).encode()
        request = urllib.request.Request(self.signed_url(), data=payload, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                answer = json.loads(response.read() or b"{}")
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
            raise SendFailed(f"{self.service}: {error}") from error
        if not isinstance(answer, dict):
            raise SendFailed(f"{self.service}: an answer that is not a JSON object")
        # Both services answer 200 with an error code in the body: 0 is success.
        errcode = answer.get("errcode", 0)
        if errcode != 0:
            error = f"{self.service}: {errcode} {answer.get('errmsg', '')}".strip()
            limited_code, retry_after = RATE_LIMITED.get(self.service, (None, None))
            if errcode == limited_code:
                raise RateLimited(error, retry_after)
            raise SendFailed(error)


def dingtalk_sign(timestamp: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def robot_url_prefix(service: str) -> str:
    return current_app.config["ROBOT_URL_PREFIXES"][service]


def is_robot_url(service: str, url: str) -> bool:
    """The service's robot address (settings: ROBOT_URL_PREFIXES) followed by a key, and nothing an HTTP
    request line could not carry (a space or a control character makes every send raise)."""
    prefix = robot_url_prefix(service)
    if not url.startswith(prefix) or len(url) > 500 or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return False
    try:
        urllib.parse.urlsplit(url)
    except ValueError:
        return False
    return ROBOT_KEY.fullmatch(url[len(prefix):]) is not None


def staff_robot() -> Robot | None:
    config = current_app.config
    if not config.get("STAFF_ROBOT_URL"):
        return None
    return Robot(config["STAFF_ROBOT_SERVICE"], config["STAFF_ROBOT_URL"], config.get("STAFF_ROBOT_SECRET", ""))
