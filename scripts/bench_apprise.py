#!/usr/bin/env python3
"""Apprise 2.2.0 doing Herald's bench job against the same fake providers (called by herald-bench).

Apprise's endpoints are plugin class attributes (`token_url`, `notify_url`); they are pointed at the
fakes here. Each job runs twice: unthrottled (`request_rate_per_sec = 0`) and with Apprise's default
throttle (5.5 s between requests of one plugin instance), the latter on a small sample whose time is
extrapolated (and marked so by herald-bench). Writes a JSON document to --out.
"""
import argparse
import json
import logging
import sys
import tempfile
import time

import apprise
from apprise.plugins.email.base import NotifyEmail
from apprise.plugins.feishu import NotifyFeishu
from apprise.plugins.wechat import NotifyWeChat
from apprise.plugins.wecombot import NotifyWeComBot

DEFAULT_RATE = 5.5  # apprise.plugins.base.NotifyBase.request_rate_per_sec in 2.2.0


class Warnings(logging.Handler):
    """Keeps Apprise's warning lines (what it tells its user)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())

    def take(self, limit=3):
        lines, self.lines = self.lines, []
        unique = []
        for line in lines:
            if line not in unique:
                unique.append(line)
        return unique[:limit]


def instance(url, asset):
    obj = apprise.Apprise.instantiate(url, asset=asset)
    if obj is None:
        raise SystemExit(f"apprise could not load {url.split(':')[0]}://")
    return obj


def set_rate(plugin, rate):
    plugin.request_rate_per_sec = rate


def wecom_app(args, asset, log):
    NotifyWeChat.token_url = f"{args.wecom_url}/cgi-bin/gettoken"
    NotifyWeChat.notify_url = f"{args.wecom_url}/cgi-bin/message/send"
    users = [f"bench_user_{i:06}" for i in range(args.users)]
    out = {}
    for mode, rate in (("unthrottled", 0.0), ("default", DEFAULT_RATE)):
        # A fresh in-memory token store per mode so each run fetches its own token (1 + 1 requests).
        plugin = NotifyWeChat(
            corpid=args.corp_id,
            corpsecret=args.corp_secret,
            agentid=args.agent_id,
            targets=users,
            asset=asset,
        )
        set_rate(plugin, rate)
        start = time.perf_counter()
        ok = plugin.notify(body=f"Herald bench ({mode}): daily sales report is ready", title="")
        elapsed = time.perf_counter() - start
        out[mode] = {
            "ok": bool(ok),
            "elapsed_s": elapsed,
            "requests": 2,
            "users_in_touser": len(plugin.users),
            "warnings": log.take(),
        }
    return out


def robot(args, asset, log):
    NotifyWeComBot.notify_url = f"{args.wecom_url}/cgi-bin/webhook/send?key={{key}}"
    out = {}
    for mode, rate, key, count in (
        ("unthrottled", 0.0, args.robot_key, args.robot_messages),
        ("default", DEFAULT_RATE, args.robot_key_throttled, args.throttled_sample),
    ):
        plugin = instance(f"wecombot://{key}", asset)
        set_rate(plugin, rate)
        ok_count = 0
        start = time.perf_counter()
        for i in range(count):
            ok_count += bool(plugin.notify(body=f"Herald bench alarm {i}"))
        elapsed = time.perf_counter() - start
        out[mode] = {
            "messages": count,
            "ok_count": ok_count,
            "elapsed_s": elapsed,
            # The first request is not throttled; the others wait for the previous one.
            "seconds_per_request": elapsed / max(count - 1, 1) if rate else elapsed / count,
            "warnings": log.take(),
        }
    return out


def feishu(args, asset, log):
    # feishu:// is Feishu's group custom-bot webhook (one chat), the only Feishu flavour Apprise has.
    NotifyFeishu.notify_url = f"{args.feishu_url}/open-apis/bot/v2/hook/{{token}}/"
    import requests

    status = None
    try:
        status = requests.post(
            NotifyFeishu.notify_url.format(token="benchtoken"),
            json={"msg_type": "text", "content": {"text": "probe"}},
            timeout=5,
        ).status_code
    except requests.RequestException as e:  # pragma: no cover - reported as is
        status = f"error: {e}"
    out = {}
    for mode, rate, count in (
        ("unthrottled", 0.0, args.feishu_messages),
        ("default", DEFAULT_RATE, args.throttled_sample),
    ):
        plugin = instance("feishu://benchtoken", asset)
        set_rate(plugin, rate)
        ok_count = 0
        start = time.perf_counter()
        for i in range(count):
            ok_count += bool(plugin.notify(body=f"Herald bench message {i}"))
        elapsed = time.perf_counter() - start
        out[mode] = {
            "messages": count,
            "ok_count": ok_count,
            "elapsed_s": elapsed,
            "requests_per_s": count / elapsed if elapsed else None,
            "seconds_per_request": elapsed / max(count - 1, 1) if rate else elapsed / count,
            "http_status": status,
            "warnings": log.take(),
        }
    return out


def mail(args, asset, log):
    base = (
        f"mailto://{args.smtp_host}:{args.smtp_port}?user={args.smtp_user}"
        f"&pass={args.smtp_password}&mode=insecure&from={args.smtp_user}"
    )
    out = {}

    def recipient(i):
        return f"user{i:06}@example.com"

    # (a) One notify per mail (one delivery per mail, as Herald's engine and a per-event notifier
    #     do): connect + EHLO + AUTH + MAIL/RCPT/DATA + QUIT each time. Unthrottled: a fresh
    #     instance per mail; a sample of --mail-sample mails, extrapolated by herald-bench.
    n = min(args.mail_sample, args.mails)
    ok_count = 0
    start = time.perf_counter()
    for i in range(n):
        plugin = instance(f"{base}&to={recipient(i)}", asset)
        set_rate(plugin, 0.0)
        ok_count += bool(plugin.notify(body="Daily sales report", title=f"Apprise bench {i}"))
    elapsed = time.perf_counter() - start
    out["per_mail"] = {
        "mails": n,
        "ok_count": ok_count,
        "elapsed_s": elapsed,
        "mails_per_s": ok_count / elapsed if elapsed else None,
        "warnings": log.take(),
    }

    # (b) Default throttle, one notify per mail on one instance: every mail waits 5.5 s.
    n = args.throttled_sample
    plugin = instance(f"{base}&to={recipient(0)}", asset)
    set_rate(plugin, DEFAULT_RATE)
    start = time.perf_counter()
    ok_count = 0
    for i in range(n):
        plugin.targets = [(False, recipient(i))]
        ok_count += bool(plugin.notify(body="Daily sales report", title=f"Apprise bench throttled {i}"))
    elapsed = time.perf_counter() - start
    out["default_per_mail"] = {
        "mails": n,
        "ok_count": ok_count,
        "elapsed_s": elapsed,
        "seconds_per_mail": elapsed / max(n - 1, 1),
        "warnings": log.take(),
    }

    # (c) All recipients in one URL: Apprise sends one message per recipient over ONE connection
    #     (throttled once, so default ≈ unthrottled).
    n = args.mails
    to = ",".join(recipient(i) for i in range(n))
    plugin = instance(f"{base}&to={to}", asset)
    set_rate(plugin, 0.0)
    start = time.perf_counter()
    ok = plugin.notify(body="Daily sales report", title="Apprise bench batched")
    elapsed = time.perf_counter() - start
    out["batched"] = {
        "mails": n,
        "targets": len(plugin.targets),
        "ok": bool(ok),
        "elapsed_s": elapsed,
        "mails_per_s": n / elapsed if ok and elapsed else None,
        "warnings": log.take(),
    }
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__)
    for name in (
        "out", "wecom-url", "corp-id", "corp-secret", "agent-id", "robot-key",
        "robot-key-throttled", "feishu-url", "smtp-host", "smtp-user", "smtp-password",
    ):
        p.add_argument(f"--{name}", required=True)
    for name, default in (
        ("users", 10000), ("robot-messages", 25), ("feishu-messages", 500), ("smtp-port", 25),
        ("mails", 10000), ("mail-sample", 500), ("throttled-sample", 5),
    ):
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--only", help="comma-separated subset: wecom_app,robot,feishu,mail")
    args = p.parse_args()
    args.wecom_url = args.wecom_url.rstrip("/")
    args.feishu_url = args.feishu_url.rstrip("/")

    log = Warnings()
    logging.getLogger("apprise").addHandler(log)
    logging.getLogger("apprise").setLevel(logging.INFO)
    storage = tempfile.mkdtemp(prefix="herald-bench-apprise-")
    asset = apprise.AppriseAsset(storage_mode="memory", storage_path=storage)

    jobs = {"wecom_app": wecom_app, "robot": robot, "feishu": feishu, "mail": mail}
    only = set(args.only.split(",")) if args.only else set(jobs)
    result = {"apprise_version": apprise.__version__, "default_rate_s": DEFAULT_RATE}
    for name, job in jobs.items():
        if name not in only:
            continue
        print(f"  apprise: {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        result[name] = job(args, asset, log)
        print(f"  apprise: {name} done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
