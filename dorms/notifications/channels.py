"""Sending one message out: email over SMTP (standard library), WeCom and DingTalk group robots."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage

from flask import current_app

TIMEOUT_SECONDS = 10
# Where each service's robots live; a person's robot must be one of these (the server posts nowhere else).
# Settings can point them elsewhere (a proxy out of the campus network, or the tests' local receiver).
ROBOT_URL_PREFIXES = {"wecom": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=",
                      "dingtalk": "https://oapi.dingtalk.com/robot/send?access_token="}


class SendFailed(Exception):
    """The service refused the message or could not be reached; the delivery is tried again later."""


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
                pass

    def _connect(self) -> smtplib.SMTP:
        config = current_app.config
        host, port, security = config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_SECURITY"]
        context = ssl.create_default_context()
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
            if self.connection is None:
                self.connection = self._connect()
            self.connection.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:  # this address only: the connection still serves
            raise SendFailed(f"SMTP: {error}") from error
        except (smtplib.SMTPException, OSError, ValueError) as error:
            self.connection = None
            raise SendFailed(f"SMTP: {error}") from error


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
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise SendFailed(f"{self.service}: {error}") from error
        # Both services answer 200 with an error code in the body: 0 is success.
        if answer.get("errcode", 0) != 0:
            raise SendFailed(f"{self.service}: {answer.get('errcode')} {answer.get('errmsg', '')}".strip())


def dingtalk_sign(timestamp: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def robot_url_prefix(service: str) -> str:
    return current_app.config["ROBOT_URL_PREFIXES"][service]


def staff_robot() -> Robot | None:
    config = current_app.config
    if not config.get("STAFF_ROBOT_URL"):
        return None
    return Robot(config["STAFF_ROBOT_SERVICE"], config["STAFF_ROBOT_URL"], config.get("STAFF_ROBOT_SECRET", ""))
